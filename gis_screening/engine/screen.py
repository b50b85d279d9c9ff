"""``screen(projects, layerset, rules)``: overlay metrics + stacked rules → a verdict per project.

A pure function of its inputs: the CLI, the desktop app, batch jobs and tests all call it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .. import __version__
from ..catalog import default_catalog
from ..model import Layer, LayerSet
from .conditions import Ctx, evaluate, matching_codes, render
from .model import VERDICT_LABELS, Finding, Overlap, verdict_of
from .overlay import FootprintMetrics, batch_overlaps, footprint_metrics
from .prepared import PreparedCache
from .project import Project
from .rules import Rule, RuleStack
from .sectors import classify, industry_path, path_text

INTERSECT_M2 = 0.01       # polygon footprints: overlaps below 1 dm² are shared boundaries


@dataclass
class ProjectResult:
    project: Project
    metrics: FootprintMetrics
    overlaps: list[Overlap]
    findings: list[Finding]
    context: dict
    carbon: dict | None = None

    @property
    def verdict(self) -> str:
        return verdict_of(self.findings)

    def decisive(self) -> list[Finding]:
        """The findings at the verdict's level (why the verdict is what it is)."""
        v = self.verdict
        return [f for f in self.findings if f.level == v] if v != "compliant" else []

    def to_json(self) -> dict:
        p, m = self.project, self.metrics
        proj = {"id": p.id, "name": p.name or p.id, "industry_code": p.industry_code, "area_m2": round(m.area_m2, 3),
                "length_m": round(m.length_m, 3), "metric_crs": f"EPSG:{m.metric_epsg}",
                "centroid_lonlat": list(m.centroid_lonlat), "geometry_type": p.geometry.geom_type,
                "construction_type": p.construction_type, "two_high": self.context.get("two_high"),
                "sector": self.context.get("sector"), "industry_name": self.context.get("industry_name"),
                "industry_level": self.context.get("industry_level"), "source": p.source}
        return {"project": proj, "verdict": self.verdict, "verdict_label": VERDICT_LABELS[self.verdict],
                "decisive_rules": sorted({f.rule_id for f in self.decisive()}),
                "findings": [f.to_json() for f in self.findings],
                "overlaps": [o.to_json() for o in self.overlaps], "carbon": self.carbon}


@dataclass
class ScreeningResult:
    results: list[ProjectResult]
    layerset: LayerSet
    rules: RuleStack
    search_radius_m: float
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).astimezone())

    def to_json(self) -> dict:
        """The result document of contracts/screening-result.schema.json."""
        return {
            "schema_version": "1",
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "software": {"name": "gis-screening", "version": __version__},
            "search_radius_m": self.search_radius_m,
            "rule_packs": self.rules.pack_refs(),
            "layers": [{"role": lyr.role, "name": lyr.name, "source": lyr.source, "feature_count": lyr.feature_count,
                        "problems": lyr.problem_strings()} for lyr in self.layerset.layers],
            "results": [r.to_json() for r in self.results],
        }


def _layer_matches(rule_layer: str, overlap: Overlap) -> bool:
    if rule_layer.startswith("other:"):
        return overlap.role == "other" and overlap.layer == rule_layer.split(":", 1)[1]
    return overlap.role == rule_layer


def _intersects(o: Overlap, fp: FootprintMetrics) -> bool:
    if fp.dim == 2:
        return o.overlap_area_m2 > INTERSECT_M2
    if fp.dim == 1:
        return (o.overlap_length_m or 0) > 0 or o.distance_m == 0
    return o.distance_m == 0


def _relation_holds(rule: Rule, o: Overlap, fp: FootprintMetrics) -> bool:
    inter = _intersects(o, fp)
    if rule.relation == "intersects":
        return inter
    if rule.relation == "within":
        if fp.dim == 2:
            return (o.overlap_ratio or 0) >= 0.9999
        return inter and (fp.dim == 0 or (o.overlap_length_m or 0) >= 0.9999 * fp.length_m)
    if rule.relation == "within_distance":
        return not inter and o.distance_m <= (rule.distance_m or 0)
    return False


