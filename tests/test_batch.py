"""`gis-screening batch` on a real dask LocalCluster (processes, loopback only) and on a scheduler and workers
started on their own: same results as `screen`, across two GK zones; resumable after SIGKILL of the client, and
finishing after SIGKILL of a worker, with exactly one row per project."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gis_screening.io.projects import load_projects
from gis_screening.layerset import load_layerset
from gis_screening.screening import load_rules, screen

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CLI = [sys.executable, "-m", "gis_screening.cli"]


@pytest.fixture(scope="module")
def two_zones(tmp_path_factory) -> Path:
    """The 25 sample projects plus copies moved 0.8° west, into GK zone 39 (EPSG:4548)."""
    out = tmp_path_factory.mktemp("batch") / "projects.gpkg"
    gdf = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    west = gdf.copy()
    west["项目编号"] = west["项目编号"] + "-W"
    west.geometry = shapely.transform(west.geometry.values, lambda c: c - [0.8, 0.0])
    gpd.GeoDataFrame(gpd.pd.concat([gdf, west], ignore_index=True), crs=gdf.crs).to_file(out, driver="GPKG")
    return out


def _env(tmp_path):
    return dict(os.environ, GIS_SCREENING_CACHE=str(tmp_path / "cache"), HOME=str(tmp_path))


def _rows(out: Path) -> gpd.GeoDataFrame:
    return gpd.pd.concat([gpd.read_parquet(p) for p in sorted((out / "parts").glob("z*.parquet"))], ignore_index=True)


def test_batch_equals_screen_across_two_zones(two_zones, tmp_path):
    out = tmp_path / "run"
    res = subprocess.run(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects", str(two_zones),
                                "--out", str(out), "--workers", "2", "--partition-size", "9"],
                         capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    # the dashboard address is printed only where the dashboard is served (it needs bokeh, not installed here)
    assert ("dask dashboard:" in res.stderr) == (importlib.util.find_spec("bokeh") is not None)
    projects = load_projects(two_zones)
    expected = {r["project"]["id"]: r for r in
                screen(projects, load_layerset(SAMPLE / "layerset.yaml"), load_rules()).to_json()["results"]}
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["type"] == "header"
    got = {r["project"]["id"]: r for r in map(json.loads, lines[1:])}
    assert set(got) == set(expected) and len(got) == 50
    for pid, r in expected.items():
        assert got[pid]["verdict"] == r["verdict"], pid
        assert [(f["rule_id"], f["level"], f["message"]) for f in got[pid]["findings"]] == \
            [(f["rule_id"], f["level"], f["message"]) for f in r["findings"]], pid
    assert {got[p]["project"]["metric_crs"] for p in got} == {"EPSG:4548", "EPSG:4549"}
    rows = _rows(out)
    assert sorted(rows["id"]) == sorted(expected) and rows["id"].is_unique
    assert dict(zip(rows["id"], rows["verdict"])) == {p: r["verdict"] for p, r in expected.items()}
    assert rows.crs.to_epsg() == 4490 and set(rows["partition"].str[:5]) == {"z4548", "z4549"}
    from openpyxl import load_workbook
    book = load_workbook(out / "summary.xlsx")
    assert book.sheetnames == ["统计", "汇总"]
    counts = Counter(r["verdict_label"] for r in expected.values())
    assert (book["统计"].page_setup.orientation, book["统计"].print_options.gridLines) == ("landscape", True)
    assert [[c.value for c in r] for r in book["统计"].iter_rows()] == [
        ["结论", "项目数"], *([k, counts[k]] for k in ("不符合", "需人工核实", "有条件符合", "符合")), ["合计", 50]]
    ws = book["汇总"]
    assert (ws.freeze_panes, ws.column_dimensions["D"].width, ws.page_setup.orientation, ws.print_title_rows,
            ws.print_options.gridLines) == ("A2", 40, "landscape", "$1:$1", True)     # read and printed as the report's
    assert ws.max_row == 51 and [c.value for c in ws[1]] == ["项目编号", "项目名称", "结论", "决定性规则", "面积 m²",
                                                              "长度 m", "发现数"]
    xl = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [r[0] for r in xl] == [json.loads(line)["project"]["id"] for line in lines[1:]]   # same order
    assert {r[0]: r[2] for r in xl} == {p: r["verdict_label"] for p, r in expected.items()}
    # finished: the partitions' JSONL are gone (results.jsonl holds them: not kept twice), the GeoParquet stays;
    # the same command again does nothing and says so, the outputs untouched
    assert not list((out / "parts").glob("*.jsonl")) and len(list((out / "parts").glob("z*.parquet"))) == 6
    before = {f: (out / f).read_bytes() for f in ("results.jsonl", "summary.xlsx")}
    again = subprocess.run(res.args, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert again.returncode == 0 and "screened 50 project(s) in 6 partition(s) (6 already done): 不符合 " \
        f"{counts['不符合']}，需人工核实 {counts['需人工核实']}，有条件符合 {counts['有条件符合']}，符合 {counts['符合']}" \
        in again.stderr, again.stderr
    assert {f: (out / f).read_bytes() for f in before} == before


def test_batch_resumes_after_sigkill_with_one_row_per_project(two_zones, tmp_path):
    out = tmp_path / "run"
    args = CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects", str(two_zones),
                  "--out", str(out), "--workers", "2", "--partition-size", "3"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(tmp_path),
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("z*.parquet"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)              # the client and its local cluster, mid-run
    proc.wait()
    first = len(list((out / "parts").glob("z*.parquet")))
    assert first >= 2
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    rows = _rows(out)
    assert rows["id"].is_unique and len(rows) == 50
    assert f"({first} already done)" in res.stderr          # committed partitions are skipped, not redone
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["project"]["id"] for line in lines[1:]]
    assert len(ids) == len(set(ids)) == 50 and sorted(ids) == sorted(rows["id"])
    assert not list((out / "parts").glob(".*tmp*"))
    other = tmp_path / "other.gpkg"
    gpd.read_file(two_zones).iloc[:5].to_file(other, driver="GPKG")
    res = subprocess.run(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects", str(other),
                                "--out", str(out)], capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert res.returncode == 2 and "different batch" in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["ctrl-c", "kill"])
def test_ctrl_c_or_kill_stops_a_batch_with_one_line_and_the_rerun_continues(two_zones, tmp_path, how):
    """Ctrl-C (SIGINT to the whole foreground group: the client and its local workers) ends the run with exit 130,
    `kill` (SIGTERM to the client) with 143, and one line saying how far it got — no worker tracebacks, no dask or
    multiprocessing notes — and the same command continues."""
    import re
    out = tmp_path / "run"
    args = CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects", str(two_zones),
                  "--out", str(out), "--workers", "2", "--partition-size", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "parts").glob("z*.parquet")):
        time.sleep(0.02)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.terminate()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == (130 if how == "ctrl-c" else 143), stderr[-3000:]
    m = re.fullmatch(rf"interrupted: (\d+) partition\(s\) committed in {re.escape(str(out))}; run the same "
                     r"command again to continue", stderr.strip())
    assert m, stderr[-3000:]
    committed = int(m.group(1))
    assert 1 <= committed < 50 and len(list((out / "parts").glob("z*.parquet"))) == committed
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"({committed} already done)" in res.stderr
    rows = _rows(out)
    assert rows["id"].is_unique and len(rows) == 50


def _session(sid: int) -> list[str]:
    """Command lines of the processes of session ``sid`` (the client started with a session of its own, and
    everything it started)."""
    found = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[3]) == sid:
                found.append((d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, ValueError, IndexError):
            pass                # ended meanwhile
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_ctrl_c_while_the_local_workers_start_is_one_line_and_leaves_no_process(two_zones, tmp_path):
    """Ctrl-C while the local workers are still starting (importing) reaches them too: before, each printed a
    KeyboardInterrupt traceback from its start-up.  Now they are forked from a server that ignores SIGINT, so the
    command prints its one line, exits 130 and leaves no process behind."""
    import re
    out = tmp_path / "run"
    proc = subprocess.Popen(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects", str(two_zones),
                                   "--out", str(out), "--workers", "2", "--partition-size", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline:    # the worker processes exist (spawned ones, or the fork server and a worker)
        started = [c for c in _session(proc.pid) if "multiprocessing" in c and "resource_tracker" not in c]
        if len(started) >= 2:
            break
        time.sleep(0.01)
    time.sleep(0.3)      # into their start-up (imports), where a fresh worker would print a traceback (forked ones
    os.killpg(proc.pid, signal.SIGINT)      # come preloaded and may have committed a partition or two by now)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert re.fullmatch(rf"interrupted: \d+ partition\(s\) committed in {re.escape(str(out))}; run the same command "
                        r"again to continue", stderr.strip()), stderr[-3000:]
    deadline = time.time() + 10
    while _session(proc.pid) and time.time() < deadline:
        time.sleep(0.05)
    assert _session(proc.pid) == []


def test_ctrl_c_while_reaching_a_scheduler_does_not_wait_for_the_connect_timeout(tmp_path):
    """A scheduler address that takes the connection but never answers: dask tries for 30 s; Ctrl-C in that time
    ends the command at once."""
    import socket
    silent = socket.socket()                # listens (the kernel completes the handshake), never speaks
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    proc = subprocess.Popen(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects",
                                   str(SAMPLE / "projects" / "projects.gpkg"), "--out", str(tmp_path / "run"),
                                   "--scheduler", f"tcp://127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)                           # loading done, connecting
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)    # well before dask's 30-s connect timeout
    assert proc.returncode == 130
    silent.close()
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("waiting for the dask scheduler")]
    assert len(lines) == 1 and lines[0].startswith("interrupted: 0 partition(s) committed"), stderr


def test_a_scheduler_address_nothing_listens_at_is_said_at_once(tmp_path):
    """A refused connection (no scheduler running there, or a wrong port) and an unknown host are one line at once,
    not after dask's 30-s connect timeout."""
    import socket
    with socket.socket() as s:              # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address, said in ((f"tcp://127.0.0.1:{port}", f"nothing listens at 127.0.0.1:{port} (connection refused): is "
                           "the scheduler running, and is the address right?"),
                          ("tcp://no-such-host.invalid:8786", "unknown host 'no-such-host.invalid'")):
        t = time.monotonic()
        res = subprocess.run(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects",
                                    str(SAMPLE / "projects" / "projects.gpkg"), "--out", str(tmp_path / "run"),
                                    "--scheduler", address], capture_output=True, text=True, timeout=60,
                             env=_env(tmp_path))
        assert time.monotonic() - t < 20            # not dask's 30 s
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1, res.stderr
        assert lines[0].startswith(f"error: cannot start or reach the dask cluster {address}: {said}"), lines[0]


