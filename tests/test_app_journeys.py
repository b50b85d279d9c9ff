"""Journeys through the real MainWindow, driven by its actions and the event loop (offscreen): the second
screening, re-screening after an edit, projects and sheets together (equal to the CLI), identify through all
layers, editing every layer kind, closing with unsaved edits, and headless/scripted use."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("qtpy")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy.QtCore import QSettings  # noqa: E402

from gis_screening.app.main_window import MainWindow  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
TXT = sorted((SAMPLE / "projects" / "txt").glob("*.txt"))
SHEETS = sorted((SAMPLE / "sheets").glob("*.yaml"))


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_SCREENING_CACHE", str(tmp_path / "cache"))
    w = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    w.ask_unsaved = lambda n: "discard"
    w.ask_copy = lambda src: None            # decline the GeoPackage copy unless a test accepts it
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    assert w.open_layerset(str(SAMPLE / "layerset.yaml"))
    return w


def _wait_result(win, qtbot, timeout=60_000):
    """Wait for the screening started by the last action (through the engine thread and the event loop)."""
    qtbot.waitUntil(lambda: win.worker is None, timeout=timeout)
    return win.session.result


def _verdicts(doc) -> dict:
    return {r["project"]["id"]: r["verdict"] for r in doc["results"]}


def test_screen_twenty_times_with_imports_in_between(win, qtbot):
    """Blocker 1: the second screening used to kill the app (pyproj on Qt pool threads)."""
    expected = {}
    for k in range(20):
        path = TXT[k % len(TXT)]
        assert win.import_footprint(str(path))          # auto-screen through the worker
        doc = _wait_result(win, qtbot)
        if k % 3 == 2:
            win.a_screen.trigger()                       # F5 again, same inputs
            doc = _wait_result(win, qtbot)
        got = _verdicts(doc)
        assert set(got) == {p.id for p in win.session.projects}
        for pid, v in expected.items():
            assert got[pid] == v                         # the same project keeps its verdict
        expected.update(got)
    assert len(win.session.projects) == len(TXT)          # imports append; re-imports replace


def test_projects_and_sheets_together_equal_the_cli(win, qtbot, tmp_path):
    win.auto_screen = False
    assert win.import_projects(SAMPLE / "projects" / "projects.gpkg")
    for s in SHEETS:
        assert win.import_projects(s)
    doc = win.screen_and_wait()
    cli_json = tmp_path / "cli.json"
    args = [sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(SAMPLE / "layerset.yaml"),
            "--project", str(SAMPLE / "projects" / "projects.gpkg")]
    for s in SHEETS:
        args += ["--project", str(s)]
    res = subprocess.run(args + ["--json", str(cli_json)], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ))
    assert res.returncode == 0, res.stderr[-2000:]
    cli = json.loads(cli_json.read_text(encoding="utf-8"))
    assert _verdicts(doc) == _verdicts(cli)
    assert len(doc["results"]) == 25
    strip = lambda d: [(r["project"]["id"], [(f["rule_id"], f["level"], f["message"]) for f in r["findings"]])  # noqa: E731
                       for r in sorted(d["results"], key=lambda r: r["project"]["id"])]
    assert strip(doc) == strip(cli)
    for pid in ("P2026-001", "P2026-008", "P2026-012"):   # sheets win over footprint-only entries
        assert win.session.project(pid).sheet is not None


def test_results_table_banner_follows_selection(win, qtbot):
    win.auto_screen = False
    win.import_projects(SAMPLE / "projects" / "projects.gpkg")
    doc = win.screen_and_wait()
    table = win.projects_panel
    assert table.table.rowCount() == 25
    counts = {}
    for r in doc["results"]:
        counts[r["verdict_label"]] = counts.get(r["verdict_label"], 0) + 1
    assert table.counts.text() == "；".join(f"{k} {counts.get(k, 0)}" for k in ("不符合", "需人工核实", "有条件符合", "符合"))
    compliant = next(r["project"]["id"] for r in doc["results"] if r["verdict"] == "compliant")
    bad = next(r["project"]["id"] for r in doc["results"] if r["verdict"] == "non_compliant")
    for pid, label in ((compliant, "符合"), (bad, "不符合")):
        row = table.row_ids().index(pid)
        table.table.selectRow(row)
        assert win.session.selected_project == pid
        assert win.results.banner.text() == label          # the banner is the selected project's
    table.table.sortItems(2)                               # by verdict severity
    first = table.row_ids()[0]
    assert win.session.result_for(first)["verdict"] == "non_compliant"
    table.verdict_filter.setCurrentIndex(table.verdict_filter.findData("compliant"))
    visible = table.row_ids(visible_only=True)
    assert visible and all(win.session.result_for(p)["verdict"] == "compliant" for p in visible)
    dlg = win.print_dialog()                               # printing uses the selected project
    assert dlg.project_id == bad and dlg.sheet["project"]["id"] == bad
    dlg.close()


def test_identify_returns_every_visible_layer_grouped(win, qtbot):
    import geopandas as gpd
    red = win.session.views[win.session.index_of("生态保护红线")].layer
    units = win.session.views[win.session.index_of("环境管控单元")].layer
    pt = red.gdf.geometry.iloc[0].representative_point()
    unit_id = units.feature_ids()[int(units.gdf.sindex.query(pt, predicate="intersects")[0])]
    hits = win.identify(pt.x, pt.y)
    names = [n for n, _ in hits]
    assert ("生态保护红线", red.feature_ids()[0]) in hits and ("环境管控单元", unit_id) in hits
    order = [v.layer.name for v in win.session.views]                   # the panel's order, top first
    assert names == sorted(names, key=order.index)
    groups = [win.identify_panel.topLevelItem(i).text(0) for i in range(win.identify_panel.topLevelItemCount())]
    assert groups == list(dict.fromkeys(names))
    win.session.set_visible(win.session.index_of("生态保护红线"), False)
    assert "生态保护红线" not in [n for n, _ in win.identify(pt.x, pt.y)]
    assert gpd  # noqa


def _gpkg_layerset(tmp_path) -> Path:
    """The sample layer set with the control units as a GeoPackage copy (editable)."""
    from gis_screening.io import read_layer
    zones = tmp_path / "zones"
    shutil.copytree(SAMPLE / "zones", zones)
    units = read_layer(zones / "环境管控单元.shp", "control_units")
    units.gdf.to_file(zones / "units.gpkg", layer="units", driver="GPKG")
    text = (SAMPLE / "layerset.yaml").read_text(encoding="utf-8")
    text = text.replace("zones/环境管控单元.shp", "zones/units.gpkg")
    shutil.copy(SAMPLE / "准入清单.xlsx", tmp_path / "准入清单.xlsx")
    (tmp_path / "layerset.yaml").write_text(text, encoding="utf-8")
    return tmp_path / "layerset.yaml"


def test_edit_save_rescreen_shows_the_new_unit(win, qtbot, tmp_path):
    """Blocker 3: re-screening after an edit used to return the pre-edit answer (cache keyed by id(layer))."""
    import geopandas as gpd
    from shapely.geometry import LineString
    assert win.open_layerset(str(_gpkg_layerset(tmp_path)))
    win.auto_screen = False
    win.import_projects(SAMPLE / "projects" / "txt" / "P2026-002.txt")
    before = win.screen_and_wait()
    unit_ov = [o for o in before["results"][0]["overlaps"] if o["role"] == "control_units" and o["overlap_area_m2"] > 0]
    code = max(unit_ov, key=lambda o: o["overlap_area_m2"])["feature_id"]
    view_before = (win.canvas.center, win.canvas.res)
    assert win.start_editing("环境管控单元")
    ctl = win.editor
    fid = next(f for f in ctl.fids() if str(ctl.editable.features[f].attrs.get(ctl.editable.code_field)) == code)
    ctl.selected = [fid]
    fp = win.session.projects[0].geometry
    c = fp.centroid
    cut = LineString([(c.x, c.y - 0.2), (c.x, c.y + 0.2)])
    ctl.split_selected(cut)
    assert (win.canvas.center, win.canvas.res) == view_before          # issue item 7: the view stays put
    new_fid = next(f for f in ctl.fids() if f < 0)            # the part the split created
    ctl.set_attributes(new_fid, {ctl.editable.code_field: code[:-4] + "9999"})
    assert ctl.edit_defects() == []                  # a plain split creates no overlap or gap
    assert win.save_edits("分割单元（测试）")
    after = win.screen_and_wait()
    codes_after = {o["feature_id"] for o in after["results"][0]["overlaps"] if o["role"] == "control_units"
                   and o["overlap_area_m2"] > 0}
    assert code[:-4] + "9999" in codes_after and code in codes_after
    area_before = next(o["overlap_area_m2"] for o in unit_ov if o["feature_id"] == code)
    area_after = next(o["overlap_area_m2"] for o in after["results"][0]["overlaps"] if o["feature_id"] == code)
    assert area_after < area_before - 1.0
    assert gpd  # noqa


@pytest.mark.parametrize("name", ["环境管控单元", "生态保护红线", "自然保护地", "饮用水水源保护区", "产业园区",
                                  "大气环境质量达标区", "永久基本农田"])
def test_start_editing_every_layer_kind(win, qtbot, name):
    """Blocker 2: 开始编辑 on a GeoPackage layer aborted the app; other formats offer a GeoPackage copy, and a
    declined copy is said in the status bar (the question said why already: no error box repeats it)."""
    from qtpy.QtWidgets import QMessageBox
    win.layer_panel.setCurrentItem(win.layer_panel.topLevelItem(win.session.index_of(name)))
    asked = []
    win.ask_copy = lambda src: asked.append(src.name)          # declined
    ok = win.start_editing()
    src = win.session.views[win.session.index_of(name)].layer.source
    if src.endswith(".gpkg"):
        assert ok and win.editor is not None and win.editor.view.layer.name == name
        assert name in win.lbl_msg.text() and not asked
    else:
        assert not ok and win.editor is None and asked == [Path(src).name]
        assert win.findChild(QMessageBox, "error-box") is None
        assert win.lbl_msg.text() == f"未编辑：只能编辑 GeoPackage 图层，“{Path(src).name}”未另存为 GeoPackage"


def test_no_to_the_geopackage_copy_question_edits_nothing_and_says_so_once(win, qtbot):
    """The real question, answered 否: nothing is edited or written, the status bar says so, no error box follows."""
    from qtpy.QtWidgets import QMessageBox
    name, src = next((v.layer.name, Path(v.layer.source)) for v in win.session.views
                     if not v.layer.source.endswith(".gpkg"))
    del win.ask_copy
    win.layer_panel.setCurrentItem(win.layer_panel.topLevelItem(win.session.index_of(name)))
    seen = []

    def answer_no(box):
        seen.append(box.text())
        box.button(QMessageBox.No).click()
    _answer(QMessageBox, answer_no)
    assert not win.start_editing()
    assert len(seen) == 1 and src.name in seen[0] and "GeoPackage" in seen[0]
    assert win.editor is None and win.findChild(QMessageBox, "error-box") is None
    assert "未编辑" in win.lbl_msg.text()


def test_close_with_unsaved_edits_asks(win, qtbot, tmp_path):
    from gis_screening.editing import commands as ec
    assert win.open_layerset(str(_gpkg_layerset(tmp_path)))
    assert win.start_editing("环境管控单元")
    fid = win.editor.fids()[0]
    win.editor.push(ec.SetAttributes(win.editor.editable, fid, {"name": "改名"}))
    asked = []
    win.ask_unsaved = lambda n: asked.append(n) or "cancel"
    assert not win.close() and win.isVisible() and asked == [1]     # cancel keeps the window
    win.ask_unsaved = lambda n: "save"
    win.save_edits = lambda reason=None, _orig=win.save_edits: _orig("关闭前保存")
    assert win.close()
    from gis_screening.editing.store import EditableLayer
    assert EditableLayer(win.editor.editable.path).features[fid].attrs["name"] == "改名"


def test_headless_results_equal_cli_and_code_script(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), GIS_SCREENING_CACHE=str(tmp_path / "c"))
    out = tmp_path / "app.json"
    script = tmp_path / "s.py"
    script.write_text("assert len(window.session.projects) == 2\n"
                      "doc = window.screen_and_wait()\n"
                      "open(r'%s', 'w').write(str(sorted(r['verdict'] for r in doc['results'])))\n"
                      % (tmp_path / "script.txt"), encoding="utf-8")
    base = [sys.executable, "-m", "gis_screening.app.main", "--layerset", str(SAMPLE / "layerset.yaml"),
            "--project", str(TXT[0]), "--project", str(TXT[1])]
    res = subprocess.run(base + ["--results", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    app_doc = json.loads(out.read_text(encoding="utf-8"))
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(SAMPLE / "layerset.yaml"),
                          "--project", str(TXT[0]), "--project", str(TXT[1]), "--json", str(tmp_path / "cli.json")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0
    assert _verdicts(app_doc) == _verdicts(json.loads((tmp_path / "cli.json").read_text(encoding="utf-8")))
    res = subprocess.run(base + ["--code", str(script), "--quit"], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "script.txt").read_text() == str(sorted(_verdicts(app_doc).values()))
    script.write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    res = subprocess.run(base + ["--code", str(script), "--quit"], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 1 and "boom" in res.stderr
    res = subprocess.run([sys.executable, "-m", "gis_screening.app.main", "--layerset", str(tmp_path / "missing.yaml"),
                          "--results", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2 and "missing.yaml" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_export_runs_in_background_with_cancel(win, qtbot, tmp_path):
    from qtpy.QtCore import QTimer
    win.auto_screen = False
    for p in TXT[:4]:
        win.import_projects(p)
    win.screen_and_wait()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    out = tmp_path / "report.pdf"
    job = win.export_report(str(out))
    win._wait_for(job, 300)
    timer.stop()
    assert out.exists() and out.read_bytes()[:5] == b"%PDF-"
    assert len(ticks) >= 3                               # the event loop ran while the report was written
    assert "已导出" in win.lbl_msg.text()
    cancelled = tmp_path / "cancelled.docx"
    job = win.export_report(str(cancelled))
    job.cancel()
    win._wait_for(job, 300)
    assert not cancelled.exists() and "已取消" in win.lbl_msg.text()
    assert not list(tmp_path.glob(".cancelled*"))        # no temp file left behind


def test_a_report_is_not_exported_over_a_file_the_session_reads(win, qtbot, tmp_path):
    """Exporting the XLSX summary onto the layer set's 准入清单 or onto the project's coordinate table (the save
    dialog only asks "replace?") would destroy what the session reads: refused with the reason, the file left as it
    was; a file of its own is written."""
    import hashlib
    import shutil

    from openpyxl import Workbook
    from qtpy.QtWidgets import QMessageBox
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    assert win.open_layerset(str(data / "layerset.yaml"))
    table = data / "坐标表.xlsx"
    wb = Workbook()
    wb.active.append(["点号", "X", "Y"])
    for k, (n, e) in enumerate([(2886050.0, 40408050.0), (2886450.0, 40408050.0), (2886450.0, 40407450.0),
                                (2886050.0, 40407450.0)], start=1):
        wb.active.append([f"J{k}", n, e])
    wb.save(table)
    sheets = data / "信息表.xlsx"          # a table of project sheets: its projects' source is "<file> row <n>"
    wb = Workbook()
    wb.active.append(["项目编号", "行业代码", "用地范围文件"])
    wb.active.append(["T1", "3011", str(data / "projects" / "txt" / "P2026-001.txt")])
    wb.save(sheets)
    named = data / "坐标表2.xlsx"          # a coordinate table only a YAML sheet names as its footprint
    shutil.copy(table, named)
    (data / "s.yaml").write_text("id: S2\nindustry_code: '3011'\nfootprint: 坐标表2.xlsx\n", encoding="utf-8")
    win.auto_screen = False
    win.import_projects(table)
    win.import_projects(sheets)
    win.import_projects(data / "s.yaml")
    win.screen_and_wait()
    for target, what in ((data / "准入清单.xlsx", "a file of the open layer set"), (table, "a project file"),
                         (sheets, "a project file"), (named, "a project file")):
        before = hashlib.sha256(target.read_bytes()).hexdigest()
        assert win.export_report(str(target)) is None
        box = win.findChild(QMessageBox, "error-box")
        assert box is not None and box.isVisible() and "无法导出" in box.text()
        assert what in box.text() and "which this run reads" in box.text(), box.text()
        box.accept()
        box.setObjectName("seen")
        assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    own = tmp_path / "汇总.xlsx"
    win._wait_for(win.export_report(str(own)), 300)
    assert own.exists() and "已导出" in win.lbl_msg.text()


def test_shapefile_layer_is_edited_as_a_geopackage_copy_with_the_same_schema(win, qtbot, tmp_path):
    import pyogrio

    from gis_screening.io.pipeline import read_raw
    src = read_raw(SAMPLE / "zones" / "环境管控单元.shp").gdf
    target = tmp_path / "管控单元.gpkg"
    win.ask_copy = lambda path: str(target)
    assert win.start_editing("环境管控单元")
    copy = pyogrio.read_dataframe(target)
    fields = [c for c in src.columns if c != "geometry"]
    assert [c for c in copy.columns if c != "geometry"] == fields           # official field names kept
    assert "HJZHGKDYBM" in fields and "禁止行业" in fields
    assert copy["ZHGKDYFL"].astype(str).tolist() == src["ZHGKDYFL"].astype(str).tolist()   # codes 1/2/3 kept
    assert set(copy["ZHGKDYFL"].astype(str)) <= {"1", "2", "3"}
    assert win.editor.view.layer.source == str(target.resolve())
    assert win.editor.view.layer.gdf["code"].tolist() == src["HJZHGKDYBM"].tolist()   # shown canonically


def test_the_geopackage_copy_for_editing_is_not_written_over_another_layer(win, qtbot, tmp_path):
    """Choosing another loaded layer's GeoPackage as the editable copy of a shapefile would replace that layer's
    file: refused with the reason, the file left as it was; a file of its own is then taken."""
    import hashlib
    import shutil

    from qtpy.QtWidgets import QMessageBox
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    assert win.open_layerset(str(data / "layerset.yaml"))
    redlines = data / "zones" / "STBHHX.gpkg"
    before = hashlib.sha256(redlines.read_bytes()).hexdigest()
    win.ask_copy = lambda path: str(redlines)
    assert not win.start_editing("环境管控单元")
    box = win.findChild(QMessageBox, "error-box")
    assert box is not None and "无法编辑" in box.text() and "a file of the open layer set" in box.text()
    box.accept()
    assert hashlib.sha256(redlines.read_bytes()).hexdigest() == before
    win.ask_copy = lambda path: str(tmp_path / "管控单元.gpkg")
    assert win.start_editing("环境管控单元") and (tmp_path / "管控单元.gpkg").exists()


def test_first_view_fills_the_canvas_and_labels_do_not_collide(win, qtbot):
    """Item 12: the first view fits the layers to the canvas after layout (same scale as 全图), and unit codes are
    labelled without overlapping each other."""
    from qtpy.QtCore import QRectF
    from qtpy.QtGui import QImage, QPainter
    win.resize(1400, 900)
    qtbot.wait(50)
    first = win.canvas.scale_denominator()
    win.a_all.trigger()
    assert win.canvas.scale_denominator() == first
    img = QImage(win.canvas.width(), win.canvas.height(), QImage.Format_ARGB32)
    p = QPainter(img)
    win.canvas.render_to(p)
    p.end()
    placed: list[QRectF] = win.canvas.label_boxes
    assert len(placed) >= 20                       # most of the 60 unit codes are labelled at full extent
    for i, a in enumerate(placed):
        assert not any(a.intersects(b) for b in placed[i + 1:])


def test_recovery_says_what_it_restores(win, qtbot, tmp_path):
    from gis_screening.editing import commands as ec
    from gis_screening.editing.store import EditableLayer
    assert win.open_layerset(str(_gpkg_layerset(tmp_path)))
    path = tmp_path / "zones" / "units.gpkg"
    crashed = EditableLayer(path)
    fid = sorted(crashed.features)[0]
    ec.SetAttributes(crashed, fid, {"name": "崩溃前的修改"}).do()     # journalled, never saved: a crash
    del crashed
    assert win.start_editing("环境管控单元")
    assert "恢复了 1 处未保存的修改" in win.lbl_msg.text()
    assert win.editor.editable.features[fid].attrs["name"] == "崩溃前的修改"


def test_a_layer_set_lacking_layers_the_rules_need_is_said_after_every_screening(win, qtbot, units_only_layerset):
    """Opened on a layer set with only the control units, the app's screenings (the first, and again after the full
    set is opened and then the partial one again) say in the status bar which layers were not loaded, and no
    project is 符合 (the red-line rules could apply to any); with the full set it says 就绪."""
    manifest = units_only_layerset
    for path, missing in ((manifest, True), (SAMPLE / "layerset.yaml", False), (manifest, True)):
        assert win.open_layerset(str(path))
        assert win.import_footprint(str(TXT[0]))
        doc = _wait_result(win, qtbot)
        assert ("layers_missing" in doc) is missing
        text = win.lbl_msg.text()
        if missing:
            assert text.startswith("未加载图层，相关规则未能核对（列为需人工核实）：生态保护红线、自然保护地、饮用水水源保护区"), text
            assert all(r["verdict"] != "compliant" for r in doc["results"])   # the red-line rules could apply to all
        else:
            assert text == "就绪"


def test_a_unit_whose_list_is_cleared_is_needs_review_until_its_list_is_typed_in(win, qtbot, tmp_path):
    """A planner splits a unit whose 准入清单 comes from the joined workbook: the new part's code has no row there.
    Screening after the save says the new unit has no list (需人工核实, naming it) instead of reading its blank fields
    as "nothing prohibited"; after the planner types its 空间布局约束 and saves, the next screening no longer does."""
    from shapely.geometry import LineString
    assert win.open_layerset(str(_gpkg_layerset(tmp_path)))
    win.auto_screen = False
    win.import_projects(SAMPLE / "projects" / "txt" / "P2026-002.txt")
    before = win.screen_and_wait()
    assert "unit.admission_missing" not in {f["rule_id"] for f in before["results"][0]["findings"]}
    unit_ov = [o for o in before["results"][0]["overlaps"] if o["role"] == "control_units" and o["overlap_area_m2"] > 0]
    code = max(unit_ov, key=lambda o: o["overlap_area_m2"])["feature_id"]
    assert win.start_editing("环境管控单元")
    ctl = win.editor
    fid = next(f for f in ctl.fids() if str(ctl.editable.features[f].attrs.get(ctl.editable.code_field)) == code)
    ctl.selected = [fid]
    c = win.session.projects[0].geometry.centroid
    ctl.split_selected(LineString([(c.x, c.y - 0.2), (c.x, c.y + 0.2)]))
    new_fid = next(f for f in ctl.fids() if f < 0)
    new_code = code[:-4] + "9999"
    lists = [k for k in ctl.editable.features[new_fid].attrs if k in (
        "spatial_constraints", "emission_controls", "risk_controls", "resource_efficiency", "prohibited_industries",
        "restricted_industries")]
    ctl.set_attributes(new_fid, {ctl.editable.code_field: new_code, **{k: None for k in lists}})
    assert win.save_edits("分割单元（测试）")
    missing = [f for f in win.screen_and_wait()["results"][0]["findings"] if f["rule_id"] == "unit.admission_missing"]
    assert [f["level"] for f in missing] == ["needs_review"] and new_code in missing[0]["message"]
    assert win.start_editing("环境管控单元")
    ctl = win.editor
    fid = next(f for f in ctl.fids() if str(ctl.editable.features[f].attrs.get(ctl.editable.code_field)) == new_code)
    ctl.set_attributes(fid, {"spatial_constraints": "执行所在县总体准入要求。"})
    assert win.save_edits("补充准入清单（测试）")
    again = win.screen_and_wait()["results"][0]
    assert "unit.admission_missing" not in {f["rule_id"] for f in again["findings"]}
    assert any(f["rule_id"] == "unit.text.spatial" and "执行所在县总体准入要求。" in f["message"] for f in again["findings"])


def test_a_layer_set_with_z_coordinates_is_drawn_screened_edited_and_saved(win, qtbot, tmp_path):
    """Zone layers exported from CAD or KML carry a Z: the canvas draws them (it copied three columns into a
    two-column buffer), screening gives the 2D answer, and a vertex moved in the app is saved with its Z (the
    GeoPackage writer forced 2D)."""
    import geopandas as gpd
    import pyogrio
    import shapely
    path = _gpkg_layerset(tmp_path)
    units = tmp_path / "zones" / "units.gpkg"
    win.auto_screen = False
    assert win.open_layerset(str(path))
    win.import_projects(SAMPLE / "projects" / "txt" / "P2026-002.txt")
    flat = win.screen_and_wait()
    gdf = gpd.read_file(units, layer="units")
    gdf.geometry = shapely.force_3d(gdf.geometry.values, 12.5)
    gdf.to_file(units, layer="units", driver="GPKG")
    assert win.open_layerset(str(path))
    win.import_projects(SAMPLE / "projects" / "txt" / "P2026-002.txt")
    assert not win.canvas.grab().toImage().isNull()          # paints (an exception in paintEvent fails the test)
    raised = win.screen_and_wait()
    unit_rows = [[(o["feature_id"], o["overlap_area_m2"]) for o in d["results"][0]["overlaps"]
                  if o["role"] == "control_units"] for d in (flat, raised)]
    assert unit_rows[0] == unit_rows[1] and raised["results"][0]["verdict"] == flat["results"][0]["verdict"]
    assert win.start_editing("环境管控单元")
    ctl = win.editor
    fid = ctl.fids()[0]
    ctl.selected = [fid]
    x, y, z = shapely.get_coordinates(ctl.editable.features[fid].geom, include_z=True)[0]
    assert z == 12.5
    assert ctl.move_vertex((x, y), (x + 1e-4, y), 1e-6)
    assert win.save_edits("移动节点（测试）")
    saved = pyogrio.read_dataframe(units, layer="units")
    assert saved.geometry.has_z.all() and len(saved) == len(gdf)
    again = win.screen_and_wait()              # a second screening after the edit, on the saved 3D layer
    assert [o["feature_id"] for o in again["results"][0]["overlaps"] if o["role"] == "control_units"] == \
        [code for code, _ in unit_rows[0]] and again["results"][0]["verdict"] == flat["results"][0]["verdict"]


def _answer(kind, check):
    """Run ``check(dialog)`` on the modal dialog of type ``kind`` the next action opens (from inside its event
    loop, as soon as it is up)."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    def look(tries=250):
        dlg = QApplication.activeModalWidget()
        if isinstance(dlg, kind):
            check(dlg)
        elif tries:
            QTimer.singleShot(20, lambda: look(tries - 1))
    QTimer.singleShot(0, look)


