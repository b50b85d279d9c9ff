"""Desktop app, offscreen with pytest-qt: open the sample layer set, import a TXT footprint, screen, read the
banner and findings; two-way layer binding; identify; undo; session save/open; screenshot."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qtpy")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy.QtCore import QSettings, Qt  # noqa: E402

from gis_screening.app.main_window import MainWindow  # noqa: E402
from gis_screening.carbon.sheet import validate_sheet  # noqa: E402
from gis_screening.errors import InputError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture
def win(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(settings=settings)
    w.auto_screen = False
    w.ask_unsaved = lambda n: "discard"     # closing at teardown: no modal prompt
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    assert w.open_layerset(str(SAMPLE / "layerset.yaml"))
    return w


def test_import_txt_screen_and_banner(win, qtbot):
    assert win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
    assert [p.id for p in win.session.projects] == ["P2026-002"]
    win.run_screening(wait=True)
    assert win.results.banner.text() == "不符合"
    assert win.results.banner.property("verdict") == "non_compliant"
    tree = win.results.tree
    groups = {tree.topLevelItem(i).text(0).split("（")[0]: tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}
    assert "不符合" in groups and "需人工核实" in groups
    texts = [groups["不符合"].child(i).text(0) for i in range(groups["不符合"].childCount())]
    assert any("生态保护红线" in t for t in texts)


def test_screening_in_worker_thread(win, qtbot):
    """The engine thread's result equals the library's for the same project: verdict, findings, overlaps."""
    from gis_screening.io.projects import load_projects
    from gis_screening.screening import load_rules, screen
    txt = SAMPLE / "projects" / "txt" / "P2026-001.txt"
    win.auto_screen = True
    with qtbot.waitSignal(win.session.result_changed, timeout=60_000):
        win.import_footprint(str(txt))
    got = win.session.result["results"][0]
    want = screen(load_projects(txt), win.session.layerset, load_rules()).to_json()["results"][0]
    assert got["project"]["id"] == "P2026-001" and got["verdict"] == want["verdict"]
    assert [(f["rule_id"], f["level"], f["message"]) for f in got["findings"]] == \
        [(f["rule_id"], f["level"], f["message"]) for f in want["findings"]]
    assert [(o["feature_id"], o["overlap_area_m2"]) for o in got["overlaps"]] == \
        [(o["feature_id"], o["overlap_area_m2"]) for o in want["overlaps"]]


def test_layer_panel_two_way_binding_and_undo(win, qtbot):
    item = win.layer_panel.topLevelItem(1)
    name = item.data(0, Qt.UserRole)
    i = win.session.index_of(name)
    item.setCheckState(0, Qt.Unchecked)                     # panel → model
    assert win.session.views[i].visible is False
    win.undo.undo()                                          # undo → model → panel
    assert win.session.views[i].visible is True and item.checkState(0) == Qt.Checked
    win.session.set_visible(i, False)                        # model → panel
    assert win.layer_panel.topLevelItem(i).checkState(0) == Qt.Unchecked


def test_identify_returns_the_feature_under_the_cursor(win):
    units = win.session.views[win.session.index_of("环境管控单元")].layer
    rl = win.canvas.render_layer("环境管控单元")
    for v in win.session.views:   # only the units layer visible
        v.visible = v.layer.name == "环境管控单元"
    target = 7
    pt = rl.geoms[target].representative_point()
    win.canvas.zoom_to_feature("环境管控单元", target)
    hit = win.canvas.identify(pt.x, pt.y)
    assert hit == (units.uid, target)
    group = win.identify_panel.topLevelItem(0)
    assert group.text(0) == "环境管控单元" and group.childCount() == 1
    top = group.child(0)
    fields = {top.child(k).text(0): top.child(k).text(1) for k in range(top.childCount())}
    assert fields["单元编码"] == units.gdf["code"].iloc[target]
    assert "空间布局约束" in fields


def test_finding_click_zooms_and_table_selection(win, qtbot):
    win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
    win.run_screening(wait=True)
    red = win.session.result["results"][0]["findings"][0]
    win._finding_clicked(red["layer"], red["feature_id"])
    assert win.canvas.highlight is not None
    overlap_m2 = next(o["overlap_area_m2"] for o in win.session.result["results"][0]["overlaps"]
                      if o["layer"] == red["layer"] and o["feature_id"] == red["feature_id"])
    assert win.canvas.overlap_highlight.area == pytest.approx(overlap_m2, rel=1e-6)   # the overlap is shown too
    table = win.open_table("环境管控单元")
    table.view.selectRow(3)
    assert win.canvas.highlight.equals(win.canvas.render_layer("环境管控单元").geoms[table.proxy.mapToSource(
        table.proxy.index(3, 0)).row()])


def test_render_draws_units_in_their_catalog_style(win):
    """Inside a control unit the canvas shows the unit's catalog fill (alpha over white); outside all units,
    white."""
    import geopandas as gpd
    from qtpy.QtCore import QPointF
    from qtpy.QtGui import QColor, QImage, QPainter
    units = win.session.views[win.session.index_of("环境管控单元")].layer
    for v in win.session.views:
        v.visible = v.layer is units
    win.canvas.zoom_to_all()
    w, h = win.canvas.width(), win.canvas.height()
    img = QImage(w, h, QImage.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    win.canvas.render_to(p)
    p.end()
    xf = win.canvas.world_to_screen()
    style = units.cat.style("control_units")
    metric = units.gdf.to_crs(win.canvas.epsg)
    checked = 0
    for i in range(0, len(units.gdf), 7):
        inner = metric.geometry.iloc[i].buffer(-150)                # away from outlines
        if inner.is_empty:
            continue
        fill = style.for_value(units.gdf[style.by].iloc[i]).fill if style.by else style.default.fill
        rgb = np.array([int(fill[k:k + 2], 16) for k in (1, 3, 5)])
        a = int(fill[7:9], 16) / 255 if len(fill) == 9 else 1.0
        want = rgb * a + 255 * (1 - a)
        seen = []
        # several points inside the unit: the code label (white halo) may cover one of them, not all
        for pt in [inner.representative_point()] + [inner.exterior.interpolate(f, normalized=True)
                                                    for f in (0.0, 0.25, 0.5, 0.75)]:
            q = xf.map(QPointF(pt.x, pt.y))
            if 0 <= q.x() < w and 0 <= q.y() < h:
                c = QColor(img.pixel(int(q.x()), int(q.y())))
                seen.append(np.abs(np.array([c.red(), c.green(), c.blue()]) - want).max())
        if not seen:
            continue
        assert min(seen) <= 12, f"unit {i}: no pixel in the style {fill} (off by {seen})"
        checked += 1
    assert checked >= 3
    outside = gpd.GeoSeries([units.gdf.union_all().envelope.buffer(0.02).exterior.interpolate(0)], crs=4490)
    o = outside.to_crs(win.canvas.epsg).iloc[0]
    s = xf.map(QPointF(o.x, o.y))
    if 0 <= s.x() < w and 0 <= s.y() < h:
        assert QColor(img.pixel(int(s.x()), int(s.y()))).name() == "#ffffff"


def test_session_roundtrip(win, tmp_path):
    win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
    win.run_screening(wait=True)
    win.session.set_visible(0, False)
    path = win.session.save(tmp_path / "a.gsproj")
    from gis_screening.session import Session
    s2 = Session()
    s2.load(path)
    assert [p.id for p in s2.projects] == ["P2026-002"] and s2.views[0].visible is False
    assert s2.result["results"][0]["verdict"] == "non_compliant"


def test_screenshot_cli(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    res = subprocess.run([sys.executable, "-m", "gis_screening.app.main", "--layerset", str(SAMPLE / "layerset.yaml"),
                          "--project", str(SAMPLE / "projects" / "txt" / "P2026-002.txt"), "--screenshot", str(out)],
                         capture_output=True, text=True, env=env, timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    from PIL import Image
    img = Image.open(out)
    assert img.size[0] >= 1200 and img.size[1] >= 800
    assert np.asarray(img.convert("L"), dtype=float).std() > 10


def test_bad_file_gives_message_not_traceback(win, qtbot, tmp_path):
    from qtpy.QtWidgets import QMessageBox
    bad = tmp_path / "bad.txt"
    bad.write_text("[属性描述]\n坐标系=2000国家大地坐标系\n", encoding="utf-8")
    assert win.import_footprint(str(bad)) is False
    box = win.findChild(QMessageBox, "error-box")
    assert box is not None and box.isVisible()
    assert "无法导入" in box.text() and "bad.txt" in box.text() and "[地块坐标]" in box.text()
    box.accept()


def test_drop_files_guess_role_and_confirm(win, tmp_path):
    import shutil as sh
    for ext in (".shp", ".shx", ".dbf", ".prj"):
        sh.copy(SAMPLE / "zones" / f"环境管控单元{ext}", tmp_path / f"管控单元2024{ext}")
    asked = []
    roles = win.add_files([str(tmp_path / "管控单元2024.shp"), str(SAMPLE / "projects" / "txt" / "P2026-007.txt")],
                          choose_role=lambda path, ranked: asked.append(ranked[0]) or ranked[0])
    assert asked == ["control_units"] and roles == ["control_units", "projects"]   # a TXT is a footprint: not asked
    assert win.session.views[-1].layer.role == "control_units" and win.session.projects[0].id == "P2026-007"


def test_a_source_with_several_layers_asks_which_one(win, tmp_path):
    """A GeoPackage (or File Geodatabase) holding several layers is never read by its first layer: the app asks
    which one, for a footprint import and for a dropped zone layer; declining imports nothing."""
    import geopandas as gpd
    gdf = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    both = tmp_path / "两个图层.gpkg"
    gdf.iloc[:2].to_file(both, layer="一期")
    gdf.iloc[2:5].to_file(both, layer="二期")
    asked = []
    assert win.import_footprint(str(both), ask_layer=lambda path, layers: asked.append(layers) or "二期")
    assert asked == [["一期", "二期"]] and [p.id for p in win.session.projects] == gdf["项目编号"].tolist()[2:5]
    assert not win.import_footprint(str(both), ask_layer=lambda path, layers: None)
    units = gpd.read_file(SAMPLE / "zones" / "环境管控单元.shp", encoding="gbk")
    zones = tmp_path / "成果.gpkg"
    units.to_file(zones, layer="环境管控单元")
    units.iloc[:3].to_file(zones, layer="旧版单元")
    roles = win.add_files([str(zones)], choose_role=lambda path, ranked: "control_units",
                          choose_layer=lambda path, layers: "旧版单元")
    assert roles == ["control_units"] and win.session.views[-1].layer.feature_count == 3


def test_import_problem_in_the_status_bar_reads_in_the_ui_language(win, tmp_path):
    """The status bar names the first import problem as the report does: in Chinese in the Chinese UI."""
    import geopandas as gpd
    from shapely.geometry import Polygon
    c = gpd.read_file(SAMPLE / "projects" / "projects.gpkg").geometry.iloc[5].centroid
    bow = Polygon([(c.x - 1e-3, c.y - 1e-3), (c.x + 1e-3, c.y + 1e-3), (c.x + 1e-3, c.y - 1e-3),
                   (c.x - 1e-3, c.y + 1e-3)])
    gpd.GeoDataFrame({"项目编号": ["B"]}, geometry=[bow], crs=4490).to_file(tmp_path / "bow.gpkg")
    assert win.import_footprint(str(tmp_path / "bow.gpkg"))
    assert win.lbl_msg.text().startswith("导入问题：注意：几何无效（自相交，位于 ")
    # a sheet table's own note (its 合计 row) is on each of its projects: said once, not counted per project
    from openpyxl import Workbook
    wb = Workbook()
    footprint = str(SAMPLE / "projects" / "txt" / "P2026-001.txt")
    for row in (["项目编号", "行业代码", "用地范围文件"], ["T1", "3011", footprint], ["T2", "3011", footprint],
                ["合计"]):
        wb.active.append(row)
    wb.save(tmp_path / "表.xlsx")
    assert win.import_footprint(str(tmp_path / "表.xlsx"))
    assert win.lbl_msg.text() == "导入问题：注意：信息表 表.xlsx 第 4 行为合计行，未作为项目读取"


def test_sheet_form_keeps_a_product_without_a_benchmark_and_reads_products_by_name(win):
    """A product the benchmark table has no row for (丙烯酸) stays that product through the form (it was shown, and
    saved, as the table's first row, 炼油); a product named in Chinese (水泥熟料) is its row."""
    from gis_screening.app.dialogs import SheetDialog
    win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-001.txt"))
    project = win.session.projects[0]
    project.sheet = {"id": project.id, "industry_code": "2651",
                     "products": [{"name": "丙烯酸", "capacity": 80000, "unit_energy": 120},
                                  {"benchmark": "水泥熟料", "capacity": 1500000, "unit_energy": 98}]}
    data = SheetDialog(project, win).sheet()
    assert data["products"] == [{"name": "丙烯酸", "capacity": 80000.0, "unit_energy": 120.0},
                                {"benchmark": "clinker", "capacity": 1500000.0, "unit_energy": 98.0}]
    # a product read from a table whose header gave tce/t shows (and is saved) in its benchmark's kgce/t; a number
    # typed as a spreadsheet shows it is read, other text named by the sheet's validation (not a float() error)
    project.sheet["products"] = [{"benchmark": "水泥熟料", "unit_energy": 0.098, "unit_energy_unit": "tce/t"}]
    dlg = SheetDialog(project, win)
    assert dlg.products.item(0, 2).text() == "98.0" and dlg.sheet()["products"][0]["unit_energy"] == 98.0
    dlg.products.item(0, 1).setText("1,500,000")
    assert dlg.sheet()["products"][0]["capacity"] == 1_500_000
    dlg.products.item(0, 1).setText("150万吨")
    with pytest.raises(InputError, match="products.0.capacity"):
        validate_sheet(dlg.sheet(), "P")


def test_sheet_form_roundtrip_and_rescreen(win, qtbot):
    win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-001.txt"))
    import yaml

    from gis_screening.app.dialogs import SheetDialog
    sheet = yaml.safe_load((SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8"))
    win.session.projects[0].sheet = sheet
    dlg = SheetDialog(win.session.projects[0], win)
    data = dlg.sheet()
    assert data["industry_code"] == "3011" and data["energy"]["raw_coal_t"] == 150000
    assert data["products"][0] == {"benchmark": "clinker", "capacity": 1500000.0, "unit_energy": 98.0}
    assert dlg.captive.currentText() == "否" and data["captive_coal_power"] is False    # the sheet's false
    from gis_screening.model import Project
    blank = SheetDialog(Project(id="B", geometry=win.session.projects[0].geometry), win)
    assert blank.captive.currentText() == "未说明" and blank.sheet().get("captive_coal_power") is None   # unstated
    dlg.captive.setCurrentIndex(1)                                                      # 是
    win.apply_sheet(0, dlg.sheet())
    win.run_screening(wait=True)
    rules = {f["rule_id"]: f["level"] for f in win.session.result["results"][0]["findings"]}
    assert rules["carbon.captive_coal_power"] == "non_compliant"
    win.undo.undo()
    assert win.session.projects[0].sheet is sheet


def test_print_dialog_preview_and_export(win, tmp_path):
    win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
    win.run_screening(wait=True)
    dlg = win.print_dialog()
    dlg.scale.setCurrentIndex(dlg.scale.findData(10000))
    dlg.paper.setCurrentText("A3")
    assert dlg.info.scale == 10000 and not dlg.preview.pixmap().isNull()
    dlg.export(str(tmp_path / "map.pdf"))
    from pypdf import PdfReader
    assert "比例尺 1:10,000" in PdfReader(tmp_path / "map.pdf").pages[0].extract_text()
    # a name of another kind is said in a box, not a ValueError from the figure writer; a name typed without an
    # ending takes the type chosen in the save dialog
    from qtpy.QtWidgets import QMessageBox

    from gis_screening.app.dialogs import chosen_name
    assert not dlg.export(str(tmp_path / "map.doc")) and not (tmp_path / "map.doc").exists()
    box = dlg.findChild(QMessageBox, "error-box")
    assert box is not None and box.text().endswith("：map.doc") and ".pdf" in box.text()
    assert chosen_name(str(tmp_path / "筛查图"), "PDF (*.pdf)") == str(tmp_path / "筛查图.pdf")
    assert chosen_name(str(tmp_path / "筛查图.png"), "PDF (*.pdf)") == str(tmp_path / "筛查图.png")
    assert chosen_name("", "PDF (*.pdf)") == ""


def test_print_dialog_basemap_place_labels_and_geotiff(win, tmp_path):
    """Every field of the print dialog has a label; the canvas basemap and a chosen label layer reach the sheet;
    the map frame exports as a georeferenced GeoTIFF."""
    import rasterio
    from pypdf import PdfReader
    from qtpy.QtWidgets import QFormLayout
    from rasterio.transform import from_origin
    path = tmp_path / "base.tif"
    with rasterio.open(path, "w", driver="GTiff", width=300, height=200, count=1, dtype="uint8", crs="EPSG:4490",
                       transform=from_origin(118.9, 26.2, 0.001, 0.001)) as dst:
        dst.write((np.indices((200, 300)).sum(axis=0) % 255).astype(np.uint8), 1)
    win.canvas.set_basemap(str(path))
    win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))
    win.run_screening(wait=True)
    dlg = win.print_dialog()
    form = dlg.findChild(QFormLayout)
    labels = [form.labelForField(dlg.__dict__[k]).text() for k in ("paper", "orient", "scale", "basemap", "labels",
                                                                    "label_field")]
    assert labels == ["纸张", "方向", "比例尺", "底图", "地名标注图层", "标注字段"]
    assert dlg.basemap.currentData() == str(path)
    dlg.scale.setCurrentIndex(dlg.scale.findData(10000))
    dlg.labels.setCurrentIndex(dlg.labels.findText("环境管控单元"))
    assert dlg.label_field.currentText() == "name"
    dlg.export(str(tmp_path / "labelled.pdf"))
    units = win.session.views[win.session.index_of("环境管控单元")].layer.gdf
    text = PdfReader(tmp_path / "labelled.pdf").pages[0].extract_text()
    assert any(name in text for name in units["name"])
    dlg.export(str(tmp_path / "frame.tif"))
    with rasterio.open(tmp_path / "frame.tif") as src:
        assert src.crs.to_epsg() == dlg.info.epsg and tuple(src.bounds) == pytest.approx(dlg.info.extent, abs=1e-6)
    before = path.read_bytes()           # the map frame written over the basemap it is drawn on: refused
    assert not dlg.export(str(path))
    from qtpy.QtWidgets import QMessageBox
    box = dlg.findChild(QMessageBox, "error-box")
    assert box is not None and "the basemap" in box.text() and "which this run reads" in box.text()
    box.accept()
    assert path.read_bytes() == before


def test_geotiff_basemap(win, tmp_path):
    import rasterio
    from rasterio.transform import from_origin
    arr = (np.indices((200, 300)).sum(axis=0) % 255).astype(np.uint8)
    path = tmp_path / "base.tif"
    with rasterio.open(path, "w", driver="GTiff", width=300, height=200, count=1, dtype="uint8", crs="EPSG:4490",
                       transform=from_origin(118.9, 26.2, 0.001, 0.001)) as dst:
        dst.write(arr, 1)
    win.canvas.set_basemap(str(path))
    img, (x0, y0, x1, y1) = win.canvas.basemap
    assert img.width() > 0 and x1 - x0 == pytest.approx(30_000, rel=0.05)  # 0.3° of longitude ≈ 30 km at 26°N
    # georeferencing: a raster in thirds (50 / 150 / 250 → stretched 0 / 127 / 255) lands where its coordinates say
    from pyproj import Transformer

    from gis_screening.basemap import warp_geotiff
    thirds = np.repeat(np.array([50, 150, 250], dtype=np.uint8), 100)[None, :].repeat(200, axis=0)
    with rasterio.open(tmp_path / "thirds.tif", "w", driver="GTiff", width=300, height=200, count=1, dtype="uint8",
                       crs="EPSG:4490", transform=from_origin(118.9, 26.2, 0.001, 0.001)) as dst:
        dst.write(thirds, 1)
    rgba, (bx0, by0, bx1, by1) = warp_geotiff(tmp_path / "thirds.tif", win.canvas.epsg)
    to_m = Transformer.from_crs(4490, win.canvas.epsg, always_xy=True)
    for lon, value in ((118.95, 0), (119.05, 127), (119.15, 255)):     # the middle of each third, 26.1°N
        x, y = to_m.transform(lon, 26.1)
        col = int((x - bx0) / (bx1 - bx0) * rgba.shape[1])
        row = int((by1 - y) / (by1 - by0) * rgba.shape[0])
        assert abs(int(rgba[row, col, 0]) - value) <= 3, (lon, rgba[row, col])


def test_edit_split_undo_redo_save_through_the_ui(win, tmp_path):
    import sqlite3

    import geopandas as gpd
    from shapely.geometry import LineString

    from gis_screening.io import read_layer
    ctl = _edit_fixture(win, tmp_path)
    gpkg = ctl.editable.path
    ctl.selected = [ctl.fid_at(0)]
    cut = gpd.GeoSeries([LineString([(430_300, 2_884_990), (430_300, 2_886_010)])], crs=4549).to_crs(4490).iloc[0]
    ctl.split_selected(cut)
    assert win.session.views[-1].layer.feature_count == 3
    win.undo.undo()
    assert win.session.views[-1].layer.feature_count == 2
    win.undo.redo()
    assert ctl.topology_errors() == []
    assert ctl.save("分割单元") == 2
    with sqlite3.connect(gpkg) as conn:
        assert [r[0] for r in conn.execute("SELECT action FROM gis_screening_audit ORDER BY id")] == ["update", "insert"]
    assert len(read_layer(gpkg, "control_units").gdf) == 3


def test_style_override_undo_and_zone_prompt(win, tmp_path):
    from gis_screening.app import commands
    i = win.session.index_of("生态保护红线")
    win.undo.push(commands.SetStyle(win.session, i, {"fill": "#00ff0080", "outline": "#0000ff"}))
    rl = win.canvas.render_layer("生态保护红线")
    assert rl.styles[0].fill == "#00ff0080" and rl.styles[0].hatch == "diagonal"  # catalog hatch kept
    win.undo.undo()
    assert rl.styles[0].fill != "#00ff0080"
    src = (SAMPLE / "projects" / "txt" / "P2026-002.txt").read_text(encoding="gbk")
    path = tmp_path / "noprefix.txt"
    path.write_text(src.replace("带号=40", "带号=").replace(",404", ",4"), encoding="utf-8")
    asked = []
    assert win.import_footprint(str(path), ask=lambda msg: asked.append(msg) or 40)
    assert asked and "zone" in asked[0]
    assert win.session.projects[0].geometry.centroid.x == pytest.approx(119.0, abs=0.3)


def _edit_fixture(win, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from gis_screening.app.editing import EditController
    from gis_screening.io import read_layer
    cells = [box(430_000 + i * 1000, 2_885_000, 431_000 + i * 1000, 2_886_000) for i in range(2)]
    gpkg = tmp_path / "units.gpkg"
    gpd.GeoDataFrame({"code": ["ZH35010220001", "ZH35010220002"], "name": ["甲", "乙"],
                      "category": ["重点管控单元"] * 2}, geometry=cells, crs=4549).to_crs(4490).to_file(gpkg, layer="units")
    lyr = read_layer(gpkg, "control_units", name="编辑中的单元")
    lyr.source = str(gpkg)
    win.session.add_layer(lyr)
    for v in win.session.views:
        v.visible = v.layer is lyr
    win.editor = EditController(win, lyr.name)
    return win.editor


def test_ui_vertex_drag_is_topological_and_snaps(win, tmp_path):
    ctl = _edit_fixture(win, tmp_path)
    ctl.selected = [ctl.fid_at(0)]
    win.canvas.zoom_to_layer("编辑中的单元")
    win.set_tool("move_vertex")
    # drag the shared corner (431000, 2886000) 100 m east, dropping 1 m off a round number: no snap target there
    win._vertex_dragged(431_000.4, 2_886_000.3, 431_100.0, 2_886_000.0)
    gdf = ctl.editable.to_gdf().to_crs(4549).set_index("code")
    assert gdf.area["ZH35010220001"] == pytest.approx(1_050_000, rel=1e-3)
    assert gdf.area["ZH35010220002"] == pytest.approx(950_000, rel=1e-3)
    assert ctl.topology_errors() == []
    win.undo.undo()
    assert ctl.editable.to_gdf().to_crs(4549).area.round(0).tolist() == [1_000_000, 1_000_000]


def test_ui_topology_dock_and_attribute_form(win, tmp_path):
    from gis_screening.editing import commands as ec
    ctl = _edit_fixture(win, tmp_path)
    fid = ctl.fid_at(1)
    ctl.push(ec.SetAttributes(ctl.editable, fid, {"code": "ZH35010220001"}))   # duplicate code
    items = win.show_topology()
    assert any("编码重复 ZH35010220001" in t for t, _g in items)
    assert win.topo_list.count() == len(items)
    from gis_screening.app.dialogs import AttributeFormDialog
    dlg = AttributeFormDialog("control_units", {"code": "ZH35010220001", "name": "甲", "category": "一般管控单元"}, win)
    dlg._accept()
    assert "类别位 2" in dlg.errors.text() and dlg.result() == 0
    dlg.widgets["category"].setCurrentText("重点管控单元")
    dlg._accept()
    assert dlg.result() == 1 and dlg.values()["category"] == "重点管控单元"


def test_ui_hole_add_copy_paste_and_diff_view(win, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box
    ctl = _edit_fixture(win, tmp_path)
    ctl.selected = [ctl.fid_at(0)]
    hole = gpd.GeoSeries([box(430_400, 2_885_400, 430_500, 2_885_500)], crs=4549).to_crs(4490).iloc[0]
    win._drawn(hole)                                   # inside the selection → a hole
    g0 = ctl.editable.features[ctl.selected[0]].geom
    assert len(g0.interiors) == 1
    outside = gpd.GeoSeries([box(433_000, 2_885_000, 433_500, 2_885_500)], crs=4549).to_crs(4490).iloc[0]
    win._drawn(outside)                                # elsewhere → a new feature
    assert len(ctl.editable.features) == 3
    win.copy_features()
    win.paste_features()
    assert len(ctl.editable.features) == 4
    before = tmp_path / "before.gpkg"
    import shutil
    shutil.copy(ctl.editable.path, before)
    ctl.save("test", force=True)
    d = win.diff_dialog(str(before), str(ctl.editable.path))
    assert [c["code"] for c in d.changed] == ["ZH35010220001"]
    assert d.changed[0]["area_lost_m2"] == pytest.approx(10_000, abs=1) and d.changed[0]["area_gained_m2"] < 0.01
    assert win.diff_list.count() == len(d.added) + len(d.removed) + len(d.changed) >= 2


def test_ui_add_and_delete_vertex(win, tmp_path):
    ctl = _edit_fixture(win, tmp_path)
    ctl.selected = [ctl.fid_at(0)]
    win.canvas.zoom_to_layer("编辑中的单元")
    win._vertex_clicked("add_vertex", 431_000.0, 2_885_500.0)     # on the shared edge
    assert sorted(len(f.geom.exterior.coords) for f in ctl.editable.features.values()) == [6, 6]
    win._vertex_clicked("delete_vertex", 431_000.5, 2_885_500.5)
    assert sorted(len(f.geom.exterior.coords) for f in ctl.editable.features.values()) == [5, 5]


def test_xyz_tiles_from_a_loopback_server_are_cached_and_optional(win, qtbot, tmp_path):
    """Painting never waits for the network: missing tiles are fetched in the background and repainted when they
    arrive; the second paint reads only the disk cache; the print layout warps the cached tiles into its frame."""
    import http.server
    import threading

    from qtpy.QtCore import QBuffer, QByteArray, QIODevice
    from qtpy.QtGui import QColor, QImage, QPainter

    from gis_screening.tiles import TileSource
    tile = QImage(256, 256, QImage.Format_RGB32)
    tile.fill(QColor("#123456"))
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.WriteOnly)
    tile.save(buf, "PNG")
    png = bytes(ba)
    hits = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *a):
            pass
    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/{{z}}/{{x}}/{{y}}.png?tk={{key}}"
        win.canvas.tiles = TileSource(url, "KEY", cache_dir=tmp_path / "cache")
        win.canvas.tile_opacity = 1.0
        win.canvas.resize(400, 300)
        win.canvas.zoom_to_projects() if win.session.projects else win.canvas.zoom_to_all()
        for v in win.session.views:
            v.visible = False
        img = QImage(400, 300, QImage.Format_ARGB32)
        img.fill(QColor("white"))
        p = QPainter(img)
        win.canvas.render_to(p)
        p.end()
        assert QColor(img.pixel(200, 150)).name() != "#123456"    # not yet: the paint did not wait for the tiles
        qtbot.waitUntil(lambda: bool(hits) and not win.canvas.tiles._pending, timeout=15_000)
        p = QPainter(img)
        win.canvas.render_to(p)
        p.end()
        assert all("tk=KEY" in h for h in hits)
        assert QColor(img.pixel(200, 150)).name() == "#123456"   # the tile is drawn under the (hidden) layers
        n = len(hits)
        p = QPainter(img)
        win.canvas.render_to(p)          # second draw: all from the disk cache
        p.end()
        assert len(hits) == n and any((tmp_path / "cache").rglob("*.img"))
        from gis_screening.basemap import tile_mosaic
        x0, y0 = win.canvas.to_world(150, 200)
        x1, y1 = win.canvas.to_world(250, 100)
        rgba, _ = tile_mosaic(win.canvas.tiles, win.canvas.epsg, (x0, y0, x1, y1), max_px=200)
        assert (rgba[..., 3] == 255).all() and tuple(rgba[100, 100, :3]) == (0x12, 0x34, 0x56)
        assert len(hits) == n                                       # printing reads the cache only
    finally:
        srv.shutdown()
    offline = TileSource("http://127.0.0.1:9/{z}/{x}/{y}.png", cache_dir=tmp_path / "c2", timeout=0.5)
    assert offline.get(10, 1, 1) is None and offline.failures == 1   # never required


def test_ui_merge_view_on_concurrent_save(win, tmp_path):
    from gis_screening.editing import commands as ec
    from gis_screening.editing.store import EditableLayer
    ctl = _edit_fixture(win, tmp_path)
    other = EditableLayer(ctl.editable.path)
    fid = ctl.fid_at(0)
    ec.SetAttributes(other, fid, {"name": "他们改的"}).do()
    other.save(user="other")
    ctl.set_attributes(fid, {"name": "我改的"})
    dlg = win.merge_dialog("合并", choose=lambda d: "ours")
    assert dlg.table.rowCount() == 1 and dlg.table.item(0, 3).text() == "冲突"
    assert EditableLayer(ctl.editable.path).features[fid].attrs["name"] == "我改的"


def test_industry_picker_search_browse_and_validation(qtbot):
    from gis_screening.app.industry import CODE_ROLE, IndustryPicker, IndustryTreeDialog
    picker = IndustryPicker()
    qtbot.addWidget(picker)
    assert picker.combo.count() > 1900                       # every 大类/中类/小类 of GB/T 4754-2017
    picker.set_code("3011")
    assert picker.code() == "3011" and "C 制造业 › 30 非金属矿物制品业" in picker.info.text() and "两高：建材" in picker.info.text()
    completer = picker.combo.completer()
    completer.setCompletionPrefix("石灰")
    hits = [completer.completionModel().index(i, 0).data() for i in range(completer.completionCount())]
    assert any(h.startswith("3012 石灰和石膏制造") for h in hits) and any(h.startswith("1011 ") for h in hits)
    picker.combo.setEditText("3019 水泥")
    assert picker.code() == "3019" and "不是 GB/T 4754-2017" in picker.info.text()
    picker.combo.setEditText("C30")
    assert picker.code() == "30" and "请选到四位小类" in picker.info.text()
    dlg = IndustryTreeDialog("3011")
    qtbot.addWidget(dlg)
    assert dlg.tree.currentIndex().data(CODE_ROLE) == "3011"
    dlg.filter.setText("平板玻璃")
    assert dlg.proxy.rowCount() == 1                           # only 门类 C survives the filter
    dlg._choose()                                              # the first match is selected
    assert dlg.selected == "3041"


def test_geometry_paths_hold_every_vertex_in_order():
    """Canvas paths carry each ring and line vertex by vertex (rings closed, lines open, holes kept)."""
    import shapely

    from gis_screening.app.canvas import geometry_path, simplified
    hole = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (4, 2), (4, 4), (2, 4)]])
    line = shapely.LineString([(20, 0), (21.5, 3.25), (25, 1)])
    for geom, rings in ((hole, [hole.exterior, hole.interiors[0]]), (line, [line]),
                        (shapely.MultiPolygon([hole, shapely.box(30, 0, 31, 1)]),
                         [hole.exterior, hole.interiors[0], shapely.box(30, 0, 31, 1).exterior])):
        path = geometry_path(geom)
        got = [(path.elementAt(k).x, path.elementAt(k).y) for k in range(path.elementCount())]
        want = [xy for r in rings for xy in r.coords]
        assert got == want, geom.geom_type
        assert [path.elementAt(k).isMoveTo() for k in range(path.elementCount())] == \
            [k == 0 for r in rings for k in range(len(r.coords))]
    tiny = shapely.Polygon([(0, 0), *[(np.cos(t), np.sin(t)) for t in np.linspace(0, 6, 30)]])
    small, same = simplified(np.array([tiny, hole], dtype=object), 1e6)
    assert small.equals(tiny.envelope) and same is hole     # simplified to nothing → its envelope; ≤ 16 kept