def test_a_bad_scheduler_address_is_one_line(tmp_path):
    res = subprocess.run(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects",
                                str(SAMPLE / "projects" / "projects.gpkg"), "--out", str(tmp_path / "run"),
                                "--scheduler", "htp://127.0.0.1:8786"],
                         capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr      # one line, no traceback
    assert lines[0].startswith("error: cannot start or reach the dask cluster htp://127.0.0.1:8786: unknown address "
                               "scheme 'htp' (known schemes: ") and "'tcp'" in lines[0]


def test_a_second_batch_in_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    """The folder's lock held (as by a batch still running there — here by this test, through the same lock file):
    the command is refused in one line before any work; once it is free, the same command runs."""
    from filelock import FileLock

    from gis_screening.batch import LOCK_FILE
    out = tmp_path / "run"
    out.mkdir()
    args = CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects",
                  str(SAMPLE / "projects" / "projects.gpkg"), "--out", str(out), "--workers", "1"]
    with FileLock(out / LOCK_FILE):
        res = subprocess.run(args, capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        f"error: {out}: another batch is running in this folder; wait for it to end, or use another --out folder"]
    assert not (out / "run.json").exists()                      # nothing was started
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0 and "screened 25 project(s)" in res.stderr, res.stderr[-3000:]


