"""A large CLI screening with its layers prepared already splits its projects with a forked copy of itself
(gis_screening.forked), and so does one whose layers are not prepared yet when its projects lie in two GK zones
(each process prepares its own zones): the results must be those of one process, a child that fails must cost
nothing but time, and a layer the child has to prepare or rebuild is written out before it ends.  The loaded-layer
cache entries the CLI leaves to the screening are written by the child after it sent its results (by this process
when the child fails).  Run in a fresh interpreter (one thread, as the CLI is)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, os, pathlib, sys
from dataclasses import replace
from functools import partial
import numpy as np
import shapely
import gis_screening.screening as S
from gis_screening.cache import finish_writes
from gis_screening.cli import load_project_files
from gis_screening.engine.prepared import PreparedCache
from gis_screening.engine.result import dumps, write_json
from gis_screening.layerset import load_layerset

root, cache_dir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
layer_cache = pathlib.Path(cache_dir) / "loaded"
writes = []
ls = load_layerset(f"{root}/sample_data/layerset.yaml", cache=layer_cache, cache_writes=writes)
assert len(writes) == len(ls.layers) and not layer_cache.exists()        # nothing written yet
def written_by(write):                  # which process wrote the entry
    with open(layer_cache.parent / "writers", "a") as out:
        out.write(f"{os.getpid()}\n")
    write()
writes[:] = [partial(written_by, w) for w in writes]
rules = S.load_rules(None)
base = load_project_files([f"{root}/sample_data/projects/projects.gpkg"])
projects = [replace(p, id=f"{p.id}-{k}") for k in range(90) for p in base]          # 2,250 projects
west: set = set()
if mode == "zones":                     # 40 % moved west into GK zone 39 (the sample area is in zone 40)
    projects = [replace(p, geometry=shapely.affinity.translate(p.geometry, -0.9)) if k % 5 < 2 else p
                for k, p in enumerate(projects)]
    from gis_screening.engine.overlay import footprints_metrics
    epsg = [fp.metric_epsg for fp in footprints_metrics([p.geometry for p in projects])]
    west = {k for k, e in enumerate(epsg) if e == min(epsg)}
forks = []
theirs = []                             # the projects whose results came from the child, per split

def recorded(data, expected, results_from_child=S._results_from_child):
    got = results_from_child(data, expected)
    theirs.append(set(got or ()))
    return got
S._results_from_child = recorded

class Counted(S.Forked):
    def __init__(self, fn, **kw):
        forks.append(1)
        super().__init__(fn, **kw)
S.Forked = Counted
shared = []                             # per shared split: its steps, and the first step the child took
def recorded_steps(by_zone, shared_steps=S._shared_steps):
    shared.append([shared_steps(by_zone)])
    return shared[-1][0]
S._shared_steps = recorded_steps
class Recorded(S.Claims):
    def close(self):
        shared[-1].append(self.back())
        super().close()
S.Claims = Recorded
def taken_from_the_back():              # the projects of the steps the child took: all from some step to the last
    steps, back = shared[-1]
    return {i for _, part in steps[back:] for i in part}
if mode == "fail":                      # the child dies before it sends anything: this process screens its share
    S._screened_in_child = lambda *args: (_ for _ in ()).throw(RuntimeError("child fails"))
cache = PreparedCache(cache_dir, disk=mode != "zones")
one = S.screen(projects, ls, rules, cache=cache).to_json()        # prepares the layers (nothing at hand: no split)
assert not forks and not (mode == "zones" and any(pathlib.Path(cache_dir).rglob("*.npz")))
if mode == "damaged":                   # an entry on disk but unreadable: the child rebuilds it and writes it out
    entries = sorted(pathlib.Path(cache_dir).rglob("*.npz"), key=lambda p: p.stat().st_size)
    entries[-1].write_bytes(entries[-1].read_bytes()[:100])
split = S.screen(projects, ls, rules, cache=PreparedCache(cache_dir), split=True, cache_writes=writes)
two = split.to_json()
# the child's share is held as the JSON it sent, written into the document as it is: the same bytes; this process
# encoded its own step by step as it went (as the child did), so all of them are held so unless the child failed
child = theirs[-1]
if mode == "fail":
    assert child == set()
elif mode != "zones":                   # layers at hand: the steps shared out as the two went
    assert child == taken_from_the_back()
assert all(isinstance(split.results[k], S.EncodedResult) for k in child)
assert mode == "fail" or all(isinstance(r, S.EncodedResult) for r in split.results)
encoded_doc = split.to_json(encoded=True)
write_json(encoded_doc, pathlib.Path(cache_dir) / "encoded.json")
assert (pathlib.Path(cache_dir) / "encoded.json").read_bytes() == dumps(two)
if mode == "zones":                     # the child took zone 39, whose layers it prepared
    assert child == west
assert writes == []
finish_writes()                         # as the CLI does before it ends
writers = (layer_cache.parent / "writers").read_text().split()
assert len(writers) == len(ls.layers) and all((w == str(os.getpid())) == (mode == "fail") for w in writers), writers
again = load_layerset(f"{root}/sample_data/layerset.yaml", cache=layer_cache)          # read from the entries
# deferred: read from a cache entry (the control units' geometry is read for the 准入清单 join)
assert all("_load_gdf" in lyr.__dict__ for lyr in again.layers if lyr.role != "control_units")
assert [lyr.content_digest() for lyr in again.layers] == [lyr.content_digest() for lyr in ls.layers]
assert all(len(lyr.gdf) == len(old.gdf) for lyr, old in zip(again.layers, ls.layers))
for doc in (one, two):
    doc.pop("generated_at")
if mode == "damaged":
    import numpy as np
    with np.load(entries[-1], allow_pickle=False) as z:
        assert len(z.files) > 5
if mode == "zones":                     # each process wrote the layers of its zones
    import numpy as np
    kinds = []
    for entry in pathlib.Path(cache_dir).rglob("*.npz"):
        with np.load(entry, allow_pickle=False) as z:
            kinds.append("coords" if z.files == ["coords"] else "layer")
    # and, written once, the footprints' coordinates projected to each zone (a warm run never loads PROJ)
    assert sorted(kinds) == ["coords"] * 2 + ["layer"] * (2 * len(ls.layers)), kinds
    forks.pop()
    # with the layers prepared, the steps are shared out as the two go, the child taking them from the back: zone
    # 39's, then (as it goes as fast as this process) those last in zone 40's Hilbert order, one compact area of it
    warm = S.screen(projects, ls, rules, cache=PreparedCache(cache_dir), split=True)
    assert theirs[-1] == taken_from_the_back()
    steps = shared[-1][0]
    zone40 = [part for epsg, part in steps if epsg == max(e for e, _ in steps)]
    last = {i for part in zone40[-3:] for i in part}            # the last three steps of zone 40
    b = shapely.bounds([projects[k].geometry for k in last])
    every = shapely.bounds([projects[k].geometry for part in zone40 for k in part])
    area = lambda b: (b[:, 2].max() - b[:, 0].min()) * (b[:, 3].max() - b[:, 1].min())
    assert len(last) < 0.4 * len(every) and area(b) <= 0.5 * area(every), (len(last), area(b), area(every))
    three = warm.to_json()
    three.pop("generated_at")
    assert three == two
print(json.dumps({"forks": len(forks), "same": one == two, "n": len(two["results"]),
                  "ids_in_order": [r["project"]["id"] for r in two["results"]] == [p.id for p in projects]}))
"""


