"""PostGIS as a layer source and shared editing store, against a real server (tests/pgcluster.py): publish with
`layers push`, screen from the tables (equal to GeoPackage), hostile names, libpq password sources, two planners
editing at once (optimistic locking, merge), change notifications, and a client killed mid-transaction."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
import yaml

from gis_screening.editing.pgstore import PostgisLayer
from gis_screening.editing.store import ConcurrentModification
from gis_screening.errors import InputError
from gis_screening.io import read_layer, read_raw
from gis_screening.io.postgis import AUDIT, COMMITS, ChangeListener
from gis_screening.layerset import load_layerset

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CLI = [sys.executable, "-m", "gis_screening.cli"]


def push(url: str, schema: str, manifest: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "layers", "push", str(manifest), f"{url}?schema={schema}", "--manifest-out",
                           str(out), *extra], capture_output=True, text=True, timeout=120)


@pytest.fixture
def pushed(pg_schema, tmp_path) -> tuple[str, str, Path]:
    """The sample layer set published into a fresh schema: (server url, schema, new manifest)."""
    url, schema = pg_schema
    out = tmp_path / "pg" / "layerset.yaml"
    r = push(url, schema, SAMPLE / "layerset.yaml", out)
    assert r.returncode == 0, r.stderr
    return url, schema, out


def table_url(url: str, schema: str, table: str) -> str:
    return f"{url}?schema={schema}&table={table}"


def test_push_writes_tables_and_a_manifest_that_screens_like_the_geopackage(pushed, tmp_path):
    from gis_screening.io.projects import load_projects
    from gis_screening.screening import load_rules, screen
    url, schema, manifest = pushed
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    assert [e["role"] for e in doc["layers"]] == ["control_units", "eco_redline", "protected_areas", "water_sources",
                                                  "industrial_parks", "air_quality", "other"]
    assert all(e["source"].startswith(f"{url}?schema={schema}&table=") for e in doc["layers"])
    assert (manifest.parent / doc["admission_lists"][0]["source"]).resolve() == (SAMPLE / "准入清单.xlsx").resolve()
    with psycopg.connect(url) as conn:
        # original field names and code values kept, CGCS2000, GiST index, version per feature
        cols = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema=%s "
                                           "AND table_name='control_units' ORDER BY ordinal_position", (schema,))]
        assert cols[:3] == ["gs_fid", "HJZHGKDYBM", "HJZHGKDYMC"] and cols[-2:] == ["gs_version", "geom"]
        assert conn.execute(f'SELECT DISTINCT ST_SRID(geom) FROM "{schema}".control_units').fetchall() == [(4490,)]
        idx = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname=%s AND tablename='eco_redline'",
                           (schema,)).fetchall()
        assert any("USING gist (geom)" in r[0] for r in idx)
        assert conn.execute(f'SELECT count(*) FROM "{schema}".control_units').fetchone()[0] == 60
        assert conn.execute(f'SELECT "ZHGKDYFL" FROM "{schema}".control_units ORDER BY gs_fid LIMIT 1').fetchone()[0] \
            in ("1", "2", "3")
    files, tables = load_layerset(SAMPLE / "layerset.yaml"), load_layerset(manifest)
    projects = load_projects(SAMPLE / "projects" / "projects.gpkg")
    rules = load_rules()
    a = screen(projects, files, rules)
    b = screen(projects, tables, rules)
    assert [r.verdict for r in a.results] == [r.verdict for r in b.results]
    n = 0
    for ra, rb in zip(a.results, b.results):
        assert [f.message for f in ra.findings] == [f.message for f in rb.findings]
        assert [(o.role, o.feature_id) for o in ra.overlaps] == [(o.role, o.feature_id) for o in rb.overlaps]
        for oa, ob in zip(ra.overlaps, rb.overlaps):
            assert abs(oa.overlap_area_m2 - ob.overlap_area_m2) <= 1e-9
            assert abs(oa.distance_m - ob.distance_m) <= 1e-9
            n += 1
    assert n > 50
    # the CLI screens from the published manifest too, with the same verdict table
    cmd = [*CLI, "screen", "--project", str(SAMPLE / "projects" / "projects.gpkg"), "--table", "--no-cache"]
    ra = subprocess.run([*cmd, "--layerset", str(SAMPLE / "layerset.yaml"), "--jsonl", str(tmp_path / "a.jsonl")],
                        capture_output=True, text=True, timeout=120)
    rb = subprocess.run([*cmd, "--layerset", str(manifest), "--jsonl", str(tmp_path / "b.jsonl")], capture_output=True, text=True,
                        timeout=120)
    assert rb.returncode == 0, rb.stderr
    assert ra.stdout.splitlines()[:-1] == rb.stdout.splitlines()[:-1]


def test_push_refuses_an_existing_table_and_replaces_it_when_asked(pushed, tmp_path):
    url, schema, _ = pushed
    r = push(url, schema, SAMPLE / "layerset.yaml", tmp_path / "again.yaml")
    assert r.returncode == 2 and "already exists" in r.stderr and "--replace" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "again.yaml").exists()
    r = push(url, schema, SAMPLE / "layerset.yaml", tmp_path / "again.yaml", "--replace")
    assert r.returncode == 0, r.stderr


def test_hostile_table_field_and_value_names_round_trip(pg_schema, tmp_path):
    url, _ = pg_schema
    schema = 'we"ird; DROP SCHEMA public CASCADE; --'
    value = "O'Brien\"); DROP TABLE x; -- 名称\\"
    gdf = gpd.GeoDataFrame({"BSM": ["A'1", "B\"2"], 'MC"; DROP TABLE y; --': [value, "普通"]},
                           geometry=[shapely.box(119.0, 26.0, 119.01, 26.01), shapely.box(119.02, 26.0, 119.03, 26.01)],
                           crs=4490)
    src = tmp_path / "hostile.gpkg"
    gdf.to_file(src, layer="x")
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"name": "hostile", "layers": [
        {"role": "other", "source": "hostile.gpkg", "name": "恶意"}]}, allow_unicode=True), encoding="utf-8")
    r = push(url, schema.replace(" ", "%20").replace(";", "%3B").replace('"', "%22"), tmp_path / "m.yaml",
             tmp_path / "out.yaml")
    assert r.returncode == 0, r.stderr
    ls = load_layerset(tmp_path / "out.yaml")
    back = ls.layers[0].gdf
    assert list(back["code"]) == ["A'1", "B\"2"] and list(back['MC"; DROP TABLE y; --']) == [value, "普通"]
    raw = read_raw(ls.layers[0].source).gdf
    assert list(raw.columns) == ["BSM", 'MC"; DROP TABLE y; --', "geometry"]
    with psycopg.connect(url) as conn:   # public schema and its tables survived
        assert conn.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name='public'").fetchone()


def test_password_comes_from_libpq_sources_and_never_from_the_address(pushed, tmp_path, monkeypatch):
    from pgcluster import PLANNER_PASSWORD
    url, schema, _ = pushed
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO planner')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO planner')
    planner = table_url(url.replace("gis@", "planner@"), schema, "eco_redline")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(InputError) as exc:
        read_layer(planner, "eco_redline")
    assert "cannot connect to PostgreSQL" in str(exc.value) and "\n" not in str(exc.value)
    monkeypatch.setenv("PGPASSWORD", PLANNER_PASSWORD)
    assert read_layer(planner, "eco_redline").feature_count == 12
    monkeypatch.delenv("PGPASSWORD")
    port = url.split(":")[2].split("/")[0]
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{port}:gis:planner:{PLANNER_PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    assert read_layer(planner, "eco_redline").feature_count == 12
    with pytest.raises(InputError) as exc:
        read_layer(planner.replace("planner@", f"planner:{PLANNER_PASSWORD}@"), "eco_redline")
    assert "PGPASSWORD" in str(exc.value) and PLANNER_PASSWORD not in str(exc.value)


def test_bad_addresses_give_one_line(pushed):
    url, schema, _ = pushed
    for source, expected in ((table_url(url, schema, "nope"), "no such table"),
                             (f"{url}", "names no table"),
                             ("postgresql://gis@127.0.0.1:1/gis?table=a.b", "cannot connect")):
        with pytest.raises(InputError) as exc:
            read_layer(source, "eco_redline")
        assert expected in str(exc.value) and "\n" not in str(exc.value)


def _units(url, schema, tmp_path, who: str) -> PostgisLayer:
    return PostgisLayer(table_url(url, schema, "control_units"), code_field="HJZHGKDYBM",
                        journal=tmp_path / f"{who}.journal")


def _audit(url, schema) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(f'SELECT "user", feature_id, action, version, new_attributes->>\'HJZHGKDYMC\', reason '
                            f'FROM "{schema}".{AUDIT} ORDER BY id').fetchall()


def test_two_planners_different_features_both_save_same_feature_merges(pushed, tmp_path):
    url, schema, _ = pushed
    a, b = _units(url, schema, tmp_path, "a"), _units(url, schema, tmp_path, "b")
    f1, f2, f3 = sorted(a.features)[:3]
    a.set_feature(f1, {**a.features[f1].attrs, "HJZHGKDYMC": "甲改"}, a.features[f1].geom)
    b.set_feature(f2, {**b.features[f2].attrs, "HJZHGKDYMC": "乙改"}, b.features[f2].geom)
    assert a.save("甲的修改", user="甲") == 1
    assert b.save("乙的修改", user="乙") == 1          # a different feature: no conflict
    assert b.features[f1].attrs["HJZHGKDYMC"] == "甲改"  # and B now sees A's change
    # both change the same feature: the second save is refused, nothing written, and shown the merge
    a.set_feature(f3, {**a.features[f3].attrs, "HJZHGKDYMC": "甲再改"}, a.features[f3].geom)
    moved = shapely.affinity.translate(b.features[f3].geom, 1e-5, 0)
    b.set_feature(f3, {**b.features[f3].attrs, "HJZHGKDYMC": "乙再改"}, moved)
    b.add_feature({**b.features[f3].attrs, "HJZHGKDYMC": "乙新增"}, shapely.box(119.0, 26.0, 119.001, 26.001))
    a.save("甲", user="甲")
    before = _audit(url, schema)
    with pytest.raises(ConcurrentModification) as exc:
        b.save("乙", user="乙")
    code = b.code_of(f3)
    assert f"conflicts: {code}" in str(exc.value)
    assert _audit(url, schema) == before                 # the refused save wrote nothing (not even the insert)
    items = {i["fid"]: i for i in b.merge_items()}
    assert items[f3]["conflict"] and items[f3]["theirs"] and items[f3]["ours"]
    assert b.rebase("ours") == 2
    assert b.save("乙合并", user="乙") == 2
    with psycopg.connect(url) as conn:
        rows = dict(conn.execute(f'SELECT gs_fid, "HJZHGKDYMC" FROM "{schema}".control_units').fetchall())
        versions = dict(conn.execute(f'SELECT gs_fid, gs_version FROM "{schema}".control_units').fetchall())
    assert rows[f1] == "甲改" and rows[f2] == "乙改" and rows[f3] == "乙再改" and "乙新增" in rows.values()
    assert versions[f1] == 2 and versions[f2] == 2 and versions[f3] == 3
    assert [(r[0], r[2], r[3], r[4]) for r in _audit(url, schema)] == [
        ("甲", "update", 2, "甲改"), ("乙", "update", 2, "乙改"), ("甲", "update", 2, "甲再改"),
        ("乙", "update", 3, "乙再改"), ("乙", "insert", 1, "乙新增")]


def test_a_save_notifies_other_sessions(pushed, tmp_path):
    url, schema, _ = pushed
    listener = ChangeListener(url)
    try:
        assert listener.poll() == []
        a = _units(url, schema, tmp_path, "a")
        fid = min(a.features)
        a.set_feature(fid, {**a.features[fid].attrs, "HJZHGKDYMC": "通知"}, a.features[fid].geom)
        a.save(user="甲")
        notes = listener.poll(timeout=5)
        assert notes == [{"schema": schema, "table": "control_units", "user": "甲", "changes": 1,
                          "session": a.session_id}]
    finally:
        listener.close()


KILLED_SAVER = """
import sys, time
from gis_screening.editing.pgstore import PostgisLayer
lyr = PostgisLayer(sys.argv[1], code_field="HJZHGKDYBM", journal=sys.argv[2])
for fid in sorted(lyr.features)[:3]:
    lyr.set_feature(fid, {**lyr.features[fid].attrs, "HJZHGKDYMC": "未提交"}, lyr.features[fid].geom)