def test_batch_of_several_project_files_equals_screen_of_the_same(tmp_path):
    """`--projects` repeated (footprints and 两高 project sheets, some naming the same project): the same projects
    and verdicts as `screen` given the same files."""
    from gis_screening.cli import load_project_files
    files = [SAMPLE / "projects" / "projects.gpkg", *sorted((SAMPLE / "sheets").glob("*.yaml"))]
    out = tmp_path / "run"
    res = subprocess.run(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--out", str(out),
                                "--workers", "1", "--partition-size", "7"]
                         + [a for f in files for a in ("--projects", str(f))],
                         capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    expected = {r["project"]["id"]: r["verdict"] for r in
                screen(load_project_files(files), load_layerset(SAMPLE / "layerset.yaml"),
                       load_rules()).to_json()["results"]}
    rows = _rows(out)
    assert rows["id"].is_unique and dict(zip(rows["id"], rows["verdict"])) == expected


def test_a_rerun_with_other_rules_is_another_batch_not_a_resume(tmp_path):
    """A batch resumed only under the rules it started with: a rule pack edited between an interrupted run and its
    rerun (given with --rules, which the fingerprint held only by path), or other packs in force on the --as-of day,
    make the folder another batch's — refused in one line, not combined into a summary whose verdicts mix two sets
    of rules; the same rules resume (here: a finished run, all partitions skipped)."""
    import shutil

    from gis_screening.batch import Job, run_fingerprint
    packs = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", packs, ignore=shutil.ignore_patterns("reference", "README.md"))
    projects = load_projects(SAMPLE / "projects" / "projects.gpkg")[:4]

    def job(as_of=None):
        return Job(str(SAMPLE / "layerset.yaml"), (str(packs),), as_of, 1000.0, str(tmp_path / "run"), None)
    first = run_fingerprint(projects, job(), 2)
    assert run_fingerprint(projects, job(), 2) == first
    fujian = packs / "fujian" / "fujian.yaml"
    text = fujian.read_text(encoding="utf-8")
    fujian.write_text(text.replace("须说明选址合理性", "须说明选址的合理性", 1), encoding="utf-8")
    assert "须说明选址的合理性" in fujian.read_text(encoding="utf-8")
    assert run_fingerprint(projects, job(), 2) != first                 # a message edited: other rules
    fujian.write_text(text, encoding="utf-8")
    assert run_fingerprint(projects, job(), 2) == first                 # by content, not by file time
    # national.yaml is in force from 2022-08-16, the Fujian packs from 2022-07-29: other packs on either day
    assert run_fingerprint(projects, job("2022-08-01"), 2) != run_fingerprint(projects, job("2022-09-01"), 2)
    args = CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects", str(SAMPLE / "projects" /
                  "projects.gpkg"), "--rules", str(packs), "--out", str(tmp_path / "run"), "--workers", "1"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    fujian.write_text(text.replace("须说明选址合理性", "须说明选址的合理性", 1), encoding="utf-8")
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 2 and "different batch" in res.stderr and "rules" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    fujian.write_text(text, encoding="utf-8")
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0 and "(1 already done)" in res.stderr, res.stderr[-3000:]


