"""Zone editing: split/undo/redo/save/reopen with audit rows; topological vertex moves; SIGKILL during saves
never breaks the file; concurrent modification detected; journal recovery; diff and topology hand-built cases."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, box

from gis_screening.editing.commands import (
    AddFeature,
    DeleteFeature,
    MergeFeatures,
    MoveVertex,
    SetAttributes,
    SplitFeature,
    UndoStack,
)
from gis_screening.editing.diff import diff_layers
from gis_screening.editing.forms import form_for, validate_attributes
from gis_screening.editing.store import AUDIT, ConcurrentModification, EditableLayer
from gis_screening.errors import InputError
from gis_screening.topology import check_topology

X0, Y0 = 430_000, 2_885_000  # GK zone 40 metres


def make_units(path: Path) -> Path:
    cells = [box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(3)]
    gdf = gpd.GeoDataFrame({"code": ["ZH35010220001", "ZH35010220002", "ZH35010230001"], "name": ["甲", "乙", "丙"],
                            "category": ["重点管控单元", "重点管控单元", "一般管控单元"]}, geometry=cells, crs=4549)
    gdf.to_crs(4490).to_file(path, layer="units", driver="GPKG")
    return path


def _ll(x, y):
    return gpd.GeoSeries([shapely.Point(x, y)], crs=4549).to_crs(4490).iloc[0].coords[0]


def _read(path):
    return pyogrio.read_dataframe(path, layer="units")


def _split_first_unit(path):
    """Open ``path`` and split unit ZH35010220001 at 400 m (600 + 400 m² × 1000): (layer, stack, fid)."""
    lyr = EditableLayer(path)
    stack = UndoStack()
    fid = next(k for k, f in lyr.features.items() if f.attrs["code"] == "ZH35010220001")
    cut = gpd.GeoSeries([LineString([(X0 + 400, Y0 - 10), (X0 + 400, Y0 + 1010)])], crs=4549).to_crs(4490).iloc[0]
    stack.push(SplitFeature(lyr, fid, cut))
    return lyr, stack, fid


def test_split_undo_redo_save_reopen_audit(tmp_path):
    path = make_units(tmp_path / "u.gpkg")
    opened = EditableLayer(path).features
    lyr, stack, fid = _split_first_unit(path)
    assert len(lyr.features) == 4
    stack.undo()                                       # back to exactly what was opened: ids, attributes, shapes
    assert lyr.features.keys() == opened.keys() and all(
        lyr.features[k].attrs == opened[k].attrs and lyr.features[k].geom.equals_exact(opened[k].geom, 0)
        for k in opened)
    assert lyr.changes() == []
    stack.redo()
    stack.push(SetAttributes(lyr, fid, {"name": "甲（调整）"}))
    assert lyr.save(reason="2024 动态更新") == 2
    again = EditableLayer(path)
    gdf = again.to_gdf().to_crs(4549)
    assert sorted(gdf["code"]) == ["ZH35010220001", "ZH35010220001-2", "ZH35010220002", "ZH35010230001"]
    areas = dict(zip(gdf["code"], gdf.area.round(3)))
    assert areas["ZH35010220001"] == pytest.approx(600_000, rel=1e-6) and areas["ZH35010220001-2"] == pytest.approx(400_000, rel=1e-6)
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT feature_code, action, old_attributes, new_attributes, reason, old_geometry IS NOT NULL "
                            f"FROM {AUDIT} ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("ZH35010220001", "update"), ("ZH35010220001-2", "insert")]
    assert json.loads(rows[0][2])["name"] == "甲" and json.loads(rows[0][3])["name"] == "甲（调整）"
    assert rows[0][4] == "2024 动态更新" and rows[0][5] == 1
    assert len(_read(path)) == 4  # GDAL still reads it (R-tree triggers satisfied)
    assert not Path(str(path) + ".journal").exists()


def test_redo_reuses_the_ids_it_created(tmp_path):
    """Redo of a split/add must give the new features the same ids, so commands after them still apply."""
    path = make_units(tmp_path / "u.gpkg")
    lyr, stack, fid = _split_first_unit(path)
    new = next(k for k in lyr.features if k < 0)
    stack.push(SetAttributes(lyr, new, {"code": "ZH35010220009"}))
    added = stack.push(AddFeature(lyr, {"code": "ZH35010230009", "name": "新", "category": "一般管控单元"},
                                  gpd.GeoSeries([box(X0 + 3000, Y0, X0 + 3500, Y0 + 500)], crs=4549).to_crs(4490).iloc[0]))
    stack.push(SetAttributes(lyr, added.added[0], {"name": "新（改）"}))
    state = {k: (f.attrs["code"], f.attrs["name"]) for k, f in lyr.features.items()}
    for _ in range(4):
        stack.undo()
    opened = EditableLayer(path).features             # four undos (name, add, code, split): the file as opened
    assert lyr.features.keys() == opened.keys() and all(
        lyr.features[k].attrs == opened[k].attrs and lyr.features[k].geom.equals_exact(opened[k].geom, 0)
        for k in opened)
    for _ in range(4):
        stack.redo()                                     # KeyError before: the ids were new on redo
    assert {k: (f.attrs["code"], f.attrs["name"]) for k, f in lyr.features.items()} == state


def test_topological_vertex_move_keeps_tiling(tmp_path):
    path = make_units(tmp_path / "u.gpkg")
    lyr = EditableLayer(path)
    fid = next(k for k, f in lyr.features.items() if f.attrs["code"] == "ZH35010220001")
    old = _ll(X0 + 1000, Y0 + 1000)
    new = _ll(X0 + 1100, Y0 + 1000)
    UndoStack().push(MoveVertex(lyr, fid, old, new, topological=True, tol=1e-7))
    gdf = lyr.to_gdf()
    rep = check_topology(gdf, list(gdf["code"]))
    assert rep.overlaps == [] and rep.gaps == []
    moved = gdf.to_crs(4549).set_index("code").area
    assert moved["ZH35010220001"] == pytest.approx(1_050_000, rel=1e-4)  # gained a 100 m × 1000 m / 2 triangle
    assert moved["ZH35010220002"] == pytest.approx(950_000, rel=1e-4)


def test_merge_delete_add_and_forms(tmp_path):
    path = make_units(tmp_path / "u.gpkg")
    lyr = EditableLayer(path)
    st = UndoStack()
    fids = sorted(lyr.features)
    st.push(MergeFeatures(lyr, fids[:2]))
    assert len(lyr.features) == 2
    st.push(DeleteFeature(lyr, fids[2]))
    st.push(AddFeature(lyr, {"code": "ZH35010230009", "name": "新", "category": "一般管控单元"},
                       gpd.GeoSeries([box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)], crs=4549).to_crs(4490).iloc[0]))
    st.undo(); st.undo(); st.undo()
    assert len(lyr.features) == 3
    assert [f.name for f in form_for("control_units")][:3] == ["code", "name", "category"]
    assert form_for("control_units")[2].choices == ["优先保护单元", "重点管控单元", "一般管控单元"]
    assert validate_attributes("control_units", {"code": "ZH35010220001", "name": "x", "category": "一般管控单元"}) == [
        "单元编码（code）“ZH35010220001”的类别位 2 与管控类别“一般管控单元”不一致"]
    assert any("必填" in e for e in validate_attributes("control_units", {"code": "ZH35010220001"}))


def test_concurrent_modification_detected(tmp_path):
    path = make_units(tmp_path / "u.gpkg")
    mine, theirs = EditableLayer(path), EditableLayer(path)
    fid = sorted(mine.features)[0]
    UndoStack().push(SetAttributes(theirs, fid, {"name": "他们改的"}))
    theirs.save(user="other")
    UndoStack().push(SetAttributes(mine, fid, {"name": "我改的"}))
    with pytest.raises(ConcurrentModification) as exc:
        mine.save(user="me")
    assert "conflicts: ZH35010220001" in str(exc.value)
    assert _read(path).set_index("code").at["ZH35010220001", "name"] == "他们改的"  # nothing overwritten


def test_journal_recovers_unsaved_edits(tmp_path):
    path = make_units(tmp_path / "u.gpkg")
    lyr = EditableLayer(path)
    fid = sorted(lyr.features)[1]
    UndoStack().push(SetAttributes(lyr, fid, {"name": "未保存的修改"}))
    del lyr  # the app "crashes" without saving
    again = EditableLayer(path)
    assert again.recovered == 1 and again.features[fid].attrs["name"] == "未保存的修改"


SAVER = r"""
import sys, shapely
from gis_screening.editing.store import EditableLayer
from gis_screening.editing.commands import SetAttributes, UndoStack
path, n = sys.argv[1], int(sys.argv[2])
lyr = EditableLayer(path)
for fid in sorted(lyr.features):
    UndoStack().push(SetAttributes(lyr, fid, {"name": f"v{n}"}))