def _feature_ctx(layer: Layer, index: int) -> Ctx:
    row = layer.gdf.iloc[index]
    return Ctx({k: (None if v is None or (isinstance(v, float) and v != v) else v)
                for k, v in row.items() if k != layer.gdf.geometry.name})


def _overlap_ctx(o: Overlap, fp: FootprintMetrics) -> Ctx:
    return Ctx(overlap_area_m2=round(o.overlap_area_m2, 2), overlap_ha=round(o.overlap_area_m2 / 10_000, 4),
               share_pct=None if o.overlap_ratio is None else round(100 * o.overlap_ratio, 2),
               distance_m=round(o.distance_m, 1), overlap_length_m=o.overlap_length_m,
               layer=o.layer, feature_id=o.feature_id, feature_name=o.feature_name)


def project_context(project: Project, fp: FootprintMetrics, overlaps: list[Overlap], layers: dict) -> Ctx:
    """What rules may ask about a project: its attributes plus derived facts (两高 sector, in a park…)."""
    match = classify(project.industry_code)
    path = industry_path(project.industry_code)
    alt = industry_path(project.attributes.get("industry_code_alt"))
    parks = [o for o in overlaps if o.role == "industrial_parks" and _intersects(o, fp)]
    in_park = any((o.overlap_ratio or 0) >= 0.99 or fp.dim < 2 for o in parks)
    park_types = []
    for o in parks:
        lyr = layers.get(o.layer)
        if lyr is not None and "park_type" in lyr.gdf.columns:
            park_types.append(lyr.gdf["park_type"].iloc[o.feature_index])
    units = [o for o in overlaps if o.role == "control_units" and _intersects(o, fp)]
    admin = None
    for o in units:
        lyr = layers.get(o.layer)
        if lyr is not None and "admin_code" in lyr.gdf.columns:
            admin = lyr.gdf["admin_code"].iloc[o.feature_index] or admin
    ctx = Ctx({k: v for k, v in project.attributes.items() if isinstance(k, str)})
    ctx.update(id=project.id, name=project.name, industry_code=project.industry_code,
               construction_type=project.construction_type, two_high=match.two_high, sector=match.sector,
               industry_name=path[-1].name if path else match.class_name,
               industry_level=path[-1].level if path else None,
               industry_path=path_text(path) or None,
               industry_alt_name=alt[-1].name if alt else None, in_park=in_park, in_chemical_park=any(
                   t and "化工" in str(t) for t in park_types), park_names=[o.feature_name for o in parks],
               admin_code=admin, city_code=str(admin)[:4] if admin else None,
               area_m2=round(fp.area_m2, 2), area_ha=round(fp.area_m2 / 10_000, 4), length_m=round(fp.length_m, 1),
               geometry_type=project.geometry.geom_type,
               new_or_expanded=project.construction_type in ("新建", "扩建", "改扩建", "改建"))
    return ctx


def evaluate_rules(project: Project, fp: FootprintMetrics, overlaps: list[Overlap], stack: RuleStack,
                   layers: dict) -> tuple[list[Finding], Ctx]:
    """Apply every rule of the stack to one project; returns its findings and the project context."""
    pctx = project_context(project, fp, overlaps, layers)
    findings: list[Finding] = []
    for rule, pack in stack.rules:
        if rule.relation == "always":
            names = {"project": pctx, "feature": Ctx(), "overlap": Ctx()}
            if evaluate(rule.when, names):
                findings.append(_finding(rule, pack, names))
            continue
        mine = [o for o in overlaps if _layer_matches(rule.layer, o)]
        if rule.relation == "disjoint":
            names = {"project": pctx, "feature": Ctx(), "overlap": Ctx()}
            if not any(_intersects(o, fp) for o in mine) and evaluate(rule.when, names):
                findings.append(_finding(rule, pack, names, layer=_layer_title(rule.layer)))
            continue
        for o in mine:
            if not _relation_holds(rule, o, fp):
                continue
            feat = _feature_ctx(layers[o.layer], o.feature_index)
            names = {"project": pctx, "feature": feat, "overlap": _overlap_ctx(o, fp)}
            names["feature"]["matched_codes"] = "、".join(matching_codes(project.industry_code, feat.get(
                "prohibited_industries"))) or "、".join(matching_codes(project.industry_code, feat.get(
                    "restricted_industries")))
            if evaluate(rule.when, names):
                findings.append(_finding(rule, pack, names, layer=o.layer, feature_id=o.feature_id, overlap=o))
    return findings, pctx