def test_menu_actions_and_buttons_do_what_their_methods_do(win, qtbot, tmp_path):
    """The journeys taken through the menus and buttons as a user does, not through the methods the other tests
    call: QAction.triggered and QPushButton.clicked carry ``checked``, which PyQt passed into each slot's first
    optional parameter — 开始编辑所选图层 said "no layer False", 保存编辑… saved without asking its reason (the audit
    row's reason was False), 建设项目信息表… opened the first project's sheet whatever was selected, 版本对比… and the
    print dialog's 导出 button did nothing."""
    import sqlite3

    from qtpy.QtWidgets import QAction, QFileDialog, QInputDialog, QPushButton

    from gis_screening.app.dialogs import SheetDialog
    from gis_screening.editing import commands as ec
    assert win.open_layerset(str(_gpkg_layerset(tmp_path)))
    win.auto_screen = False
    acts = {a.text(): a for a in win.findChildren(QAction)}
    win.layer_panel.setCurrentItem(win.layer_panel.topLevelItem(win.session.index_of("环境管控单元")))
    acts["开始编辑所选图层"].trigger()
    assert win.editor is not None and win.editor.view.layer.name == "环境管控单元"
    fid = win.editor.fids()[0]
    win.editor.push(ec.SetAttributes(win.editor.editable, fid, {"name": "改名（菜单）"}))
    seen: list = []

    def reason(dlg):
        seen.append(type(dlg))
        dlg.setTextValue("菜单保存")
        dlg.accept()
    _answer(QInputDialog, reason)
    acts["保存编辑…"].trigger()
    assert seen == [QInputDialog]
    with sqlite3.connect(win.editor.editable.path) as conn:
        assert conn.execute("SELECT reason FROM gis_screening_audit").fetchall() == [("菜单保存",)]
    for txt in ("P2026-002.txt", "P2026-007.txt"):
        win.import_projects(SAMPLE / "projects" / "txt" / txt)
    win.session.selected_project = "P2026-007"
    _answer(SheetDialog, lambda dlg: (seen.append((type(dlg), dlg.windowTitle())), dlg.reject()))
    acts["建设项目信息表…"].trigger()
    assert seen[-1] == (SheetDialog, "建设项目信息表 — P2026-007")
    _answer(QFileDialog, lambda dlg: (seen.append(type(dlg)), dlg.reject()))
    acts["版本对比…"].trigger()                       # asks for the old version's file (declined: nothing more)
    assert seen[-1] == QFileDialog
    win.run_screening(wait=True)
    win.session.selected_project = "P2026-002"
    dlg = win.print_dialog()
    button = next(b for b in dlg.findChildren(QPushButton) if b.text().startswith("导出"))

    def save_as(d):
        from qtpy.QtWidgets import QDialogButtonBox
        d.selectFile(str(tmp_path / "筛查图"))        # typed without an ending, the PDF type chosen
        d.findChild(QDialogButtonBox).button(QDialogButtonBox.Save).click()
    _answer(QFileDialog, save_as)
    button.click()
    assert (tmp_path / "筛查图.pdf").read_bytes().startswith(b"%PDF")


