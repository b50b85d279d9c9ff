"""The warm screening path (issue 12): project footprint files go through the loaded-layer cache as layers do, and a
warm run reads layers, projects and prepared pieces without pandas, geopandas, GDAL or PROJ — with the very results of a
cold run, whatever the attribute types."""
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gis_screening.cache import finish_writes
from gis_screening.crs import reproject
from gis_screening.engine.prepared import PreparedCache
from gis_screening.io.projects import load_projects
from gis_screening.screening import _hilbert_distance

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

#: says every import of pandas, geopandas, pyogrio (GDAL) or pyproj (PROJ) on stderr and refuses it, so that nothing
#: built on them can go on quietly (put before a script)
REFUSE = """
import sys
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "geopandas", "pyogrio", "pyproj"):
            sys.stderr.write(f"IMPORTED {name}\\n")
            raise ImportError(name)
sys.meta_path.insert(0, Watch())
"""

#: runs the CLI with those imports refused
WATCHED = REFUSE + """
import runpy
sys.argv = ["gis-screening", *sys.argv[1:]]
runpy.run_module("gis_screening.cli", run_name="__main__")
"""

#: opens a layer set in the real main window (offscreen) and prints what the canvas draws: each layer's labels and
#: styles, and a digest of the painted pixels
APP = """
import hashlib, json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qtpy.QtCore import QSettings
from qtpy.QtGui import QImage, QPainter
from qtpy.QtWidgets import QApplication
app = QApplication([])
from gis_screening.app.main_window import MainWindow
win = MainWindow(settings=QSettings(sys.argv[2], QSettings.IniFormat))
win.auto_screen = False
win.resize(1000, 700)
win.show()
assert win.open_layerset(sys.argv[1])
app.processEvents()
image = QImage(win.canvas.size(), QImage.Format_ARGB32)
painter = QPainter(image)
win.canvas.render_to(painter)
painter.end()
bits = image.constBits()
bits.setsize(image.sizeInBytes())
layers = [[r.view.layer.name, r.labels, [s.model_dump() if s else None for s in r.styles]] for r in win.canvas.layers]
print(json.dumps({"layers": layers, "pixels": hashlib.sha256(bytes(bits)).hexdigest()}, ensure_ascii=False))
"""


def _manifest(tmp_path: Path) -> Path:
    """The sample layer set without its 准入清单 table (joining a table is pandas work, warm or not)."""
    text = (SAMPLE / "layerset.yaml").read_text(encoding="utf-8").split("admission_lists:")[0]
    text = re.sub(r"source: (\S+)", lambda m: f"source: {(SAMPLE / m.group(1)).as_posix()}", text)
    path = tmp_path / "layerset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _doc(path: Path) -> str:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.pop("generated_at")
    return re.sub(r'"([LP])[0-9a-f]+-(\d+)"', r'"\1-\2"', json.dumps(doc, ensure_ascii=False))