def test_sheet_form_sets_the_yes_no_facts_rules_read(win, qtbot):
    """The 建设项目信息表 form sets 有限人为活动 (and the other yes/no facts rules read) as 未说明 / 是 / 否: a project in a
    red line is 不符合 with 否, 需人工核实 with 是 (the exception for a person to check); undo restores the footprint's."""
    from gis_screening.app.dialogs import SheetDialog
    win.import_footprint(str(SAMPLE / "projects" / "txt" / "P2026-002.txt"))       # inside a red line

    def screen_with(choice):
        dlg = SheetDialog(win.session.projects[0], win, win.session.cat)
        dlg.industry.set_code("7869")
        dlg.ctype.setCurrentText("新建")
        combo = dlg.flags["limited_activity"]
        combo.setCurrentIndex(combo.findText(choice))
        win.apply_sheet(0, dlg.sheet())
        win.run_screening(wait=True)
        (r,) = win.session.result["results"]
        return r["verdict"], sorted(f["rule_id"] for f in r["findings"] if "redline" in f["rule_id"])
    assert screen_with("否") == ("non_compliant", ["national.redline.construction", "national.redline.escape_routes"])
    assert win.session.projects[0].attributes["limited_activity"] is False
    assert screen_with("是") == ("needs_review", ["national.redline.escape_routes"])
    dlg = SheetDialog(win.session.projects[0], win, win.session.cat)
    assert dlg.flags["limited_activity"].currentText() == "是"          # the form shows what was set
    assert screen_with("未说明")[1] == ["national.redline.construction", "national.redline.escape_routes"]
    assert "limited_activity" not in win.session.projects[0].attributes
    win.undo.undo()
    assert win.session.projects[0].attributes["limited_activity"] is True


