"""Layer-set manifests, topology report, and the `layers check` / `convert` commands."""
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from gis_screening.errors import InputError
from gis_screening.layerset import load_layerset
from gis_screening.topology import check_topology

CLI = [sys.executable, "-m", "gis_screening.cli"]


def _grid(tmp_path: Path, overlap=False, gap=False) -> Path:
    """A 3×1 row of 1 km GK cells in zone 40 (EPSG:4549), optionally with a known overlap or gap."""
    x0, y0 = 430_000, 2_885_000
    cells = [box(x0 + i * 1000, y0, x0 + (i + 1) * 1000, y0 + 1000) for i in range(3)]
    if overlap:   # cell 2 extends 10 m into cell 3 → 10 m × 1000 m = 10,000 m²
        cells[1] = box(x0 + 1000, y0, x0 + 2010, y0 + 1000)
    if gap:       # a 20 m × 50 m hole inside cell 1 that no unit covers → 1,000 m²
        cells[0] = cells[0].difference(box(x0 + 400, y0 + 400, x0 + 420, y0 + 450))
    gdf = gpd.GeoDataFrame({"单元编码": ["ZH35010220001", "ZH35010220002", "ZH35010230001"],
                            "单元名称": ["甲", "乙", "丙"], "管控类别": ["重点管控单元", "重点管控单元", "一般管控单元"]},
                           geometry=cells, crs=4549).to_crs(4490)
    path = tmp_path / "units.gpkg"
    gdf.to_file(path, layer="环境管控单元")
    manifest = tmp_path / "set.yaml"
    manifest.write_text("name: 测试\nlayers:\n  - role: control_units\n    source: units.gpkg\n"
                        "    layer: 环境管控单元\n    fields: {category: 管控类别}\n", encoding="utf-8")
    return manifest


def test_manifest_loads_with_explicit_field_map(tmp_path):
    ls = load_layerset(_grid(tmp_path))
    lyr = ls.first("control_units")
    assert lyr.feature_count == 3 and lyr.gdf["category"].tolist()[-1] == "一般管控单元"


def test_topology_known_overlap_and_gap(tmp_path):
    lyr = load_layerset(_grid(tmp_path, overlap=True, gap=True)).first("control_units")
    rep = check_topology(lyr.gdf, lyr.feature_ids())
    assert rep.metric_crs == "EPSG:4549"
    assert len(rep.overlaps) == 1 and rep.overlaps[0].area_m2 == pytest.approx(10_000, rel=1e-4)
    assert rep.overlaps[0].features == ("ZH35010220002", "ZH35010230001")
    assert len(rep.gaps) == 1 and rep.gaps[0].area_m2 == pytest.approx(1_000, rel=1e-4)


def test_manifest_errors_name_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlayers:\n  - role: control_units\n    sorce: a.shp\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_layerset(bad)
    assert "bad.yaml" in str(exc.value) and "layers.0" in str(exc.value)


