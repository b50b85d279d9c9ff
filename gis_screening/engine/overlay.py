"""Overlay metrics between footprints and prepared layers, in metres in the footprint's GK zone.

For every feature within ``radius_m`` of a footprint: overlap area (m²), share of the footprint, overlap length
for line footprints, and distance (0 when touching or overlapping).  Exact work only where needed: pieces covered
by the footprint contribute their precomputed area, a footprint covered by a piece its own area, only pieces whose
boundary crosses the footprint are intersected, and distances are computed only for features that do not
intersect.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import GEOMETRY_TYPES, BaseGeometry

from ..crs import STORAGE_EPSG, metric_epsgs_for_lons, reproject
from ..geometry import NOISE_M2, ZERO_AREA_M2
from .model import Overlap
from .prepared import PreparedLayer


@dataclass(slots=True)
class FootprintMetrics:
    """A footprint in its metric CRS with area (m², polygons) and length (m, lines / polygon perimeter)."""

    metric_epsg: int
    geom_metric: BaseGeometry
    area_m2: float
    length_m: float
    centroid_lonlat: tuple[float, float]        # EPSG:4490 degrees as computed (the result JSON: to 7 decimals)
    dim: int
    geom_type: str              # the footprint's geometry type (Polygon, MultiPolygon, Point…)


def meets(o: Overlap, fp: FootprintMetrics) -> bool:
    """Does the footprint ``fp`` meet the feature of its overlap ``o`` — what every rule and check calls a footprint
    intersecting, or being in, a feature: a polygon overlapping it by more than :data:`~gis_screening.geometry.
    NOISE_M2` (less is the noise of a shared boundary, and a polygon touching it only along its edge is outside), a
    line running along or touching it, a point on it."""
    if fp.dim == 2:
        return o.overlap_area_m2 > NOISE_M2
    if fp.dim == 1:
        return (o.overlap_length_m or 0) > 0 or o.distance_m == 0
    return o.distance_m == 0


def footprint_metrics(geom_4490: BaseGeometry, metric_epsg: int | None = None) -> FootprintMetrics:
    """Project a footprint (EPSG:4490) to its 3° GK zone (or ``metric_epsg``) and measure it."""
    return footprints_metrics([geom_4490], metric_epsg)[0]


def footprint_zones(geoms_4490: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each footprint's centroid (longitude, latitude: EPSG:4490) and metric CRS (the EPSG code of its 3° GK zone)."""
    c = shapely.centroid(geoms_4490)
    lon, lat = shapely.get_x(c), shapely.get_y(c)
    return lon, lat, metric_epsgs_for_lons(lon)


def footprints_metrics(geoms_4490: Sequence[BaseGeometry], metric_epsg: int | None = None,
                       zones: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                       project: Callable[[np.ndarray, int], np.ndarray] | None = None) -> list[FootprintMetrics]:
    """:func:`footprint_metrics` for many footprints: one projection per GK zone, measured as arrays.  ``zones``:
    their :func:`footprint_zones`, when the caller has them already; ``project(geoms, epsg)``: what projects them
    (default :func:`~gis_screening.crs.reproject`; a screening's cache keeps them projected)."""
    arr = np.empty(len(geoms_4490), dtype=object)
    arr[:] = list(geoms_4490)
    lon, lat, epsgs = zones if zones is not None else footprint_zones(arr)
    if metric_epsg:
        epsgs = np.full(len(arr), metric_epsg)
    lonlat = list(zip(lon.tolist(), lat.tolist()))
    out: list[FootprintMetrics | None] = [None] * len(arr)
    for epsg in sorted(set(epsgs.tolist())):       # (not np.unique: it imports numpy.ma, ~5 ms)
        idx = np.flatnonzero(epsgs == epsg)
        g = reproject(arr[idx], STORAGE_EPSG, epsg) if project is None else project(arr[idx], epsg)
        dims = shapely.get_dimensions(g)
        areas = np.where(dims == 2, shapely.area(g), 0.0)
        types = [GEOMETRY_TYPES[t] if t >= 0 else "" for t in shapely.get_type_id(g).tolist()]
        for i, geom, area, length, d, kind in zip(idx.tolist(), g, areas.tolist(), shapely.length(g).tolist(),
                                                 dims.tolist(), types):
            out[i] = FootprintMetrics(epsg, geom, area, length, lonlat[i], d, kind)
    return out  # type: ignore[return-value]


def _pair_metrics(fps: np.ndarray, fp_dims: np.ndarray, fp_idx: np.ndarray, piece_idx: np.ndarray,
                  prep: PreparedLayer) -> dict[str, np.ndarray]:
    """Per (footprint, piece) candidate pair: overlap area, overlap length, distance, intersects."""
    g = fps[fp_idx]
    p = prep.piece_geoms(piece_idx)
    inter = shapely.intersects(g, p)
    area = np.zeros(len(fp_idx))
    length = np.zeros(len(fp_idx))
    dist = np.zeros(len(fp_idx))
    poly_pair = inter & (fp_dims[fp_idx] == 2) & (prep.dims[prep.owner[piece_idx]] == 2)
    if poly_pair.any():
        covered = np.zeros(len(fp_idx), dtype=bool)
        covered[poly_pair] = shapely.covers(g[poly_pair], p[poly_pair])
        area[covered] = prep.piece_area[piece_idx[covered]]
        cross = poly_pair & ~covered
        if cross.any():         # a footprint wholly in a piece (a project inside a unit) overlaps it by its own area
            inside = np.zeros(len(fp_idx), dtype=bool)
            inside[cross] = shapely.covers(p[cross], g[cross])
            area[inside] = shapely.area(g[inside])
            cut = cross & ~inside
            if cut.any():
                area[cut] = shapely.area(shapely.intersection(g[cut], p[cut]))
    line_pair = inter & (fp_dims[fp_idx] == 1) & (prep.dims[prep.owner[piece_idx]] == 2)
    if line_pair.any():
        length[line_pair] = shapely.length(shapely.intersection(g[line_pair], p[line_pair]))
    far = ~inter
    if far.any():
        dist[far] = shapely.distance(g[far], p[far])
    return {"fp": fp_idx, "feature": prep.owner[piece_idx], "area": area, "length": length, "dist": dist,
            "inter": inter}


