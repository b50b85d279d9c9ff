"""Rule evaluation for one project (pure), and the result objects of a screening.

The orchestrator that runs overlay → rules → carbon over many projects is :func:`gis_screening.screening.screen`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from types import MappingProxyType
from typing import Any

import orjson

from .. import __version__
from ..catalog import Catalog
from ..errors import InputError
from ..model import LayerSet, Project
from ..normalise import has_admission_list
from .collector import collector_paused
from .conditions import (
    CONDITION_SOURCE,
    Compiled,
    Ctx,
    compiled,
    leading_part,
    matching_codes,
    names_read,
    prohibition_sentence,
    project_fields,
    project_part,
    render,
    unreadable_mentions,
)
from .model import VERDICT_LABELS, Finding, Overlap, verdict_of
from .overlay import FootprintMetrics, meets
from .result import result_bytes
from .rules import Pack, Rule, RuleStack
from .sectors import classify, industry_path, path_text, serious_water_polluter

IN_PARK_SHARE = 0.99      # "in a park": (almost) wholly inside it

#: 建设性质 values and how the law's wording reads them: 新建、扩建 (and 改扩建) are "new or expanded"; 改建 and
#: 技术改造 are not (水污染防治法 §67, 45号 入园 and 新（扩）建燃煤自备电厂 name 新建、扩建 only).
NEW_OR_EXPANDED = ("新建", "扩建", "改扩建")
REBUILD = ("改建", "技术改造")
CONSTRUCTION_TYPES = ("新建", "扩建", "改建")
FIELD_LABELS = {"construction_type": "建设性质（construction_type）"}


@dataclass
class ProjectResult:
    project: Project
    metrics: FootprintMetrics
    overlaps: list[Overlap]
    findings: list[Finding]
    context: dict[str, Any]
    carbon: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        return verdict_of(self.findings)

    def decisive(self) -> list[Finding]:
        """The findings at the verdict's level (why the verdict is what it is)."""
        v = self.verdict
        return [f for f in self.findings if f.level == v] if v != "compliant" else []

    def to_json(self) -> dict[str, Any]:
        p, m = self.project, self.metrics
        proj = {"id": p.id, "name": p.name or p.id, "industry_code": p.industry_code, "area_m2": round(m.area_m2, 3),
                "length_m": round(m.length_m, 3), "metric_crs": f"EPSG:{m.metric_epsg}",
                "centroid_lonlat": [round(v, 7) for v in m.centroid_lonlat], "geometry_type": m.geom_type,
                "construction_type": p.construction_type, "two_high": self.context.get("two_high"),
                "sector": self.context.get("sector"), "industry_name": self.context.get("industry_name"),
                "industry_level": self.context.get("industry_level"), "source": p.source,
                "import_problems": [s for s in p.problems if s.startswith(("[warning]", "[error]"))]}
        verdict = self.verdict
        decisive = sorted({f.rule_id for f in self.findings if f.level == verdict}) if verdict != "compliant" else []
        return {"project": proj, "verdict": verdict, "verdict_label": VERDICT_LABELS[verdict],
                "decisive_rules": decisive,
                "findings": [f.to_json() for f in self.findings],
                "overlaps": [o.to_json() for o in self.overlaps], "carbon": self.carbon}


@dataclass
class EncodedResult:
    """A project's result held as the JSON the document holds at its place (:func:`~gis_screening.engine.result.
    result_bytes` of :meth:`ProjectResult.to_json`): one a forked copy of this process screened and sent
    (:func:`gis_screening.screening.screen` with ``split``), or one this process encoded while it waited for that
    copy.  Written out as it is, decoded only when read."""

    project: Project
    metrics: FootprintMetrics
    verdict: str
    encoded: bytes | memoryview

    @classmethod
    def of(cls, result: ProjectResult) -> EncodedResult:
        """``result`` encoded as the document holds it."""
        return cls(result.project, result.metrics, result.verdict, result_bytes(result.to_json()))

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = orjson.loads(self.encoded)
        return doc