def test_cli_layers_check(tmp_path):
    res = subprocess.run(CLI + ["layers", "check", str(_grid(tmp_path, overlap=True))], capture_output=True,
                         text=True)
    assert res.returncode == 1, res.stderr  # overlaps found
    assert "overlaps (不重叠): 1, total 10000.00 m²" in res.stdout
    assert "gaps (全覆盖): 0" in res.stdout
    ok = subprocess.run(CLI + ["layers", "check", str(_grid(tmp_path / ".."))], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_absent_kinds_are_checked_and_listed(tmp_path):
    """`absent:` names zone kinds the area has none of: a role or other:<name>, never one the set loads; `layers
    check` lists them.  A wrong entry is one line naming the manifest and the entry."""
    manifest = _grid(tmp_path)
    base = manifest.read_text(encoding="utf-8")
    manifest.write_text(base + "absent: [water_sources, 'other:永久基本农田']\n", encoding="utf-8")
    assert load_layerset(manifest).absent == ["water_sources", "other:永久基本农田"]
    res = subprocess.run(CLI + ["layers", "check", str(manifest)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "declared absent (no such zone in this area; rules on them find nothing): 饮用水水源保护区（water_sources）、" \
           "永久基本农田" in res.stdout.replace("\n", "")
    for entry, says in (("[water_source]", "'water_source' is neither a zone layer role"),
                        ("[projects]", "'projects' is neither a zone layer role"),
                        ("['other:']", "'other:' is neither"),
                        ("[control_units]", "'control_units' is declared absent but the set has that layer")):
        manifest.write_text(base + f"absent: {entry}\n", encoding="utf-8")
        res = subprocess.run(CLI + ["layers", "check", str(manifest)], capture_output=True, text=True)
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert says in res.stderr and "set.yaml" in res.stderr and "absent[0]" in res.stderr, res.stderr


def test_cli_bad_input_exit_2(tmp_path):
    res = subprocess.run(CLI + ["layers", "check", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "missing.yaml" in res.stderr and "Traceback" not in res.stderr


def test_cli_convert_gcj_to_gpkg_and_geojson(tmp_path, fujian_counties):
    out = tmp_path / "counties.gpkg"
    res = subprocess.run(CLI + ["convert", str(fujian_counties), str(out), "--source-offset", "gcj02"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    gdf = gpd.read_file(out)
    assert gdf.crs.to_epsg() == 4490 and len(gdf) == 85 and "寿宁县" in set(gdf["name"])
    # county boundaries are no zone layer: their own fields are kept (not mapped as 产业园区 for `name` and `level`)
    assert "fujian_counties.shp: no layer role recognised from the file name or fields; source fields kept" in res.stderr
    assert {"adcode", "level", "citycode"} <= set(gdf.columns) and "park_type" not in gdf.columns
    gj = tmp_path / "c.geojson"
    assert subprocess.run(CLI + ["convert", str(out), str(gj)], capture_output=True).returncode == 0
    assert np.allclose(gpd.read_file(gj).total_bounds, gdf.total_bounds, atol=1e-9)
    assert json.loads(gj.read_text(encoding="utf-8"))["features"][0]["properties"]["name"]


def _with_admission_list(tmp_path, second_row: list[str], more: str = "") -> Path:
    """The grid's manifest joined to a 准入清单 workbook with a row for ZH35010220001 and ``second_row``."""
    from openpyxl import Workbook
    manifest = _grid(tmp_path)
    wb = Workbook()
    ws = wb.active
    ws.append(["环境管控单元编码", "空间布局约束", "禁止类行业代码"])
    ws.append(["ZH35010220001", "禁止新建化工项目。", "26"])
    ws.append(second_row)
    wb.save(tmp_path / "清单.xlsx")
    manifest.write_text(manifest.read_text(encoding="utf-8") + "admission_lists:\n  - source: 清单.xlsx\n" + more,
                        encoding="utf-8")
    return manifest


def test_admission_list_join(tmp_path):
    manifest = _with_admission_list(tmp_path, ["ZH99999999999", "不存在的单元", ""])
    units = load_layerset(manifest).first("control_units")
    row = units.gdf.set_index("code").loc["ZH35010220001"]
    assert row["spatial_constraints"] == "禁止新建化工项目。" and row["prohibited_industries"] == "26"
    text = " ".join(map(str, units.problems))
    assert "1 of 3 units joined" in text and "ZH99999999999" in text and "no row for 2 unit(s)" in text
    # the read-time warning (no list fields) is replaced by what the join left blank
    assert "no 准入清单 fields" not in text
    assert "[warning] 2 unit(s) with every 准入清单 field blank: ZH35010220002, ZH35010230001; projects in them are " \
           "需人工核实 until their list is joined" in text
    from gis_screening.normalise import has_admission_list
    assert [has_admission_list(r) for r in units.records()] == [True, False, False]


def test_a_unit_code_typed_in_other_case_or_full_width_joins_its_unit(tmp_path):
    """A 准入清单 row whose code was typed with a Chinese IME in full width (ＺＨ３５…), in lower case, or with a
    trailing ideographic space is its unit's row (it was an orphan, and the unit was left without its list); said."""
    for typed in ("ＺＨ３５０１０２２０００２", "zh35010220002", "ZH35010220002\u3000"):
        manifest = _with_admission_list(tmp_path, [typed, "限制新建印染项目。", ""])
        units = load_layerset(manifest, cache=False).first("control_units")
        assert units.gdf.set_index("code").loc["ZH35010220002", "spatial_constraints"] == "限制新建印染项目。", typed
        text = " ".join(map(str, units.problems))
        assert "2 of 3 units joined" in text and "not in the layer" not in text, typed
        if typed.strip() != "ZH35010220002":        # (blanks around a code are dropped when the list is read)
            assert f"1 code(s) written in other case or width, joined: {typed}" in text, typed


def test_units_loaded_without_any_admission_list_are_not_read_as_unrestricted(tmp_path):
    """A control-unit layer with none of the 准入清单 fields and no list joined: `layers check` warns, and a project
    in a unit is 需人工核实 naming the unit (never 符合 read from the missing list)."""
    from gis_screening.model import Project
    from gis_screening.screening import load_rules, screen
    manifest = _grid(tmp_path)
    manifest.write_text(manifest.read_text(encoding="utf-8") + "absent: [eco_redline, protected_areas, water_sources, "
                        "industrial_parks, air_quality, 'other:永久基本农田']\n", encoding="utf-8")
    res = subprocess.run(CLI + ["layers", "check", str(manifest)], capture_output=True, text=True)
    assert "[warning] no 准入清单 fields (禁止类/限制类行业, 空间布局约束…): projects in these units are 需人工核实 until a " \
           "准入清单 is joined" in res.stdout.replace("\n", ""), res.stdout
    ls = load_layerset(manifest)
    geom = gpd.GeoSeries([box(430_100, 2_885_100, 430_200, 2_885_200)], crs=4549).to_crs(4490).iloc[0]
    (result,) = screen([Project(id="P", geometry=geom, industry_code="7010", construction_type="新建")], ls,
                       load_rules()).results
    assert result.verdict == "needs_review"
    assert [f.rule_id for f in result.findings if f.level == "needs_review"] == ["unit.admission_missing"]


def test_a_unit_without_a_row_in_the_joined_admission_list_is_not_read_as_unrestricted(tmp_path):
    """A project in a unit the joined 准入清单 has no row for cannot be checked against that unit's list: 需人工核实
    naming the unit (never 符合 read from its empty fields); a project in a listed unit is judged by its row."""
    from gis_screening.model import Project
    from gis_screening.screening import load_rules, screen
    manifest = _with_admission_list(tmp_path, ["ZH35010220002", "（无特别要求）", ""],
                                    "absent: [eco_redline, protected_areas, water_sources, industrial_parks, "
                                    "air_quality, 'other:永久基本农田']\n")
    ls = load_layerset(manifest)
    cells = [box(430_100 + i * 1000, 2_885_100, 430_200 + i * 1000, 2_885_200) for i in range(3)]
    geoms = gpd.GeoSeries(cells, crs=4549).to_crs(4490).tolist()
    projects = [Project(id=f"P{i}", geometry=g, industry_code="7010", construction_type="新建")
                for i, g in enumerate(geoms)]
    res = {r.project.id: r for r in screen(projects, ls, load_rules()).results}
    assert [res[f"P{i}"].verdict for i in range(3)] == ["compliant", "compliant", "needs_review"]
    (finding,) = [f for f in res["P2"].findings if f.level == "needs_review"]
    assert finding.rule_id == "unit.admission_missing" and "ZH35010230001（丙）" in finding.message


def test_an_admission_list_published_with_a_title_and_a_two_row_header(tmp_path):
    """A 准入清单 workbook as published: a title row, then a header whose 生态环境准入清单 cell is merged above the
    four dimensions (序号 | 编码 | 名称 merged over two rows); the header is found, the dimensions named by the lower
    row, the rows above skipped (said), the join equal to a plain table's.  No unit-code column in the first rows is
    one line naming the first row."""
    from openpyxl import Workbook
    manifest = _grid(tmp_path)
    wb = Workbook()
    ws = wb.active
    ws.append(["示范县生态环境准入清单（2024 年版）"])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "环境管控单元编码", "生态环境准入清单", None, None, "禁止类行业代码"])
    ws.merge_cells("C2:E2")
    ws.append([None, None, "空间布局约束", "污染物排放管控", "环境风险防控", None])
    ws.append(["1", "ZH35010220001", "禁止新建化工项目。", "污水纳管。", "", "26"])
    ws.append(["2", "ZH35010220002", "（无特别要求）", "", "设置事故池。", ""])
    ws.append(["注：本清单自发布之日起施行。"])
    ws.append([None, "注：1. 禁止类要求为强制性要求。"])        # a footnote in the code column: no unit
    wb.save(tmp_path / "清单.xlsx")
    manifest.write_text(manifest.read_text(encoding="utf-8") + "admission_lists:\n  - source: 清单.xlsx\n",
                        encoding="utf-8")
    units = load_layerset(manifest).first("control_units")
    rows = units.gdf.set_index("code")
    assert rows.loc["ZH35010220001", "spatial_constraints"] == "禁止新建化工项目。"
    assert rows.loc["ZH35010220001", "emission_controls"] == "污水纳管。"
    assert rows.loc["ZH35010220001", "prohibited_industries"] == "26"
    assert rows.loc["ZH35010220002", "risk_controls"] == "设置事故池。"
    text = " ".join(map(str, units.problems))
    assert "[info] 准入清单 清单.xlsx: header on rows 2–3; the 1 row(s) above it skipped" in text
    assert "2 of 3 units joined" in text
    assert "row 7: a note under the table (注：…), not a unit" in text and "not in the layer" not in text
    wb = Workbook()
    wb.active.append(["说明"])
    wb.active.append(["单元", "内容"])
    wb.save(tmp_path / "清单.xlsx")
    res = subprocess.run(CLI + ["layers", "check", str(manifest)], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "准入清单 has no unit-code column (环境管控单元编码 / HJZHGKDYBM …) in its first 10 rows; its first row " \
           "is: 说明" in res.stderr


def test_paths_written_on_windows_read_everywhere(tmp_path):
    """A manifest and a project sheet typed on Windows (zones\\单元.shp, ..\\projects\\txt\\…) are read on any system
    (the batch server): the same layer set and footprint as with / (they were 'file not found' off Windows)."""
    import shutil

    from gis_screening.io.projects import load_projects
    root = tmp_path / "成果"
    shutil.copytree(Path(__file__).resolve().parents[1] / "sample_data", root)
    text = (root / "layerset.yaml").read_text(encoding="utf-8").replace("source: zones/", "source: zones\\\\")
    (root / "windows.yaml").write_text(text, encoding="utf-8")
    assert "zones\\\\环境管控单元.shp" in text
    win, unix = load_layerset(root / "windows.yaml", cache=False), load_layerset(root / "layerset.yaml", cache=False)
    assert [(lyr.role, lyr.feature_count) for lyr in win.layers] == [(lyr.role, lyr.feature_count) for lyr in unix.layers]
    sheet = (root / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8")
    (root / "sheets" / "win.yaml").write_text(sheet.replace("../projects/txt/", "..\\\\projects\\\\txt\\\\"),
                                              encoding="utf-8")
    (p,) = load_projects(root / "sheets" / "win.yaml")
    (q,) = load_projects(root / "sheets" / "P2026-001.yaml")
    assert p.geometry.equals(q.geometry)
    # a name typed on Windows in other letter case opens there but not here: the error names the file it likely
    # means, which is not opened in its place (here they are two names)
    (root / "case.yaml").write_text(text.replace("zones\\\\STBHHX.gpkg", "Zones\\\\stbhhx.GPKG"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_layerset(root / "case.yaml", cache=False)
    assert str(err.value) == (f"{root / 'Zones' / 'stbhhx.GPKG'}: file not found; {root / 'zones' / 'STBHHX.gpkg'} "
                              "differs from it only in letter case")
    (root / "sheets" / "case.yaml").write_text(sheet.replace("../projects/txt/P2026", "../Projects/txt/p2026"),
                                               encoding="utf-8")
    with pytest.raises(InputError, match=r"footprint file '../Projects/txt/p2026-001.txt' not found; .*"
                                         r"/projects/txt/P2026-001.txt differs from it only in letter case"):
        load_projects(root / "sheets" / "case.yaml")


def test_help_shows_switches_bare_and_repeatable_options_by_the_kind_of_their_value():
    """``screen --help`` listed ``--landscape <bool>`` (read as if it took true/false: ``--landscape true`` is an
    error) and ``--project <list[Path]>``; now a switch shows nothing after it and a repeatable option the kind of
    one value."""
    import os
    import re
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(CLI + ["screen", "--help"], capture_output=True, text=True, env=env, check=True).stdout
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"│ [* ]  (--[\w-]+) +(<[^>]+>|)(?= )", out)}
    assert {k: rows[k] for k in ("--landscape", "--table", "--no-cache", "--project", "--rules", "--layerset",
                                 "--scale")} == {"--landscape": "", "--table": "", "--no-cache": "",
                                                 "--project": "<path>", "--rules": "<path>", "--layerset": "<path>",
                                                 "--scale": "<int range>"}
    args = ["screen", "--layerset", str(Path(__file__).parents[1] / "sample_data" / "layerset.yaml"), "--project",
            str(Path(__file__).parents[1] / "sample_data" / "projects" / "projects.gpkg"), "--landscape", "true",
            "--json", "-"]
    res = subprocess.run(CLI + args, capture_output=True, text=True, env=env)     # a switch takes no value
    assert res.returncode == 2 and res.stderr == ("error: true: not a file after --project; a switch takes no value "
                                                  "(give it alone, without true/false)\n")