def test_footprints_given_in_a_sheet_table_screened_again_and_after_reopening(win, qtbot, tmp_path):
    """A 信息表 whose footprints are in the table itself (WKT, GeoJSON text), imported, screened, imported again
    (replacing, not doubling), screened again, saved as a session and reopened in a new window, screened a third
    time: the same findings each time, and the CLI's (its result piped to standard output, twice in a row, byte for
    byte the same but for the time and the layer ids)."""
    import re

    import shapely

    from gis_screening.io.projects import load_projects
    (a,) = load_projects(SAMPLE / "projects" / "txt" / "P2026-001.txt")
    (b,) = load_projects(SAMPLE / "projects" / "txt" / "P2026-002.txt")
    table = tmp_path / "信息表.csv"
    rows = [["项目编号", "项目名称", "行业代码", "建设性质", "用地范围"],
            ["W1", "熟料线", "3011", "新建", a.geometry.wkt],
            ["G2", "仓储", "5990", "扩建", json.dumps(shapely.geometry.mapping(b.geometry))]]
    import csv
    with open(table, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)

    def findings(doc):
        return {r["project"]["id"]: [(f["rule_id"], f["level"], f["message"]) for f in r["findings"]]
                for r in doc["results"]}
    win.auto_screen = False
    assert win.import_projects(str(table))
    first = findings(win.screen_and_wait())
    assert sorted(first) == ["G2", "W1"] and first["W1"] and first["G2"]
    assert win.import_projects(str(table))
    assert [p.id for p in win.session.projects] == ["W1", "G2"]
    assert findings(win.screen_and_wait()) == first
    session = tmp_path / "s.gsproj"
    win.session.save(session)
    again = MainWindow(settings=QSettings(str(tmp_path / "settings2.ini"), QSettings.IniFormat))
    qtbot.addWidget(again)
    assert again.open_session(str(session))
    assert [p.id for p in again.session.projects] == ["W1", "G2"]
    assert findings(again.screen_and_wait()) == first
    piped = []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset",
                              str(SAMPLE / "layerset.yaml"), "--project", str(table), "--json", "-"],
                             capture_output=True, timeout=300, env=dict(os.environ))
        assert res.returncode == 0, res.stderr[-2000:]
        piped.append(re.sub(rb'"(generated_at|layer_id|id)": "(L[^"]*|\d{4}-[^"]*)"', b"", res.stdout))
        assert findings(json.loads(res.stdout)) == first
    assert piped[0] == piped[1]