@dataclass
class ScreeningResult:
    results: list[ProjectResult | EncodedResult]
    layerset: LayerSet
    rules: RuleStack
    search_radius_m: float
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).astimezone())
    partial: bool = False       # cancelled: ``results`` holds only the projects actually screened
    requested: int = 0          # how many projects were asked for
    missing_layers: list[dict[str, Any]] = field(default_factory=list)   # :func:`layers_missing` of the screening

    def to_json(self, encoded: bool = False) -> dict[str, Any]:
        """The result document of contracts/screening-result.schema.json.  ``encoded``: the results held encoded
        (:class:`EncodedResult`) stay the JSON they are, for a document that is only written out
        (:func:`~gis_screening.engine.result.write_json`), instead of being decoded and encoded again (~0.25 s per
        4,000 results, at the end of a run, when the other core has nothing left to do)."""
        return {
            "schema_version": "1",
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "software": {"name": "gis-screening", "version": __version__},
            "search_radius_m": self.search_radius_m,
            "rule_packs": self.rules.pack_refs(),
            "layers": [{"id": lyr.uid, "role": lyr.role, "name": lyr.name, "source": lyr.source,
                        "feature_count": lyr.feature_count, "problems": lyr.problem_strings()}
                       for lyr in self.layerset.layers],
            **({"partial": True, "projects_requested": self.requested} if self.partial else {}),
            **({"layers_missing": self.missing_layers} if self.missing_layers else {}),
            "results": self._results_json(encoded),
        }

    def _results_json(self, encoded: bool) -> list[dict[str, Any] | bytes | memoryview]:
        with collector_paused():
            return [r.encoded if encoded and isinstance(r, EncodedResult) else r.to_json()
                    for r in self.results]


def layers_missing(stack: RuleStack, layerset: LayerSet) -> list[dict[str, Any]]:
    """The layers the rules need that the layer set neither has nor declares absent (``LayerSet.absent``):
    ``[{"role", "title", "rules"}]`` (``role`` as the rules name it, ``rules``: how many rules need it).  Each rule
    that could apply to a project is a 需人工核实 finding of that project (:func:`evaluate_rules`)."""
    known = layerset.rule_layers() | set(layerset.absent)
    counts: dict[str, int] = {}
    for step in _plan(stack):
        if step.needs and step.needs not in known:
            counts[step.needs] = counts.get(step.needs, 0) + 1
    return [{"role": layer, "title": layer_title(layer, layerset.cat), "rules": n} for layer, n in counts.items()]


def _relation_holds(rule: Rule, o: Overlap, fp: FootprintMetrics, inter: bool) -> bool:
    """Does ``rule``'s relation hold between the footprint and the feature of ``o``?  ``inter``: whether they
    intersect (:func:`~.overlay.meets`)."""
    relation = rule.relation
    if relation == "intersects":
        return inter
    if relation == "within":
        if fp.dim == 2:
            return (o.overlap_ratio or 0) >= 0.9999
        return inter and (fp.dim == 0 or (o.overlap_length_m or 0) >= 0.9999 * fp.length_m)
    if relation == "within_distance":
        return not inter and o.distance_m <= (rule.distance_m or 0)
    return False


def _overlap_ctx(o: Overlap) -> Ctx:
    return Ctx(overlap_area_m2=round(o.overlap_area_m2, 2), overlap_ha=round(o.overlap_area_m2 / 10_000, 4),
               share_pct=None if o.overlap_ratio is None else round(100 * o.overlap_ratio, 2),
               distance_m=round(o.distance_m, 1), overlap_length_m=o.overlap_length_m,
               layer=o.layer, feature_id=o.feature_id, feature_name=o.feature_name)


Records = Mapping[str, Sequence[dict[str, Any]]]
"""Feature attribute records per layer uid (``PreparedCache.records``): what rules read about a feature."""


def _attr(records: Records, o: Overlap, key: str) -> Any:
    rows = records.get(o.layer_uid)
    return rows[o.feature_index].get(key) if rows is not None else None


