"""Prepared layers: projected to a GK zone, large polygons subdivided, STRtree-indexed, cached on disk.

Subdivision clips each geometry with more than ``max_vertices`` vertices to the two halves of its bounding box
(``shapely.clip_by_rect``), recursively, so the pieces partition the feature exactly: areas add up, and the
distance to the feature is the minimum over its pieces.  Queries then only touch small pieces, so screening cost
does not grow with the vertex count of the red-line polygons a footprint touches (design.md).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from platformdirs import user_cache_dir

from ..model import Layer

CACHE_VERSION = 1


@dataclass
class PreparedLayer:
    """A layer ready for overlay queries in one metric CRS (EPSG ``epsg``, metres)."""

    layer: Layer
    epsg: int
    geoms: np.ndarray            # full features, metric
    dims: np.ndarray             # 0 point, 1 line, 2 polygon, per feature
    pieces: np.ndarray           # subdivided pieces, metric
    owner: np.ndarray            # feature index of each piece
    piece_area: np.ndarray       # area of each piece, m²
    ids: list[str] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    tree: shapely.STRtree | None = None

    def __post_init__(self):
        if self.tree is None:
            self.tree = shapely.STRtree(self.pieces)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def role(self) -> str:
        return self.layer.role


def subdivide(geoms: np.ndarray, max_vertices: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Split geometries with more than ``max_vertices`` vertices into box-clipped pieces.

    Returns ``(pieces, owner)`` where ``owner[i]`` is the index in ``geoms`` of piece ``i``.  Pieces of a
    polygon partition it (shared edges only), so summed areas equal the original area.
    """
    pieces, owner = [], []
    counts = shapely.get_num_coordinates(geoms)
    small = counts <= max_vertices
    pieces.extend(geoms[small])
    owner.extend(np.flatnonzero(small))
    todo = [(g, int(i)) for i, g in zip(np.flatnonzero(~small), geoms[~small])]
    while todo:
        nxt = []
        boxes_a, boxes_b, src, own = [], [], [], []
        for g, i in todo:
            x0, y0, x1, y1 = g.bounds
            if (x1 - x0) >= (y1 - y0):
                xm = (x0 + x1) / 2
                boxes_a.append((x0, y0, xm, y1))
                boxes_b.append((xm, y0, x1, y1))
            else:
                ym = (y0 + y1) / 2
                boxes_a.append((x0, y0, x1, ym))
                boxes_b.append((x0, ym, x1, y1))
            src.append(g)
            own.append(i)
        for boxes in (boxes_a, boxes_b):
            parts = [shapely.clip_by_rect(g, *bx) for g, bx in zip(src, boxes)]
            for part, i in zip(parts, own):
                if part is None or part.is_empty:
                    continue
                n = shapely.get_num_coordinates(part)
                if n > max_vertices and part.area > 0 and max(part.bounds[2] - part.bounds[0],
                                                                part.bounds[3] - part.bounds[1]) > 1e-3:
                    nxt.append((part, i))
                else:
                    pieces.append(part)
                    owner.append(i)
        todo = nxt
    pieces_arr = np.array(pieces, dtype=object)
    bad = ~shapely.is_valid(pieces_arr)
    if bad.any():  # clip_by_rect may leave invalid rings on degenerate input
        pieces_arr[bad] = shapely.make_valid(pieces_arr[bad])
    return pieces_arr, np.asarray(owner, dtype=np.int64)


def prepare_layer(layer: Layer, epsg: int, max_vertices: int = 256) -> PreparedLayer:
    """Project ``layer`` (EPSG:4490) to ``epsg``, subdivide and index it."""
    metric = layer.gdf.to_crs(epsg).geometry.values
    geoms = np.asarray(metric, dtype=object)
    pieces, owner = subdivide(geoms, max_vertices)
    cat_names = _names(layer)
    return PreparedLayer(layer, epsg, geoms, shapely.get_dimensions(geoms), pieces, owner,
                         shapely.area(pieces), layer.feature_ids(), cat_names)


def _names(layer: Layer) -> list[str | None]:
    from ..catalog import default_catalog
    cat = default_catalog()
    col = cat.roles[layer.role].name_field if layer.role in cat.roles else "name"
    if col in layer.gdf.columns:
        return [None if v is None or v != v else str(v) for v in layer.gdf[col]]
    return [None] * len(layer.gdf)


def layer_fingerprint(layer: Layer, epsg: int, max_vertices: int) -> str:
    """Content hash of a layer's geometry, ids and names plus the preparation parameters."""
    h = hashlib.sha256(f"v{CACHE_VERSION}|{epsg}|{max_vertices}|{layer.role}".encode())
    h.update(b"".join(shapely.to_wkb(layer.gdf.geometry.values, hex=False)))
    h.update("\x1f".join(layer.feature_ids()).encode("utf-8"))
    return h.hexdigest()[:32]


class PreparedCache:
    """Prepared layers by (layer, epsg): in memory, and on disk in the user's cache folder.

    Disk entries are keyed by :func:`layer_fingerprint`, so an edited source is never served stale;
    writes are atomic (temp file + rename).  ``folder=None`` uses ``platformdirs.user_cache_dir``;
    ``disk=False`` keeps everything in memory.
    """

    def __init__(self, folder: str | Path | None = None, disk: bool = True, max_vertices: int = 256):
        self.folder = Path(folder) if folder else Path(user_cache_dir("gis-screening")) / "prepared"
        self.disk = disk
        self.max_vertices = max_vertices
        self._mem: dict[tuple[int, int], PreparedLayer] = {}

    def get(self, layer: Layer, epsg: int) -> PreparedLayer:
        key = (id(layer), epsg)
        hit = self._mem.get(key)
        if hit is not None and hit.layer is layer:
            return hit
        prepared = self._load_or_build(layer, epsg)
        self._mem[key] = prepared
        return prepared

    def _load_or_build(self, layer: Layer, epsg: int) -> PreparedLayer:
        if not self.disk:
            return prepare_layer(layer, epsg, self.max_vertices)
        path = self.folder / f"{layer_fingerprint(layer, epsg, self.max_vertices)}.pkl"
        if path.exists():
            try:
                with open(path, "rb") as fh:
                    d = pickle.load(fh)
                geoms = shapely.from_wkb(d["geoms"])
                pieces = shapely.from_wkb(d["pieces"])
                return PreparedLayer(layer, epsg, geoms, d["dims"], pieces, d["owner"], d["piece_area"],
                                     d["ids"], d["names"])
            except Exception:  # a corrupt or foreign cache entry is rebuilt, never trusted
                path.unlink(missing_ok=True)
        prepared = prepare_layer(layer, epsg, self.max_vertices)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump({"geoms": shapely.to_wkb(prepared.geoms), "pieces": shapely.to_wkb(prepared.pieces),
                             "dims": prepared.dims, "owner": prepared.owner, "piece_area": prepared.piece_area,
                             "ids": prepared.ids, "names": prepared.names}, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache folder only costs speed
        return prepared