def test_a_warm_screening_reads_without_pandas_geopandas_gdal_or_proj_and_gives_the_cold_result(tmp_path):
    """First run: reads the layers and two footprint files (a GeoPackage and a GeoJSON, each read by its own GDAL
    driver) and caches them, and the footprints projected.  Second and third runs (warm): no pandas, geopandas,
    pyogrio or pyproj is imported, and each document is the first one's.  A project file changed since is read again: the next warm run screens the new
    footprints, and the other file's projects as they were."""
    manifest = _manifest(tmp_path)
    projects = tmp_path / "projects.gpkg"
    projects.write_bytes((SAMPLE / "projects" / "projects.gpkg").read_bytes())
    table = tmp_path / "二期.geojson"
    more = gpd.read_file(projects).head(3)
    more["项目编号"] = ["二期-1", "二期-2", "二期-3"]
    more.to_file(table, driver="GeoJSON")
    env = {**os.environ, "GIS_SCREENING_CACHE": str(tmp_path / "cache")}

    def run(out: Path, watched: bool) -> subprocess.CompletedProcess:
        args = ["screen", "--layerset", str(manifest), "--project", str(projects), str(table), "--json", str(out)]
        cmd = [sys.executable, "-c", WATCHED, *args] if watched else [sys.executable, "-m", "gis_screening.cli", *args]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        return res
    run(tmp_path / "cold.json", watched=False)
    for k in range(2):
        res = run(tmp_path / f"warm{k}.json", watched=True)
        assert "IMPORTED" not in res.stderr, res.stderr
        assert _doc(tmp_path / f"warm{k}.json") == _doc(tmp_path / "cold.json")
    assert '"overlap_area_m2"' in _doc(tmp_path / "cold.json") and "不符合" in _doc(tmp_path / "cold.json")
    cold = json.loads((tmp_path / "cold.json").read_text(encoding="utf-8"))
    assert len(cold["results"]) == 28 and [r["project"]["id"] for r in cold["results"][-3:]] == \
        ["二期-1", "二期-2", "二期-3"]

    frame = gpd.read_file(projects)
    frame["项目名称"] = frame["项目名称"] + "（二期）"
    frame["geometry"] = frame.geometry.translate(0.002, 0)
    time.sleep(0.01)
    frame.to_file(projects, driver="GPKG")
    run(tmp_path / "changed.json", watched=False)           # the changed file is read (GDAL) and cached again
    changed = json.loads((tmp_path / "changed.json").read_text(encoding="utf-8"))
    assert all(r["project"]["name"].endswith("（二期）") for r in changed["results"][:-3])
    ids = re.compile(r'"([LP])[0-9a-f]+-(\d+)"')               # the GeoJSON, unchanged, screened as it was
    assert [ids.sub("", json.dumps(r, ensure_ascii=False)) for r in changed["results"][-3:]] == \
        [ids.sub("", json.dumps(r, ensure_ascii=False)) for r in cold["results"][-3:]]
    res = run(tmp_path / "changed-warm.json", watched=True)
    assert "IMPORTED" not in res.stderr and _doc(tmp_path / "changed-warm.json") == _doc(tmp_path / "changed.json")
    assert _doc(tmp_path / "changed.json") != _doc(tmp_path / "cold.json")


def test_a_coordinate_table_screened_warm_is_not_opened_with_pandas_and_a_changed_one_is_read_again(tmp_path):
    """A CSV coordinate table (a 界址点 list) read once is served from its cache entry on the next run without
    pandas (telling a coordinate table from a table of project sheets needs pandas; an entry for this very file
    means it was a coordinate table); the same file rewritten as a table of sheets is read as sheets."""
    manifest = _manifest(tmp_path)
    table = tmp_path / "界址点.csv"
    table.write_bytes((SAMPLE / "projects" / "P2026-006_经纬度.csv").read_bytes())
    env = {**os.environ, "GIS_SCREENING_CACHE": str(tmp_path / "cache")}

    def run(out: Path, watched: bool) -> subprocess.CompletedProcess:
        args = ["screen", "--layerset", str(manifest), "--project", str(table), "--json", str(out)]
        cmd = [sys.executable, "-c", WATCHED, *args] if watched else [sys.executable, "-m", "gis_screening.cli", *args]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        return res
    run(tmp_path / "cold.json", watched=False)
    res = run(tmp_path / "warm.json", watched=True)
    assert "IMPORTED" not in res.stderr, res.stderr
    assert _doc(tmp_path / "warm.json") == _doc(tmp_path / "cold.json")
    assert json.loads((tmp_path / "cold.json").read_text(encoding="utf-8"))["results"][0]["project"]["id"] == "界址点"
    time.sleep(0.01)
    table.write_text("id,name,industry_code,footprint\nT-9,改作信息表,3011,"
                     f"{(SAMPLE / 'projects' / 'txt' / 'P2026-001.txt').as_posix()}\n", encoding="utf-8")
    run(tmp_path / "sheets.json", watched=False)
    result = json.loads((tmp_path / "sheets.json").read_text(encoding="utf-8"))["results"]
    assert [(r["project"]["id"], r["project"]["name"], r["project"]["industry_code"]) for r in result] == \
        [("T-9", "改作信息表", "3011")]