def _layer_title(rule_layer: str) -> str:
    if rule_layer.startswith("other:"):
        return rule_layer.split(":", 1)[1]
    cat = default_catalog()
    return cat.roles[rule_layer].title if rule_layer in cat.roles else rule_layer


def _finding(rule: Rule, pack, names: dict, layer: str | None = None, feature_id: str | None = None,
             overlap: Overlap | None = None) -> Finding:
    metrics = {}
    if overlap is not None:
        metrics = {"overlap_area_m2": round(overlap.overlap_area_m2, 3), "distance_m": round(overlap.distance_m, 3)}
        if overlap.overlap_ratio is not None:
            metrics["overlap_ratio"] = round(overlap.overlap_ratio, 6)
        if overlap.overlap_length_m:
            metrics["overlap_length_m"] = round(overlap.overlap_length_m, 3)
        if overlap.feature_name:
            metrics["feature_name"] = overlap.feature_name
    return Finding(rule_id=rule.id, level=rule.level, message=render(rule.message, names),
                   basis=[render(b, names) for b in rule.basis], title=rule.title, layer=layer,
                   feature_id=feature_id, metrics=metrics, dimension=rule.dimension, pack=pack.id)


def screen(projects: Sequence[Project], layerset: LayerSet, rules: RuleStack, *, search_radius_m: float = 1000.0,
           cache: PreparedCache | None = None, progress: Callable[[int, int], None] | None = None,
           cancel: Callable[[], bool] | None = None, carbon: bool = True) -> ScreeningResult:
    """Screen ``projects`` against every layer of ``layerset`` with the stacked ``rules``.

    Areas and distances are in metres in each project's 3° GK zone.  ``progress(done, total)`` is called
    per zone group; ``cancel()`` returning True stops early (results so far are returned).
    """
    cache = cache or PreparedCache(disk=False)
    layers = {lyr.name: lyr for lyr in layerset.layers}
    fps = [footprint_metrics(p.geometry) for p in projects]
    overlaps: list[list[Overlap]] = [[] for _ in projects]
    by_zone: dict[int, list[int]] = {}
    for i, fp in enumerate(fps):
        by_zone.setdefault(fp.metric_epsg, []).append(i)
    done = 0
    for epsg, idx in by_zone.items():
        if cancel and cancel():
            break
        prepared = [cache.get(lyr, epsg) for lyr in layerset.layers]
        for i, ovs in zip(idx, batch_overlaps([fps[i] for i in idx], prepared, search_radius_m)):
            overlaps[i] = sorted(ovs, key=lambda o: (o.distance_m, -o.overlap_area_m2))
        done += len(idx)
        if progress:
            progress(done, len(projects))
    results = []
    for p, fp, ovs in zip(projects, fps, overlaps):
        findings, ctx = evaluate_rules(p, fp, ovs, rules, layers)
        block = None
        if carbon:
            from ..carbon import carbon_for
            block, more = carbon_for(p, ctx, rules.carbon, overlaps=ovs, layers=layers)
            findings += more
        results.append(ProjectResult(p, fp, ovs, findings, dict(ctx), block))
    return ScreeningResult(results, layerset, rules, search_radius_m)