@pytest.mark.parametrize("mode", ["ok", "fail", "damaged", "zones"])
def test_a_split_screening_equals_one_process(tmp_path, mode):
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT), str(tmp_path / "cache"), mode],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"forks": 1, "same": True, "n": 2250,
                                                                 "ids_in_order": True}


def test_damaged_or_foreign_results_from_a_child_are_refused():
    """What a child sends is taken only whole and for the projects it was given: anything else leaves its share to
    this process (None)."""
    import orjson

    import gis_screening.screening as S
    from gis_screening.engine.result import result_bytes
    results = [{"project": {"id": f"P{i}"}, "verdict": "compliant"} for i in range(3)]
    encoded = [result_bytes(r) for r in results]
    tail = orjson.dumps({"index": [4, 7, 9], "verdict": ["compliant"] * 3, "size": [len(e) for e in encoded]})
    data = b"".join([*encoded, tail, len(tail).to_bytes(8, "little")])
    got = S._results_from_child(data, [9, 4, 7])
    assert got is not None and [orjson.loads(e) for _, e in got.values()] == results and list(got) == [4, 7, 9]
    assert S._results_from_child(data[1:], [4, 7, 9]) is None                   # cut short
    assert S._results_from_child(b" " + data, [4, 7, 9]) is None                # longer than it says
    assert S._results_from_child(data, [4, 7, 8]) is None                       # not the projects it was given
    assert S._results_from_child(data.replace(b'["compliant"', b'["compliand"', 1), [4, 7, 9]) is None
    assert S._results_from_child(data[:-8] + b"\x05" + data[-7:], [4, 7, 9]) is None    # a trailer cut wrongly
    assert S._results_from_child(data[:-8] + (1 << 40).to_bytes(8, "little"), [4, 7, 9]) is None   # longer than all
    assert S._results_from_child(None, [4, 7, 9]) is None and S._results_from_child(b"", [4]) is None
    for tail in (b'{"index": 4, "verdict": [], "size": []}', b'{"index": [4], "verdict": ["compliant"], "size": ["x"]}',
                 b'[1, 2]'):                                               # a trailer of the wrong shape
        assert S._results_from_child(tail + len(tail).to_bytes(8, "little"), [4]) is None