FeatureContexts = dict[tuple[str, int, str | None], Ctx]
"""Feature contexts (:func:`feature_context`) by (layer uid, feature index, project industry code)."""


def feature_context(records: Records, o: Overlap, code: str | None) -> Ctx:
    """What rules may ask about the feature of ``o`` for a project of industry ``code``: its attributes, the
    entries of its lists that cover the code and, for a control unit, what its text says about the code."""
    rows = records.get(o.layer_uid)
    feat = Ctx(rows[o.feature_index]) if rows is not None else Ctx()
    prohibited, restricted = feat.get("prohibited_industries"), feat.get("restricted_industries")
    feat["matched_codes"] = ("、".join(matching_codes(code, prohibited)) or "、".join(matching_codes(code, restricted))
                             if prohibited is not None or restricted is not None else "")
    if o.role == "control_units":
        feat["prohibition_text"] = prohibition_sentence(feat.get("spatial_constraints"), code)
        feat["admission_listed"] = has_admission_list(feat)
        feat["prohibited_unreadable"] = unreadable_mentions(feat.get("prohibited_industries"), code)
        feat["restricted_unreadable"] = unreadable_mentions(feat.get("restricted_industries"), code)
    return feat


Grouped = dict[tuple[str, str], list[tuple[Overlap, bool]]]
"""A project's overlaps by the key rules name their layer by (:func:`_key_of_rule`), each with whether it intersects
the footprint (:func:`~.overlay.meets`)."""


def grouped_overlaps(overlaps: list[Overlap], fp: FootprintMetrics) -> Grouped:
    """``overlaps`` as :data:`Grouped`."""
    by_key: Grouped = {}
    for o in overlaps:
        by_key.setdefault(("other", o.layer) if o.role == "other" else (o.role, ""), []).append(
            (o, meets(o, fp)))
    return by_key


def project_context(project: Project, fp: FootprintMetrics, overlaps: Grouped, records: Records) -> Ctx:
    """What rules may ask about a project (its :func:`grouped_overlaps`): its attributes plus derived facts (两高
    sector, in a park…)."""
    parks = [o for o, inter in overlaps.get(("industrial_parks", ""), ()) if inter]
    if parks:
        park_share = _share_inside(parks, fp)
        park_types = [_attr(records, o, "park_type") for o in parks]
        # a park of no stated type may or may not be a chemical park: unknown (None), never "not a chemical park"
        chemical = True if any(t and "化工" in str(t) for t in park_types) else \
            None if any(t is None or not str(t).strip() for t in park_types) else False
        park_names = "、".join(o.feature_name or o.feature_id for o in parks)
    else:
        park_share, chemical, park_names = 0.0, False, ""
    units = [o for o, inter in overlaps.get(("control_units", ""), ()) if inter]
    admin = None
    for o in reversed(units):
        admin = _attr(records, o, "admin_code")
        if admin:
            break
    admin = admin or None
    unit_share = _share_inside(units, fp) if units else 0.0
    attributes = project.attributes
    alt = attributes.get("industry_code_alt")
    area = fp.area_m2
    ctx = Ctx({k: v for k, v in attributes.items() if isinstance(k, str)})
    ctx.update({"id": project.id, "name": project.name, "industry_code": project.industry_code,
                "construction_type": project.construction_type, "in_park": park_share >= IN_PARK_SHARE,
                "in_chemical_park": chemical, "park_names": park_names,
                "admin_code": admin, "city_code": str(admin)[:4] if admin else None,
                "area_m2": round(area, 2), "area_ha": round(area / 10_000, 4), "length_m": round(fp.length_m, 1),
                "geometry_type": fp.geom_type, "park_share_pct": round(100 * park_share, 2),
                "park_outside_m2": round(area * (1 - park_share), 1) if fp.dim == 2 else None,
                "park_outside": _outside_text(fp, park_share), "park_outside_pct": round(100 * (1 - park_share), 2),
                "unit_outside_pct": round(100 * (1 - unit_share), 2) if unit_share else 0.0,
                "unit_outside": _outside_text(fp, unit_share)})
    ctx.update(_industry_facts(project.industry_code, alt if alt is None or isinstance(alt, str) else str(alt),
                               _gas_fired(project.sheet)))
    ctx["serious_water_polluter"] = attributes.get("serious_water_pollution") or ctx["serious_water_polluter"]
    _set_construction_type(ctx, project.construction_type)
    return ctx


