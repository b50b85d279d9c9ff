"""The carbon-peaking admission checks; every threshold, ratio, level and citation comes from the packs'
``carbon:`` section (rules/fujian/carbon.yaml), validated by :class:`CarbonConfig`."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..engine.model import Finding, Level
from ..engine.overlay import FootprintMetrics, meets
from ..engine.rules import PackLevel
from ..errors import InputError, validated
from .calc import benchmark_status, energy_and_co2
from .reference import benchmarks, fuel_factors, grid_factors, product_label, products_of
from .sheet import ProjectSheet, validate_sheet


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: PackLevel
    basis: list[str] = Field(min_length=1)
    title: str


class Threshold(Check):
    threshold_tce: float
    sectors: list[str] = Field(default_factory=list)


class CapacitySwap(Check):
    industry_codes: list[str]


class Offsets(Check):
    pollutants: dict[str, str]                     # key → 中文名
    default_ratio: float
    multiple_ratio: float
    multiple_pollutants: list[str]
    multiple_city_codes: dict[str, str]           # 4-digit city code → name
    non_attainment_ratio: float
    ratio_status: str


class Target(Check):
    sectors: list[str]
    text: str


class CarbonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    benchmark_edition: str
    factor_set: str
    grid_factor: str
    heat_factor: str = "heat_default"
    identification: Check
    missing_data: Check
    benchmark_below_baseline: Check
    benchmark_between: Check
    benchmark_reaches: Check
    provincial_guidance: Threshold
    energy_rights_trading: Threshold
    captive_coal_power: Check
    coal_kiln: Check
    capacity_swap: CapacitySwap
    offsets: Offsets
    targets: list[Target] = Field(default_factory=list)


def load_carbon_config(config: dict) -> CarbonConfig:
    """Validate the merged ``carbon:`` mapping of the rule stack; errors name the key."""
    cfg = validated(CarbonConfig, config, where="rule packs, carbon section")
    if cfg.grid_factor not in grid_factors():
        raise InputError(f"unknown grid factor {cfg.grid_factor!r}", where="rule packs, carbon section",
                         field="grid_factor")
    return cfg


def _f(rule: str, check: Check, message: str, *, level: Level | None = None, **metrics) -> Finding:
    """A finding of ``check`` (at its level, or at ``level``) with the metrics that are not None."""
    return Finding(rule_id=f"carbon.{rule}", level=level or check.level, message=message, basis=list(check.basis),
                   title=check.title, metrics={k: v for k, v in metrics.items() if v is not None},
                   dimension="carbon", pack="carbon")


def _non_attainment(overlaps, records, fp: FootprintMetrics) -> tuple[bool | None, list[str], str]:
    """(is the project in a non-attainment area, the failing pollutants, why that is unknown): True when a covering
    air-quality feature says 不达标; None when none covers it, or one covering it says neither 达标 nor 不达标
    (unknown, never read as attained).  A feature covers the project as the rules' 不达标区 rules read it
    (:func:`~gis_screening.engine.overlay.meets`): one touching a polygon footprint along its edge, or overlapping
    it by a sliver of boundary noise, does not."""
    air = [o for o in overlaps if o.role == "air_quality" and meets(o, fp)]
    if not air:
        return None, [], "无达标区图层要素覆盖项目"
    failing, bad, unknown = [], False, False
    for o in air:
        row = records[o.layer_uid][o.feature_index] if o.layer_uid in records else {}
        if row.get("attainment") == "不达标":
            bad = True
            failing += [p for p in str(row.get("failing_pollutants") or "").replace("，", ",").split(",") if p]
        elif row.get("attainment") != "达标":
            unknown = True
    return (True if bad else None if unknown else False), failing, "覆盖项目的达标区要素未注明是否达标"


def _construction_unknown(ctx) -> str:
    """Why 建设性质 cannot be read, for a message: unreadable (the value given) or not filled in."""
    given = ctx.get("construction_type_given")
    return f"建设性质“{given}”无法识别" if given else "未填写建设性质"


def _related_pollutants(failing: list[str]) -> set[str]:
    """Pollutant keys related to the failing air-quality parameters (rules/reference/related_pollutants.csv)."""
    from .reference import related_pollutants
    table = related_pollutants()
    out: set[str] = set()
    for f in failing:
        key = f.strip().upper().replace("₂", "2").replace("₃", "3").replace(".", ".")
        out |= table.get(key, set())
    return out


def carbon_checks(project, ctx, cfg: CarbonConfig, overlaps, records, fp: FootprintMetrics
                  ) -> tuple[dict | None, list[Finding]]:
    """Carbon block (result JSON ``carbon``) and findings for one project (``cfg`` validated once, at load), whose
    footprint ``fp`` has ``overlaps``."""
    sheet: ProjectSheet | None = None
    if project.sheet is not None:
        sheet = validate_sheet(project.sheet, project.source or project.id)
    two_high, sector = ctx.get("two_high"), ctx.get("sector")
    if not two_high and sheet is None:
        return None, []
    findings: list[Finding] = []
    block: dict = {"two_high": bool(two_high), "sector": sector, "energy_tce": None, "co2_t": None,
                   "co2_breakdown_t": {}, "factor_set": f"{cfg.factor_set}; grid {cfg.grid_factor} "
                   f"({grid_factors()[cfg.grid_factor]['value_tCO2_per_MWh']} tCO2/MWh); "
                   f"benchmarks {cfg.benchmark_edition}", "benchmarks": []}
    if two_high:
        findings.append(_f("two_high", cfg.identification,
                           f"行业代码 {project.industry_code}（{ctx.get('industry_name')}）属两高行业：{sector}。",
                           sector=sector))
    new = ctx.get("new_or_expanded")
    missing: dict[str, str] = {}         # sheet key → what the message calls it (officials see no keys)
    if sheet is None or sheet.energy is None:
        missing["energy"] = "年能源消费量"
    if sheet is None or sheet.emissions_t is None:
        missing["emissions_t"] = "新增污染物排放量"
    code = str(project.industry_code or "")
    sector_products = products_of(cfg.benchmark_edition, code)
    if sector_products and (sheet is None or not sheet.products):
        missing["products"] = "产品单位能耗（可对照能效标杆的产品：" + "、".join(
            dict.fromkeys(product_label(b) for b in sector_products[:4])) + "）"
    if sheet is None or sheet.captive_coal_power is None:
        missing["captive_coal_power"] = "是否燃煤自备电厂"
    if missing and two_high:
        findings.append(_f("missing_data", cfg.missing_data, "碳达峰准入审查缺少数据：" + "；".join(missing.values()) +
                           "，相关检查无法完成，须补充建设项目信息表后核实。", missing=list(missing)))
    if sheet is not None:
        # energy and CO2
        if sheet.energy is not None:
            ec = energy_and_co2(sheet.energy, cfg.grid_factor, cfg.heat_factor)
            block.update(energy_tce=ec.energy_tce, co2_t=ec.co2_t, co2_breakdown_t=ec.breakdown_t,
                         energy_breakdown_tce=ec.energy_breakdown_tce, notes=ec.notes)
            if ec.energy_tce >= cfg.provincial_guidance.threshold_tce and two_high:
                findings.append(_f("provincial_guidance", cfg.provincial_guidance,
                                   f"年综合能源消费量 {ec.energy_tce:,.0f} tce（当量值）≥ {cfg.provincial_guidance.threshold_tce:,.0f} "
                                   "tce，节能审查须经省级窗口指导。", energy_tce=ec.energy_tce))
            trade = cfg.energy_rights_trading
            if ec.energy_tce >= trade.threshold_tce and sector and any(s in sector for s in trade.sectors):
                findings.append(_f("energy_rights_trading", trade,
                                   f"年综合能源消费量 {ec.energy_tce:,.0f} tce ≥ {trade.threshold_tce:,.0f} tce，纳入福建省用能权交易范围"
                                   "（行业范围见依据，未逐项核实）。", energy_tce=ec.energy_tce))
        # benchmarks
        table = benchmarks(cfg.benchmark_edition)
        for prod in sheet.products:
            if prod.benchmark is None:      # a product without a benchmark row: nothing to compare, not missing
                findings.append(_f("benchmark_none", cfg.benchmark_reaches.model_copy(
                    update={"title": "产品无能效标杆/基准水平"}), f"产品 {prod.name} 无能效标杆水平和基准水平"
                    f"（{cfg.benchmark_edition} 年版），不作对照。"))
                continue
            row = table.get(prod.benchmark)
            if row is None:
                raise InputError(f"benchmark {prod.benchmark!r} not in edition {cfg.benchmark_edition}",
                                 file=project.source, field="products.benchmark")
            if prod.unit_energy is None:
                findings.append(_f("missing_data", cfg.missing_data, f"产品 {row['product']} 未提供单位产品能耗"
                                   f"（{row['unit']}），无法对照能效标杆水平。"))
                continue
            bm, base = float(row["benchmark"]), float(row["baseline"])
            status = benchmark_status(prod.unit_energy, bm, base)
            block["benchmarks"].append({"benchmark": prod.benchmark, "value": prod.unit_energy, "benchmark_value": bm,
                                        "baseline_value": base, "status": status, "product": row["product"],
                                        "unit": row["unit"], "source": row["source"]})
            text = f"{product_label(row)}{row['indicator']} {prod.unit_energy:g} {row['unit']}（标杆 {bm:g}，基准 {base:g}；{row['source']}）"
            if status == "below_baseline":
                check, verdict = cfg.benchmark_below_baseline, "劣于基准水平，拟建项目不得建设"
                findings.append(_f("benchmark_below_baseline", check, f"{text}：{verdict}。",
                                   value=prod.unit_energy, benchmark_value=bm, baseline_value=base))
            elif status == "between":
                findings.append(_f("benchmark_between", cfg.benchmark_between,
                                   f"{text}：介于基准与标杆之间，拟建项目须按标杆水平建设"
                                   f"（须降至 {bm:g} {row['unit']} 以下）。",
                                   value=prod.unit_energy, benchmark_value=bm, baseline_value=base))
            else:
                findings.append(_f("benchmark_reaches", cfg.benchmark_reaches, f"{text}：达到能效标杆水平。",
                                   value=prod.unit_energy, benchmark_value=bm, baseline_value=base))
        if sheet.captive_coal_power:
            if new:        # the text reads 新（扩）建: 改建 is not covered
                findings.append(_f("captive_coal_power", cfg.captive_coal_power,
                                   "新建、扩建项目含燃煤自备电厂；除国家政策允许的情形外，不得新（扩）建燃煤自备电厂。"))
            elif new is None:
                findings.append(_f("captive_coal_power", cfg.captive_coal_power, f"项目含燃煤自备电厂，但"
                                   f"{_construction_unknown(ctx)}：新建、扩建的不得建设，须补充建设性质后判定。",
                                   level="needs_review", missing_fields=["construction_type"]))
        if sheet.kiln_fuel in ("coal", "oil"):   # 新改扩建工业炉窑: every construction type
            fuel = {"coal": "煤", "oil": "油"}[sheet.kiln_fuel]
            findings.append(_f("coal_kiln", cfg.coal_kiln,
                               f"工业炉窑以{fuel}为燃料；新改扩建工业炉窑应采用清洁低碳能源"
                               "（天然气、电、可再生能源等），须在环评中落实燃料替代方案。"))
        # pollutant offsets
        if sheet.emissions_t is not None and (two_high or any(v for v in sheet.emissions_t.model_dump().values())):
            off = cfg.offsets
            non_att, failing, unknown_why = _non_attainment(overlaps, records, fp)
            related = _related_pollutants(failing) if non_att else set()
            city = ctx.get("city_code")
            rows = []
            for key, name in off.pollutants.items():
                qty = getattr(sheet.emissions_t, key, None)
                if not qty:
                    continue
                ratio, why = off.default_ratio, "等量"
                if key in off.multiple_pollutants and city in off.multiple_city_codes:
                    ratio, why = off.multiple_ratio, f"{off.multiple_city_codes[city]}倍量替代"
                elif key in off.multiple_pollutants and city is None:     # never "等量" as if the city were known
                    why += (f"；所在设区市未知（管控单元无行政区划代码），位于{'、'.join(off.multiple_city_codes.values())}"
                            "的须倍量替代，须核实")
                if non_att and (key in related or not failing) and off.non_attainment_ratio > ratio:
                    why = (f"所在区域{'、'.join(failing)}不达标，相关污染物倍量削减" if failing else
                           "所在区域大气环境质量不达标（超标因子未注明，按全部污染物倍量削减，须核实）")
                    ratio = off.non_attainment_ratio
                elif non_att is None and off.non_attainment_ratio > ratio:   # never "等量" as if attainment were known
                    why += f"；所在区域大气环境质量是否达标未知（{unknown_why}），不达标则须倍量削减，须核实"
                rows.append({"pollutant": key, "name": name, "new_t": qty, "ratio": ratio, "offset_t": round(qty * ratio, 3),
                             "reason": why})
            if rows:
                block["offsets"] = rows
                detail = "；".join(f"{r['name']} 新增 {r['new_t']:g} t/a × {r['ratio']:g}（{r['reason']}）= 须削减替代 "
                                   f"{r['offset_t']:g} t/a" for r in rows)
                findings.append(_f("offsets", off, f"主要污染物区域削减替代：{detail}。比例依据：{off.ratio_status}。",
                                   city_code=city, non_attainment=non_att, failing_pollutants=failing or None))
    if two_high and new is not False and any(code.startswith(c) for c in cfg.capacity_swap.industry_codes):
        if new:
            findings.append(_f("capacity_swap", cfg.capacity_swap, f"{sector}项目（行业代码 {code}）属产能置换行业，"
                               "新建、扩建须实施产能等量或减量置换，并提供置换方案。"))
        else:               # 建设性质 missing or unreadable: the requirement may apply
            findings.append(_f("capacity_swap", cfg.capacity_swap,
                               f"{sector}项目（行业代码 {code}）属产能置换行业，新建、扩建须实施产能等量或减量置换，"
                               f"但{_construction_unknown(ctx)}，须补充建设性质后判定。", level="needs_review",
                               missing_fields=["construction_type"]))
    for target in cfg.targets:
        if sector and any(s in sector for s in target.sectors) or any(code.startswith(s) for s in target.sectors):
            findings.append(_f(f"target.{target.sectors[0]}", target, target.text))
    return block, findings


__all__ = ["carbon_checks", "load_carbon_config", "CarbonConfig", "fuel_factors"]