print("ready", flush=True)
lyr.save(reason=f"save {n}")
print("saved", flush=True)
"""


def test_sigkill_during_save_never_breaks_the_file(tmp_path):
    path = make_units(tmp_path / "u.gpkg")
    script = tmp_path / "saver.py"
    script.write_text(SAVER, encoding="utf-8")
    killed = 0
    for n in range(12):
        Path(str(path) + ".journal").unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(n)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.001 * (n % 4))
        try:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
        proc.wait()
        with sqlite3.connect(path) as conn:       # a writer's open rolls back a hot journal left by the kill
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = set(_read(path)["name"])          # GDAL opens it: old or new state, never a mix
        assert names == {"甲", "乙", "丙"} or (len(names) == 1 and names.pop().startswith("v")), names
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert killed > 0


ADDER = r"""
import os, signal, sys, time
from pathlib import Path
import shapely
from gis_screening.editing.store import EditableLayer
from gis_screening.editing.commands import AddFeature, UndoStack
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "window":          # die exactly between the commit and the journal clean-up: the worst moment
    real = Path.unlink
    def unlink(self, *a, **k):
        if self.name.endswith(".journal"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, *a, **k)
    Path.unlink = unlink
lyr = EditableLayer(path)
if lyr.recovered:
    lyr.save(reason="recovered")