def _share_inside(inside: list[Overlap], fp: FootprintMetrics) -> float:
    """The share (0–1) of a footprint inside the features of ``inside`` (of one kind, which do not overlap each
    other; where they do, topology checks say so): by area for a polygon, by length for a line; a point is in."""
    if not inside:
        return 0.0
    if fp.dim == 2:
        return min(1.0, sum(o.overlap_ratio or 0 for o in inside))
    if fp.dim == 1 and fp.length_m:
        return min(1.0, sum(o.overlap_length_m or 0 for o in inside) / fp.length_m)
    return 1.0


def _outside_text(fp: FootprintMetrics, share: float) -> str:
    """The part of a footprint outside (1 − ``share``) as a message says it: ``1,234.5 m²`` (polygon), ``120.0 m``
    (line), 项目点位 (point)."""
    if fp.dim == 2:
        return f"{fp.area_m2 * (1 - share):,.1f} m²"
    return f"{fp.length_m * (1 - share):,.1f} m" if fp.dim == 1 else "项目点位"


@lru_cache(maxsize=4096)
def _industry_facts(code: str | None, alt: str | None, gas_fired: bool) -> Mapping[str, Any]:
    """The project facts that follow from its industry code (and alternative code, and whether its sheet burns
    gas only), worked out once per code: 两高 sector, GB/T 4754 names and path, serious water polluter."""
    match = classify(code)
    if match.sector == "煤电" and gas_fired:      # 4411/4412 burning gas is not 煤电
        match = replace(match, two_high=False, sector=None)
    path, alt_path = industry_path(code), industry_path(alt)
    return MappingProxyType(dict(
        two_high=match.two_high, sector=match.sector, industry_name=path[-1].name if path else match.class_name,
        industry_level=path[-1].level if path else None, industry_path=path_text(path) or None,
        industry_alt_name=alt_path[-1].name if alt_path else None, industry_section=path[0].code if path else None,
        serious_water_polluter=serious_water_polluter(code)))


COAL_KEYS = ("raw_coal_t", "bituminous_coal_t", "anthracite_t", "lignite_t", "washed_coal_t", "coke_t")


def _gas_fired(sheet: dict[str, Any] | None) -> bool:
    """A power project whose sheet declares natural gas and no coal (decides 煤电 by fuel, not by class alone)."""
    energy = (sheet or {}).get("energy")
    if not energy or not isinstance(energy, dict):
        return False
    try:
        gas = float(energy.get("natural_gas_10k_nm3") or 0)
        coal = sum(float(energy.get(k) or 0) for k in COAL_KEYS)
    except (TypeError, ValueError):
        return False        # the sheet validator reports the bad value
    return gas > 0 and coal == 0


def _construction_variants(ctx: Ctx) -> list[Ctx]:
    """``ctx`` under each 建设性质 (for a rule that requires it when the project lacks it)."""
    return [with_construction_type(ctx, v) for v in CONSTRUCTION_TYPES]


def with_construction_type(ctx: Ctx, value: object) -> Ctx:
    """``ctx`` with ``construction_type`` and what derives from it: ``new_or_expanded`` and ``rebuild`` are True,
    False, or None when 建设性质 is missing."""
    out = Ctx(ctx)
    _set_construction_type(out, value)
    return out


def _set_construction_type(ctx: Ctx, value: object) -> None:
    """Set 建设性质 and what derives from it.  A value that is none of :data:`NEW_OR_EXPANDED` and :data:`REBUILD`
    (say 迁扩) is no answer to "新建、扩建?": it counts as missing (a rule that needs it is 需人工核实), and is kept
    as ``construction_type_given`` for the message."""
    text = str(value).strip() if value is not None else ""
    known = text if text in NEW_OR_EXPANDED or text in REBUILD else None
    ctx.update(construction_type=known, new_or_expanded=None if known is None else known in NEW_OR_EXPANDED,
               rebuild=None if known is None else known in REBUILD,
               construction_type_given=text if text and known is None else None)