def test_partition_payload_is_data_only_and_keeps_every_value():
    """A task's projects travel as JSON (never pickle): read back they equal what was sent — footprints exactly,
    and dates, timestamps, times, durations, bytes and decimals in attributes and sheets with their types."""
    import datetime as dt
    from decimal import Decimal

    import orjson

    from gis_screening.batch import pack_projects, unpack_projects
    from gis_screening.model import Project
    sample = load_projects(SAMPLE / "projects" / "projects.gpkg")
    odd = Project("X-1", shapely.Polygon([(119.1, 26.1, 5.0), (119.2, 26.1, 6.0), (119.2, 26.2, 7.0)]), "奇特项目",
                  "3011", None,
                  attributes={"批复日期": dt.date(2024, 3, 1), "stamp": gpd.pd.Timestamp("2024-03-01 08:09:10.123456789"),
                              "at": dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                              "time": dt.time(8, 30), "span": dt.timedelta(days=2, seconds=5, microseconds=7),
                              "raw": b"\x00\xff", "amount": Decimal("12.30"), "nested": [1, 2.5, None, "字"]},
                  sheet={"energy": {"raw_coal_t": 1200.5}, "products": [{"name": "水泥熟料", "output_t": 1e6}]},
                  source="x.yaml", problems=["[warning] 测试"])
    projects = [*sample, odd]
    payload = pack_projects(projects)
    assert isinstance(orjson.loads(payload), list)                       # plain JSON
    back = unpack_projects(payload)
    for a, b in zip(projects, back, strict=True):
        assert a.geometry.equals_exact(b.geometry, 0) and a.geometry.has_z == b.geometry.has_z
        assert (a.id, a.name, a.industry_code, a.construction_type, a.sheet, a.source, a.problems) == \
            (b.id, b.name, b.industry_code, b.construction_type, b.sheet, b.source, b.problems)
        assert a.attributes == b.attributes
        assert [type(v) for v in a.attributes.values()] == [type(v) for v in b.attributes.values()]
    from gis_screening.errors import InputError
    with pytest.raises(InputError, match="project Y: a set value cannot be sent to a worker"):
        pack_projects([odd, Project("Y", odd.geometry, attributes={"tags": {"a"}}, source="y.gpkg")])


