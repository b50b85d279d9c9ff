"""Legacy Excel workbooks (.xls, "Excel 97-2003" as WPS and older Excel save them) wherever an XLSX is read: a
准入清单 joined to the units, a coordinate table of boundary points.  The fixtures in tests/data/xls were written
with xlwt (BIFF8) from the sample data: the 准入清单 with a merged title row above its header, P2026-001's points
from its 勘测定界 TXT with a merged title and 地块编号 and a 说明 sheet."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
XLS = Path(__file__).parent / "data" / "xls"


def _screen(manifest: Path, *projects: Path, out: Path) -> dict:
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(manifest),
                          *(a for p in projects for a in ("--project", str(p))), "--json", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    doc.pop("generated_at")
    for lyr in doc["layers"]:
        lyr.pop("id")
    for r in doc["results"]:
        for o in r["overlaps"]:
            o.pop("layer_id")
    return doc


def test_an_xls_admission_list_screens_as_the_xlsx(tmp_path):
    """The sample layer set with its 准入清单 saved as .xls (a title row merged above the header) gives the same
    result document for the 25 sample projects as with the .xlsx (before: "openpyxl does not support the old .xls
    file format")."""
    manifest = SAMPLE / "layerset.yaml"
    text = manifest.read_text(encoding="utf-8").replace("source: zones/", f"source: {SAMPLE}/zones/")
    xls = tmp_path / "layerset.yaml"
    xls.write_text(text.replace("source: 准入清单.xlsx", f"source: {XLS}/准入清单.xls"), encoding="utf-8")
    projects = SAMPLE / "projects" / "projects.gpkg"
    want = _screen(manifest, projects, out=tmp_path / "xlsx.json")
    got = _screen(xls, projects, out=tmp_path / "xls.json")
    assert got["results"] == want["results"]
    problems = got["layers"][0]["problems"]
    assert f"[info] 准入清单 {XLS}/准入清单.xls: 60 of 60 units joined by code" in problems
    assert f"[info] 准入清单 {XLS}/准入清单.xls: header on row 2; the 1 row(s) above it skipped" in problems
    assert sum(r["verdict"] == "non_compliant" for r in got["results"]) > 0


def test_an_xls_coordinate_table_is_the_footprint_of_its_txt(tmp_path):
    """P2026-001's sheet with its footprint as an .xls coordinate table (merged title row, 地块编号 merged down the
    points, a 说明 sheet without coordinates) screens as with the 勘测定界 TXT."""
    sheet = (SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8")
    mine = tmp_path / "P2026-001.yaml"
    mine.write_text(sheet.replace("../projects/txt/P2026-001.txt", str(XLS / "P2026-001坐标.xls")), encoding="utf-8")
    want = _screen(SAMPLE / "layerset.yaml", SAMPLE / "sheets" / "P2026-001.yaml", out=tmp_path / "txt.json")
    got = _screen(SAMPLE / "layerset.yaml", mine, out=tmp_path / "xls.json")
    (w,), (g,) = want["results"], got["results"]
    for r in (w, g):
        r["project"].pop("source")
        r["project"]["area_m2"] = round(r["project"]["area_m2"], 1)
        for o in r["overlaps"]:
            o["overlap_area_m2"] = round(o["overlap_area_m2"], 1)
    assert g["verdict"] == w["verdict"] and g["project"] == w["project"]
    assert g["overlaps"] == w["overlaps"]
    assert [f["message"] for f in g["findings"]] == pytest.approx([f["message"] for f in w["findings"]])


def test_workbooks_misnamed_as_xls(tmp_path):
    """An XLSX saved under an .xls name reads by its content; an HTML table saved as .xls (as web systems export
    them) is one line saying to save it as .xlsx."""
    from openpyxl import Workbook

    from gis_screening.errors import InputError
    from gis_screening.io.projects import load_projects
    (biff,) = load_projects(XLS / "P2026-001坐标.xls")
    wb = Workbook()
    ws = wb.active
    ws.append(["点号", "X坐标（m）", "Y坐标（m）"])
    for i, (x, y) in enumerate(biff.geometry.exterior.coords):
        ws.append([f"J{i + 1}", y, x])          # lat/lon given as X (north) / Y (east) columns
    path = tmp_path / "导出.xls"
    wb.save(path)
    (xlsx,) = load_projects(path)
    assert xlsx.geometry.equals_exact(biff.geometry, 1e-9)
    html = tmp_path / "网页导出.xls"
    html.write_text("<html><body><table><tr><td>点号</td><td>X</td><td>Y</td></tr></table></body></html>",
                    encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_projects(html)
    assert str(info.value) == (f"{html}: not an Excel workbook but a web page or XML table saved with an .xls name (as "
                               "some online systems export): open it in Excel or WPS and save it as .xlsx")