#: Project facts that :func:`with_construction_type` derives from 建设性质.
CONSTRUCTION_FIELDS = frozenset({"construction_type", "new_or_expanded", "rebuild"})
#: Project facts in which the contexts under each 建设性质 (:func:`_construction_variants`) differ from the project's.
VARIANT_FIELDS = CONSTRUCTION_FIELDS | {"construction_type_given"}

def _park_variants(ctx: Ctx, fp: FootprintMetrics) -> list[Ctx]:
    """``ctx`` outside any park, in a park, and in a chemical park: what the park facts may be when the layer set
    has no park layer."""
    out = []
    for in_park, chemical in ((False, False), (True, False), (True, True)):
        v = Ctx(ctx)
        v.update(in_park=in_park, in_chemical_park=chemical, park_names="", park_share_pct=100.0 if in_park else 0.0,
                 park_outside_m2=0.0 if in_park else fp.area_m2, park_outside_pct=0.0 if in_park else 100.0,
                 park_outside=_outside_text(fp, 1.0 if in_park else 0.0))
        out.append(v)
    return out


#: Project facts :func:`project_context` derives from a layer, per layer, and what they may be without the layer
#: (the project context under each possibility, given the footprint).
LAYER_FACTS: dict[str, tuple[frozenset[str], Callable[[Ctx, FootprintMetrics], list[Ctx]]]] = {
    "industrial_parks": (frozenset({"in_park", "in_chemical_park", "park_names", "park_share_pct", "park_outside_m2",
                                    "park_outside", "park_outside_pct"}), _park_variants)}


@dataclass(frozen=True)
class _Step:
    """A rule prepared once per stack: its layer key, compiled condition and what a missing fact can change."""

    rule: Rule
    pack: Pack
    key: tuple[str, str]
    relation: str                    # ``rule.relation``, read once per project and rule
    test: Compiled | None            # None: no condition (always true)
    varies: bool                     # a missing required fact can change the outcome (the condition reads it)
    #: the condition's leading ``and`` terms that read no fact a missing 建设性质 changes (:func:`leading_part`):
    #: where they are false, the rule does not fire whatever the 建设性质 (None: no such terms)
    pre: Compiled | None = None
    needs: str | None = None         # the layer (as rules name it) without which the rule cannot be decided
    gate: _Step | None = None        # the condition's project-only part (:func:`project_part`), as a step
    #: the condition reads ``overlap`` (the overlap's context is built for the conditions that read it, and for
    #: the findings made: :func:`_finding`)
    overlap: bool = True


def _plan(stack: RuleStack) -> list[_Step]:
    """The stack's rules as steps, built once per rule list (rebuilt when ``stack.rules`` is replaced)."""
    cached = stack.__dict__.get("_plan")
    if cached is not None and cached[0] is stack.rules and cached[2] == len(stack.rules):
        plan: list[_Step] = cached[1]
        return plan
    steps = []
    for rule, pack in stack.rules:
        step = _step(rule, pack, rule.when, rule.relation)
        if rule.level == "info":
            pass
        elif rule.relation != "always" and rule.layer:
            part = project_part(rule.when) if rule.when else None
            step = replace(step, needs=rule.layer, gate=_step(rule, pack, part, "always") if part else None)
        elif rule.when:
            reads = project_fields(rule.when)
            step = replace(step, needs=next((layer for layer, (facts, _) in LAYER_FACTS.items()
                                             if reads is None or reads & facts), None))
        steps.append(step)
    stack.__dict__["_plan"] = (stack.rules, steps, len(steps))
    return steps