def test_a_cad_drawing_is_imported_by_its_red_line_layer(win, tmp_path):
    """A 红线图 DXF dropped on the window: the app asks which CAD layer holds the footprint (the drawing has closed
    outlines on three), screens the red line as the 勘测定界 TXT it was drawn from, and screens a redrawn version
    (the red line moved off the park) again with the new geometry."""
    import ezdxf
    import geopandas as gpd
    import shapely
    from test_cad_mapinfo import _drawing, _gk
    footprint = _gk()
    dxf = _drawing(tmp_path / "P2026-001.dxf", footprint)
    asked = []
    roles = win.add_files([str(dxf)], choose_role=lambda path, ranked: asked.append(ranked[0]) or "projects",
                          choose_layer=lambda path, layers: asked.append(layers) or "红线")
    assert roles == ["projects"] and asked == [["红线", "建筑", "图框"]]     # a drawing is a footprint: no role asked
    (project,) = win.session.projects
    assert project.id == "P2026-001"
    assert gpd.GeoSeries([project.geometry], crs=4490).to_crs(4528).area.iloc[0] == pytest.approx(footprint.area,
                                                                                                   rel=1e-9)
    win.run_screening(wait=True)
    first = win.session.result["results"][0]
    parks = [o["feature_id"] for o in first["overlaps"] if o["layer"] == "产业园区" and o["overlap_area_m2"] > 0]
    assert parks == ["示范县经济开发区"]
    moved = shapely.affinity.translate(footprint, xoff=20_000)          # 20 km east: out of the park
    doc = ezdxf.readfile(dxf)
    red = next(e for e in doc.modelspace() if e.dxf.layer == "红线")
    red.set_points([(x, y) for x, y in list(moved.exterior.coords)[:-1]], format="xy")
    doc.saveas(dxf)
    assert win.import_footprint(str(dxf), ask_layer=lambda path, layers: "红线")
    assert len(win.session.projects) == 1          # the same project (id from the file), its footprint replaced
    win.run_screening(wait=True)
    again = win.session.result["results"][0]
    assert again["project"]["area_m2"] == pytest.approx(first["project"]["area_m2"], rel=1e-9)
    assert again["project"]["centroid_lonlat"][0] > first["project"]["centroid_lonlat"][0] + 0.15
    assert not [o for o in again["overlaps"] if o["layer"] == "产业园区" and o["overlap_area_m2"] > 0]
    # saved and reopened the next day: the same footprint, and the import notes (which CAD layer was the red line,
    # the drawing's missing CRS) still in the re-screened result its report prints (they were dropped)
    notes = again["project"]["import_problems"]
    assert "[warning] CAD drawing: footprint read from CAD layer '红线' (1 outlines)" in notes
    path = win.session.save(tmp_path / "红线.gsproj")
    other = type(win)(settings=win.settings)
    other.auto_screen = False
    other.ask_unsaved = lambda n: "discard"
    assert other.open_session(str(path))
    other.run_screening(wait=True)
    reopened = other.session.result["results"][0]
    assert reopened["project"]["import_problems"] == notes
    assert reopened["overlaps"] == again["overlaps"] and reopened["verdict"] == again["verdict"]
    other.close()