def test_batch_on_a_started_cluster_finishes_after_a_worker_is_killed(two_zones, tmp_path):
    """``--scheduler``: a `dask scheduler` and two `dask worker` processes started on their own (loopback), as on
    machines of a cluster.  One worker is SIGKILLed mid-run: dask gives its work to the other, and the same command
    ends with every project exactly once, with the verdicts `screen` gives."""
    env = dict(_env(tmp_path), PYTHONPATH=str(ROOT))
    scheduler = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    worker = [sys.executable, "-m", "distributed.cli.dask_worker"]
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(scheduler + ["--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                                      str(info)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        deadline = time.time() + 60
        while not info.exists() and time.time() < deadline:
            time.sleep(0.05)
        address = json.loads(info.read_text())["address"]
        procs += [subprocess.Popen(worker + [address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                             "--local-directory", str(tmp_path / f"w{i}")], env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                  for i in range(2)]
        out = tmp_path / "run"
        batch = subprocess.Popen(CLI + ["batch", "--layerset", str(SAMPLE / "layerset.yaml"), "--projects",
                                        str(two_zones), "--out", str(out), "--scheduler", address,
                                        "--partition-size", "1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        while time.time() < deadline + 120 and not list((out / "parts").glob("z*.parquet")):
            time.sleep(0.02)
        committed = len(list((out / "parts").glob("z*.parquet")))
        os.kill(procs[1].pid, signal.SIGKILL)                # one worker, mid-run (no nanny brings it back)
        assert 1 <= committed < 50 and batch.poll() is None  # it really was mid-run
        _, stderr = batch.communicate(timeout=300)
        assert batch.returncode == 0, stderr[-3000:]
        assert "dask dashboard:" not in stderr                # --no-dashboard: no address to print
        expected = {r["project"]["id"]: r["verdict"] for r in
                    screen(load_projects(two_zones), load_layerset(SAMPLE / "layerset.yaml"),
                           load_rules()).to_json()["results"]}
        rows = _rows(out)
        assert rows["id"].is_unique and dict(zip(rows["id"], rows["verdict"])) == expected
        lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()[1:]
        assert sorted(json.loads(line)["project"]["id"] for line in lines) == sorted(expected)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_a_batch_on_a_layer_set_lacking_layers_says_what_its_verdicts_do_not_cover(tmp_path, units_only_layerset):
    """As `screen` does: one line on stderr, `layers_missing` in the results' header line, the 统计 sheet of
    summary.xlsx (the sheet it opens on) says which layers were not loaded, and no project is 符合 (the red-line
    rules could apply to every one)."""
    from openpyxl import load_workbook
    manifest = units_only_layerset
    out = tmp_path / "run"
    res = subprocess.run(CLI + ["batch", "--layerset", str(manifest), "--projects",
                                str(SAMPLE / "projects" / "projects.gpkg"), "--out", str(out), "--workers", "1"],
                         capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "note: the layer set has no layer for 生态保护红线、自然保护地、饮用水水源保护区" in res.stderr
    with open(out / "results.jsonl", encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        rows = [json.loads(line) for line in fh]
    titles = [m["title"] for m in header["layers_missing"]]
    assert titles[:3] == ["生态保护红线", "自然保护地", "饮用水水源保护区"]
    assert rows and all(r["verdict"] in ("non_compliant", "needs_review") for r in rows)
    sheet = load_workbook(out / "summary.xlsx")["统计"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert any(str(c).startswith("本次筛查未加载" + "、".join(f"“{t}”" for t in titles) + "图层") for c in cells)