def _aggregate(pairs: dict[str, np.ndarray], prep: PreparedLayer, fp_area: np.ndarray, radius_m: float,
               n_fp: int) -> list[list[Overlap]]:
    """Sum areas/lengths and take minimum distances over each feature's pieces, per footprint."""
    out: list[list[Overlap]] = [[] for _ in range(n_fp)]
    if len(pairs["fp"]) == 0:
        return out
    n_feat = prep.n_features
    keys = pairs["fp"].astype(np.int64) * n_feat + pairs["feature"]
    uniq, inv = np.unique(keys, return_inverse=True)
    area = np.bincount(inv, weights=pairs["area"], minlength=len(uniq))
    length = np.bincount(inv, weights=pairs["length"], minlength=len(uniq))
    inter = np.bincount(inv, weights=pairs["inter"].astype(float), minlength=len(uniq)) > 0
    dist = np.full(len(uniq), np.inf)
    np.minimum.at(dist, inv, np.where(pairs["inter"], 0.0, pairs["dist"]))
    dist[inter] = 0.0
    near = dist <= radius_m
    fps, feats = np.divmod(uniq[near], n_feat)
    area = np.where(area[near] > ZERO_AREA_M2, area[near], 0.0)
    whole = fp_area[fps]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.minimum(1.0, area / whole)
    name, role, uid, ids, names = prep.name, prep.role, prep.uid, prep.ids, prep.names
    for fp, feat, a, d, ratio, has_area, ln in zip(fps.tolist(), feats.tolist(), area.tolist(), dist[near].tolist(),
                                                   ratios.tolist(), (whole > 0).tolist(), length[near].tolist()):
        out[fp].append(Overlap(layer=name, role=role, layer_uid=uid, feature_id=ids[feat], feature_index=feat,
                               overlap_area_m2=a, distance_m=d, overlap_ratio=ratio if has_area else None,
                               feature_name=names[feat], overlap_length_m=ln if ln > 0 else None))
    return out


def overlaps_for(fp: FootprintMetrics, prepared: Sequence[PreparedLayer], radius_m: float = 1000.0) -> list[Overlap]:
    """Every feature of every prepared layer within ``radius_m`` of the footprint (one footprint)."""
    fps = np.array([fp.geom_metric], dtype=object)
    shapely.prepare(fps)
    result: list[Overlap] = []
    for prep in prepared:
        if prep.epsg != fp.metric_epsg:
            raise ValueError(f"layer {prep.name} prepared in EPSG:{prep.epsg}, footprint in EPSG:{fp.metric_epsg}")
        fp_idx, piece_idx = prep.query(fps, radius_m)
        df = _pair_metrics(fps, np.array([fp.dim]), fp_idx, piece_idx, prep)
        result += _aggregate(df, prep, np.array([fp.area_m2]), radius_m, 1)[0]
    return result


def batch_overlaps(fps: Sequence[FootprintMetrics], prepared: Sequence[PreparedLayer], radius_m: float = 1000.0,
                   workers: int | None = None, chunk: int = 2000) -> list[list[Overlap]]:
    """:func:`overlaps_for` for many footprints of one metric CRS, vectorised and threaded.

    shapely 2 releases the GIL in its array functions, so chunks run in parallel threads.
    """
    n = len(fps)
    geoms = np.array([f.geom_metric for f in fps], dtype=object)
    dims = np.array([f.dim for f in fps])
    areas = np.array([f.area_m2 for f in fps])
    shapely.prepare(geoms)
    out: list[list[Overlap]] = [[] for _ in range(n)]

    def run(bounds: tuple[int, int]) -> tuple[int, list[list[Overlap]]]:
        lo, hi = bounds
        part: list[list[Overlap]] = [[] for _ in range(hi - lo)]
        sub, sub_dims, sub_areas = geoms[lo:hi], dims[lo:hi], areas[lo:hi]
        for prep in prepared:
            fp_idx, piece_idx = prep.query(sub, radius_m)
            df = _pair_metrics(sub, sub_dims, fp_idx, piece_idx, prep)
            for i, lst in enumerate(_aggregate(df, prep, sub_areas, radius_m, hi - lo)):
                part[i] += lst
        return lo, part

    spans = [(lo, min(n, lo + chunk)) for lo in range(0, n, chunk)]
    threads = workers or min(4, max(1, len(spans)))
    if threads == 1 or len(spans) == 1:         # in this thread: no thread started and joined for each batch
        parts = list(map(run, spans))
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(run, spans))
    for lo, part in parts:
        out[lo:lo + len(part)] = part
    return out
