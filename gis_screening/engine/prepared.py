"""Prepared layers: projected to a GK zone, large polygons subdivided, STRtree-indexed, cached on disk.

Subdivision clips each geometry with more than ``max_vertices`` vertices to the two halves of its bounding box
(``shapely.clip_by_rect``), recursively, so the pieces partition the feature exactly: areas add up, and the
distance to the feature is the minimum over its pieces.  Queries then only touch small pieces, so screening cost
does not grow with the vertex count of the red-line polygons a footprint touches (design.md).
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..cache import (
    cache_dir,
    code_digest,
    load_entry,
    offsets_fit,
    pack_geoms,
    pack_strings,
    save_entry,
    unpack_geoms,
    unpack_strings,
)
from ..crs import STORAGE_EPSG, gk3_band, reproject, transform_coords
from ..geometry import thread_shares
from ..model import Layer


@dataclass
class PreparedLayer:
    """A layer ready for overlay queries in one metric CRS (EPSG ``epsg``, metres).

    The STRtree indexes the pieces' bounding boxes, so a layer read from the disk cache keeps its pieces as WKB
    (``wkb``) and decodes only those whose boxes a query reaches (:meth:`piece_geoms`): one project near one red
    line does not decode the province."""

    layer: Layer
    epsg: int
    dims: np.ndarray             # 0 point, 1 line, 2 polygon, per feature
    pieces: np.ndarray           # subdivided pieces, metric (object array; None = not decoded yet)
    owner: np.ndarray            # feature index of each piece
    piece_area: np.ndarray       # area of each piece, m²
    ids: list[str] = field(default_factory=list)

    names: list[str | None] = field(default_factory=list)
    piece_bounds: np.ndarray | None = None          # (n, 4) xmin, ymin, xmax, ymax; computed when None
    wkb: tuple[bytes | np.ndarray, np.ndarray] | None = None    # (blob, offsets) of pieces not decoded yet
    tree: shapely.STRtree = field(init=False)

    def __post_init__(self) -> None:
        if self.piece_bounds is None:
            self.piece_bounds = shapely.bounds(self.pieces)
        boxes = shapely.box(*self.piece_bounds.T)
        boxes[np.isnan(self.piece_bounds).any(axis=1)] = None        # empty pieces are never found
        self.tree = shapely.STRtree(boxes)
        self._todo = np.array([g is None for g in self.pieces], dtype=bool) if self.wkb is not None else None

    def piece_geoms(self, idx: np.ndarray) -> np.ndarray:
        """The pieces at ``idx``, decoding those not decoded yet (thread-safe: a race decodes a piece twice)."""
        todo = self._todo
        if todo is not None and self.wkb is not None:
            need = np.sort(idx[todo[idx]])     # each once (np.unique would import numpy.ma, ~5 ms a process)
            need = need[np.concatenate(([True], need[1:] != need[:-1]))] if len(need) else need
            if len(need):
                self.pieces[need] = unpack_geoms(*self.wkb, need)
                todo[need] = False
        out: np.ndarray = self.pieces[idx]
        return out

    def query(self, geoms: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """``(footprint index, piece index)`` of every piece whose box is within ``radius_m`` of each of ``geoms``:
        a superset of the pieces within ``radius_m`` (a box is never farther than its piece); the overlay measures
        the exact distance of each pair anyway and drops features beyond the radius."""
        fp_idx, piece_idx = self.tree.query(geoms, predicate="dwithin", distance=radius_m)
        return fp_idx, piece_idx

    @property
    def uid(self) -> str:
        return self.layer.uid

    @property
    def n_features(self) -> int:
        return len(self.dims)

    @property
    def geoms(self) -> np.ndarray:
        """Whole features in this layer's metric CRS (reprojected on demand; queries use ``pieces``)."""
        return np.asarray(self.layer.gdf.to_crs(self.epsg).geometry.values, dtype=object)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def role(self) -> str:
        return self.layer.role


