"""Topology of a tiling layer (管控单元 全覆盖、不重叠): overlaps and gaps, in metres in the GK zone."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from .crs import metric_epsg_for_bounds
from .geometry import NOISE_M2


@dataclass
class Defect:
    kind: str                 # "overlap" or "gap"
    area_m2: float
    lonlat: tuple[float, float]
    features: tuple[str, ...] = ()
    geometry: object = None   # EPSG:4490


@dataclass
class TopologyReport:
    metric_crs: str
    overlaps: list[Defect] = field(default_factory=list)
    gaps: list[Defect] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    @staticmethod
    def _summary(items: list[Defect]) -> dict:
        if not items:
            return {"count": 0, "total_m2": 0.0, "largest": None}
        big = max(items, key=lambda d: d.area_m2)
        return {"count": len(items), "total_m2": float(sum(d.area_m2 for d in items)),
                "largest": {"area_m2": big.area_m2, "lonlat": list(big.lonlat), "features": list(big.features)}}

    def summary(self) -> dict:
        return {"metric_crs": self.metric_crs, "overlaps": self._summary(self.overlaps),
                "gaps": self._summary(self.gaps), "invalid": self.invalid}


def check_topology(gdf: gpd.GeoDataFrame, ids: list[str], boundary=None) -> TopologyReport:
    """Find overlaps between features and gaps inside the layer's outer boundary (or ``boundary``).

    ``gdf`` is in EPSG:4490; areas are computed in the 3° GK zone of the layer's centre.
    ``boundary`` (a shapely geometry in EPSG:4490) makes gaps = boundary minus the union.
    """
    epsg = metric_epsg_for_bounds(gdf.total_bounds)
    geoms = gdf.to_crs(epsg).geometry.values
    report = TopologyReport(metric_crs=f"EPSG:{epsg}")
    report.invalid = [ids[i] for i in np.flatnonzero(~shapely.is_valid(geoms))]
    geoms = np.array([g if g.is_valid else shapely.make_valid(g) for g in geoms], dtype=object)

    def _lonlat(g):
        p = gpd.GeoSeries([g.representative_point()], crs=epsg).to_crs(4490).iloc[0]
        return (round(p.x, 6), round(p.y, 6))

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    mask = left < right
    for a, b in zip(left[mask], right[mask]):
        inter = shapely.intersection(geoms[a], geoms[b])
        area = shapely.area(inter)
        if area > NOISE_M2:
            report.overlaps.append(Defect("overlap", float(area), _lonlat(inter), (ids[a], ids[b]),
                                          gpd.GeoSeries([inter], crs=epsg).to_crs(4490).iloc[0]))
    union = shapely.union_all(geoms)
    if boundary is not None:
        bnd = gpd.GeoSeries([boundary], crs=4490).to_crs(epsg).iloc[0]
        holes = shapely.get_parts(shapely.difference(bnd, union))
    else:
        rings = []
        for poly in shapely.get_parts(union):
            if poly.geom_type == "Polygon":
                rings += [shapely.Polygon(r) for r in poly.interiors]
        holes = rings
    for h in holes:
        area = shapely.area(h)
        if area > NOISE_M2:
            report.gaps.append(Defect("gap", float(area), _lonlat(h), (),
                                      gpd.GeoSeries([h], crs=epsg).to_crs(4490).iloc[0]))
    return report


#: An edit may leave overlaps or gaps up to this area (m², per defect) beyond what was there before it …
EDIT_TOLERANCE_M2 = 1.0
#: … and slivers no wider than this (m): node insertion in geographic coordinates shifts edges by ~1 mm,
#: which along a 2 km edge is already 2 m² of "overlap" with no meaning on the ground.
EDIT_SLIVER_WIDTH_M = 0.02


def new_defects(before: gpd.GeoDataFrame, before_ids: list[str], after: gpd.GeoDataFrame, after_ids: list[str],
                changed_bounds: tuple[float, float, float, float],
                tolerance_m2: float = EDIT_TOLERANCE_M2) -> list[Defect]:
    """Overlaps and gaps that an edit created: defects of the features near the edit (``changed_bounds``,
    EPSG:4490) after it, less those present before it; only parts larger than ``tolerance_m2`` and wider than
    :data:`EDIT_SLIVER_WIDTH_M` count.
    Pre-existing overlaps with neighbours never block a save."""
    box = shapely.box(*changed_bounds)

    def near(gdf, ids):
        idx = np.flatnonzero(shapely.intersects(gdf.geometry.values, box))
        return gdf.iloc[idx], [ids[i] for i in idx]

    b_gdf, b_ids = near(before, before_ids)
    a_gdf, a_ids = near(after, after_ids)
    if len(a_gdf) == 0:
        return []
    rep_a = check_topology(a_gdf, a_ids)
    rep_b = check_topology(b_gdf, b_ids) if len(b_gdf) else TopologyReport(metric_crs=rep_a.metric_crs)
    epsg = int(rep_a.metric_crs.split(":")[1])
    out = []
    for kind, now, then in (("overlap", rep_a.overlaps, rep_b.overlaps), ("gap", rep_a.gaps, rep_b.gaps)):
        prior = shapely.union_all(gpd.GeoSeries([d.geometry for d in then], crs=4490).to_crs(epsg).values) \
            if then else None
        for d in now:
            g = gpd.GeoSeries([d.geometry], crs=4490).to_crs(epsg).iloc[0]
            fresh = g.difference(prior) if prior is not None else g
            if fresh.area > tolerance_m2 and not fresh.buffer(-EDIT_SLIVER_WIDTH_M / 2).is_empty:
                out.append(Defect(kind, float(fresh.area), d.lonlat, d.features,
                                  gpd.GeoSeries([fresh], crs=epsg).to_crs(4490).iloc[0]))
    return out