print("edited", flush=True)
lyr.save("killed", user="kill")
print("saved", flush=True)
"""


def test_client_killed_mid_transaction_leaves_nothing_half_written(pushed, tmp_path):
    url, schema, _ = pushed
    source = table_url(url, schema, "control_units")
    journal = tmp_path / "k.journal"
    with psycopg.connect(url) as blocker:
        # hold the audit table so the saver stops inside its transaction (after updating features)
        blocker.execute(f'LOCK TABLE "{schema}".{AUDIT} IN ACCESS EXCLUSIVE MODE')
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_SAVER), source, str(journal)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "edited"
        deadline = time.time() + 30
        with psycopg.connect(url, autocommit=True) as watch:
            while time.time() < deadline:
                waiting = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name='gis-screening' "
                                        "AND wait_event_type='Lock'").fetchone()[0]
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting, "the save never reached the audit insert"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            blocker.rollback()                       # release the lock; the orphaned backend then aborts
            while watch.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name='gis-screening'"
                                ).fetchone()[0] and time.time() < deadline:
                time.sleep(0.05)
    with psycopg.connect(url) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{schema}".control_units WHERE "HJZHGKDYMC"=%s '
                            "OR gs_version <> 1", ("未提交",)).fetchone()[0] == 0
        assert conn.execute(f'SELECT count(*) FROM "{schema}".{AUDIT}').fetchone()[0] == 0
        assert conn.execute(f'SELECT count(*) FROM "{schema}".{COMMITS}').fetchone()[0] == 0
    # reopening replays the journal once; saving then commits exactly those three edits
    again = PostgisLayer(source, code_field="HJZHGKDYBM", journal=journal)
    assert again.recovered == 3
    assert again.save("recovered", user="kill") == 3
    assert not journal.exists()
    assert PostgisLayer(source, code_field="HJZHGKDYBM", journal=journal).recovered == 0
    assert [r[2] for r in _audit(url, schema)] == ["update"] * 3


@pytest.mark.gui
def test_app_edits_a_postgis_layer_merges_and_hears_other_planners(pushed, tmp_path, qtbot, new_window):
    """The desktop journey on a shared layer: open the published manifest, screen, edit a unit's name (undo/redo),
    save with a reason (version + audit row), re-screen shows the new name; another planner's save is announced and
    reloaded into the open edit; a conflicting save goes through the merge and keeps ours."""
    pytest.importorskip("qtpy")
    url, schema, manifest = pushed
    w = new_window(manifest)
    w.import_projects(SAMPLE / "projects" / "txt" / "P2026-002.txt")
    before = w.screen_and_wait()
    ov = max((o for o in before["results"][0]["overlaps"] if o["role"] == "control_units"),
             key=lambda o: o["overlap_area_m2"])
    assert w.start_editing("环境管控单元")
    ctl = w.editor
    assert isinstance(ctl.editable, PostgisLayer) and ctl.editable.code_field == "HJZHGKDYBM"
    fid = next(f for f in ctl.fids() if ctl.editable.features[f].attrs["HJZHGKDYBM"] == ov["feature_id"])
    ctl.set_attributes(fid, {"HJZHGKDYMC": "应用内改名"})
    w.undo.undo()
    assert ctl.editable.features[fid].attrs["HJZHGKDYMC"] == ov["feature_name"]
    w.undo.redo()
    assert w.save_edits("改名（测试）")
    assert w.shared.poll() == 0                           # our own save is not announced to us
    with psycopg.connect(url) as conn:
        assert conn.execute(f'SELECT "HJZHGKDYMC", gs_version FROM "{schema}".control_units WHERE gs_fid=%s',
                            (fid,)).fetchone() == ("应用内改名", 2)
    assert [(r[1], r[2], r[5]) for r in _audit(url, schema)] == [(fid, "update", "改名（测试）")]
    after = w.screen_and_wait()
    assert next(o for o in after["results"][0]["overlaps"] if o["feature_id"] == ov["feature_id"])["feature_name"] \
        == "应用内改名"
    # another planner saves a different unit: announced (timer poll), reloaded into the open edit
    other = _units(url, schema, tmp_path, "other")
    f2 = next(f for f in sorted(other.features) if f != fid)
    other.set_feature(f2, {**other.features[f2].attrs, "HJZHGKDYMC": "他人改名"}, other.features[f2].geom)
    other.save("乙改", user="乙")
    qtbot.waitUntil(lambda: bool(w.stale_layers), timeout=15_000)
    assert "乙" in w.lbl_msg.text() and w.btn_reload.isVisible()
    assert w.reload_shared_layers() == 1
    units = w.session.views[w.session.index_of("环境管控单元")].layer.gdf
    assert "他人改名" in set(units["name"])
    # both change the same unit: our save is refused, merged keeping ours, saved
    other.set_feature(fid, {**other.features[fid].attrs, "HJZHGKDYMC": "他人再改"}, other.features[fid].geom)
    other.save("乙再改", user="乙")
    ctl.set_attributes(fid, {"HJZHGKDYMC": "我方再改"})
    w.ask_merge = lambda dlg: "ours"
    assert w.save_edits("冲突后保留我方")
    with psycopg.connect(url) as conn:
        assert conn.execute(f'SELECT "HJZHGKDYMC", gs_version FROM "{schema}".control_units WHERE gs_fid=%s',
                            (fid,)).fetchone() == ("我方再改", 4)
    assert not ctl.unsaved
    w.close()


def test_an_update_by_another_tool_moves_the_version_on(pushed, tmp_path):
    """An editor that ignores gs_version (QGIS, psql) still bumps it (trigger), so our stale edit is refused."""
    url, schema, _ = pushed
    a = _units(url, schema, tmp_path, "a")
    fid = min(a.features)
    with psycopg.connect(url) as conn:
        conn.execute(f'UPDATE "{schema}".control_units SET "HJZHGKDYMC"=%s WHERE gs_fid=%s', ("psql 改", fid))
        assert conn.execute(f'SELECT gs_version FROM "{schema}".control_units WHERE gs_fid=%s', (fid,)).fetchone() \
            == (2,)
    a.set_feature(fid, {**a.features[fid].attrs, "HJZHGKDYMC": "我改"}, a.features[fid].geom)
    with pytest.raises(ConcurrentModification):
        a.save(user="甲")


def test_batch_from_postgis_equals_screen_and_a_layer_change_is_a_different_batch(pushed, tmp_path):
    from gis_screening.io.projects import load_projects
    from gis_screening.screening import load_rules, screen
    url, schema, manifest = pushed
    projects_file = SAMPLE / "projects" / "projects.gpkg"
    out = tmp_path / "run"
    env = dict(os.environ, GIS_SCREENING_CACHE=str(tmp_path / "cache"))
    args = [*CLI, "batch", "--layerset", str(manifest), "--projects", str(projects_file), "--out", str(out),
            "--workers", "1", "--partition-size", "10"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    expected = {r.project.id: r.verdict for r in
                screen(load_projects(projects_file), load_layerset(SAMPLE / "layerset.yaml"), load_rules()).results}
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()[1:]
    assert {r["project"]["id"]: r["verdict"] for r in map(json.loads, lines)} == expected
    with psycopg.connect(url) as conn:      # a planner edits a unit: the old run folder no longer matches
        conn.execute(f'UPDATE "{schema}".control_units SET "HJZHGKDYMC"=%s WHERE gs_fid=1', ("改",))
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 2 and "different batch" in res.stderr


def test_push_keeps_the_kinds_a_manifest_declares_absent(pg_schema, tmp_path, units_only_layerset):
    """`absent:` (the kinds of zone the area has none of) is part of what a layer set says: the published manifest
    keeps it, so screening against the tables leaves the same rules undecided as against the files."""
    url, schema = pg_schema
    manifest = tmp_path / "declared.yaml"
    manifest.write_text(units_only_layerset.read_text(encoding="utf-8") + "absent: [eco_redline, water_sources]\n",
                        encoding="utf-8")
    out = tmp_path / "pg" / "layerset.yaml"
    r = push(url, schema, manifest, out)
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["absent"] == ["eco_redline", "water_sources"]
    assert load_layerset(out).absent == load_layerset(manifest).absent == ["eco_redline", "water_sources"]
