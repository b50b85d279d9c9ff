"""Report content built once from the result JSON, rendered identically to PDF and DOCX.

Outline (domain.md): 1 项目概况, 2 空间叠加, 3 敏感区, 4 准入要求逐条对照 (by dimension and level), 5 碳达峰准入,
6 结论 (decisive rules, manual-review items, caveats, data versions, date), 附图 and the footprint coordinate list.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from ..crs import gk3_epsg, gk3_zone_of_epsg
from ..engine.model import LEVEL_LABELS
from ..engine.screen import layer_title
from ..engine.words import chinese_datetime, decisive_titles, display_path, missing_layers_text, size_text
from ..sheet_columns import ENERGY_LABELS
from ..xmltext import xml_text
from .import_notes import import_note_zh

DIMENSIONS = ["空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"]
SENSITIVE_ROLES = ("eco_redline", "protected_areas", "water_sources", "other", "industrial_parks")
CAVEAT = ("本报告为生态环境分区管控与碳达峰准入的初步筛查结果，依据所加载的图层数据和规则包自动生成，不替代法定审批；"
          "“需人工核实”事项须由审查人员结合项目材料逐项核实。面积和距离在项目所在 CGCS2000 3° 高斯-克吕格投影带中计算。")
CONCLUSION = {"non_compliant": "不符合", "needs_review": "需核实", "conditional": "有条件符合", "compliant": "符合",
              "info": "需核实"}


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    widths: list[float] | None = None   # relative column widths


@dataclass
class Block:
    kind: str                  # "h1", "h2", "p", "table", "image", "figure", "pagebreak", "verdict", "cover", "toc"
    text: str = ""
    table: Table | None = None
    data: dict = field(default_factory=dict)


def _fmt(v, nd=1):
    return "—" if v is None else f"{v:,.{nd}f}"


#: The report lists at most this many 界址点 per project; the full list goes to a CSV beside the report.
MAX_REPORT_VERTICES = 300


#: A rule pack's level as the report's 准入要求 table names it.
PACK_LEVELS = {"national": "国家", "provincial": "省级", "city": "设区市", "unit": "管控单元"}
_FACTORS = re.compile(r"\S+ \((?P<fuels>.*)\); grid (?P<grid>\S+) \((?P<value>[\d.]+) tCO2/MWh\); benchmarks (?P<ed>\S+)")


def factor_text(factor_set: str) -> str:
    """The carbon block's ``factor_set`` (file, grid key, benchmark edition) as officials read it: the standards of
    the fuel factors, the grid factor with its scope, year and document, the benchmark edition."""
    m = _FACTORS.fullmatch(factor_set.strip())
    if m is None:
        return factor_set
    from ..carbon.reference import grid_factors
    grid = grid_factors().get(m["grid"], {})
    document = re.sub(r"\s*\(as reported\)", "", grid.get("document") or "")
    source = "，".join(x for x in (grid.get("scope"), f"{grid['year']} 年" if grid.get("year") else "", document,
                                   "转引，未核对原文" if grid.get("status") == "secondary" else "") if x)
    return (f"燃料：{m['fuels']}；外购电力：{m['value']} tCO2/MWh（{source or m['grid']}）；"
            f"能效标杆水平和基准水平：{m['ed']} 年版")


def appendix_name(report_path) -> str:
    """File name of the full 界址点 list written beside a report."""
    return f"{Path(report_path).stem}-界址点.csv"


def coordinate_rows(footprint, metric_crs: str, limit: int | None = None) -> tuple[str, list[list[str]]]:
    """Footprint vertices as 点号 / 圈号 / X(北) / Y(东, with zone prefix) in metres (3 decimals); at most
    ``limit`` rows."""
    zone = gk3_zone_of_epsg(int(metric_crs.split(":")[1]))
    assert zone is not None, metric_crs
    g = gpd.GeoSeries([footprint], crs=4490).to_crs(gk3_epsg(zone, prefixed=True)).iloc[0]
    rows, n = [], 0
    rings = []
    for part in shapely.get_parts(g):
        if part.geom_type == "Polygon":
            rings += [part.exterior] + list(part.interiors)
        else:
            rings.append(part)
    for ring_no, ring in enumerate(rings, start=1):
        coords = list(ring.coords)
        first = n + 1
        for k, (e, nn, *_z) in enumerate(coords):        # a Z (KML altitude) is not listed
            closing = ring.geom_type == "LinearRing" and k == len(coords) - 1
            label = f"J{first}" if closing else f"J{n + 1}"
            if not closing:
                n += 1
            rows.append([label, str(ring_no), f"{nn:.3f}", f"{e:.3f}"])
            if limit is not None and len(rows) >= limit:
                break
        if limit is not None and len(rows) >= limit:
            break
    return f"CGCS2000 3° 高斯-克吕格第 {zone} 带（EPSG:{gk3_epsg(zone, True)}，Y 含带号）", rows


def build_project(doc: dict, result: dict, layerset, footprint, map_image: str | None) -> list[Block]:
    """Blocks of one project's report section."""
    p = result["project"]
    base = Path(layerset.manifest_path).parent if getattr(layerset, "manifest_path", None) else None
    roles = {lyr.name: lyr.role for lyr in layerset.layers}
    findings = result["findings"]
    blocks = [Block("h1", f"{p.get('name') or p['id']}（{p['id']}）筛查报告"),
              Block("verdict", f"筛查结论：{result['verdict_label']}", data={"verdict": result["verdict"]})]
    # 1 项目概况
    carbon = result.get("carbon") or {}
    two_high = p.get("two_high")
    info = [["项目编号", p["id"]], ["项目名称", p.get("name") or "—"],
            ["国民经济行业代码", p.get("industry_code") or "未提供"],
            ["是否两高项目", ("是（" + (p.get("sector") or "") + "）") if two_high else ("待定" if two_high is None and p.get("sector") else "否")],
            ["建设性质", p.get("construction_type") or "—"],
            ["用地面积 / 长度", size_text(p)],
            ["来源文件", display_path(p.get("source"), base)],
            ["计算坐标系", p["metric_crs"]],
            ["导入问题", "；".join(import_note_zh(t, p["id"]) for t in p.get("import_problems") or []) or "无"],
            ["中心点经纬度", ", ".join(f"{v:.6f}" for v in p.get("centroid_lonlat", []))]]
    blocks += [Block("h2", "一、项目概况"), Block("table", table=Table(["项目", "内容"], info, [1, 3]))]
    # 2 空间叠加
    units = [o for o in result["overlaps"] if roles.get(o["layer"]) == "control_units" and o["overlap_area_m2"] > 0]
    unit_rows = []
    ulayer = layerset.first("control_units")
    cats = dict(zip(ulayer.gdf["code"], ulayer.gdf["category"])) if ulayer is not None else {}
    for o in units:
        unit_rows.append([o["feature_id"], o.get("feature_name") or "", cats.get(o["feature_id"], ""),
                          _fmt(o["overlap_area_m2"]), _fmt(o["overlap_area_m2"] / 10000, 4),
                          f"{100 * o.get('overlap_ratio', 0):.2f}%" if o.get("overlap_ratio") is not None else "—"])
    blocks.append(Block("h2", "二、与环境管控单元的空间叠加"))
    blocks.append(Block("table", table=Table(["单元编码", "单元名称", "管控类别", "重叠面积 m²", "重叠面积 ha", "占项目用地"],
                                             unit_rows, [2.2, 3, 1.6, 1.5, 1.3, 1.2])) if unit_rows else
                  Block("p", "项目未与任何已加载的环境管控单元重叠。"))
    # 3 敏感区
    sens = [o for o in result["overlaps"] if roles.get(o["layer"]) in SENSITIVE_ROLES]
    unloaded = [m["title"] for m in doc.get("layers_missing") or [] if m["role"].split(":")[0] in SENSITIVE_ROLES]
    rules_by_feature: dict = {}
    for f in findings:
        if f.get("feature_id"):
            rules_by_feature.setdefault((f.get("layer"), f["feature_id"]), []).append(
                f"{f.get('title') or '未命名规则'}（{LEVEL_LABELS.get(f['level'], f['level'])}）")
    sens_rows = [[o["layer"], o["feature_id"], o.get("feature_name") or "", _fmt(o["overlap_area_m2"]),
                  _fmt(o["distance_m"]), "；".join(rules_by_feature.get((o["layer"], o["feature_id"]), [])) or "—"]
                 for o in sens]
    blocks.append(Block("h2", "三、敏感区叠加与邻近情况（搜索半径 " + f"{doc.get('search_radius_m', 1000):g} m）"))
    blocks.append(Block("table", table=Table(["类型", "编码", "名称", "重叠面积 m²", "最近距离 m", "适用规则"], sens_rows,
                                             [1.6, 1.8, 2.4, 1.3, 1.2, 3])) if sens_rows else
                  Block("p", "搜索半径内无生态保护红线、自然保护地、饮用水水源保护区等敏感区。" if not unloaded else
                        "搜索半径内无已加载图层中的敏感区。"))
    if unloaded:        # never "none" for a kind of zone that was not looked at
        blocks.append(Block("p", "本次筛查未加载" + "、".join(f"“{t}”" for t in unloaded)
                            + "图层，搜索半径内是否有此类敏感区未能判断。"))
    # 4 准入要求逐条对照
    blocks.append(Block("h2", "四、生态环境准入要求逐条对照"))
    pack_levels = {r["id"]: PACK_LEVELS.get(r.get("level", ""), r.get("title", "")) for r in doc.get("rule_packs", [])}
    for dim in DIMENSIONS:
        rows = []
        for f in findings:
            if (f.get("metrics") or {}).get("dimension") != dim:
                continue
            pack = pack_levels.get((f.get("metrics") or {}).get("pack", ""), "")
            situation = f"行业代码 {p.get('industry_code') or '未提供'}"
            if f.get("metrics", {}).get("overlap_area_m2"):
                situation += f"；与 {f.get('feature_id')} 重叠 {_fmt(f['metrics']['overlap_area_m2'])} m²"
            rows.append([f["message"], f"{pack}（{LEVEL_LABELS.get(f['level'], f['level'])}）", situation,
                         CONCLUSION.get(f["level"], "需核实")])
        blocks.append(Block("p", f"（{DIMENSIONS.index(dim) + 1}）{dim}", data={"bold": True}))
        blocks.append(Block("table", table=Table(["要求原文", "层级", "项目情况", "结论"], rows, [5, 1.6, 2.2, 1]))
                      if rows else Block("p", "无适用条款。"))
    other = [f for f in findings if not (f.get("metrics") or {}).get("dimension")]
    if other:
        blocks.append(Block("p", "（5）国家和省级规则", data={"bold": True}))
        blocks.append(Block("table", table=Table(
            ["规则", "结论", "说明", "依据"],
            [[f.get("title") or "未命名规则", LEVEL_LABELS.get(f["level"], f["level"]), f["message"], "；".join(f["basis"])]
             for f in other], [2, 1, 4.5, 2.5])))
    # 5 碳达峰准入
    blocks.append(Block("h2", "五、碳达峰准入（两高项目）"))
    if carbon:
        crow = [["两高行业", carbon.get("sector") or "否"],
                ["年综合能源消费量（当量值）", f"{_fmt(carbon.get('energy_tce'))} tce" if carbon.get("energy_tce") is not None else "未提供"],
                ["年二氧化碳排放量", f"{_fmt(carbon.get('co2_t'))} t" if carbon.get("co2_t") is not None else "未提供"],
                ["排放因子", factor_text(carbon.get("factor_set", ""))]]
        blocks.append(Block("table", table=Table(["项目", "内容"], crow, [1.5, 4])))
        if carbon.get("co2_breakdown_t"):
            blocks.append(Block("table", table=Table(["排放源", "CO2 t/a", "能耗 tce"], [
                [ENERGY_LABELS.get(k, k).split()[0], _fmt(v), _fmt((carbon.get("energy_breakdown_tce") or {}).get(k))]
                for k, v in carbon["co2_breakdown_t"].items()], [2, 1, 1])))
        if carbon.get("benchmarks"):
            status = {"reaches_benchmark": "达到标杆水平", "between": "介于基准与标杆之间", "below_baseline": "劣于基准水平"}
            blocks.append(Block("table", table=Table(["产品", "项目值", "标杆水平", "基准水平", "判定"], [
                [f"{b.get('product', b['benchmark'])}（{b.get('unit', '')}）", f"{b['value']:g}", f"{b['benchmark_value']:g}",
                 f"{b['baseline_value']:g}", status[b["status"]]] for b in carbon["benchmarks"]], [2.5, 1, 1, 1, 1.6])))
        if carbon.get("offsets"):
            blocks.append(Block("table", table=Table(["污染物", "新增 t/a", "替代比例", "须削减替代 t/a", "说明"], [
                [r["name"], f"{r['new_t']:g}", f"{r['ratio']:g}", f"{r['offset_t']:g}", r["reason"]]
                for r in carbon["offsets"]], [1.5, 1, 1, 1.3, 3])))
        cf = [f for f in findings if (f.get("metrics") or {}).get("dimension") == "carbon"]
        if cf:
            blocks.append(Block("table", table=Table(["检查", "结论", "说明", "依据"], [
                [f.get("title") or "未命名规则", LEVEL_LABELS.get(f["level"], f["level"]), f["message"], "；".join(f["basis"])]
                for f in cf], [1.6, 1, 4.5, 2.5])))
    else:
        blocks.append(Block("p", "项目不属于两高行业，且未提供建设项目信息表，不适用碳达峰准入审查。"))
    # 6 结论
    blocks.append(Block("h2", "六、结论"))
    decisive = [f for f in findings if f["level"] == result["verdict"]] if result["verdict"] != "compliant" else []
    blocks.append(Block("p", f"筛查结论：{result['verdict_label']}。" + (
        "决定性规则：" + "；".join(f"{f.get('title') or '未命名规则'}（{'；'.join(f['basis'])}）" for f in decisive[:8])
        if decisive else "未发现不符合或须核实的情形。")))
    if doc.get("layers_missing"):
        blocks.append(Block("p", missing_layers_text(doc["layers_missing"])))
    review = [f for f in findings if f["level"] == "needs_review"]
    if review:
        blocks.append(Block("p", "需人工核实事项：", data={"bold": True}))
        blocks += [Block("p", f"{i + 1}. {f['message']}") for i, f in enumerate(review)]
    blocks.append(Block("p", CAVEAT))
    versions = [[lyr["name"], layer_title(lyr["role"], layerset.cat) if lyr["role"] != "other" else "其他管控图层",
                 display_path(lyr["source"], base), str(lyr["feature_count"])] for lyr in doc.get("layers", [])]
    blocks.append(Block("table", table=Table(["数据", "类型", "来源", "要素数"], versions, [2, 1.5, 3.5, 1])))
    blocks.append(Block("p", "规则包：" + "；".join(f"《{r.get('title') or r['id']}》（{r['version']} 版）"
                                                   for r in doc.get("rule_packs", [])) +
                        f"。生成时间：{chinese_datetime(doc.get('generated_at'))}；"
                        f"软件：{doc.get('software', {}).get('name', 'gis-screening')} {doc.get('software', {}).get('version', '')}。"))
    # 附图, 坐标
    if map_image:      # heading and figure kept together on one page
        blocks.append(Block("figure", "附图 筛查叠加图", data={"image": map_image}))
    crs_label, coords = coordinate_rows(footprint, p["metric_crs"], MAX_REPORT_VERTICES)
    total = int(shapely.get_num_coordinates(footprint))
    blocks.append(Block("h2", "附表 项目范围界址点坐标"))
    blocks.append(Block("p", f"坐标系：{crs_label}；单位：米。"))
    if total > MAX_REPORT_VERTICES:
        blocks.append(Block("p", f"项目范围共 {total:,} 个坐标点，此处列出前 {len(coords)} 个；完整坐标见随报告导出的"
                                 f"附件“{appendix_name(doc.get('_report_path', '报告'))}”。"))
    blocks.append(Block("table", table=Table(["点号", "圈号", "X（北）", "Y（东）"], coords, [1, 1, 2, 2])))
    return blocks


