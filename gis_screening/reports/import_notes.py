"""Import problems as a report shows them to officials: in Chinese, one sentence each.

A project's ``import_problems`` are the reader's one-line notes (``[warning] message (feature X, field 'f')``,
see :class:`~gis_screening.errors.Problem`), written for the command line and the result JSON.  A report renders
each known message in Chinese with the feature and field it names; a message not listed here keeps its own words
after a Chinese level label, so nothing is dropped.
"""
from __future__ import annotations

import re

_NOTE = re.compile(r"\[(?P<level>error|warning|info)\] (?P<message>.*?)"
                   r"(?: \((?:feature (?P<feature>[^()]*?))?(?:, )?(?:field '(?P<field>[^']*)')?\))?")
_LEVELS = {"error": "错误", "warning": "注意", "info": "说明"}

#: (message pattern, Chinese sentence with the pattern's named groups)
_MESSAGES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in [
    (r"feature has no geometry; skipped", "该要素没有几何，未筛查"),
    (r"geometry has NaN or infinite coordinates; skipped", "该要素坐标含非数值，未筛查"),
    (r"invalid geometry \((?P<reason>.*)\) could not be repaired; skipped", "几何无效（{reason}）且无法修复，未筛查"),
    (r"invalid geometry \((?P<reason>.*)\) repaired with make_valid; area (?P<a>\S+) → (?P<b>\S+) \(source units\)",
     "几何无效（{reason}），已自动修复，面积 {a} → {b}（原坐标单位）"),
    (r"(?P<type>\w+) has no area \((?P<reason>.*?): .*", "面状范围没有面积（{reason}：点重复或共线），按线或点筛查，请核对坐标"),
    (r"(?P<type>\w+) in a (?P<expected>\w+) layer; skipped", "几何类型（{type}）与图层要求（{expected}）不符，未筛查"),
    (r"(?P<n>\d+) features share the id (?P<id>.+): screened as one project of \d+ parcels",
     "{n} 个要素的项目编号同为 {id}，作为同一项目的 {n} 个地块合并筛查"),
    (r"no project id field; ids generated from the file name \((?P<stem>.*)\)", "文件没有项目编号字段，编号按文件名生成（{stem}）"),
    (r"no project id field; each feature's name is its id", "文件没有项目编号字段，以各要素的名称作为编号"),
    (r"(?P<n>\d+) feature\(s\) have no id; they are named by row \((?P<first>.*)\)", "{n} 个要素没有项目编号，按行号命名（{first}）"),
    (r"construction_type: value '(?P<value>.*)' not recognised.*", "建设性质“{value}”无法识别，按未填写处理"),
    (r"construction_type: '(?P<value>.*)' read as (?P<canon>\S+) by the words .*", "建设性质“{value}”读作“{canon}”"),
    (r"no \.prj file: CRS inferred from the coordinates", "缺少 .prj 坐标系文件，坐标系按坐标数值推断"),
    (r"the file's coordinate system '(?P<name>.*)' is a local one without a datum: read as if it had none",
     "文件的坐标系“{name}”为无基准的独立坐标系，坐标系按坐标数值推断"),
    (r"CRS inferred: coordinates are longitude/latitude degrees within China.*", "坐标系按坐标数值推断：经纬度，按 CGCS2000 处理"),
    (r"CRS inferred: coordinates are latitude/longitude \(swapped\).*", "坐标系按坐标数值推断：纬度、经度顺序颠倒，已纠正，按 CGCS2000 处理"),
    (r"CRS inferred: eastings carry the (?P<w>\d)° zone prefix (?P<z>\d+).*\(EPSG:(?P<epsg>\d+)\)(?P<swap>.*)",
     "坐标系按坐标数值推断：{w}° 带高斯-克吕格坐标，带号 {z}（EPSG:{epsg}）{swap}"),
    (r"CRS inferred: Gauss-Krüger metres without prefix, zone (?P<z>\d+) as given: EPSG:(?P<epsg>\d+)(?P<swap>.*)",
     "高斯-克吕格坐标不含带号，按给定的第 {z} 带（EPSG:{epsg}）处理{swap}"),
    (r"coordinate columns are swapped relative to the usual order; corrected", "坐标列顺序颠倒，已纠正"),
    (r"X and Y columns are swapped \(X should be the northing\); corrected", "X、Y 列颠倒（X 应为北坐标），已纠正"),
    (r"declared parcel area (?P<d>\S+) ha differs from the computed (?P<c>\S+) ha.*",
     "申报地块面积 {d} 公顷与按坐标计算的 {c} 公顷不符"),
    (r"(?P<datum>Xian 1980|Beijing 1954) converted with user parameters (?P<p>.*)", "{datum} 坐标按用户给出的参数转换为 CGCS2000（{p}）"),
    (r"field name (?P<a>'.*') was cut mid-character at the dBASE 10-byte limit; read as (?P<b>'.*')",
     "字段名 {a} 在 dBASE 10 字节处被截断，读作 {b}"),
    (r"attribute encoding (?P<enc>\S+): (?P<why>.*)", "属性编码按 {enc} 读取"),
    (r"no layer '(?P<layer>.*?)' here: its only layer '(?P<only>.*?)' read", "文件中没有图层“{layer}”，已读取其唯一的图层“{only}”"),
    (r"no folder '(?P<folder>.*?)' here: all its folders read", "KML 中没有文件夹“{folder}”，已读取全部文件夹"),
    (r"no sheet '(?P<sheet>.*?)' here: its only sheet with coordinates read",
     "工作簿中没有工作表“{sheet}”，已读取其唯一含坐标的工作表"),
    (r"no CAD layer '(?P<layer>.*?)' in the drawing: its only layer with (?:outlines|lines) read",
     "图纸中没有 CAD 图层“{layer}”，已读取唯一含图形的图层"),
    (r"columns of (?P<file>.*?) that are no project-sheet field, not read: (?P<cols>.*)",
     "信息表 {file} 中的以下列不是信息表字段，未读取：{cols}"),
    (r"industry code '(?P<value>.*)' names several codes: .*",
     "行业代码“{value}”含多个代码，按未知行业筛查；请填写项目的主要行业代码（其他行业另作项目筛查）"),
    (r"(?P<file>.*?) row (?P<rows>[\d, ]+): a totals row \(合计\), not read as a project",
     "信息表 {file} 第 {rows} 行为合计行，未作为项目读取"),
    (r"CAD drawing: footprint read from CAD layer '(?P<layer>.*?)' \((?P<n>\d+) outlines\)",
     "CAD 图纸：项目范围取自图层“{layer}”的 {n} 个闭合图形"),
    (r"CAD drawing: footprint read from CAD layer '(?P<layer>.*?)' \((?P<n>\d+) lines\)",
     "CAD 图纸：项目范围取自图层“{layer}”的 {n} 条线"),
    (r"CAD drawing: other CAD layers left out: (?P<others>.*)", "CAD 图纸：未计入的其他图层（对象数）：{others}"),
    (r"CAD drawing: it carries no coordinate system.*",
     "CAD 图纸不带坐标系，坐标按 CGCS2000 读取（西安 1980、北京 1954 或地方坐标系的图纸须另行指定坐标系及转换参数）"),
    (r"CAD layer '(?P<layer>.*?)': its lines \(drawn as separate segments\) joined into (?P<n>\d+) closed outlines",
     "CAD 图层“{layer}”的线段（分段绘制）已首尾连接为 {n} 个闭合图形"),
    (r"CAD layer '(?P<layer>.*?)': (?P<n>\d+) lines nearly close on themselves.*",
     "CAD 图层“{layer}”中有 {n} 条线首尾几乎相接，按线读取；若为用地边界，请在 CAD 中闭合后重新导入"),
    (r"CAD layer '(?P<layer>.*?)': (?P<n>\d+) open lines beside its closed outlines left out.*",
     "CAD 图层“{layer}”中有 {n} 条未闭合的线未计入范围（若其中有未闭合的红线，请在 CAD 中闭合后重新导入）"),
]]
_SWAPPED = " (X and Y columns swapped relative to the usual order; corrected)"
#: words a message carries as a value (geometry types, datums), as the report names them
_TERMS = {"Polygon": "面", "MultiPolygon": "面", "polygon": "面", "LineString": "线", "MultiLineString": "线",
          "line": "线", "Point": "点", "MultiPoint": "点", "point": "点", "Xian 1980": "西安 1980",
          "Beijing 1954": "北京 1954"}