HUGE_PAGES = r"""
import re
from gis_screening.forked import Forked

def thp() -> bytes:
    with open("/proc/self/status", "rb") as status:
        found = re.search(rb"THP_enabled:\s*(\d)", status.read())
    return found.group(1) if found else b"?"
print(thp().decode(), bytes(Forked(lambda send: send([thp()])).result() or b"none").decode())
"""


def test_the_child_copies_small_pages_not_huge_ones():
    """A forked child turns transparent huge pages off (gis_screening.forked._no_huge_page_copies): the memory it
    shares with its parent is then copied 4 KiB at a time where it writes, not 2 MiB (the child's cache write in a
    cold province run took ~0.3 s longer with them).  The parent keeps them.  Run in a fresh interpreter (one thread,
    as the CLI is)."""
    res = subprocess.run([sys.executable, "-c", HUGE_PAGES], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-3000:]
    parent, child = res.stdout.split()
    if parent != "1":
        pytest.skip("this kernel has no transparent huge pages, or does not say so in /proc/self/status")
    assert child == "0"


HAND_BACK = r"""
import os, signal, sys
from gis_screening.forked import Forked

big = bytes(range(256)) * 40_000                    # 10 MB: far more than a pipe holds
def dies(how):
    def fn(send):
        send([b"part of it"])
        if how == "raises":
            raise RuntimeError("child fails")
        if how == "exits":                          # leaves without a word (say, a library calling exit)
            os._exit(0)
        os.kill(os.getpid(), signal.SIGKILL)        # killed while working
    return fn
fds = len(os.listdir("/proc/self/fd"))
def sends(*parts):
    return lambda send: [send([p]) for p in parts] and None
results = [Forked(sends(big[:5], big[5:])).result() == big, Forked(sends()).result() == b"",
           *(Forked(dies(how)).result() is None for how in ("raises", "exits", "killed"))]
marker = sys.argv[1]
child = Forked(sends(b"sent"), then=lambda: open(marker, "w").write("then ran"))
results += [child.result() == b"sent", child.wait() == 0, open(marker).read() == "then ran", child.wait() is None]
import time
slow = Forked(lambda send: time.sleep(0.5) or send([b"late"]))       # done() tells, without waiting, whether result() would wait
busy = slow.done()
time.sleep(1.0)
gone = Forked(dies("killed"))
time.sleep(0.5)
results += [busy is False, slow.done() is True, slow.result() == b"late", gone.done() is True, gone.result() is None,
            len(os.listdir("/proc/self/fd")) == fds]
taken = Forked(sends(b"once"), then=lambda: None)          # its result taken, the child not waited for yet
results += [taken.result() == b"once", taken.done() is True, taken.result() is None, taken.wait() == 0,
            len(os.listdir("/proc/self/fd")) == fds]
print(results)
"""