def test_a_saved_result_is_not_reopened_beside_layers_or_rules_changed_since(qtbot, tmp_path, monkeypatch):
    """A session saved with its result, reopened: the result is shown again while its layers and rules are as they
    were; after a layer file is replaced (the county's new red lines) or a rule pack the layer set names is edited,
    the saved verdicts are dropped with a note — they were shown, and exported, beside the new red lines — and the
    next screening quotes the new layer."""
    import yaml
    monkeypatch.setenv("GIS_SCREENING_CACHE", str(tmp_path / "cache"))
    zones = tmp_path / "county"
    shutil.copytree(SAMPLE, zones, ignore=shutil.ignore_patterns("projects", "sheets", "*.py", "README.md"))
    shutil.copytree(ROOT / "rules", zones / "rules", ignore=shutil.ignore_patterns("reference", "README.md"))
    manifest = zones / "layerset.yaml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    manifest.write_text(yaml.safe_dump({**doc, "rule_packs": ["rules"]}, allow_unicode=True), encoding="utf-8")

    def window() -> MainWindow:
        w = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        w.ask_unsaved = lambda n: "discard"
        qtbot.addWidget(w)
        return w
    first = window()
    assert first.open_layerset(str(manifest))
    first.auto_screen = False
    assert first.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
    doc = first.screen_and_wait()
    assert doc["results"][0]["verdict"] == "non_compliant"
    quoted = [f["message"] for f in doc["results"][0]["findings"] if f["rule_id"] == "national.redline.construction"]
    assert quoted and "改名后的红线" not in quoted[0]
    session = tmp_path / "s.gsproj"
    first.session.save(session)

    again = window()
    assert again.open_session(str(session))
    assert again.session.result == doc                          # nothing changed: the result is shown again

    red = zones / "zones" / "STBHHX.gpkg"
    import geopandas as gpd
    gdf = gpd.read_file(red, layer="生态保护红线")
    name_field = next(c for c in gdf.columns if c.upper() in ("HXMC", "NAME", "红线名称"))
    gdf[name_field] = "改名后的红线"
    gdf.to_file(red, layer="生态保护红线", driver="GPKG")
    third = window()
    assert third.open_session(str(session))
    assert third.session.result is None and "保存的筛查结果已作废" in third.lbl_msg.text()
    assert [p.id for p in third.session.projects] == ["P2026-002"]       # the projects are kept
    fresh = third.screen_and_wait()
    assert any("改名后的红线" in f["message"] for f in fresh["results"][0]["findings"])
    third.session.save(session)

    pack = zones / "rules" / "national" / "national.yaml"
    text = pack.read_text(encoding="utf-8")
    assert "禁止开发性、生产性建设活动" in text
    pack.write_text(text.replace("禁止开发性、生产性建设活动", "禁止开发性和生产性建设活动"), encoding="utf-8")
    fourth = window()
    assert fourth.open_session(str(session))
    assert fourth.session.result is None and "保存的筛查结果已作废" in fourth.lbl_msg.text()


