"""准入清单 in the forms they are published in: a Word document's tables (the list annexed to a 分区管控方案, split
over several tables with the header repeated), and one requirement a row (单元编码 | 管控维度 | 管控要求, the code
cell merged down a unit's rows).  Each is built from the sample 准入清单.xlsx and must screen the 25 sample projects
exactly as the workbook does."""
from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from docx import Document

from gis_screening.admission import read_admission_table
from gis_screening.catalog import default_catalog

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
DIMS = ["空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"]


def _list() -> pd.DataFrame:
    return pd.read_excel(SAMPLE / "准入清单.xlsx", dtype=str, engine="openpyxl").fillna("")


def _screen(tmp_path: Path, admission: Path, name: str) -> dict:
    manifest = (SAMPLE / "layerset.yaml").read_text(encoding="utf-8").replace("source: zones/", f"source: {SAMPLE}/zones/")
    path = tmp_path / f"{name}.yaml"
    path.write_text(manifest.replace("source: 准入清单.xlsx", f"source: {admission}"), encoding="utf-8")
    out = tmp_path / f"{name}.json"
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(path), "--project",
                          str(SAMPLE / "projects" / "projects.gpkg"), "--json", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    for r in doc["results"]:
        for o in r["overlaps"]:
            o.pop("layer_id")
    return doc


def _wide_docx(path: Path, numbered: bool = False) -> Path:
    """The list as a document annexes it: a title, then the table in two parts, the header repeated
    (``numbered``: a 序号 column first, as many annexes have)."""
    x = _list()
    if numbered:
        x.insert(0, "序号", [str(i + 1) for i in range(len(x))])
    doc = Document()
    doc.add_paragraph("附表1  示范县环境管控单元生态环境准入清单")
    for part in (x.iloc[:30], x.iloc[30:]):
        table = doc.add_table(rows=1, cols=len(x.columns))
        for cell, h in zip(table.rows[0].cells, x.columns):
            cell.text = h
        for _, r in part.iterrows():
            for cell, v in zip(table.add_row().cells, r):
                cell.text = v
        doc.add_paragraph("")
    doc.save(path)
    return path


def _long_docx(path: Path) -> Path:
    """One requirement a row: 编码 and 名称 merged down each unit's rows, 管控维度 naming the dimension."""
    x = _list()
    doc = Document()
    doc.add_paragraph("示范县生态环境准入清单（按管控维度）")
    table = doc.add_table(rows=1, cols=4)
    for cell, h in zip(table.rows[0].cells, ["环境管控单元编码", "环境管控单元名称", "管控维度", "管控要求"]):
        cell.text = h
    for _, r in x.iterrows():
        first = len(table.rows)
        for d in DIMS:
            if r[d].strip():
                cells = table.add_row().cells
                cells[2].text, cells[3].text = d, r[d]
        last = len(table.rows) - 1
        if last < first:
            continue
        table.cell(first, 0).text, table.cell(first, 1).text = r["环境管控单元编码"], r["环境管控单元名称"]
        if last > first:
            table.cell(first, 0).merge(table.cell(last, 0))
            table.cell(first, 1).merge(table.cell(last, 1))
    doc.save(path)
    return path


def test_a_word_document_and_a_list_of_one_requirement_a_row_screen_as_the_workbook(tmp_path):
    want = _screen(tmp_path, SAMPLE / "准入清单.xlsx", "xlsx")
    numbered = partial(_wide_docx, numbered=True)
    for name, make in (("wide", _wide_docx), ("numbered", numbered), ("long", _long_docx)):
        got = _screen(tmp_path, make(tmp_path / f"{name}.docx"), name)
        assert got["results"] == want["results"], name
        problems = got["layers"][0]["problems"]
        assert any("60 of 60 units joined by code" in p for p in problems), problems
        assert not any("name unit codes not in the layer" in p for p in problems), problems   # no header row left
    table = read_admission_table(tmp_path / "long.docx", None, default_catalog())
    assert table.attrs["note"] == ("one requirement a row (dimension in column '管控维度', text in '管控要求'): 240 rows "
                                   "read as 60 units")
    assert len(table) == 60


def test_a_long_list_joins_a_units_requirements_and_says_what_it_could_not_place(tmp_path):
    """Several rows of one dimension are joined in their order (a code typed in full width is the same unit's); a row
    whose dimension is none of the four is left out and counted (never silently)."""
    rows = [["单元编码", "维度", "要求"],
            ["ZH35019920001", "空间布局约束", "禁止新建化工项目。"],
            ["ＺＨ３５０１９９２０００１", "空间布局约束", "严格限制水泥熟料产能。"],      # typed in full width: the same unit
            ["ZH35019920001", "污染物排放", "VOCs 倍量替代。"],
            ["ZH35019920001", "其他要求", "按规划执行。"],
            ["ZH35019910001", "资源利用效率要求", "禁止新建燃煤设施。"]]
    path = tmp_path / "清单.csv"
    pd.DataFrame(rows).to_csv(path, header=False, index=False, encoding="gbk")
    table = read_admission_table(path, None, default_catalog()).set_index("code")
    assert table.loc["ZH35019920001", "spatial_constraints"] == "禁止新建化工项目。\n严格限制水泥熟料产能。"
    assert table.loc["ZH35019920001", "emission_controls"] == "VOCs 倍量替代。"
    assert table.loc["ZH35019910001", "resource_efficiency"] == "禁止新建燃煤设施。"
    assert pd.isna(table.loc["ZH35019910001", "spatial_constraints"])
    assert table.attrs["note"].endswith("5 rows read as 2 units; 1 row(s) of no dimension left out")