def test_a_child_hands_back_all_it_returned_or_nothing(tmp_path):
    """The bytes a forked child's work hands back, part by part as it goes, come back whole, however large (10 MB
    here, through an in-memory file); a child that raises, exits without a word or is killed — after handing back
    part of it — hands back None; ``then`` runs in the child after
    the result is handed back, and ``wait`` gives its exit code once; ``done`` says whether the child has handed
    back or died.  No descriptor is left open."""
    res = subprocess.run([sys.executable, "-c", HAND_BACK, str(tmp_path / "then")], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip() == str([True] * 20), res.stdout


STOPPED = r"""
import os, sys, time
from gis_screening.forked import Forked

def alive(pid):                 # a zombie no one reaps (a container's init may not) is not alive
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

fds = len(os.listdir("/proc/self/fd"))
busy = Forked(lambda send: time.sleep(30), then=lambda: time.sleep(30))
pid = busy._pid
started = time.monotonic()
busy.stop()
results = [time.monotonic() - started < 5, not alive(pid), busy.done() is True, busy.result() is None,
           busy.wait() is None, len(os.listdir("/proc/self/fd")) == fds]
busy.stop()                     # twice: nothing more to do
if sys.argv[1] == "orphan":     # this process killed while its child works: the child ends too
    child = Forked(lambda send: time.sleep(30))
    print(child._pid, flush=True)
    os.kill(os.getpid(), 9)
print(results)
"""


def test_a_child_is_stopped_when_asked_and_when_its_parent_is_killed():
    """``stop`` ends a busy child at once (its result is None, no descriptor is left open); a child whose parent is
    killed while it works ends too (the kernel's parent-death signal), instead of working on for no one."""
    res = subprocess.run([sys.executable, "-c", STOPPED, "stop"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip() == str([True] * 6), res.stdout
    # (not run(): the orphan would hold its output pipe open for as long as it lives)
    proc = subprocess.Popen([sys.executable, "-c", STOPPED, "orphan"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pid = int(proc.stdout.readline())
    assert proc.wait(timeout=60) == -9
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the orphaned child {pid} still works")


PARENT_FAILS = r"""
import json, os, pathlib, sys
from dataclasses import replace
from functools import partial
import gis_screening.screening as S
from gis_screening.cache import finish_writes
from gis_screening.cli import load_project_files
from gis_screening.engine.prepared import PreparedCache
from gis_screening.layerset import load_layerset

root, cache_dir = sys.argv[1], sys.argv[2]
rules = S.load_rules(None)
base = load_project_files([f"{root}/sample_data/projects/projects.gpkg"])
projects = [replace(p, id=f"{p.id}-{k}") for k in range(90) for p in base]          # 2,250 projects
layer_cache = pathlib.Path(cache_dir) / "loaded"
writes = []
ls = load_layerset(f"{root}/sample_data/layerset.yaml", cache=layer_cache, cache_writes=writes)
S.screen(projects[:30], ls, rules, cache=PreparedCache(cache_dir))                  # the layers prepared: a split
finish_writes()
def written_by(write):
    with open(layer_cache.parent / "writers", "a") as out:
        out.write(f"{os.getpid()}\n")
    write()
writes[:] = [partial(written_by, w) for w in writes]
children = []
class Recorded(S.Forked):
    def __init__(self, fn, **kw):
        super().__init__(fn, **kw)
        children.append(self._pid)
S.Forked = Recorded
def progress(done, total):      # this process's share fails at its first step
    raise RuntimeError("this process fails")
try:
    S.screen(projects, ls, rules, cache=PreparedCache(cache_dir), split=True, cache_writes=writes, progress=progress)
except RuntimeError:
    pass
finish_writes()
gone = not os.path.exists(f"/proc/{children[0]}")
writers = (layer_cache.parent / "writers").read_text().split()
print(json.dumps({"children": len(children), "gone": gone,
                  "written_here": len(writers) == len(ls.layers) and set(writers) == {str(os.getpid())}}))
"""


def test_a_split_whose_own_share_fails_stops_its_child_and_still_caches_the_layers_read(tmp_path):
    """When this process's share of a split screening fails, the forked child is stopped (and reaped) at once
    rather than screening on for no one, and the loaded-layer cache entries it was to write are written here."""
    res = subprocess.run([sys.executable, "-c", PARENT_FAILS, str(ROOT), str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"children": 1, "gone": True, "written_here": True}


UNEVEN = r"""
import json, os, sys, time
from dataclasses import replace
import gis_screening.screening as S
from gis_screening.cache import finish_writes
from gis_screening.cli import load_project_files
from gis_screening.engine.prepared import PreparedCache
from gis_screening.layerset import load_layerset

root, cache_dir, how = sys.argv[1], sys.argv[2], sys.argv[3]
rules = S.load_rules(None)
base = load_project_files([f"{root}/sample_data/projects/projects.gpkg"])
projects = [replace(p, id=f"{p.id}-{k}") for k in range(90) for p in base]          # 2,250 projects
ls = load_layerset(f"{root}/sample_data/layerset.yaml", cache=False)
one = S.screen(projects, ls, rules, cache=PreparedCache(cache_dir)).to_json()        # prepares the layers
finish_writes()
parent = os.getpid()
screened = S._project_result
calls = []
def slow_in_the_child(*args):           # the child's projects cost 2 ms more each: uneven work, as on real data
    if os.getpid() != parent:
        time.sleep(0.002)
        calls.append(1)
        if how == "killed" and len(calls) == 120:      # killed in the middle of the steps it took
            os.kill(os.getpid(), 9)
    return screened(*args)
S._project_result = slow_in_the_child
theirs = []
def recorded(data, expected, results_from_child=S._results_from_child):
    got = results_from_child(data, expected)
    theirs.append(len(got or ()))
    return got
S._results_from_child = recorded
two = S.screen(projects, ls, rules, cache=PreparedCache(cache_dir), split=True).to_json()
for doc in (one, two):
    doc.pop("generated_at")
print(json.dumps({"same": one == two, "child": theirs[0], "n": len(projects)}))
"""


def test_steps_are_shared_out_as_the_two_processes_go(tmp_path):
    """With its layers prepared, a split screening shares its steps out as the two processes go (this process from
    the front, the child from the back): a child whose projects take longer takes fewer of them, instead of a fixed
    half that this process would wait for; a child killed in the middle of the steps it took leaves them all to this
    process.  The document is the one a single process writes either way."""
    for how, child in (("slow", lambda n: 0 < n < 0.4 * 2250), ("killed", lambda n: n == 0)):
        res = subprocess.run([sys.executable, "-c", UNEVEN, str(ROOT), str(tmp_path / how), how], capture_output=True,
                             text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        got = json.loads(res.stdout.strip().splitlines()[-1])
        assert got["same"] and child(got["child"]) and got["n"] == 2250, (how, got)


def test_claims_hand_each_step_out_once_from_either_end():
    """``Claims`` gives steps from the front and from the back until they meet, each once; ``back()`` is the first
    step taken from the back."""
    from gis_screening.forked import Claims
    claims = Claims(5)
    taken = [claims.take(True), claims.take(False), claims.take(True), claims.take(False), claims.take(True),
             claims.take(True), claims.take(False)]
    assert taken == [0, 4, 1, 3, 2, None, None] and claims.back() == 3
    claims.close()