def test_a_saved_result_is_judged_by_what_it_was_screened_from_not_by_what_stood_at_saving(qtbot, tmp_path,
                                                                                              monkeypatch):
    """A result is saved with what its screening read, taken when the screening started (before: what the files
    were when the session was saved).  A unit renamed in the editor and screened, the session saved with the edit
    never saved to the file: reopened, the layer is the file's and the result (quoting the new name) is dropped —
    it was kept.  A rule pack edited after the screening, then the session saved: dropped — it was kept.  A unit
    renamed after the screening and never saved: the result was reached from the file as it still is, and is
    shown again."""
    import yaml
    monkeypatch.setenv("GIS_SCREENING_CACHE", str(tmp_path / "cache"))
    manifest = _gpkg_layerset(tmp_path)
    shutil.copytree(ROOT / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("reference", "README.md"))
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    manifest.write_text(yaml.safe_dump({**doc, "rule_packs": ["rules"]}, allow_unicode=True), encoding="utf-8")
    session = tmp_path / "s.gsproj"

    def window() -> MainWindow:
        w = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        w.ask_unsaved = lambda n: "discard"
        qtbot.addWidget(w)
        w.auto_screen = False
        return w

    def screened_with_unit_renamed(w: MainWindow, before_screening: bool) -> tuple[dict, str]:
        assert w.open_layerset(str(manifest))
        w.auto_screen = False
        assert w.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
        first = w.screen_and_wait() if not before_screening else None
        assert w.start_editing("环境管控单元")
        ctl = w.editor
        code = next(o["feature_id"] for o in (first or w.screen_and_wait())["results"][0]["overlaps"]
                    if o["role"] == "control_units" and o["overlap_area_m2"] > 0)
        fid = next(f for f in ctl.fids() if str(ctl.editable.features[f].attrs.get(ctl.editable.code_field)) == code)
        cat = w.session.cat
        name_field = next(c for c in ctl.editable.columns
                          if cat.match_fields("control_units", [c]).get(c) == cat.role("control_units").name_field)
        ctl.set_attributes(fid, {name_field: "编辑中的单元"})
        result = w.screen_and_wait() if before_screening else first
        assert result is not None
        return result, code

    def names(result: dict, code: str) -> set:
        return {o["feature_name"] for o in result["results"][0]["overlaps"] if o["feature_id"] == code}

    edited = window()
    doc, code = screened_with_unit_renamed(edited, before_screening=True)
    assert names(doc, code) == {"编辑中的单元"}               # screened with the edit, never saved to the file
    edited.session.save(session)
    reopened = window()
    assert reopened.open_session(str(session))
    assert reopened.session.result is None and "保存的筛查结果已作废" in reopened.lbl_msg.text()

    later = window()
    doc, code = screened_with_unit_renamed(later, before_screening=False)
    assert "编辑中的单元" not in names(doc, code)              # screened before the edit: the file's units
    later.session.save(session)
    reopened = window()
    assert reopened.open_session(str(session))
    assert reopened.session.result == doc                      # reached from the units as the file still has them

    pack = tmp_path / "rules" / "national" / "national.yaml"
    text = pack.read_text(encoding="utf-8")
    assert "禁止开发性、生产性建设活动" in text
    assert reopened.screen_and_wait() is not None
    pack.write_text(text.replace("禁止开发性、生产性建设活动", "禁止开发性和生产性建设活动"), encoding="utf-8")
    reopened.session.save(session)                             # saved after the pack was edited, not re-screened
    last = window()
    assert last.open_session(str(session))
    assert last.session.result is None and "保存的筛查结果已作废" in last.lbl_msg.text()