#: GEOS's reasons for an invalid geometry (``shapely.is_valid_reason``), as the report names them
_REASONS = {"Self-intersection": "自相交", "Ring Self-intersection": "环自相交", "Too few points": "点数过少",
            "Hole lies outside shell": "内环在外环之外", "Nested shells": "外环嵌套", "Nested holes": "内环嵌套",
            "Interior is disconnected": "内部不连通", "Invalid Coordinate": "坐标无效",
            "Ring is not closed": "环未闭合", "Duplicate Rings": "环重复"}
_REASON = re.compile(r"(?P<what>[A-Za-z -]+?)\s*\[(?P<x>[-\d.e]+) (?P<y>[-\d.e]+)\]")


def _reason(text: str) -> str:
    """A GEOS invalidity reason (``Self-intersection[119.01 26.09]``) in Chinese, with where it is."""
    m = _REASON.fullmatch(text.strip())
    if m is None:
        return _REASONS.get(text.strip(), text)
    return f"{_REASONS.get(m['what'], m['what'])}，位于 {m['x']} {m['y']}"


def import_note_zh(text: str, project_id: str | None = None) -> str:
    """One import problem (``str(Problem)``) as a Chinese sentence: level, what happened, feature and field.  A
    note about another feature of the project's file (one skipped, say) says so, for ``project_id``'s report."""
    m = _NOTE.fullmatch(text.strip())
    if m is None:
        return text
    message = m["message"]
    said = message
    for pattern, sentence in _MESSAGES:
        hit = pattern.fullmatch(message)
        if hit:
            parts = {k: (("，X、Y 列颠倒已纠正" if v == _SWAPPED else "") if k == "swap" else
                         _reason(v) if k == "reason" and v else _TERMS.get(v, v)) for k, v in hit.groupdict().items()}
            said = sentence.format(**{k: v or "" for k, v in parts.items()})
            break
    other = project_id is not None and m["feature"] and m["feature"] != project_id
    where = "，".join(x for x in ((f"同一文件中的另一要素 {m['feature']}" if other else f"要素 {m['feature']}")
                                  if m["feature"] else "",
                                  f"字段 {_field_title(m['field'])}" if m["field"] else "") if x)
    return f"{_LEVELS[m['level']]}：{said}" + (f"（{where}）" if where else "")


def _field_title(field: str) -> str:
    """What officials call a project field (建设性质 for ``construction_type``); a source field name as it is."""
    from ..catalog import default_catalog
    spec = default_catalog().roles["projects"].fields.get(field)
    return spec.title if spec is not None else field