def test_several_footprint_files_chosen_together(win, qtbot, tmp_path):
    """Files chosen together in the import dialog come in as one undoable step; one that cannot be read is said
    and left out, the others imported; undo takes all of them back, redo brings them again, and they screen."""
    from qtpy.QtWidgets import QMessageBox
    bad = tmp_path / "bad.txt"
    bad.write_text("[属性描述]\n坐标系=2000国家大地坐标系\n", encoding="utf-8")
    txt = SAMPLE / "projects" / "txt"
    steps = win.undo.count()
    assert win.import_footprints([str(txt / "P2026-002.txt"), str(bad), str(txt / "P2026-007.txt")])
    box = win.findChild(QMessageBox, "error-box")
    assert box is not None and "bad.txt" in box.text()
    box.accept()
    assert [p.id for p in win.session.projects] == ["P2026-002", "P2026-007"]
    assert win.undo.count() == steps + 1 and win.undo.undoText() == "添加项目范围 3 个文件"
    win.undo.undo()
    assert win.session.projects == []
    win.undo.redo()
    assert [p.id for p in win.session.projects] == ["P2026-002", "P2026-007"]
    win.run_screening(wait=True)
    from gis_screening.io.projects import load_projects
    from gis_screening.screening import load_rules, screen
    alone = screen(load_projects(txt / "P2026-007.txt"), win.session.layerset, load_rules()).to_json()["results"]
    assert [(r["project"]["id"], r["verdict"]) for r in win.session.result["results"]] == \
        [("P2026-002", "non_compliant"), ("P2026-007", alone[0]["verdict"])]
    assert not win.import_footprints([str(bad)])
    win.findChild(QMessageBox, "error-box").accept()