def test_a_session_moved_with_its_layer_set_opens_from_where_they_are_now(qtbot, tmp_path, monkeypatch):
    """A reviewer sends the folder holding the session and its layer set to a colleague (another folder, another
    drive letter): the session named its layer set by a path that no longer exists, and would not open ("not
    found").  It also names it from its own folder now: the layers and projects open from where they are, said in
    the status bar; the saved result, keyed by the layer files where they were read, is dropped with its note."""
    monkeypatch.setenv("GIS_SCREENING_CACHE", str(tmp_path / "cache"))
    sent = tmp_path / "送审" / "data"
    shutil.copytree(SAMPLE, sent, ignore=shutil.ignore_patterns("projects", "sheets", "*.py", "README.md"))
    first = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(first)
    first.ask_unsaved = lambda n: "discard"
    assert first.open_layerset(str(sent / "layerset.yaml"))
    first.auto_screen = False
    assert first.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
    assert first.screen_and_wait() is not None
    first.session.save(tmp_path / "送审" / "复核.gsproj")
    layers = [v.layer.name for v in first.session.views]
    shutil.move(tmp_path / "送审", tmp_path / "收到")
    again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(again)
    again.ask_unsaved = lambda n: "discard"
    assert again.open_session(str(tmp_path / "收到" / "复核.gsproj"))
    assert again.session.layerset_path == str((tmp_path / "收到" / "data" / "layerset.yaml").resolve())
    assert [v.layer.name for v in again.session.views] == layers
    assert [p.id for p in again.session.projects] == ["P2026-002"]
    assert "按会话文件的相对位置打开了" in again.lbl_msg.text()
    assert again.session.result is None and "保存的筛查结果已作废" in again.lbl_msg.text()
    assert again.screen_and_wait()["results"][0]["project"]["id"] == "P2026-002"