def _clip_by_rects(geoms: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """``shapely.clip_by_rect`` of each geometry by its own box.  The public function takes one box for all, the
    ufunc under it (``shapely.lib.clip_by_rect``, shapely 2.x) broadcasts boxes too; one call each otherwise."""
    ufunc = getattr(shapely.lib, "clip_by_rect", None)
    if isinstance(ufunc, np.ufunc):
        out: np.ndarray = ufunc(geoms, x0, y0, x1, y1)
        return out
    return np.array([shapely.clip_by_rect(g, *b) for g, *b in zip(geoms, x0, y0, x1, y1)], dtype=object)


def subdivide(geoms: np.ndarray, max_vertices: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Split geometries with more than ``max_vertices`` vertices into box-clipped pieces.

    Returns ``(pieces, owner)`` where ``owner[i]`` is the index in ``geoms`` of piece ``i``.  Pieces of a
    polygon partition it (shared edges only), so summed areas equal the original area.
    """
    counts = shapely.get_num_coordinates(geoms)
    small = counts <= max_vertices
    pieces: list[np.ndarray] = [geoms[small]]
    owner: list[np.ndarray] = [np.flatnonzero(small)]
    todo, todo_owner = geoms[~small], np.flatnonzero(~small)
    while len(todo):            # halve each along its longer side, all of one level at once
        x0, y0, x1, y1 = shapely.bounds(todo).T
        wide = (x1 - x0) >= (y1 - y0)
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        halves = ((x0, y0, np.where(wide, xm, x1), np.where(wide, y1, ym)),
                  (np.where(wide, xm, x0), np.where(wide, y0, ym), x1, y1))
        nxt, nxt_owner = [], []
        for box in halves:
            parts = _clip_by_rects(todo, *box)
            kept = ~(shapely.is_missing(parts) | shapely.is_empty(parts))
            px0, py0, px1, py1 = shapely.bounds(parts).T
            again = kept & (shapely.get_num_coordinates(parts) > max_vertices) & (shapely.area(parts) > 0) & \
                (np.fmax(px1 - px0, py1 - py0) > 1e-3)
            done = kept & ~again
            pieces.append(parts[done])
            owner.append(todo_owner[done])
            nxt.append(parts[again])
            nxt_owner.append(todo_owner[again])
        todo, todo_owner = np.concatenate(nxt), np.concatenate(nxt_owner)
    pieces_arr = np.concatenate(pieces).astype(object)
    owner_arr = np.concatenate(owner).astype(np.int64)
    bad = ~shapely.is_valid(pieces_arr)
    if bad.any():  # clip_by_rect may leave invalid rings on degenerate input
        pieces_arr[bad] = shapely.make_valid(pieces_arr[bad])
    return pieces_arr, owner_arr


#: How far past its 3° band (degrees of longitude) a zone's prepared layer may reach: :func:`reach_for` picks the
#: smallest that holds every footprint of the zone widened by the search radius, else the whole layer is prepared.
REACHES_DEG = (0.1, 1.0)
#: metres per degree, a lower bound for latitude and for longitude at the equator (so distances convert safely)
_M_PER_DEG = 110_000.0


def reach_for(bounds: np.ndarray, epsg: int, radius_m: float) -> float | None:
    """The reach (:data:`REACHES_DEG`) a zone's prepared layers need for footprints with EPSG:4490 ``bounds``
    (n × 4) screened in ``epsg`` with ``radius_m``; None: the whole layer (``epsg`` not a 3° GK zone, footprints
    reaching far out of the band, or a large radius).

    A feature within ``radius_m`` (GK metres, never less than the true distance: the GK scale factor is ≥ 1) of a
    footprint has a point within ``radius_m / (110 km · cos φ)`` degrees of longitude of the footprint's extent;
    the reach must hold that for every footprint."""
    band = gk3_band(epsg)
    if band is None or not len(bounds) or not np.isfinite(bounds).all():
        return None
    lat = float(np.abs(bounds[:, [1, 3]]).max()) + radius_m / _M_PER_DEG
    if lat >= 89.0:
        return None
    pad = radius_m / (_M_PER_DEG * math.cos(math.radians(lat))) + 1e-6
    west, east = float(bounds[:, 0].min()) - pad, float(bounds[:, 2].max()) + pad
    return next((r for r in REACHES_DEG if band[0] - r <= west and east <= band[1] + r), None)


#: Threads that project and subdivide one large layer, each a share of its features (PROJ and GEOS release the
#: GIL): the first zone's layers are ready sooner when its layers get both cores, one after another.
PREPARE_THREADS = 2


def prepare_layer(layer: Layer, epsg: int, max_vertices: int = 256, reach: float | None = None,
                  threads: int = 1) -> PreparedLayer:
    """Project ``layer`` (EPSG:4490) to ``epsg``, subdivide and index it.  With ``reach`` (degrees, see
    :func:`reach_for`) only the features whose extent meets the zone's band widened by ``reach`` are prepared (the
    others are never within the radius of the footprints that asked for it); features keep their indices.
    ``threads``: how many threads share a large layer's features.  The pieces are in feature order (each feature's
    pieces in the order :func:`subdivide` makes them) whatever the threads, so the result never depends on them."""
    geoms4490 = np.asarray(layer.gdf.geometry.values, dtype=object)
    keep = np.arange(len(geoms4490))
    band = gk3_band(epsg)
    if band is not None and reach is not None:
        b = shapely.bounds(geoms4490)
        keep = np.flatnonzero((b[:, 2] >= band[0] - reach) & (b[:, 0] <= band[1] + reach))
    frame = layer.gdf.iloc[keep] if len(keep) < len(geoms4490) else layer.gdf

    def project_and_subdivide(share: slice) -> tuple[np.ndarray, np.ndarray]:
        part = frame if share == slice(None) else frame.iloc[share]
        pieces, owner = subdivide(np.asarray(part.to_crs(epsg).geometry.values, dtype=object), max_vertices)
        return pieces, owner + (share.start or 0)
    shares = thread_shares(shapely.get_num_coordinates(geoms4490[keep]), threads)
    if len(shares) == 1:
        done = [project_and_subdivide(shares[0])]
    else:
        with ThreadPoolExecutor(len(shares), thread_name_prefix="prepare-share") as pool:
            done = list(pool.map(project_and_subdivide, shares))
    pieces, owner = np.concatenate([d[0] for d in done]), np.concatenate([d[1] for d in done])
    order = np.argsort(owner, kind="stable")
    pieces, owner = pieces[order], owner[order]
    return PreparedLayer(layer, epsg, shapely.get_dimensions(geoms4490), pieces, keep[owner],
                         shapely.area(pieces), layer.feature_ids(), layer.feature_names())


def layer_fingerprint(layer: Layer, epsg: int, max_vertices: int, reach: float | None = None) -> str:
    """The disk-cache key of a prepared layer: its :func:`content_digest` plus the preparation parameters and the
    code that prepares it (:func:`~gis_screening.cache.code_digest`)."""
    return hashlib.sha256(f"{code_digest()}|{epsg}|{max_vertices}|{reach}|{layer.content_digest()}".encode()
                          ).hexdigest()[:32]



_ARRAYS = ("pieces_wkb", "pieces_off", "piece_bounds", "dims", "owner", "piece_area", "ids_text",
           "ids_none", "names_text", "names_none")


class PreparedCache:
    """Prepared layers and feature records, in memory by ``(layer.uid, layer.version, epsg)`` and on disk in
    the user's cache folder by :func:`layer_fingerprint` (content), as data-only ``.npz`` entries.

    An edited layer (new ``version``) or changed content is never served stale; a corrupt disk entry is
    deleted and rebuilt.  ``folder=None`` uses :func:`gis_screening.cache.cache_dir`; ``disk=False`` keeps
    everything in memory.  Thread-safe.
    """

    def __init__(self, folder: str | Path | None = None, disk: bool = True, max_vertices: int = 256,
                 threads: int = PREPARE_THREADS):
        self.folder = cache_dir("prepared", folder)
        self.disk = disk
        self.max_vertices = max_vertices
        self.threads = threads
        self._mem: dict[tuple[str, int, int, float | None], PreparedLayer] = {}
        self._records: dict[tuple[str, int], Sequence[dict[str, Any]]] = {}
        self._building: dict[tuple[str, int, int, float | None], Future[PreparedLayer]] = {}
        self._lock = threading.RLock()

    def get(self, layer: Layer, epsg: int, reach: float | None = None) -> PreparedLayer:
        """``layer`` prepared in ``epsg`` (for footprints within ``reach``, see :func:`reach_for`; None: all):
        from memory (also one prepared for a wider reach), the disk cache, or built.  Threads asking for
        different layers or zones prepare them at once; a thread asking for one being prepared waits for it."""
        key = (*layer.key, epsg, reach)
        with self._lock:
            for r in _wider(reach):
                hit = self._mem.get((*layer.key, epsg, r))
                if hit is not None:
                    return hit
            pending = self._building.get(key)
            mine = pending is None
            if pending is None:
                self._forget_old_versions(layer)
                pending = self._building[key] = Future()
        if not mine:
            return pending.result()
        try:
            prepared, save = self._load_or_build(layer, epsg, reach)
        except BaseException as exc:
            with self._lock:
                del self._building[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            if layer.key == key[:2]:        # not edited meanwhile (a build left running by a cancel, say)
                self._mem[key] = prepared
                for r in REACHES_DEG:       # a narrower build of the same layer and zone: this one serves it now
                    if reach is None or r < reach:
                        self._mem.pop((*layer.key, epsg, r), None)
            del self._building[key]
        pending.set_result(prepared)
        if save is not None:
            save()          # after it is published: whoever waits for the layer does not wait for the disk
        return prepared

    def at_hand(self, layer: Layer, epsg: int, reach: float | None = None) -> bool:
        """Is ``layer`` prepared for ``epsg`` and ``reach`` in memory or on disk (nothing to build)?"""
        with self._lock:
            if any((*layer.key, epsg, r) in self._mem for r in _wider(reach)):
                return True
        return self.disk and (self.folder / f"{layer_fingerprint(layer, epsg, self.max_vertices, reach)}.npz").is_file()

    def records(self, layer: Layer) -> Sequence[dict[str, Any]]:
        """``layer.records()`` (what rule conditions read), built once per layer version."""
        with self._lock:
            hit = self._records.get(layer.key)
            if hit is None:
                self._forget_old_versions(layer)
                hit = self._records[layer.key] = layer.records()
            return hit

    def footprints_in(self, geoms: np.ndarray, epsg: int, later: list[Callable[[], None]]) -> np.ndarray:
        """Footprints (an object array, EPSG:4490) projected to EPSG ``epsg``, as :func:`~gis_screening.crs.reproject`
        gives them, their coordinates moved as the disk entry of the same coordinates (keyed by their values, the
        zone and the code that projects them) holds them, else moved now and the entry's write appended to
        ``later`` (the caller may be about to fork: no thread may be writing then).  Projecting is coordinate by
        coordinate, so the same coordinates are the same result whatever the geometries; a warm screening so never
        loads PROJ (~0.05 s of its start).  With a cache kept in memory they are moved each time."""
        return reproject(geoms, STORAGE_EPSG, epsg,
                         move=partial(self._moved, epsg=epsg, later=later) if self.disk else None)

    def _moved(self, coords: np.ndarray, epsg: int, later: list[Callable[[], None]]) -> np.ndarray:
        """``coords`` (EPSG:4490) moved to ``epsg``: from their disk entry, else transformed and the entry's write
        appended to ``later``."""
        coords = np.ascontiguousarray(coords, dtype=np.float64)
        key = hashlib.sha256(f"footprints|{code_digest()}|{epsg}|{coords.shape}|".encode() + coords.tobytes())
        path = self.folder / f"{key.hexdigest()[:32]}.npz"
        d = load_entry(path, ("coords",))
        if d is not None:
            if d["coords"].shape == coords.shape and d["coords"].dtype == np.float64:
                return d["coords"]
            path.unlink(missing_ok=True)        # damaged: made again, never trusted
        moved = transform_coords(coords, STORAGE_EPSG, epsg)
        later.append(partial(save_entry, path, {"coords": moved}))
        return moved

    def _forget_old_versions(self, layer: Layer) -> None:
        for k in [k for k in self._mem if k[0] == layer.uid and k[1] != layer.version]:
            del self._mem[k]
        for r in [r for r in self._records if r[0] == layer.uid and r[1] != layer.version]:
            del self._records[r]

    def _load_or_build(self, layer: Layer, epsg: int, reach: float | None
                       ) -> tuple[PreparedLayer, Callable[[], None] | None]:
        """The prepared layer (from the disk entry, or built) and, for one built, what writes its entry."""
        if not self.disk:
            return prepare_layer(layer, epsg, self.max_vertices, reach, self.threads), None
        path = self.folder / f"{layer_fingerprint(layer, epsg, self.max_vertices, reach)}.npz"
        d = load_entry(path, _ARRAYS)
        if d is not None:
            try:
                off = d["pieces_off"]
                ids = [str(i) for i in unpack_strings(d["ids_text"], d["ids_none"])]   # ids are never None
                names = unpack_strings(d["names_text"], d["names_none"])
                n = layer.feature_count
                if n == len(ids) == len(names) == len(d["dims"]) and \
                        len(off) - 1 == len(d["owner"]) == len(d["piece_area"]) == len(d["piece_bounds"]) and \
                        offsets_fit(off, len(d["pieces_wkb"])) and \
                        (len(d["owner"]) == 0 or 0 <= d["owner"].min() <= d["owner"].max() < n):
                    return PreparedLayer(layer, epsg, d["dims"], np.full(len(off) - 1, None, dtype=object),
                                         d["owner"], d["piece_area"], ids, names, d["piece_bounds"],
                                         (d["pieces_wkb"], off)), None
            except Exception:  # noqa: BLE001 - a damaged entry is rebuilt, never trusted
                pass
            path.unlink(missing_ok=True)
        prepared = prepare_layer(layer, epsg, self.max_vertices, reach, self.threads)
        return prepared, partial(_save, path, prepared)


def _wider(reach: float | None) -> list[float | None]:
    """The reaches whose prepared layer also serves ``reach`` (None: the whole layer serves every reach)."""
    return [r for r in REACHES_DEG if reach is not None and r >= reach] + [None]


def _save(path: Path, prepared: PreparedLayer) -> None:
    """Write ``prepared`` as the disk entry ``path`` (a full or read-only disk only costs speed)."""
    pw, po = pack_geoms(prepared.pieces)
    packed_ids, packed_names = pack_strings(list[str | None](prepared.ids)), pack_strings(prepared.names)
    save_entry(path, {"pieces_wkb": pw, "pieces_off": po, "dims": np.asarray(prepared.dims), "owner": prepared.owner,
                      "piece_bounds": np.asarray(prepared.piece_bounds), "piece_area": prepared.piece_area,
                      "ids_text": packed_ids["text"], "ids_none": packed_ids["none"],
                      "names_text": packed_names["text"], "names_none": packed_names["none"]})