def test_not_a_word_document(tmp_path):
    from gis_screening.errors import InputError
    bad = tmp_path / "清单.docx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a Word document"):
        read_admission_table(bad, None, default_catalog())


@pytest.mark.parametrize("suffix,message", [
    (".pdf", "a PDF's tables cannot be read reliably: take the list's Word or Excel version, or copy the table into "
             "Excel/WPS and save it as .xlsx"),
    (".doc", "a Word 97-2003 document (.doc) is not read: open it in Word or WPS and save it as .docx"),
    (".et", "a WPS spreadsheet (.et) is not read: open it in WPS and save it as .xlsx"),
    (".png", "cannot read 准入清单 table from a .png: give XLSX, XLS, CSV or DOCX")])
def test_a_list_in_a_form_not_read_says_what_to_do(tmp_path, suffix, message):
    from gis_screening.errors import InputError
    path = tmp_path / f"准入清单{suffix}"
    path.write_bytes(b"%PDF-1.7 ...")
    with pytest.raises(InputError) as info:
        read_admission_table(path, None, default_catalog())
    assert str(info.value) == f"{path}: {message}"


def _long_xlsx(path: Path) -> Path:
    """The one-requirement-a-row list as a workbook lays it out: a 序号, 编码 and 名称 merged down each unit's rows
    (Excel keeps the value in the first cell only)."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["示范县生态环境准入清单（按管控维度）"])
    ws.merge_cells("A1:E1")
    ws.append(["序号", "环境管控单元编码", "环境管控单元名称", "管控维度", "管控要求"])
    for n, (_, r) in enumerate(_list().iterrows(), 1):
        first = ws.max_row + 1
        for d in DIMS:
            if r[d].strip():
                ws.append([n, r["环境管控单元编码"], r["环境管控单元名称"]] if ws.max_row + 1 == first else
                          [None, None, None])
                ws.cell(ws.max_row, 4, d)
                ws.cell(ws.max_row, 5, r[d])
        for col in "ABC":
            if ws.max_row > first:
                ws.merge_cells(f"{col}{first}:{col}{ws.max_row}")
    wb.save(path)
    return path


def test_merged_cells_of_a_workbook_hold_their_value_on_every_row(tmp_path):
    """Workbooks merge a unit's code down its requirements (a list of one requirement a row) and a requirement over
    the units sharing it: each row reads the merged value, as a Word table's merged cells do.  The merged list
    screens the 25 sample projects exactly as the workbook (each unit's first requirement was all that was read:
    "60 rows read as 60 units"); a requirement merged over two units is read for both."""
    want = _screen(tmp_path, SAMPLE / "准入清单.xlsx", "xlsx")
    got = _screen(tmp_path, _long_xlsx(tmp_path / "long.xlsx"), "long")
    assert got["results"] == want["results"]
    table = read_admission_table(tmp_path / "long.xlsx", None, default_catalog())
    assert table.attrs["note"] == ("header on row 2; the 1 row(s) above it skipped; one requirement a row (dimension "
                                   "in column '管控维度', text in '管控要求'): 240 rows read as 60 units")
    wide = read_admission_table(SAMPLE / "准入清单.xlsx", None, default_catalog())
    dims = ["code", "name", "spatial_constraints", "emission_controls", "risk_controls", "resource_efficiency"]
    assert table[dims].fillna("").equals(wide[dims].fillna(""))     # every dimension's text, not only the first
    x = _list()
    x.loc[1, DIMS[1]] = x.loc[0, DIMS[1]]        # two units sharing a requirement
    plain, merged = tmp_path / "plain.xlsx", tmp_path / "merged.xlsx"
    x.to_excel(plain, index=False)
    from openpyxl import load_workbook
    wb = load_workbook(plain)
    col = "ABCDEFGHIJ"[list(x.columns).index(DIMS[1])]
    wb.active[f"{col}3"] = None
    wb.active.merge_cells(f"{col}2:{col}3")
    wb.save(merged)
    a, b = (read_admission_table(p, None, default_catalog()) for p in (plain, merged))
    assert b.loc[1, "emission_controls"] == x.loc[0, DIMS[1]] and a.equals(b)


def test_a_requirement_without_its_unit_code_is_said_not_dropped(tmp_path):
    """A row holding a requirement but no unit code (a text run on into the next row, a code left out) cannot be
    joined: it is a warning naming the spreadsheet row, where it was dropped without a word; numbered blank rows
    (a 序号 alone) are no requirement."""
    from openpyxl import load_workbook

    from gis_screening.layerset import load_layerset
    wb = load_workbook(SAMPLE / "准入清单.xlsx")
    ws = wb.active
    ws.insert_rows(3)
    ws.cell(3, 3, "禁止新建水泥熟料项目。")        # under the first unit's row, its code not repeated
    ws.append([None, None, 61])                  # a numbered row left blank
    path = tmp_path / "准入清单.xlsx"
    wb.save(path)
    manifest = (SAMPLE / "layerset.yaml").read_text(encoding="utf-8").replace("source: zones/", f"source: {SAMPLE}/zones/")
    (tmp_path / "set.yaml").write_text(manifest.replace("source: 准入清单.xlsx", f"source: {path}"), encoding="utf-8")
    units = load_layerset(tmp_path / "set.yaml", cache=False).first("control_units")
    said = [str(p) for p in units.problems if "no unit code" in str(p)]
    assert said == [f"[warning] 准入清单 {path}: 1 row(s) with requirements but no unit code left out (row 3): give "
                    "each row its unit's code, or merge the code cell down over them (field 'code')"]
    assert any("60 of 60 units joined by code" in str(p) for p in units.problems)
