"""Geometry checks and repairs on import: empty, non-finite, invalid, wrong dimension.

Every change is reported as a :class:`Problem` carrying the feature's id.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from .errors import Problem

if TYPE_CHECKING:
    import geopandas as gpd

_DIM = {"polygon": 2, "line": 1, "point": 0}

#: Areas in metres² below which an overlap, gap, sliver or changed area is numerical noise of shared boundaries
#: (1 dm²): screening does not count such an overlap as "inside", topology checks and version diffs ignore it.
NOISE_M2 = 0.01
#: Overlap areas below this (m²) are reported as 0: the floating-point residue of two polygons that share an edge.
ZERO_AREA_M2 = 1e-4


def _polygonal_part(geom):
    """Keep the polygonal parts of a (repaired) geometry."""
    if geom is None:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if polys:
            return shapely.union_all(polys)
    return None


def _finite_coordinates(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: are all its x/y coordinates finite (False for a missing geometry)?"""
    coords = shapely.get_coordinates(geoms)
    bad = ~np.isfinite(coords).all(axis=1)
    if not bad.any():
        return ~shapely.is_missing(geoms)
    owner = np.repeat(np.arange(len(geoms)), shapely.get_num_coordinates(geoms))
    ok = np.bincount(owner[bad], minlength=len(geoms)) == 0
    return ok & ~shapely.is_missing(geoms)


#: Below this many vertices, work on a layer's geometries is done in one thread (starting threads costs more).
THREADED_VERTICES = 200_000


def thread_shares(vertices: np.ndarray, threads: int) -> list[slice]:
    """Consecutive slices of features (``vertices``: each one's vertex count) with about equal vertex counts, one
    per thread, for GEOS/PROJ work that releases the GIL; one slice for a small layer."""
    total = int(vertices.sum())
    if threads <= 1 or total < THREADED_VERTICES or len(vertices) < threads:
        return [slice(None)]
    cuts = np.searchsorted(np.cumsum(vertices), [total * k / threads for k in range(1, threads)])
    bounds = [0, *sorted({int(c) + 1 for c in cuts if 0 < int(c) + 1 < len(vertices)}), len(vertices)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def _is_valid(geoms: np.ndarray) -> np.ndarray:
    """``shapely.is_valid`` of each geometry; a large array's :func:`thread_shares` on two threads."""
    shares = thread_shares(shapely.get_num_coordinates(geoms), 2)
    if len(shares) == 1:
        return np.asarray(shapely.is_valid(geoms), dtype=bool)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(len(shares), thread_name_prefix="is-valid") as pool:
        return np.concatenate(list(pool.map(lambda share: shapely.is_valid(geoms[share]), shares)))


def check_geometries(gdf: gpd.GeoDataFrame, ids: list[str], expected: str = "any"
                     ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Drop empty / non-finite geometries, repair invalid ones with ``make_valid``.

    ``expected`` is the role's geometry kind (``polygon``, ``line``, ``point`` or ``any``); for polygon
    roles only the polygonal part of a repair is kept, and non-polygon features are dropped.
    Returns the cleaned frame (same CRS, index reset) and the problems found.
    """
    problems: list[Problem] = []
    geoms = gdf.geometry.values
    keep = np.ones(len(gdf), dtype=bool)
    new = np.array(geoms, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    valid = _is_valid(geoms)
    # GEOS finds a valid geometry's x/y finite (a NaN or infinite x/y is an "Invalid Coordinate"): only the others
    # are looked at vertex by vertex
    coords_ok = np.ones(len(geoms), dtype=bool)
    if not valid.all():
        coords_ok[~valid] = _finite_coordinates(geoms[~valid])
    want_dim = _DIM.get(expected)
    flagged = missing | ~coords_ok | ~valid
    if want_dim is not None:
        flagged |= shapely.get_dimensions(geoms) != want_dim
    for i in np.flatnonzero(flagged).tolist():          # the features that are not fine as they are
        fid = ids[i]
        if missing[i]:
            problems.append(Problem("error", "feature has no geometry; skipped", feature=fid))
            keep[i] = False
            continue
        if not coords_ok[i]:
            problems.append(Problem("error", "geometry has NaN or infinite coordinates; skipped", feature=fid))
            keep[i] = False
            continue
        g = geoms[i]
        if not valid[i]:
            reason = shapely.is_valid_reason(g)
            fixed = shapely.make_valid(g)
            if want_dim == 2:
                fixed = _polygonal_part(fixed)
            if fixed is None or fixed.is_empty:
                problems.append(Problem("error", f"invalid geometry ({reason}) could not be repaired; skipped",
                                        feature=fid))
                keep[i] = False
                continue
            before, after = shapely.area(g), shapely.area(fixed)
            if shapely.get_dimensions(g) == 2 and shapely.get_dimensions(fixed) < 2:
                kind = "a line" if shapely.get_dimensions(fixed) == 1 else "a point"
                problems.append(Problem("warning", f"{g.geom_type} has no area ({reason}: its points are repeated or "
                                        f"in a line); it is kept as {kind} ({fixed.geom_type}) and screened as "
                                        f"{kind} — check the coordinates", feature=fid))
            else:
                problems.append(Problem("warning", f"invalid geometry ({reason}) repaired with make_valid; "
                                        f"area {before:.6g} → {after:.6g} (source units)", feature=fid))
            new[i] = fixed
            g = fixed
        if want_dim is not None and shapely.get_dimensions(g) != want_dim:
            problems.append(Problem("error", f"{g.geom_type} in a {expected} layer; skipped", feature=fid))
            keep[i] = False
    import geopandas as gpd
    out = gdf.copy()
    out = out.set_geometry(gpd.GeoSeries(new, index=gdf.index, crs=gdf.crs))
    return out[keep].reset_index(drop=True), problems


Coords = list[tuple[float, float]]


def closed_rings(points: Coords) -> list[Coords]:
    """The rings a sequence of boundary points describes: it returns to its first point and goes on (a table or
    file listing two parcels, or a parcel and its hole, one after the other: J1 … J4 J1 K1 … K4 K1) → one ring each;
    each ring closed (the first point repeated at the end where the list left it out)."""
    rings, start = [], 0
    for k in range(1, len(points)):
        if points[k] == points[start] and k - start >= 3 and k + 1 < len(points):
            rings.append(points[start:k + 1])
            start = k + 1
    last = points[start:]
    rings.append(last + last[:1] if last and last[0] != last[-1] else last)
    return rings


def nest_rings(rings: list[Coords]) -> shapely.Polygon | shapely.MultiPolygon:
    """Closed rings (each of 3+ distinct points) as one polygon: a ring inside an earlier outer ring is a hole of
    it, any other a new outer ring (a second parcel: a MultiPolygon)."""
    outers: list[tuple[shapely.Polygon, list[Coords]]] = []
    for ring in rings:
        poly = shapely.Polygon(ring)
        host = next((o for o in outers if o[0].contains(poly)), None)
        if host is not None:
            host[1].append(ring)
        else:
            outers.append((poly, []))
    parts = [shapely.Polygon(o.exterior.coords, holes) for o, holes in outers]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