def test_dropped_footprints_come_in_together_and_ask_their_zone(win, tmp_path):
    """Footprint files dropped on the window (a 勘测定界 TXT, and one whose eastings carry no zone prefix and whose
    header names no zone) are footprints without a role question; the zone is asked (it was an error for a drop,
    though the import dialog asked it); both come in as one undoable step and screen as the originals."""
    import re
    src = SAMPLE / "projects" / "txt" / "P2026-002.txt"
    text = src.read_bytes().decode("gbk")
    bare = tmp_path / "P2026-002无带号.txt"
    bare.write_bytes(re.sub(r",40(\d{6}\.\d+)", r",\1", text.replace("带号=40\r\n", "").replace("带号=40\n", ""))
                     .replace("P2026-002", "P2026-902").encode("gbk"))
    asked_zone, asked_role = [], []
    steps = win.undo.count()
    roles = win.add_files([str(SAMPLE / "projects" / "txt" / "P2026-007.txt"), str(bare)],
                          choose_role=lambda path, ranked: asked_role.append(path) or None,
                          ask_zone=lambda message: asked_zone.append(message) or 40)
    assert roles == ["projects", "projects"] and asked_role == [] and len(asked_zone) == 1
    assert [p.id for p in win.session.projects] == ["P2026-007", "P2026-902"] and win.undo.count() == steps + 1
    moved = next(p for p in win.session.projects if p.id == "P2026-902")
    from gis_screening.io.projects import load_projects
    (original,) = load_projects(src)
    assert moved.geometry.equals_exact(original.geometry, 1e-9)