def _typed_footprints(path: Path) -> None:
    """Footprints whose attributes are of every kind a GeoPackage holds: text, whole numbers with a gap, decimals
    with a gap, yes/no, a date and a date-time."""
    boxes = [shapely.box(119.30 + k * 0.01, 26.05, 119.305 + k * 0.01, 26.055) for k in range(3)]
    gpd.GeoDataFrame({
        "项目编号": ["T-1", "T-2", "T-3"], "项目名称": ["甲", None, "丙"], "行业代码": ["3011", "2511", None],
        "建设性质": ["新建", None, "扩建"],
        "employees": [120, None, 3], "capacity": [1.5, float("nan"), 2.25], "licensed": [True, False, True],
        "approved": [dt.date(2024, 5, 1), None, dt.date(2025, 1, 2)],
        "surveyed": [dt.datetime(2024, 5, 1, 8, 30), dt.datetime(2024, 6, 1), None],
    }, geometry=boxes, crs=4490).to_file(path, driver="GPKG")


@pytest.mark.parametrize("columns", [None, ["项目编号", "项目名称", "行业代码", "建设性质", "employees", "capacity",
                                            "licensed"]])
def test_projects_from_the_cache_are_the_projects_read_from_the_file(tmp_path, columns):
    """Projects read through the cache (a warm run's) equal those read from the file, value and type for value and
    type — with only plain columns (served from Arrow) and with dates among them (served through pandas)."""
    path = tmp_path / "typed.gpkg"
    _typed_footprints(path)
    if columns is not None:
        gpd.read_file(path)[[*columns, "geometry"]].to_file(path, driver="GPKG")
    read = load_projects(path)
    load_projects(path, cache=tmp_path / "c")                  # reads the file, writes the entry
    finish_writes()
    assert len(list((tmp_path / "c" / "layers").glob("*.arrow"))) == 1
    cached = load_projects(path, cache=tmp_path / "c")
    assert [p.id for p in cached] == [p.id for p in read] == ["T-1", "T-2", "T-3"]
    for a, b in zip(read, cached):
        assert (a.name, a.industry_code, a.construction_type, a.source, a.problems, a.sheet) == \
            (b.name, b.industry_code, b.construction_type, b.source, b.problems, b.sheet)
        assert a.attributes == b.attributes
        assert [type(v) for v in a.attributes.values()] == [type(v) for v in b.attributes.values()]
        assert shapely.to_wkb(a.geometry) == shapely.to_wkb(b.geometry)
    assert read[1].attributes["employees"] is None and read[0].attributes["employees"] == 120
    assert read[1].attributes["capacity"] is None and read[2].attributes["capacity"] == 2.25


def test_reprojection_is_geopandas_to_crs_coordinate_for_coordinate():
    """:func:`reproject` (the warm path's) and geopandas' ``to_crs`` give the same bytes: polygons, lines, points
    with altitudes, empties, into three GK zones."""
    rng = np.random.default_rng(4)
    geoms = np.array([*(shapely.box(x, y, x + 0.01, y + 0.02) for x, y in rng.uniform([116, 23], [121, 28], (30, 2))),
                      shapely.LineString([(119, 26), (119.2, 26.1)]), shapely.Point(118.5, 25.5, 12.0),
                      shapely.Polygon(), shapely.MultiPoint([(117, 24), (117.1, 24.1)])], dtype=object)
    for epsg in (4547, 4548, 4549):
        ours = reproject(geoms, 4490, epsg)
        theirs = np.asarray(gpd.GeoSeries(geoms, crs=4490).to_crs(epsg).values, dtype=object)
        assert [shapely.to_wkb(g) for g in ours] == [shapely.to_wkb(g) for g in theirs]


