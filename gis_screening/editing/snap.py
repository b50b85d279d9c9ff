"""Snapping for editing: to the nearest vertex within a tolerance, else to the nearest edge point."""
from __future__ import annotations

import numpy as np
import shapely


def snap_point(x: float, y: float, geoms, tolerance: float) -> tuple[float, float, str | None]:
    """Snap (x, y) to vertices, then edges, of ``geoms`` within ``tolerance`` (same units as the coordinates).

    Returns ``(x, y, kind)`` where kind is ``"vertex"``, ``"edge"`` or None (not snapped).  The app passes the
    tolerance as pixels × map units per pixel.
    """
    pt = shapely.Point(x, y)
    near = [g for g in geoms if g is not None and g.distance(pt) <= tolerance]
    if not near:
        return x, y, None
    coords = np.vstack([shapely.get_coordinates(g) for g in near])
    d = np.hypot(coords[:, 0] - x, coords[:, 1] - y)
    i = int(np.argmin(d))
    if d[i] <= tolerance:
        return float(coords[i, 0]), float(coords[i, 1]), "vertex"
    best = min(near, key=lambda g: g.boundary.distance(pt) if g.geom_type.endswith("Polygon") else g.distance(pt))
    line = best.boundary if best.geom_type.endswith("Polygon") else best
    q = line.interpolate(line.project(pt))
    if q.distance(pt) <= tolerance:
        return float(q.x), float(q.y), "edge"
    return x, y, None