def test_the_layer_question_shows_what_each_layer_holds(win, tmp_path):
    """Importing a drawing with outlines on three CAD layers opens the real question: each layer with its count of
    closed outlines (a planner picks 红线（1 个闭合轮廓） over 建筑（3 个闭合轮廓）); the choice is read by name.  A
    GeoPackage of two layers lists their features the same way; 取消 imports nothing and says nothing (it was the
    user's choice: the error box told them to use --layer), as does 取消 of the zone question."""
    import re

    import ezdxf
    import geopandas as gpd
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QInputDialog, QMessageBox
    from test_cad_mapinfo import _drawing, _gk
    dxf = _drawing(tmp_path / "P2026-001.dxf", _gk())
    doc = ezdxf.readfile(dxf)
    for dx in (30, 60):                         # two more buildings
        doc.modelspace().add_lwpolyline([(x + dx, y) for x, y in next(
            e for e in doc.modelspace() if e.dxf.layer == "建筑").get_points("xy")], close=True,
            dxfattribs={"layer": "建筑"})
    doc.saveas(dxf)
    seen: list = []

    def answer(pick):
        def run():
            dlg = QApplication.activeModalWidget()
            seen.append((dlg.windowTitle(), dlg.labelText(), dlg.comboBoxItems()) if isinstance(dlg, QInputDialog)
                        else None)
            if isinstance(dlg, QInputDialog):
                if pick is None:
                    dlg.reject()
                else:
                    dlg.setTextValue(dlg.comboBoxItems()[pick])
                    dlg.accept()
        QTimer.singleShot(0, run)
    answer(0)
    assert win.import_footprint(str(dxf))
    assert seen == [("选择图层", "P2026-001.dxf 含多个图层，请选择要读取的图层：",
                     ["红线（1 个闭合轮廓）", "建筑（3 个闭合轮廓）", "图框（1 个闭合轮廓）"])]
    (project,) = win.session.projects
    assert project.problems[0] == "[warning] CAD drawing: footprint read from CAD layer '红线' (1 outlines)"
    gdf = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    both = tmp_path / "两期.gpkg"
    gdf.iloc[:2].to_file(both, layer="一期")
    gdf.iloc[2:5].to_file(both, layer="二期")
    seen.clear()
    answer(None)                                # 取消: nothing imported, and no error box telling why
    assert not win.import_footprint(str(both)) and win.findChild(QMessageBox, "error-box") is None
    answer(1)
    assert win.import_footprint(str(both))
    assert [s[2] if s else s for s in seen] == [["一期（2 个要素）", "二期（3 个要素）"]] * 2
    assert [p.id for p in win.session.projects][1:] == gdf["项目编号"].tolist()[2:5]
    bare = tmp_path / "无带号.txt"              # eastings without the zone prefix: the zone is asked
    text = (SAMPLE / "projects" / "txt" / "P2026-002.txt").read_bytes().decode("gbk")
    bare.write_bytes(re.sub(r",40(\d{6}\.\d+)", r",\1", re.sub(r"带号=40\r?\n", "", text)).encode("gbk"))
    seen.clear()
    answer(None)
    assert not win.import_footprint(str(bare)) and win.findChild(QMessageBox, "error-box") is None
    assert seen[0][0] == "高斯投影带号" and len(win.session.projects) == 4