def cover(doc: dict, profile) -> list[Block]:
    """Cover page: title, project(s), 编制单位, date, report number, and the 编制/校核/审核 sign-off lines."""
    from .profile import report_number
    results = doc["results"]
    p0 = results[0]["project"] if results else {}
    title = (f"{p0.get('name') or p0.get('id')}" if len(results) == 1 else f"{len(results)} 个建设项目")
    if len(title) > 120:                  # a cover line, not a paragraph: very long names are cut (full in 项目概况)
        title = title[:119] + "…"
    rows = [["项目", title], ["编制单位", profile.编制单位], ["报告日期", chinese_datetime(doc.get("generated_at"), False)],
            ["报告编号", report_number(profile, doc)]]
    return [Block("cover", "建设项目生态环境分区管控与碳达峰准入筛查报告",
                  data={"rows": rows, "signoff": [["编制", profile.编制人], ["校核", profile.校核人],
                                                  ["审核", profile.审核人]]}),
            Block("pagebreak")]


def build_report(doc: dict, layerset, footprints: dict, map_images: dict, profile=None) -> list[Block]:
    """Cover, then for batches a table of contents and a summary table, then one section per project (atlas)."""
    from .profile import Profile
    blocks: list[Block] = cover(doc, profile or Profile())
    results = doc["results"]
    if len(results) > 1:
        blocks.append(Block("toc", "目录", data={"entries": [
            f"{r['project'].get('name') or r['project']['id']}（{r['project']['id']}）筛查报告" for r in results]}))
        blocks.append(Block("pagebreak"))
        blocks.append(Block("h1", "建设项目生态环境分区管控筛查汇总"))
        blocks.append(Block("table", table=Table(["项目编号", "项目名称", "结论", "决定性规则", "面积 / 长度"], [
            [r["project"]["id"], r["project"].get("name") or "", r["verdict_label"], "；".join(decisive_titles(r)[:3]),
             size_text(r["project"])] for r in results], [1.5, 3, 1.2, 4, 1.8])))
    for r in results:
        if blocks and blocks[-1].kind != "pagebreak":
            blocks.append(Block("pagebreak"))
        blocks += build_project(doc, r, layerset, footprints[r["project"]["id"]], map_images.get(r["project"]["id"]))
    return [_printable(b) for b in blocks]


def _printable(block: Block) -> Block:
    """``block`` with every text of it as XML documents can hold it (:func:`~gis_screening.xmltext.xml_text`: a
    project name or a 准入清单 text may hold a control character, which the DOCX writer refuses)."""
    def clean(v):
        if isinstance(v, str):
            return xml_text(v)
        if isinstance(v, (list, tuple)):
            return type(v)(clean(x) for x in v)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v
    table = Table(clean(block.table.headers), clean(block.table.rows), block.table.widths) if block.table else None
    return Block(block.kind, clean(block.text), table, clean(block.data))
