"""Plain result objects of a screening: overlaps, findings, verdict levels (no Qt, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

#: The one level type of every rule and check in every pack (rules, carbon).
Level = Literal["non_compliant", "needs_review", "conditional", "compliant", "info"]
LEVELS: tuple[str, ...] = get_args(Level)
#: Verdict = worst finding level by this order (design.md); ``info`` never affects the verdict.
LEVEL_RANK = {"info": -1, "compliant": 0, "conditional": 1, "needs_review": 2, "non_compliant": 3}
VERDICT_LABELS = {"non_compliant": "不符合", "needs_review": "需人工核实", "conditional": "有条件符合",
                  "compliant": "符合"}
LEVEL_LABELS = {**VERDICT_LABELS, "info": "提示"}
#: One colour per level, for banners, tables, maps and reports alike.
VERDICT_COLOURS = {"non_compliant": "#c62828", "needs_review": "#ef6c00", "conditional": "#f9a825",
                   "compliant": "#2e7d32", "info": "#546e7a"}


@dataclass(slots=True)
class Overlap:
    """One feature of one layer within the search radius of a footprint (metres, GK zone)."""

    layer: str                  # layer display name
    role: str
    layer_uid: str              # unique id of the loaded layer (Layer.uid)
    feature_id: str
    feature_index: int          # row in the layer's GeoDataFrame
    overlap_area_m2: float
    distance_m: float           # 0 when touching or overlapping
    overlap_ratio: float | None = None   # share of the footprint area (None for lines/points)
    feature_name: str | None = None
    overlap_length_m: float | None = None  # for line footprints: length inside the feature

    def to_json(self) -> dict[str, Any]:
        d = {"layer": self.layer, "role": self.role, "layer_id": self.layer_uid, "feature_id": self.feature_id, "overlap_area_m2": round(self.overlap_area_m2, 3),
             "distance_m": round(self.distance_m, 3)}
        if self.feature_name is not None:
            d["feature_name"] = self.feature_name
        if self.overlap_ratio is not None:
            d["overlap_ratio"] = min(1.0, max(0.0, round(self.overlap_ratio, 6)))
        return d


@dataclass(slots=True)
class Finding:
    """A rule's conclusion about one project (and usually one feature), with evidence and basis."""

    rule_id: str
    level: str
    message: str
    basis: list[str]
    title: str | None = None
    layer: str | None = None
    feature_id: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    dimension: str | None = None     # 准入清单 dimension or "carbon", for grouping in reports
    pack: str | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"rule_id": self.rule_id, "level": self.level, "message": self.message, "basis": list(self.basis)}
        if self.title is not None:
            d["title"] = self.title
        if self.layer is not None:
            d["layer"] = self.layer
        if self.feature_id is not None:
            d["feature_id"] = self.feature_id
        if self.metrics or self.dimension or self.pack:
            metrics = dict(self.metrics)
            if self.dimension:
                metrics["dimension"] = self.dimension
            if self.pack:
                metrics["pack"] = self.pack
            d["metrics"] = metrics
        return d


def verdict_of(findings: list[Finding]) -> str:
    """Worst level over the findings; ``compliant`` when none is worse."""
    worst = "compliant"
    for f in findings:
        if LEVEL_RANK.get(f.level, -1) > LEVEL_RANK[worst]:
            worst = f.level
    return worst
