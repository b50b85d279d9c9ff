"""Footprints and layers as CAD drawings (DXF) and MapInfo tables (TAB/MIF), the forms 设计院 and 国土 offices send
them in: the same project read from either screens as from its 勘测定界 TXT; a DWG is one line saying what to do."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import ezdxf
import geopandas as gpd
import pytest
import shapely

from gis_screening.errors import InputError
from gis_screening.io import read_layer
from gis_screening.io.projects import load_projects
from gis_screening.reports.import_notes import import_note_zh

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CLI = [sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(SAMPLE / "layerset.yaml")]
TXT = SAMPLE / "projects" / "txt" / "P2026-001.txt"


def _gk(epsg: int = 4528):
    """The sample project P2026-001's footprint (its 勘测定界 TXT) in CGCS2000 3° GK metres with the zone prefix."""
    lyr = read_layer(TXT, "projects")
    return shapely.union_all(lyr.gdf.to_crs(epsg).geometry.values)


def _drawing(path: Path, footprint, version: str = "R2010", codepage: str | None = None) -> Path:
    """A 红线图 as a 设计院 draws it: the red line on 红线, a building and the drawing frame as closed outlines on
    other layers, 界址点 labels, a road centre line, and the frame's title block in a block reference."""
    doc = ezdxf.new(version)
    if codepage:
        doc.header["$DWGCODEPAGE"] = codepage
    msp = doc.modelspace()
    for name in ("红线", "建筑", "图框", "标注", "道路中心线"):
        doc.layers.add(name)
    for ring in [footprint.exterior] if footprint.geom_type == "Polygon" else [g.exterior for g in footprint.geoms]:
        msp.add_lwpolyline(list(ring.coords)[:-1], close=True, dxfattribs={"layer": "红线"})
        for i, (x, y) in enumerate(list(ring.coords)[:-1], 1):
            msp.add_text(f"J{i}", dxfattribs={"layer": "标注", "insert": (x, y), "height": 2})
    x0, y0, x1, y1 = footprint.bounds
    c = footprint.representative_point()
    msp.add_lwpolyline([(c.x - 5, c.y - 5), (c.x + 5, c.y - 5), (c.x + 5, c.y + 5), (c.x - 5, c.y + 5)], close=True,
                       dxfattribs={"layer": "建筑"})
    msp.add_lwpolyline([(x0 - 200, y0 - 200), (x1 + 200, y0 - 200), (x1 + 200, y1 + 200), (x0 - 200, y1 + 200)],
                       close=True, dxfattribs={"layer": "图框"})
    msp.add_line((x0 - 100, y0 - 50), (x1 + 100, y0 - 50), dxfattribs={"layer": "道路中心线"})
    doc.saveas(path)
    return path