def _step(rule: Rule, pack: Pack, when: str | None, relation: str) -> _Step:
    test = compiled(when) if when else None
    reads = project_fields(when) if when else frozenset()
    varies = bool(rule.requires) and (reads is None or bool(reads & CONSTRUCTION_FIELDS))
    pre = leading_part(when, VARIANT_FIELDS) if varies and when else None
    return _Step(rule, pack, _key_of_rule(rule.layer or "") if relation != "always" else ("", ""), relation, test,
                 varies, compiled(pre) if pre else None, overlap=bool(when) and "overlap" in names_read(when))


def _decide(step: _Step, names: dict[str, Any], variants: Callable[[], list[Ctx]]) -> tuple[bool, list[str]]:
    """(fires, missing fields) of a step with a condition that requires project facts.  A required fact that is
    missing is tried at each of its values (``variants()``: the project context under each 建设性质): if the
    outcome is the same for all, that is the outcome; otherwise the rule cannot be decided (missing named).  Where
    the condition's leading terms that read no such fact are false (``step.pre``; most projects, for rules on 两高
    or on certain industries), it does not fire, and nothing is tried."""
    test = step.test
    assert test is not None, step.rule.id
    project = names["project"]
    missing: list[str] = [f for f in step.rule.requires if not project.get(f)]
    if not missing:
        return bool(test(names)), []
    if step.pre is not None and not step.pre(names):
        return False, []
    trial = dict(names)
    outcomes = set()
    for v in variants():
        trial["project"] = v
        outcomes.add(bool(test(trial)))
    return (outcomes.pop(), []) if len(outcomes) == 1 else (False, missing)


def _key_of_rule(rule_layer: str) -> tuple[str, str]:
    return ("other", rule_layer.split(":", 1)[1]) if rule_layer.startswith("other:") else (rule_layer, "")


def evaluate_rules(project: Project, fp: FootprintMetrics, overlaps: list[Overlap], stack: RuleStack,
                   records: Records, catalog: Catalog, missing: Mapping[str, str] | None = None,
                   features: FeatureContexts | None = None) -> tuple[list[Finding], Ctx]:
    """Apply every rule of the stack to one project; returns its findings and the project context.
    ``catalog`` names the roles of rules that found no feature (the layer set's catalog).  ``missing``: the layers
    the rules need that the layer set lacks (rule layer name → title, from :func:`layers_missing`); the rules that
    need one and could apply to the project are one 需人工核实 finding per layer, never a verdict read from the
    absence of the layer.  ``features``: the feature contexts built for earlier projects of the same screening
    (filled here; a feature's context depends only on its record and the project's industry code), so that each is
    built once per feature and code, not once per project.

    Feature contexts are built once per overlap (not per rule), from records built once per layer."""
    by_key = grouped_overlaps(overlaps, fp)
    pctx = project_context(project, fp, by_key, records)
    feature_names: dict[int, dict[str, Any]] = {}
    features = {} if features is None else features
    code = project.industry_code

    def names_for(o: Overlap, overlap: bool) -> dict[str, Any]:
        """What a step's condition reads about ``o``; with its overlap's figures when ``overlap`` (the condition
        reads them: built once per overlap, for the first step that needs them, or by :func:`_finding`)."""
        hit = feature_names.get(id(o))
        if hit is None:
            key = (o.layer_uid, o.feature_index, code)
            feat = features.get(key)
            if feat is None:
                feat = features[key] = feature_context(records, o, code)
            hit = feature_names[id(o)] = {"project": pctx, "feature": feat}
        if overlap and "overlap" not in hit:
            hit["overlap"] = _overlap_ctx(o)
        return hit

    empty = {"project": pctx, "feature": Ctx(), "overlap": Ctx()}
    findings: list[Finding] = []
    tried: list[Ctx] = []

    def variants() -> list[Ctx]:
        """The project context under each 建设性质 (built on first need)."""
        if not tried:
            tried.extend(_construction_variants(pctx))
        return tried

    def apply(step: _Step, names: dict[str, Any], **where: Any) -> None:
        test = step.test
        if test is not None and step.varies and lacking:
            fires, missing = _decide(step, names, variants)
            if missing:
                findings.append(_missing_fact(step.rule, step.pack, names, missing, **where))
                return
        else:
            fires = test is None or bool(test(names))
        if fires:
            findings.append(_finding(step.rule, step.pack, names, **where))

    undecided: dict[str, list[_Step]] = {}        # missing layer → the rules it leaves undecided
    lacking = any(not pctx.get(f) for f in FIELD_LABELS)    # a fact rules may require is missing
    step: _Step | None = None
    o: Overlap | None = None
    try:
        for step in _plan(stack):
            o = None
            if missing and step.needs is not None and step.needs in missing:
                if _could_apply(step, pctx, fp, variants):
                    undecided.setdefault(step.needs, []).append(step)
                continue
            relation = step.relation
            varies = step.varies and lacking
            # where the condition's leading terms that read no missing fact are false (most projects, for a rule on
            # 两高 or on certain industries), the rule does not fire whatever the facts: nothing to try (see _decide)
            pre = step.pre if varies else None
            if relation == "always":
                if pre is None or pre(empty):
                    apply(step, empty)
                continue
            mine = by_key.get(step.key)
            if relation == "disjoint":
                if not mine or not any(inter for _, inter in mine):
                    apply(step, empty, layer=layer_title(step.rule.layer or "", catalog))
                continue
            if not mine:
                continue
            test = step.test
            for o, inter in mine:       # the common case (no missing fact to try) inline: per overlap, calls add up
                if inter if relation == "intersects" else _relation_holds(step.rule, o, fp, inter):
                    names = names_for(o, step.overlap)
                    if varies:
                        if pre is None or pre(names):
                            apply(step, names, layer=o.layer, feature_id=o.feature_id, overlap=o)
                    elif test is None or test(names):
                        findings.append(_finding(step.rule, step.pack, names, o.layer, o.feature_id, o))
    except CONDITION_ERRORS as exc:     # costs nothing until raised
        if step is None or not _raised_by_condition(exc):
            raise
        raise _condition_error(step, stack, project, o, exc) from None
    for layer, steps in undecided.items():
        findings.append(_missing_layer(steps, missing[layer] if missing else layer, empty))
    return findings, pctx


