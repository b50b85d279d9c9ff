"""A large CLI screening with its layers prepared already splits its projects with a forked copy of itself
(gis_screening.forked), and so does one whose layers are not prepared yet when its projects lie in two GK zones
(each process prepares its own zones): the results must be those of one process, a child that fails must cost
nothing but time, and a layer the child has to prepare or rebuild is written out before it ends.  Run in a fresh
interpreter (one thread, as the CLI is)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, pathlib, sys
from dataclasses import replace
import shapely
import gis_screening.screening as S
from gis_screening.cli import load_project_files
from gis_screening.engine.prepared import PreparedCache
from gis_screening.layerset import load_layerset

root, cache_dir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
ls = load_layerset(f"{root}/sample_data/layerset.yaml", cache=False)
rules = S.load_rules(None)
base = load_project_files([f"{root}/sample_data/projects/projects.gpkg"])
projects = [replace(p, id=f"{p.id}-{k}") for k in range(90) for p in base]          # 2,250 projects
if mode == "zones":                     # a third moved west into GK zone 39 (the sample area is in zone 40)
    projects = [replace(p, geometry=shapely.affinity.translate(p.geometry, -0.65)) if k % 3 == 0 else p
                for k, p in enumerate(projects)]
forks = []

class Counted(S.Forked):
    def __init__(self, fn):
        forks.append(1)
        super().__init__(fn)
S.Forked = Counted
if mode == "fail":                      # the child dies before it sends anything: this process screens its share
    S._screened_in_child = lambda run, steps: (_ for _ in ()).throw(RuntimeError("child fails"))
cache = PreparedCache(cache_dir, disk=mode != "zones")
one = S.screen(projects, ls, rules, cache=cache).to_json()        # prepares the layers (nothing at hand: no split)
assert not forks and not (mode == "zones" and any(pathlib.Path(cache_dir).rglob("*.npz")))
if mode == "damaged":                   # an entry on disk but unreadable: the child rebuilds it and writes it out
    entries = sorted(pathlib.Path(cache_dir).rglob("*.npz"), key=lambda p: p.stat().st_size)
    entries[-1].write_bytes(entries[-1].read_bytes()[:100])
two = S.screen(projects, ls, rules, cache=PreparedCache(cache_dir), split=True).to_json()
for doc in (one, two):
    doc.pop("generated_at")
if mode == "damaged":
    import numpy as np
    with np.load(entries[-1], allow_pickle=False) as z:
        assert len(z.files) > 5
if mode == "zones":                     # each process wrote the layers of its zones
    assert len(list(pathlib.Path(cache_dir).rglob("*.npz"))) == 2 * len(ls.layers)
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
