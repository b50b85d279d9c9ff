"""XLSX summary (openpyxl): 汇总 (one row per project) and 发现 (one row per finding), filterable, frozen headers."""
from __future__ import annotations

from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from ..atomic import atomic_path
from ..engine.model import LEVEL_LABELS
from ..engine.words import decisive_titles, missing_layers_text
from ..print_layout import print_layout
from ..xmltext import formula_like, xlsx_cell

FILLS = {"不符合": "FFCDD2", "需人工核实": "FFE0B2", "有条件符合": "FFF9C4", "符合": "C8E6C9"}


WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_FONT, HEADER_FILL = Font(bold=True), PatternFill("solid", fgColor="DCE6F1")


def _sheet(ws, headers, rows, widths, fill_column: int | None = None, paper: str = "A4"):
    """Write ``rows`` under a bold header (frozen, filterable), wrapped at the top of their cells; with
    ``fill_column`` (0-based), that cell is coloured by its verdict (:data:`FILLS`).  Each style is looked up once
    and its ids copied into the cells (setting it on each cell hashed it again: a 10,200-project batch with 48,000
    findings took 17 s instead of ~7 s)."""
    ws.append(headers)
    for c in ws[1]:
        c.font, c.fill = HEADER_FONT, HEADER_FILL
    for r in rows:
        ws.append([xlsx_cell(v) for v in r])     # a control character shown, an overlong text cut: never refused
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, len(rows) + 1)}"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    print_layout(ws, paper)
    wrapped = _style(ws, alignment=WRAP)
    filled = {label: _style(ws, alignment=WRAP, fill=PatternFill("solid", fgColor=colour))
              for label, colour in FILLS.items()}
    for row in ws.iter_rows(min_row=2):
        for c in row:
            c._style = copy(wrapped)
            if formula_like(c.value):       # text, never a formula
                c.data_type = "s"
        if fill_column is not None and row[fill_column].value in filled:
            row[fill_column]._style = copy(filled[row[fill_column].value])


def _style(ws, **attrs) -> StyleArray:
    """The style ids of ``attrs`` (font, fill, alignment…) in ``ws``'s workbook."""
    probe = Cell(ws)
    for k, v in attrs.items():
        setattr(probe, k, v)
    return probe._style


def write_xlsx(doc: dict, path: str | Path, paper: str = "A4") -> Path:
    """One row per project (verdict, decisive rules, areas, counts) and one row per finding; printed on ``paper``
    (:func:`print_layout`)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    rows = []
    for r in doc["results"]:
        p, f = r["project"], r["findings"]
        c = r.get("carbon") or {}
        rows.append([p["id"], p.get("name"), p.get("industry_code"), r["verdict_label"], "；".join(decisive_titles(r)),
                     round(p["area_m2"], 2), round(p["area_m2"] / 10000, 4), p["metric_crs"],
                     sum(x["level"] == "non_compliant" for x in f), sum(x["level"] == "needs_review" for x in f),
                     sum(x["level"] == "conditional" for x in f), c.get("energy_tce"), c.get("co2_t")])
    _sheet(ws, ["项目编号", "项目名称", "行业代码", "结论", "决定性规则", "面积 m²", "面积 ha", "坐标系", "不符合项", "需核实项",
                "有条件项", "能耗 tce", "CO2 t"], rows, [12, 24, 9, 11, 40, 12, 10, 11, 8, 8, 8, 11, 11], fill_column=3,
           paper=paper)
    packs = {r["id"]: r.get("title") or r["id"] for r in doc.get("rule_packs", [])}     # officials see titles
    frows = []
    for r in doc["results"]:
        for f in r["findings"]:
            m = f.get("metrics") or {}
            frows.append([r["project"]["id"], f.get("title"), LEVEL_LABELS.get(f["level"], f["level"]),
                          m.get("dimension"), f.get("layer"), f.get("feature_id"), m.get("overlap_area_m2"),
                          m.get("distance_m"), f["message"], "；".join(f["basis"]), packs.get(m.get("pack"), m.get("pack"))])
    _sheet(wb.create_sheet("发现"), ["项目编号", "规则名称", "结论", "维度", "图层", "要素编码", "重叠面积 m²", "距离 m",
                                    "说明", "依据", "规则包"], frows, [12, 30, 10, 12, 14, 16, 12, 10, 60, 40, 30],
           paper=paper)
    if doc.get("layers_missing"):
        _missing_layers_sheet(wb, doc["layers_missing"], paper)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)


def _missing_layers_sheet(wb: Workbook, missing: list[dict], paper: str) -> None:
    """A first sheet 说明 naming the layers the rules need that the layer set lacked (their rules left undecided),
    so it is what the workbook opens on."""
    ws = wb.create_sheet("说明", 0)
    ws.append([xlsx_cell(missing_layers_text(missing))])
    ws["A1"].font = Font(bold=True, color="C62828")
    ws.append([])
    ws.append(["未加载的图层", "类型", "涉及规则数"])
    for c in ws[3]:
        c.font = Font(bold=True)
    for m in missing:
        ws.append([xlsx_cell(m["title"]), xlsx_cell(m["role"]), m["rules"]])
    for row in ws.iter_rows():
        for c in row:
            if formula_like(c.value):
                c.data_type = "s"
    for col, width in zip("ABC", (24, 22, 12)):
        ws.column_dimensions[col].width = width
    print_layout(ws, paper)
    wb.active = 0