#: What a condition may raise on the values of a project or feature (a missing value compared, say).
CONDITION_ERRORS = (TypeError, ValueError, ArithmeticError, LookupError)


def _raised_by_condition(exc: BaseException) -> bool:
    """Was ``exc`` raised while a rule condition was evaluated (its innermost frame is one, or simpleeval's)?"""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_code.co_filename if tb is not None else ""
    return name == CONDITION_SOURCE or name.endswith("simpleeval.py")


def _condition_error(step: _Step, stack: RuleStack, project: Project, o: Overlap | None,
                     exc: BaseException) -> InputError:
    """The one-line error for a condition that cannot be evaluated for ``project`` (and the feature of ``o``):
    naming the pack file, the rule, the project and the feature, and how to write the condition instead."""
    rule = step.rule
    path = next((f for p, f in stack.packs if p is step.pack), None)
    feature = f", feature {o.feature_id} of {o.layer}" if o is not None else ""
    return InputError(f"condition {rule.when!r} cannot be evaluated for project {project.id}{feature} "
                      f"({type(exc).__name__}: {exc}); write it so that a missing value is allowed, e.g. "
                      "`feature.x is not None and feature.x >= 50`", file=path, where=f"rule {rule.id}",
                      field="when")


def _could_apply(step: _Step, pctx: Ctx, fp: FootprintMetrics, variants: Callable[[], list[Ctx]]) -> bool:
    """Could ``step``, which needs a layer the layer set lacks, fire for this project?  A rule on that layer: when
    its condition's project-only part holds (or is undecided for a missing fact).  A rule reading facts derived from
    the layer (in a park…): unless it does not fire whatever those facts are."""
    if step.relation != "always":
        if step.gate is None:
            return True
        names = {"project": pctx, "feature": Ctx(), "overlap": Ctx()}
        if step.gate.varies:
            fires, undecided = _decide(step.gate, names, variants)
            return fires or bool(undecided)
        return step.gate.test is None or bool(step.gate.test(names))
    assert step.needs is not None
    for v in LAYER_FACTS[step.needs][1](pctx, fp):
        names = {"project": v, "feature": Ctx(), "overlap": Ctx()}
        if step.varies:
            fires, undecided = _decide(step, names, partial(_construction_variants, v))
            if fires or undecided:
                return True
        elif step.test is None or step.test(names):
            return True
    return False