def test_footprints_projected_through_the_cache_are_the_footprints_projected(tmp_path):
    """:meth:`PreparedCache.footprints_in`: the first call projects and leaves the entry to write; the next reads it
    (without PROJ) and gives the same bytes; other coordinates or another zone are another entry; a damaged entry
    is projected again and replaced; a cache in memory writes nothing."""
    rng = np.random.default_rng(5)
    geoms = np.array([*(shapely.box(x, y, x + 0.01, y + 0.02) for x, y in rng.uniform([118, 24], [120, 27], (20, 2))),
                      shapely.Point(119.5, 26.0, 8.0), shapely.LineString([(119, 26), (119.2, 26.1)]),
                      shapely.Polygon()], dtype=object)
    expected = [shapely.to_wkb(g) for g in reproject(geoms, 4490, 4548)]
    cache = PreparedCache(tmp_path)
    later: list = []
    assert [shapely.to_wkb(g) for g in cache.footprints_in(geoms, 4548, later)] == expected
    assert len(later) == 2                  # the footprints with altitudes are another coordinate array
    for write in later:
        write()
    entries = sorted((tmp_path / "prepared").glob("*.npz"))
    assert len(entries) == 2
    again: list = []
    assert [shapely.to_wkb(g) for g in cache.footprints_in(geoms, 4548, again)] == expected and again == []
    moved = geoms.copy()
    moved[0] = shapely.box(119.0, 25.0, 119.01, 25.01)
    assert len(cache.footprints_in(moved, 4548, again)) == len(geoms) and len(again) == 1
    assert cache.footprints_in(geoms, 4549, again)[0].equals(reproject(geoms[:1], 4490, 4549)[0]) and len(again) == 3
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:-40])         # cut short
    fresh: list = []
    assert [shapely.to_wkb(g) for g in cache.footprints_in(geoms, 4548, fresh)] == expected and len(fresh) == 2
    assert not any(e.exists() for e in entries)
    memory: list = []
    assert [shapely.to_wkb(g) for g in PreparedCache(tmp_path, disk=False).footprints_in(geoms, 4548, memory)] == \
        expected and memory == []


def test_the_hilbert_order_visits_neighbouring_cells_one_after_another():
    """Every cell of an 8 × 8 grid gets its own place along the curve, and consecutive places are neighbouring
    cells (what keeps a step's projects together); an empty list and a single point are ordered too."""
    cells = np.array([(x, y) for x in range(8) for y in range(8)], dtype=float)
    d = _hilbert_distance(np.hstack([cells, cells]))
    assert len(set(d.tolist())) == 64
    walk = cells[np.argsort(d)]
    assert (np.abs(np.diff(walk, axis=0)).sum(axis=1) == 1).all()
    assert _hilbert_distance(np.zeros((0, 4))).tolist() == []
    assert _hilbert_distance(np.array([[1.0, 2.0, 1.0, 2.0]])).tolist() == [0]


def test_zones_worked_out_as_arrays_are_the_zones_worked_out_one_by_one():
    """:func:`metric_epsgs_for_lons` (all footprints at once) gives each longitude the zone
    :func:`metric_epsg_for_lon` gives it: across China and beyond its zones, and on and next to every band edge."""
    from gis_screening.crs import metric_epsg_for_lon, metric_epsgs_for_lons
    edges = np.arange(70.5, 140, 3.0)
    lons = np.concatenate([np.random.default_rng(7).uniform(60, 150, 20000), edges, np.nextafter(edges, 0),
                           np.nextafter(edges, 200)])
    assert metric_epsgs_for_lons(lons).tolist() == [metric_epsg_for_lon(x) for x in lons.tolist()]
    with pytest.raises(ValueError):
        metric_epsgs_for_lons(np.array([119.0, float("nan")]))


def test_the_app_reopens_a_layer_set_without_pandas_geopandas_gdal_or_proj_and_draws_what_it_drew(tmp_path):
    """The app's first open reads the sources (pandas and geopandas behind the attributes); reopened in a new process
    from the cache, none of pandas, geopandas, pyogrio or pyproj is imported, and the canvas draws the very labels,
    styles (the units by category, from Arrow values now) and pixels."""
    pytest.importorskip("qtpy")
    manifest = _manifest(tmp_path)
    env = {**os.environ, "GIS_SCREENING_CACHE": str(tmp_path / "cache"), "QT_QPA_PLATFORM": "offscreen"}

    def run(mode: str) -> tuple[dict, str]:
        script = REFUSE + APP if mode == "watched" else APP
        res = subprocess.run([sys.executable, "-c", script, str(manifest), str(tmp_path / f"{mode}.ini")],
                             capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout.splitlines()[-1]), res.stderr
    cold, _ = run("cold")                   # (its cache entries are written before the process ends)
    warm, stderr = run("watched")
    assert "IMPORTED" not in stderr, stderr
    units = next(layer for layer in cold["layers"] if layer[0] == "环境管控单元")
    assert units[1] and all(units[1]) and len({str(style) for style in units[2]}) > 1   # labelled, several styles
    assert warm == cold