def _screen(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "r.json"
    out.unlink(missing_ok=True)
    res = subprocess.run(CLI + [*args, "--json", str(out)], capture_output=True, text=True)
    return res, (json.loads(out.read_text(encoding="utf-8")) if out.exists() else {})


def _sheet_with(tmp_path: Path, footprint: Path) -> Path:
    sheet = (SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8")
    out = tmp_path / "P2026-001.yaml"
    out.write_text(sheet.replace("../projects/txt/P2026-001.txt", footprint.name), encoding="utf-8")
    return out


def _essence(result: dict) -> dict:
    """What a screening says of a project, apart from where its footprint came from."""
    p = result["project"]
    return {"verdict": result["verdict"], "area": round(p["area_m2"], 1), "crs": p["metric_crs"],
            "findings": sorted((f["rule_id"], f["level"], f.get("feature_id")) for f in result["findings"]),
            "overlaps": sorted((o["layer"], o["feature_id"], round(o["overlap_area_m2"], 1)) for o in result["overlaps"])}


@pytest.mark.parametrize("version,codepage", [("R2010", None), ("R2000", "ANSI_936")])
def test_a_drawing_screens_as_its_survey_txt(tmp_path, version, codepage):
    """The red line of a drawing (UTF-8 R2010, or R2000 in the Chinese code page) is the project's footprint: the
    same verdict, findings, overlaps and area as the 勘测定界 TXT it was drawn from; the drawing's other closed
    outlines (building, frame) make the layer a question, named by --layer."""
    _, txt_doc = _screen(tmp_path, "--project", str(SAMPLE / "sheets" / "P2026-001.yaml"))
    dxf = _drawing(tmp_path / "红线图.dxf", _gk(), version, codepage)
    sheet = _sheet_with(tmp_path, dxf)

    res, _ = _screen(tmp_path, "--project", str(sheet))
    assert res.returncode == 2
    assert res.stderr.strip() == (f"error: {dxf}: the DXF drawing has closed outlines on 3 CAD layers (红线 1, 建筑 1, "
                                  "图框 1); name the layer with the footprint (--layer, manifest `layer:`)")
    assert "Traceback" not in res.stderr

    res, doc = _screen(tmp_path, "--project", str(sheet), "--layer", "红线")
    assert res.returncode == 0, res.stderr
    (mine,), (theirs,) = doc["results"], txt_doc["results"]
    assert _essence(mine) == _essence(theirs)
    named = tmp_path / "named.yaml"          # the sheet names the drawing's layer itself: 红线图.dxf#红线
    named.write_text(sheet.read_text(encoding="utf-8").replace("footprint: 红线图.dxf", "footprint: 红线图.dxf#红线"),
                     encoding="utf-8")
    res, again = _screen(tmp_path, "--project", str(named))
    assert res.returncode == 0, res.stderr
    assert _essence(again["results"][0]) == _essence(theirs)
    assert mine["verdict_label"] == "有条件符合"
    notes = mine["project"]["import_problems"]
    assert not [n for n in notes if "no project id field" in n]        # the sheet names the project
    assert "[warning] CAD drawing: footprint read from CAD layer '红线' (1 outlines)" in notes
    assert "[warning] CAD drawing: other CAD layers left out: 标注 4, 建筑 1, 图框 1, 道路中心线 1" in notes
    assert [import_note_zh(n) for n in notes if "CAD" in n][:2] == [
        "注意：CAD 图纸：项目范围取自图层“红线”的 1 个闭合图形", "注意：CAD 图纸：未计入的其他图层（对象数）：标注 4, 建筑 1, 图框 1, 道路中心线 1"]


def test_drawing_outlines_arcs_holes_blocks_and_lines(tmp_path):
    """A drawing is one project of all its outlines on the chosen layer: a bulge (arc) is followed, a hatch keeps
    its hole, a red line drawn inside a block reference is found; a layer of lines only is a line project."""
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    e0, n0 = 40_429_000.0, 2_885_000.0
    # a 100 m × 100 m square whose east side bulges out as a half circle of radius 50 m (bulge 1 = 180°)
    msp.add_lwpolyline([(e0, n0, 0, 0, 0), (e0 + 100, n0, 0, 0, 1), (e0 + 100, n0 + 100, 0, 0, 0),
                        (e0, n0 + 100, 0, 0, 0)], format="xyseb", close=True, dxfattribs={"layer": "红线"})
    hatch = msp.add_hatch(dxfattribs={"layer": "红线"})
    hatch.paths.add_polyline_path([(e0 + 500, n0), (e0 + 700, n0), (e0 + 700, n0 + 200), (e0 + 500, n0 + 200)],
                                  is_closed=True, flags=ezdxf.const.BOUNDARY_PATH_EXTERNAL)
    hatch.paths.add_polyline_path([(e0 + 550, n0 + 50), (e0 + 650, n0 + 50), (e0 + 650, n0 + 150),
                                   (e0 + 550, n0 + 150)], is_closed=True, flags=ezdxf.const.BOUNDARY_PATH_OUTERMOST)
    block = doc.blocks.new("地块3")
    block.add_lwpolyline([(0, 0), (50, 0), (50, 50), (0, 50)], close=True, dxfattribs={"layer": "红线"})
    msp.add_blockref("地块3", (e0 + 1000, n0), dxfattribs={"layer": "红线"})
    msp.add_lwpolyline([(e0, n0 - 500), (e0 + 300, n0 - 500), (e0 + 300, n0 - 900)], dxfattribs={"layer": "管线"})
    path = tmp_path / "某项目.dxf"
    doc.saveas(path)

    (project,) = load_projects(path)                   # 红线 holds the outlines; 管线 only lines: no question
    assert project.id == "某项目"
    area = 100 * 100 + 3.141592653589793 * 50 ** 2 / 2 + (200 * 200 - 100 * 100) + 50 * 50
    metric = gpd.GeoSeries([project.geometry], crs=4490).to_crs(4528).iloc[0]
    assert metric.area == pytest.approx(area, rel=1e-4)
    assert metric.bounds[2] == pytest.approx(e0 + 1050, abs=1e-3)     # the block's square, placed at e0 + 1000
    assert shapely.Point(e0 + 600, n0 + 100).within(metric) is False    # in the hatch's hole
    (route,) = load_projects(path, layer="管线")
    assert route.geometry.geom_type == "LineString"
    assert gpd.GeoSeries([route.geometry], crs=4490).to_crs(4528).length.iloc[0] == pytest.approx(700, rel=1e-6)
    # a CAD layer the drawing lacks (a --layer meant for another drawing of a folder): its one layer of outlines,
    # said; where several layers have outlines, which one is the user's to say
    (again,) = load_projects(path, layer="道路")
    assert again.geometry.equals(project.geometry)
    assert "[warning] no CAD layer '道路' in the drawing: its only layer with outlines read" in again.problems
    with pytest.raises(InputError, match=r"no CAD layer '道路' with outlines or lines; the drawing's are: 红线 1, 建筑 1, "
                                         r"图框 1, 道路中心线 1"):
        load_projects(_drawing(tmp_path / "b.dxf", _gk()), layer="道路")
    with pytest.raises(InputError, match=r"CAD layer '标注' holds no outlines or lines \(TEXT 4\)"):
        load_projects(tmp_path / "b.dxf", layer="标注")


def test_a_drawing_in_local_coordinates_says_what_to_do(tmp_path):
    """A building drawing in millimetres of a local grid: one line that says to move it into CGCS2000 in CAD."""
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 4
    doc.modelspace().add_lwpolyline([(0, 0), (300_000, 0), (300_000, 200_000), (0, 200_000)], close=True)
    doc.saveas(tmp_path / "总图.dxf")
    with pytest.raises(InputError) as info:
        load_projects(tmp_path / "总图.dxf")
    assert str(info.value) == (f"{tmp_path / '总图.dxf'}: coordinates (0.000, 0.000) – (300000.000, 200000.000) are "
                               "neither lon/lat in China nor Gauss-Krüger metres; give the CRS explicitly; a drawing "
                               "in local (独立/城建) coordinates or in millimetres must be put into CGCS2000 metres in "
                               "CAD first")


def test_dwg_and_folders(tmp_path):
    """A DWG, alone or in a folder of project files, is one line saying to save it as DXF; never skipped."""
    dwg = tmp_path / "红线图.dwg"
    dwg.write_bytes(b"AC1032" + bytes(200))
    shutil.copy(_drawing(tmp_path / "a.dxf", _gk()), tmp_path / "b.dxf")
    for given in (dwg, tmp_path):
        res, _ = _screen(tmp_path, "--project", str(given), "--layer", "红线")
        assert res.returncode == 2
        assert res.stderr.strip() == (f"error: {dwg}: AutoCAD DWG has no open reader: save the drawing as DXF (CAD: "
                                      "另存为 → AutoCAD DXF) and give that file")
    dwg.unlink()
    res, doc = _screen(tmp_path, "--project", str(tmp_path), "--layer", "红线")
    assert res.returncode == 0, res.stderr
    assert [r["project"]["id"] for r in doc["results"]] == ["a", "b"]


def _mapinfo(tmp_path: Path, charset: str, suffix: str) -> Path:
    """Two projects as a MapInfo table written by GDAL in the Chinese code page, its header then saying
    ``charset`` (older tables often say Neutral for GBK text)."""
    gdf = gpd.GeoDataFrame({"项目编号": ["M1", "M2"], "项目名称": ["某水泥熟料项目", "某码头"], "行业代码": ["3011", "5531"],
                            "建设性质": ["新建", "扩建"]},
                           geometry=[_gk(4490), shapely.box(119.40, 26.10, 119.41, 26.11)], crs=4490)
    folder = tmp_path / charset
    folder.mkdir()
    path = folder / f"项目{suffix}"
    gdf.to_file(path, driver="MapInfo File", layer_options={"ENCODING": "CP936"})
    if charset != "WindowsSimpChinese":
        path.write_bytes(path.read_bytes().replace(b"WindowsSimpChinese", charset.encode()))
    return path


@pytest.mark.parametrize("suffix", [".tab", ".mif"])
def test_mapinfo_tables_in_either_character_set(tmp_path, suffix):
    """A MapInfo table reads the same whether its header names the Chinese character set or says Neutral (read
    by content, said as a warning), plain or zipped; its projects screen as the TXT's."""
    _, txt_doc = _screen(tmp_path, "--project", str(SAMPLE / "sheets" / "P2026-001.yaml"))
    docs = []
    for charset in ("WindowsSimpChinese", "Neutral"):
        path = _mapinfo(tmp_path, charset, suffix)
        res, doc = _screen(tmp_path, "--project", str(path))
        assert res.returncode == 0, res.stderr
        docs.append(doc)
        warned = [n for r in doc["results"] for n in r["project"]["import_problems"] if "encoding" in n]
        assert bool(warned) == (charset == "Neutral"), warned
    zipped = shutil.make_archive(str(tmp_path / "项目"), "zip", tmp_path / "Neutral")
    res, doc = _screen(tmp_path, "--project", zipped)
    assert res.returncode == 0, res.stderr
    docs.append(doc)
    for doc in docs:
        m1, m2 = doc["results"]
        assert (m1["project"]["id"], m1["project"]["name"], m2["project"]["name"]) == ("M1", "某水泥熟料项目", "某码头")
        assert m1["project"]["construction_type"] == "新建" and m1["project"]["sector"] == "建材"
        # the TXT's sheet adds the carbon figures (so its verdict differs); the overlaps are the same, to the
        # precision a MapInfo table stores coordinates at (integers over the table's bounds: ~0.1 m here)
        mine, txt = _essence(m1), _essence(txt_doc["results"][0])
        assert mine["area"] == pytest.approx(txt["area"], rel=1e-4) and mine["crs"] == txt["crs"]
        assert [o[:2] for o in mine["overlaps"]] == [o[:2] for o in txt["overlaps"]]
        assert [o[2] for o in mine["overlaps"]] == pytest.approx([o[2] for o in txt["overlaps"]], rel=1e-2)


def test_a_local_coordinate_system_is_read_as_none(tmp_path):
    """A MapInfo table in a NonEarth (local, no datum) system with GK coordinates: the coordinates are read by
    their magnitude, with a warning (was: "outside China")."""
    gdf = gpd.GeoDataFrame({"id": ["L1"]}, geometry=[_gk()], crs=None)
    path = tmp_path / "local.tab"
    gdf.to_file(path, driver="MapInfo File", layer_options={"BOUNDS": "40000000,2000000,41000000,3000000"})
    (project,) = load_projects(path)
    assert gpd.GeoSeries([project.geometry], crs=4490).to_crs(4528).area.iloc[0] == pytest.approx(_gk().area, rel=1e-9)
    assert "[warning] the file's coordinate system 'Nonearth' is a local one without a datum: read as if it had " \
           "none" in project.problems


def test_convert_a_drawing_to_a_survey_txt(tmp_path):
    """`convert 红线图.dxf 报批.txt --layer 红线` (the step before 建设用地报批): the TXT holds the red line's points in
    the drawing's zone, the parcel named after the drawing, and reads back as the same footprint."""
    footprint = _gk()
    dxf = _drawing(tmp_path / "红线图.dxf", footprint)
    txt = tmp_path / "报批.txt"
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "convert", str(dxf), str(txt), "--layer", "红线"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stderr.startswith("红线图.dxf: read as a project footprint (role projects)")
    lines = txt.read_text(encoding="utf-8").splitlines()
    assert "带号=40" in lines and lines[lines.index("[地块坐标]") + 1].startswith(
        f"{len(footprint.exterior.coords)},{footprint.area / 10_000:.4f},红线图,红线图,面,")
    (back,) = load_projects(txt)
    metric = gpd.GeoSeries([back.geometry], crs=4490).to_crs(4528).iloc[0]
    assert metric.symmetric_difference(footprint).area < 0.01


def test_a_folder_of_mixed_files_with_one_layer_option(tmp_path):
    """`screen --project 项目文件夹 --layer 红线`: the option picks the red line of the drawing that needs it; the
    files of one layer (MapInfo, a one-layer GeoPackage, a one-sheet workbook) are read as they are (a note where a
    layer could have been named); a GeoPackage of several layers without that one is one line listing them."""
    folder = tmp_path / "项目"
    folder.mkdir()
    _drawing(folder / "A红线图.dxf", _gk())
    tab = _mapinfo(tmp_path, "WindowsSimpChinese", ".tab")
    for part in tab.parent.iterdir():
        shutil.copy(part, folder / f"B{part.name}")
    gpd.read_file(SAMPLE / "projects" / "projects.gpkg").iloc[1:3].to_file(folder / "C一期.gpkg", layer="一期")
    shutil.copy(ROOT / "tests" / "data" / "xls" / "P2026-001坐标.xls", folder / "D坐标.xls")
    res, doc = _screen(tmp_path, "--project", str(folder), "--layer", "红线")
    assert res.returncode == 0, res.stderr
    ids = [(r["project"]["id"], Path(r["project"]["source"]).name) for r in doc["results"]]
    assert ids == [("A红线图", "A红线图.dxf"), ("M1", "B项目.tab"), ("M2", "B项目.tab"), ("P2026-002", "C一期.gpkg"),
                   ("P2026-003", "C一期.gpkg"), ("P2026-001", "D坐标.xls")]
    notes = [r["project"]["import_problems"] for r in doc["results"]]
    assert "[warning] CAD drawing: footprint read from CAD layer '红线' (1 outlines)" in notes[0]
    assert "[warning] no layer '红线' here: its only layer '一期' read" in notes[3]
    assert "[warning] no sheet '红线' here: its only sheet with coordinates read" in notes[5]
    assert not [n for n in notes[1] if "红线" in n]            # a MapInfo table has one layer: nothing to name
    gpd.read_file(SAMPLE / "projects" / "projects.gpkg").iloc[3:4].to_file(folder / "C一期.gpkg", layer="二期")
    res, _ = _screen(tmp_path, "--project", str(folder), "--layer", "红线")
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {folder / 'C一期.gpkg'}: no layer '红线'; its layers are: 一期, 二期"


def test_a_red_line_drawn_back_to_its_start_without_closing(tmp_path):
    """Surveyors often draw the red line back to its first point without CAD's 闭合 flag: it is an outline (was
    read as a line project, its length the perimeter).  One left open by a few centimetres is read as a line and
    said, in Chinese in the report."""
    fp = _gk()
    ring = list(fp.exterior.coords)
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline(ring, close=False, dxfattribs={"layer": "红线"})
    doc.saveas(tmp_path / "a.dxf")
    (project,) = load_projects(tmp_path / "a.dxf")
    assert gpd.GeoSeries([project.geometry], crs=4490).to_crs(4528).area.iloc[0] == pytest.approx(fp.area, rel=1e-9)
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline(ring[:-1] + [(ring[0][0] + 0.05, ring[0][1])], close=False,
                                    dxfattribs={"layer": "红线"})
    doc.saveas(tmp_path / "b.dxf")
    (project,) = load_projects(tmp_path / "b.dxf")
    assert project.geometry.geom_type == "LineString"
    (note,) = [n for n in project.problems if "nearly close" in n]
    assert import_note_zh(note) == "注意：CAD 图层“红线”中有 1 条线首尾几乎相接，按线读取；若为用地边界，请在 CAD 中闭合后重新导入"


def test_a_red_line_drawn_as_separate_segments(tmp_path):
    """A red line drawn (or exploded) as separate LINE segments is an outline when they all join into closed rings
    (said); a route of lines that do not close stays a line project."""
    fp = _gk()
    ring = list(fp.exterior.coords)
    doc = ezdxf.new("R2010")
    for a, b in zip(ring[:-1], ring[1:]):
        doc.modelspace().add_line(a, b, dxfattribs={"layer": "红线"})
    doc.modelspace().add_lwpolyline([(ring[0][0], ring[0][1] - 500), (ring[1][0], ring[1][1] - 500)],
                                    dxfattribs={"layer": "管线"})
    doc.saveas(tmp_path / "a.dxf")
    (project,) = load_projects(tmp_path / "a.dxf")
    assert gpd.GeoSeries([project.geometry], crs=4490).to_crs(4528).area.iloc[0] == pytest.approx(fp.area, rel=1e-9)
    assert "[warning] CAD layer '红线': its lines (drawn as separate segments) joined into 1 closed outlines" \
        in project.problems
    (route,) = load_projects(tmp_path / "a.dxf", layer="管线")
    assert route.geometry.geom_type == "LineString"


def test_zipped_drawings_and_survey_packages(tmp_path):
    """A drawing or a 报批 package (the 勘测定界 TXT with its 说明) sent as a zip reads as the file inside; a zip of
    two drawings is one line listing them."""
    import zipfile
    two = shapely.MultiPolygon([_gk(), shapely.affinity.translate(_gk(), xoff=3000)])      # a drawing of 2 parcels
    dxf = _drawing(tmp_path / "红线图.dxf", two)
    with zipfile.ZipFile(tmp_path / "图纸.zip", "w") as zf:
        zf.write(dxf, "设计院/红线图.dxf")
    (project,) = load_projects(tmp_path / "图纸.zip", layer="红线")        # one project of two parcels, as unzipped
    (direct,) = load_projects(dxf, layer="红线")
    assert project.geometry.equals(direct.geometry) and len(project.geometry.geoms) == 2
    assert "[info] read 红线图.dxf from the zip archive" in [str(n) for n in read_layer(
        tmp_path / "图纸.zip", "projects", layer="红线").problems]
    with zipfile.ZipFile(tmp_path / "报批.zip", "w") as zf:
        zf.write(TXT, "P2026-001.txt")
        zf.writestr("说明.doc", b"not read")
    (txt,) = load_projects(tmp_path / "报批.zip")
    (plain,) = load_projects(TXT)
    assert txt.id == "P2026-001" and txt.geometry.equals(plain.geometry)
    with zipfile.ZipFile(tmp_path / "两张图.zip", "w") as zf:
        zf.write(dxf, "a.dxf")
        zf.write(dxf, "b.dxf")
    with pytest.raises(InputError, match=r"zip holds several \.dxf files \(a\.dxf, b\.dxf\); unzip it and choose one"):
        load_projects(tmp_path / "两张图.zip")


def test_a_red_line_drawn_in_a_layout(tmp_path):
    """A red line drawn in a layout (paper space) rather than in model space: one line saying to move it."""
    doc = ezdxf.new("R2010")
    doc.paperspace().add_lwpolyline([(0, 0), (100, 0), (100, 80), (0, 80)], close=True, dxfattribs={"layer": "红线"})
    doc.saveas(tmp_path / "布局.dxf")
    with pytest.raises(InputError) as info:
        load_projects(tmp_path / "布局.dxf")
    assert str(info.value) == (f"{tmp_path / '布局.dxf'}: the DXF drawing has no outlines or lines in model space, only "
                               "in a layout (paper space): move them to model space in CAD (CHSPACE) and save again")


def test_a_drawing_with_nan_coordinates(tmp_path):
    """Lines with NaN coordinates (a damaged export) are named by the geometry checks, not a GEOS traceback."""
    doc = ezdxf.new("R2010")
    doc.modelspace().add_line((40429964, 2885885), (float("nan"), 2885985), dxfattribs={"layer": "红线"})
    doc.modelspace().add_line((float("nan"), 2885985), (40429964, 2885885), dxfattribs={"layer": "红线"})
    doc.saveas(tmp_path / "nan.dxf")
    with pytest.raises(InputError) as info:
        load_projects(tmp_path / "nan.dxf")
    assert str(info.value) == (f"{tmp_path / 'nan.dxf'}: no usable features left after geometry checks: [error] "
                               "geometry has NaN or infinite coordinates; skipped (feature #1); [error] geometry has "
                               "NaN or infinite coordinates; skipped (feature #2)")


def test_a_mapinfo_table_with_a_damaged_attribute_file(tmp_path):
    """A Neutral-charset table whose .dat was cut off in transfer: one line naming it (was a traceback risk in the
    encoding detection)."""
    tab = _mapinfo(tmp_path, "Neutral", ".tab")
    tab.with_suffix(".dat").write_bytes(b"\x03\x01")
    with pytest.raises(InputError) as info:
        load_projects(tab)
    assert str(info.value) == f"{tab}: MapInfo attribute file unreadable: dbf header truncated"


def test_the_layer_question_counts_outlines_and_its_answer_reads_the_drawing_parsed_for_it(tmp_path):
    """The question lists each CAD layer with its closed outlines (a layer's open lines not counted as outlines);
    the answer reads the drawing parsed for the question (a 总平面图 takes seconds to parse) — unless the drawing
    was saved again in between, which is read anew."""
    from gis_screening.errors import LayerRequired
    from gis_screening.io import cad
    footprint = _gk()
    dxf = _drawing(tmp_path / "P2026-001.dxf", footprint)
    doc = ezdxf.readfile(dxf)
    doc.modelspace().add_line((0, 0), (1, 1), dxfattribs={"layer": "建筑"})      # an open line beside an outline
    doc.saveas(dxf)
    with pytest.raises(LayerRequired) as asked:
        load_projects(dxf)
    assert (asked.value.layers, asked.value.counts, asked.value.unit) == (["红线", "建筑", "图框"],
                                                                          {"红线": 1, "建筑": 1, "图框": 1}, "outlines")
    assert list(cad._asked) == [cad._file_key(dxf)]
    (project,) = load_projects(dxf, layer="红线")
    assert project.geometry.equals_exact(load_projects(TXT)[0].geometry, 1e-7) and not cad._asked
    with pytest.raises(LayerRequired):
        load_projects(dxf)
    moved = shapely.affinity.translate(footprint, xoff=500)         # the red line redrawn before the answer
    doc = ezdxf.readfile(dxf)
    red = next(e for e in doc.modelspace() if e.dxf.layer == "红线")
    red.set_points([(x, y) for x, y in list(moved.exterior.coords)[:-1]], format="xy")
    doc.saveas(dxf)
    (redrawn,) = load_projects(dxf, layer="红线")
    assert redrawn.geometry.centroid.x > project.geometry.centroid.x + 0.004 and not cad._asked