UndoStack().push(AddFeature(lyr, {"code": f"ZH3501029{n:04d}", "name": f"新{n}", "category": "一般管控单元"},
                            shapely.box(119.0 + n * 1e-3, 26.0, 119.0005 + n * 1e-3, 26.0005)))
print("ready", flush=True)
lyr.save(reason=f"add {n}")
print("saved", flush=True)
time.sleep(5)
"""


def kill_during_saves(path: Path, script: Path, kills: int, seed: int = 0) -> dict:
    """SIGKILL ``kills`` savers at random moments (every third one exactly between commit and journal
    clean-up); after each, the file opens, holds the old or the new state, audit rows match the features, and
    recovery replays nothing already committed.  Returns counts (used by benchmarks/kill_saves.py)."""
    import random
    rng = random.Random(seed)
    stats = {"killed": 0, "recovered": 0, "committed": 0}
    for n in range(kills):
        mode = "window" if n % 3 == 0 else "random"
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(n), mode], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "ready"
        if mode == "random":
            time.sleep(rng.uniform(0, 0.03))
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        stats["killed"] += proc.returncode == -signal.SIGKILL
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            audit = conn.execute(f"SELECT feature_code FROM {AUDIT} WHERE action='insert'").fetchall()
        on_disk = list(_read(path)["name"])
        lyr = EditableLayer(path)                      # recovery happens here
        names = [f.attrs["name"] for f in lyr.features.values()]
        assert names.count(f"新{n}") == 1, (n, mode, names)          # never lost, never twice
        assert len(names) == len(set(names))
        assert sorted(c for (c,) in audit) == sorted(c for c in _read(path)["code"] if c.startswith("ZH3501029"))
        stats["recovered" if f"新{n}" not in on_disk else "committed"] += 1
        if lyr.recovered:
            lyr.save(reason="recovered")
    return stats


def test_sigkill_during_saves_recovery_replays_nothing_twice(tmp_path):
    path = make_units(tmp_path / "u.gpkg")
    script = tmp_path / "adder.py"
    script.write_text(ADDER, encoding="utf-8")
    stats = kill_during_saves(path, script, 20)
    assert stats["killed"] >= 7 and stats["committed"] >= 7     # the commit-then-kill window was hit
    assert len(_read(path)) == 3 + 20


def test_diff_hand_built(tmp_path):
    old = make_units(tmp_path / "old.gpkg")
    lyr = EditableLayer(old)
    gdf = lyr.to_gdf().to_crs(4549).set_index("code")
    new = gdf.copy()
    new.loc["ZH35010220002", "geometry"] = box(X0 + 1000, Y0, X0 + 2000, Y0 + 1200)   # +200 m × 1000 m
    new.loc["ZH35010230001", "name"] = "丙（更名）"
    new = new.drop(index="ZH35010220001")
    new.loc["ZH35010230002"] = {"fid": 9, "name": "丁", "category": "一般管控单元", "geometry": box(X0, Y0 - 500, X0 + 500, Y0)}
    new = gpd.GeoDataFrame(new.reset_index(), geometry="geometry", crs=4549).to_crs(4490)
    d = diff_layers(gdf.reset_index().set_crs(4549).to_crs(4490), new).to_json()
    assert [a["code"] for a in d["added"]] == ["ZH35010230002"] and d["added"][0]["area_m2"] == pytest.approx(250_000, rel=1e-6)
    assert [r["code"] for r in d["removed"]] == ["ZH35010220001"]
    ch = {c["code"]: c for c in d["changed"]}
    assert ch["ZH35010220002"]["area_gained_m2"] == pytest.approx(200_000, rel=1e-6) and ch["ZH35010220002"]["area_lost_m2"] == 0
    assert ch["ZH35010230001"]["attributes"] == {"name": {"old": "丙", "new": "丙（更名）"}}


def test_zones_cli(tmp_path):
    old = make_units(tmp_path / "old.gpkg")
    new = tmp_path / "new.gpkg"
    g = _read(old)
    g.loc[0, "geometry"] = gpd.GeoSeries([box(X0, Y0, X0 + 1010, Y0 + 1000)], crs=4549).to_crs(4490).iloc[0]
    g.to_file(new, layer="units", driver="GPKG")
    cli = [sys.executable, "-m", "gis_screening.cli", "zones"]
    res = subprocess.run(cli + ["diff", str(old), str(new), "--json", str(tmp_path / "d.json")], capture_output=True, text=True)
    assert res.returncode == 0 and "changed 1" in res.stdout
    topo = subprocess.run(cli + ["topology", str(new)], capture_output=True, text=True)
    assert topo.returncode == 1 and "overlaps: 1, total 10,000.00 m²" in topo.stdout
    assert subprocess.run(cli + ["topology", str(old)], capture_output=True).returncode == 0
    bnd = tmp_path / "county.gpkg"   # the county reaches 200 m further north than the units: a 3000 m × 200 m gap
    gpd.GeoDataFrame({"name": ["县界"]}, geometry=[box(X0, Y0, X0 + 3000, Y0 + 1200)], crs=4549).to_crs(4490).to_file(bnd)
    gap = subprocess.run(cli + ["topology", str(old), "--boundary", str(bnd)], capture_output=True, text=True)
    assert gap.returncode == 1 and "gaps: 1, total 600,000.00 m²" in gap.stdout


def test_snapping_vertex_then_edge():
    from gis_screening.editing.snap import snap_point
    geoms = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    assert snap_point(10.3, 9.8, geoms, 0.5) == (10.0, 10.0, "vertex")
    assert snap_point(5.0, 10.2, geoms, 0.5) == (5.0, 10.0, "edge")
    assert snap_point(5.0, 5.0, geoms, 0.5) == (5.0, 5.0, None)


def test_insert_and_delete_vertex_topologically(tmp_path):
    from gis_screening.editing.commands import DeleteVertex, InsertVertex
    path = make_units(tmp_path / "u.gpkg")
    lyr = EditableLayer(path)
    st = UndoStack()
    fid = next(k for k, f in lyr.features.items() if f.attrs["code"] == "ZH35010220001")
    shared = _ll(X0 + 1000, Y0 + 500)           # a point on the edge shared with ZH35010220002
    st.push(InsertVertex(lyr, fid, shared, topological=True, tol=1e-7))
    counts = {f.attrs["code"]: len(f.geom.exterior.coords) for f in lyr.features.values()}
    assert counts["ZH35010220001"] == 6 and counts["ZH35010220002"] == 6 and counts["ZH35010230001"] == 5
    st.push(MoveVertex(lyr, fid, shared, _ll(X0 + 1200, Y0 + 500), topological=True, tol=1e-7))
    gdf = lyr.to_gdf()
    rep = check_topology(gdf, list(gdf["code"]))
    assert rep.overlaps == [] and rep.gaps == []
    st.undo()
    st.push(DeleteVertex(lyr, fid, shared, topological=True, tol=1e-7))
    assert {len(f.geom.exterior.coords) for f in lyr.features.values()} == {5}


def test_vertex_edits_on_a_3d_layer_keep_its_z(tmp_path):
    """A zone layer with Z (exported from CAD or KML, altitude on every vertex) takes vertex inserts, moves and
    deletes; the new vertex gets the Z between its neighbours and is saved with it (was a numpy broadcast error)."""
    from gis_screening.editing.commands import DeleteVertex, InsertVertex
    path = make_units(tmp_path / "u.gpkg")
    gdf = gpd.read_file(path, layer="units")
    gdf.geometry = shapely.force_3d(gdf.geometry.values, 50.0)
    gdf.to_file(path, layer="units", driver="GPKG")
    lyr = EditableLayer(path)
    st = UndoStack()
    fid = next(k for k, f in lyr.features.items() if f.attrs["code"] == "ZH35010220001")
    shared = _ll(X0 + 1000, Y0 + 500)
    st.push(InsertVertex(lyr, fid, shared, topological=True, tol=1e-7))
    coords = shapely.get_coordinates(lyr.features[fid].geom, include_z=True)
    assert len(coords) == 6 and set(coords[:, 2].tolist()) == {50.0}
    st.push(MoveVertex(lyr, fid, shared, _ll(X0 + 1200, Y0 + 500), topological=True, tol=1e-7))
    lyr.save()
    saved = _read(path)
    assert saved.geometry.has_z.all() and len(saved.geometry.iloc[0].exterior.coords) == 6
    st.undo()
    st.push(DeleteVertex(lyr, fid, shared, topological=True, tol=1e-7))
    assert {len(f.geom.exterior.coords) for f in lyr.features.values()} == {5}


@pytest.mark.parametrize("prefer,expect", [("theirs", "他们改的"), ("ours", "我改的")])
def test_merge_after_concurrent_modification(tmp_path, prefer, expect):
    path = make_units(tmp_path / "u.gpkg")
    mine, theirs = EditableLayer(path), EditableLayer(path)
    a, b = sorted(mine.features)[:2]
    UndoStack().push(SetAttributes(theirs, a, {"name": "他们改的"}))
    theirs.save(user="other")
    UndoStack().push(SetAttributes(mine, a, {"name": "我改的"}))
    UndoStack().push(SetAttributes(mine, b, {"name": "只有我改"}))
    items = {i["code"]: i for i in mine.merge_items()}
    assert items["ZH35010220001"]["conflict"] and items["ZH35010220002"] == {
        "fid": b, "code": "ZH35010220002", "theirs": False, "ours": True, "conflict": False}
    mine.rebase(prefer)
    mine.save(reason="merge")
    names = _read(path).set_index("code")["name"]
    assert names["ZH35010220001"] == expect and names["ZH35010220002"] == "只有我改"


def test_foreign_triggers_are_reported_and_refused_for_editing(tmp_path):
    """A GeoPackage whose own triggers would rewrite saved units or empty the audit table is not editable, and
    `layers check` names the trigger; the standard R-tree triggers are fine."""
    path = make_units(tmp_path / "u.gpkg")
    EditableLayer(path)                                   # GDAL's R-tree triggers only: editable
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TRIGGER rename_all AFTER UPDATE ON units BEGIN UPDATE units SET name = 'x'; END")
    with pytest.raises(InputError) as err:
        EditableLayer(path)
    assert "rename_all" in str(err.value)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"name: t\nlayers:\n  - {{role: control_units, source: {path}}}\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "layers", "check", str(manifest)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "rename_all" in res.stdout


def test_zones_topology_of_any_polygon_layer_with_its_id_field(fujian_counties):
    """A planner checks the real county boundaries (no unit codes): without an id the error says which option names
    it; with --id-field adcode the 85 counties are checked and named by file (they tile: no overlap, no gap)."""
    cli = [sys.executable, "-m", "gis_screening.cli", "zones", "topology", str(fujian_counties), "--role", "other"]
    bad = subprocess.run(cli, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.rstrip().endswith("; or name it with --id-field")
    ok = subprocess.run(cli + ["--id-field", "adcode"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("fujian_counties: 85 features") and "overlaps: 0" in ok.stdout and "gaps: 0" in ok.stdout
