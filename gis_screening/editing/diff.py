"""Version diff of a zone layer: units added, removed, changed (attributes; geometry gained/lost m² in GK)."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

from ..crs import metric_epsg_for_bounds
from ..geometry import NOISE_M2
from ..model import is_missing


@dataclass
class ZoneDiff:
    """Units added, removed and changed between two versions of a zone layer (areas in ``metric_crs``, m²)."""
    metric_crs: str
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        """The diff as a JSON-ready dict with a summary of counts."""
        return {"metric_crs": self.metric_crs, "added": self.added, "removed": self.removed, "changed": self.changed,
                "summary": {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed)}}


def _clean(v):
    return None if is_missing(v) else (v if isinstance(v, (int, float, bool)) else str(v))


def diff_layers(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, key: str = "code", min_m2: float = NOISE_M2) -> ZoneDiff:
    """Compare two versions (EPSG:4490, canonical fields) matched by ``key``; areas in the GK zone of the data."""
    epsg = metric_epsg_for_bounds(old.total_bounds)

    def keyed(g):
        g = g.to_crs(epsg).copy()
        g[key] = [f"(无编码 #{i + 1})" if is_missing(v) else str(v) for i, v in enumerate(g[key])]
        # one row per code: a code on several rows (a multi-part unit, a pasted copy) is compared as one
        return g.dissolve(by=key, aggfunc="first") if g[key].duplicated().any() else g.set_index(key)

    o, n = keyed(old), keyed(new)
    d = ZoneDiff(f"EPSG:{epsg}")
    cols = [c for c in o.columns.intersection(n.columns) if c != o.geometry.name]
    for code in n.index.difference(o.index):
        d.added.append({"code": code, "name": _clean(n.at[code, "name"]) if "name" in n else None,
                        "area_m2": round(float(n.geometry[code].area), 3)})
    for code in o.index.difference(n.index):
        d.removed.append({"code": code, "name": _clean(o.at[code, "name"]) if "name" in o else None,
                          "area_m2": round(float(o.geometry[code].area), 3)})
    for code in o.index.intersection(n.index):
        go, gn = o.geometry[code], n.geometry[code]
        attrs = {c: {"old": _clean(o.at[code, c]), "new": _clean(n.at[code, c])} for c in cols
                 if _clean(o.at[code, c]) != _clean(n.at[code, c])}
        gained = float(gn.difference(go).area)
        lost = float(go.difference(gn).area)
        if attrs or gained > min_m2 or lost > min_m2:
            d.changed.append({"code": code, "attributes": attrs, "area_gained_m2": round(gained, 3),
                              "area_lost_m2": round(lost, 3)})
    return d