def _missing_layer(steps: list[_Step], title: str, names: dict[str, Any]) -> Finding:
    """needs_review: the rules in ``steps`` could apply to the project but need the layer ``title``, which the
    layer set lacks (one finding for the layer, naming each rule and citing their bases)."""
    first = steps[0]
    basis = list(dict.fromkeys(render(b, names) for s in steps for b in s.rule.basis))
    rules = "；".join(f"“{s.rule.title or s.rule.id}”" for s in steps)
    return Finding(rule_id=first.rule.id, level="needs_review", title=f"未加载“{title}”图层，相关规则未能核对",
                   message=f"本次筛查未加载“{title}”图层，无法核对：{rules}。请加载该图层后重新筛查；若本区域确无此类"
                           f"区域，在图层集清单中注明后重新筛查。",
                   basis=basis, layer=title, metrics={"missing_layer": first.needs,
                                                      "rule_ids": [s.rule.id for s in steps]},
                   dimension=first.rule.dimension, pack=first.pack.id)


_READABLE_TYPES = "、".join(NEW_OR_EXPANDED + REBUILD)


def _missing_fact(rule: Rule, pack: Pack, names: dict[str, Any], fields: list[str], **where: Any) -> Finding:
    """needs_review: the rule's outcome depends on project facts that are missing (named)."""
    given = names["project"].get("construction_type_given")
    if given and "construction_type" in fields:
        message = (f"无法判定“{rule.title}”：项目的建设性质“{given}”不是{_READABLE_TYPES}"
                   f"之一，而本条是否适用取决于它。请更正后重新筛查。")
    else:
        labels = "、".join([FIELD_LABELS.get(x, x) for x in fields])
        message = f"无法判定“{rule.title}”：项目未填写{labels}，而本条是否适用取决于它。请补充后重新筛查。"
    f = _finding(rule, pack, names, **where, message=message)
    f.level = "needs_review"
    f.metrics["missing_fields"] = list(fields)
    return f


def layer_title(rule_layer: str, cat: Catalog) -> str:
    """What officials call a layer a rule names (a role's title, or the name after ``other:``)."""
    if rule_layer.startswith("other:"):
        return rule_layer.split(":", 1)[1]
    return cat.roles[rule_layer].title if rule_layer in cat.roles else rule_layer


def _finding(rule: Rule, pack: Pack, names: dict[str, Any], layer: str | None = None, feature_id: str | None = None,
             overlap: Overlap | None = None, message: str | None = None) -> Finding:
    """``rule``'s finding: its message (or ``message``) and basis filled from ``names`` (with the context of
    ``overlap``, built here where no condition needed it), the overlap's figures."""
    metrics: dict[str, object] = {}
    if overlap is not None:
        if "overlap" not in names:
            names["overlap"] = _overlap_ctx(overlap)
        metrics = {"overlap_area_m2": round(overlap.overlap_area_m2, 3), "distance_m": round(overlap.distance_m, 3)}
        if overlap.overlap_ratio is not None:
            metrics["overlap_ratio"] = round(overlap.overlap_ratio, 6)
        if overlap.overlap_length_m:
            metrics["overlap_length_m"] = round(overlap.overlap_length_m, 3)
        if overlap.feature_name:
            metrics["feature_name"] = overlap.feature_name
    return Finding(rule_id=rule.id, level=rule.level, message=render(rule.message, names) if message is None else message,
                   basis=[render(b, names) for b in rule.basis], title=rule.title, layer=layer,
                   feature_id=feature_id, metrics=metrics, dimension=rule.dimension, pack=pack.id)