def _mouse(widget, kind: str, x: float, y: float) -> None:
    """A mouse event as the window system gives it (offscreen, QTest.mouseMove moves no pointer)."""
    from qtpy.QtCore import QEvent, QPointF
    from qtpy.QtGui import QMouseEvent
    from qtpy.QtWidgets import QApplication
    button = Qt.NoButton if kind == "move" else Qt.LeftButton
    etype = {"move": QEvent.MouseMove, "press": QEvent.MouseButtonPress, "release": QEvent.MouseButtonRelease,
             "double": QEvent.MouseButtonDblClick}[kind]
    QApplication.sendEvent(widget, QMouseEvent(etype, QPointF(x, y), button, button, Qt.NoModifier))


def test_the_pointer_shows_its_place_and_a_drawn_footprint_is_a_project_where_it_was_drawn(win):
    """The status bar follows the pointer in lon/lat and 3° GK (X northing, Y easting with its zone), and a polygon
    drawn by clicks becomes a project in CGCS2000 lon/lat at the very points clicked — both through PROJ, which the
    canvas loads when first asked (opening and painting from the cache need none)."""
    from pyproj import Transformer
    canvas = win.canvas
    to_ll = Transformer.from_crs(canvas.epsg, 4490, always_xy=True)
    _mouse(canvas, "move", 300, 200)
    x, y = canvas.to_world(300, 200)
    lon, lat = to_ll.transform(x, y)
    zone = round(lon / 3)                   # the 3° zone whose central meridian is nearest: the canvas's own here
    assert canvas.epsg == 4534 + zone - 25
    assert win.lbl_pos.text() == f"{lon:.6f}°E {lat:.6f}°N   X {y:,.3f}  Y {zone * 1_000_000 + x:,.3f}"

    canvas.tool = "draw_polygon"
    shapes = [[(200, 150), (420, 160), (380, 330)], [(60, 400), (180, 390), (150, 520), (70, 500)]]
    for n, clicks in enumerate(shapes, 1):        # twice in a row: each a project of its own, where it was drawn
        for px, py in clicks:
            _mouse(canvas, "press", px, py)
            _mouse(canvas, "release", px, py)
        _mouse(canvas, "double", *clicks[-1])
        drawn = win.session.projects[-1]
        assert drawn.id == f"绘制-{n}"
        want = [to_ll.transform(*canvas.to_world(px, py)) for px, py in clicks]
        ring = list(drawn.geometry.exterior.coords)[:-1]
        assert len(ring) == len(clicks)
        assert {tuple(np.round(c, 9)) for c in ring} == {tuple(np.round(c, 9)) for c in want}
    # both drawn on the canvas back in its metres, at the clicked places
    to_m = Transformer.from_crs(4490, canvas.epsg, always_xy=True)
    for geom, clicks in zip(canvas._project_geoms, shapes):
        got = {tuple(np.round(c, 3)) for c in list(geom.exterior.coords)[:-1]}
        assert got == {tuple(np.round(to_m.transform(*to_ll.transform(*canvas.to_world(px, py))), 3))
                       for px, py in clicks}
    win.undo.undo()
    win.undo.undo()
    assert [p.id for p in win.session.projects] == [] and canvas._project_geoms == []
