"""The cache folder is bounded: after each write the least recently used entries go until the entries fit
$GIS_SCREENING_CACHE_MAX; an entry used since is kept, the one just written always is, temp files of killed
writes go after a day, and screening gives the same verdicts however small the bound."""
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from gis_screening.cache import cache_dir, cache_limit, load_entry, save_entry
from gis_screening.errors import InputError

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def _entry(base: Path, kind: str, name: str, kib: int, age_s: float) -> Path:
    path = base / kind / f"{name}.npz"
    save_entry(path, {"a": np.zeros(kib * 128)})          # 128 float64 = 1 KiB
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def test_least_recently_used_entries_go_first(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_SCREENING_CACHE_MAX", "1M")
    assert cache_limit() == 1024 ** 2
    old = [_entry(tmp_path, kind, f"e{i}", 300, age_s=1000 - i) for i, kind in
           enumerate(("prepared", "projected", "prepared"))]            # 900 KiB, oldest first
    (tmp_path / "layers").mkdir()
    for suffix in (".json", ".arrow"):                                  # a layer entry: two files, one key
        (tmp_path / "layers" / f"k{suffix}").write_bytes(b"x" * 1024)
        os.utime(tmp_path / "layers" / f"k{suffix}", (time.time() - 2000,) * 2)
    stale = tmp_path / "prepared" / ".x.tmp.npz"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    running = tmp_path / "prepared" / ".y.tmp.npz"
    running.write_bytes(b"being written")
    assert load_entry(old[0], ("a",)) is not None                      # used now: the most recent
    new = _entry(tmp_path, "prepared", "new", 300, age_s=0)             # over the bound: trim
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted([".y.tmp.npz", "e0.npz", "e2.npz", "new.npz"])  # the layer entry, then e1, went
    assert new.exists() and not stale.exists()

    monkeypatch.setenv("GIS_SCREENING_CACHE_MAX", "0")
    _entry(tmp_path, "projected", "only", 10, age_s=0)
    assert sorted(p.name for p in tmp_path.rglob("*.npz") if not p.name.startswith(".")) == ["only.npz"]


@pytest.mark.parametrize("value", ["lots", "-1", "4X", "inf", "B"])
def test_a_bad_bound_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("GIS_SCREENING_CACHE_MAX", value)
    with pytest.raises(InputError, match="GIS_SCREENING_CACHE_MAX"):
        cache_dir("prepared")


def test_screening_with_a_tiny_cache_gives_the_same_verdicts(tmp_path, monkeypatch):
    from gis_screening.engine.prepared import PreparedCache
    from gis_screening.io.projects import load_projects
    from gis_screening.layerset import load_layerset
    from gis_screening.screening import load_rules, screen
    shutil.copytree(SAMPLE, tmp_path / "s", ignore=shutil.ignore_patterns("sheets"))
    projects = load_projects(tmp_path / "s" / "projects" / "projects.gpkg")

    def verdicts(limit: str, run: int) -> list:
        monkeypatch.setenv("GIS_SCREENING_CACHE_MAX", limit)
        ls = load_layerset(tmp_path / "s" / "layerset.yaml", cache=tmp_path / f"c{limit}")
        stack = load_rules(ls.rule_packs or None)
        res = screen(projects, ls, stack, cache=PreparedCache(tmp_path / f"c{limit}"))
        return [(r.project.id, r.verdict, sorted(f.rule_id for f in r.findings)) for r in res.results]
    roomy = verdicts("4G", 1)
    assert verdicts("4G", 2) == roomy
    tiny = [verdicts("1K", run) for run in (1, 2)]                      # every write evicts the rest
    assert tiny == [roomy, roomy] and len(roomy) >= 20
    files = [p for p in (tmp_path / "c1K").rglob("*") if p.is_file()]
    assert len({(p.parent.name, p.name.split(".")[0]) for p in files}) == 1       # one entry left: the last


FULL_DISK = r"""
import resource, signal, sys
from pathlib import Path
import numpy as np
from gis_screening.cache import load_entry, save_entry
from gis_screening.catalog import default_catalog
from gis_screening.io.layer_cache import cached_read_layer
base, sample = Path(sys.argv[1]), Path(sys.argv[2])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write past the limit fails (EFBIG), as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
save_entry(base / "prepared" / "big.npz", {"a": np.zeros(100_000)})        # 800 KB: cannot be written
save_entry(base / "prepared" / "small.npz", {"a": np.arange(1000.0)})
assert load_entry(base / "prepared" / "small.npz", ("a",))["a"].sum() == 499500.0
later = []
layer = cached_read_layer(sample / "zones" / "STBHHX.gpkg", "eco_redline", catalog=default_catalog(),
                          folder=base, later=later)
for write in later:
    write()                                         # its GeoParquet does not fit either: read again next time
print(sorted(p.name for p in base.rglob("*")), len(layer.gdf))
"""


def test_a_full_disk_costs_the_cache_entries_nothing_else(tmp_path):
    """Entries that cannot be written (a write fails part-way, as on a full disk) leave no file behind and raise
    nothing; a small one beside them is written and read back."""
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path / "c"), str(SAMPLE)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    names, count = res.stdout.strip().rsplit(" ", 1)
    assert names == "['layers', 'prepared', 'small.npz']" and int(count) > 0


def test_large_arrays_of_an_entry_are_mapped_checked_and_refused_when_damaged(tmp_path):
    """An entry's arrays of 1 MB or more (a layer's pieces as WKB) are mapped from the file, not copied into fresh
    memory: read-only, equal to what ``np.load`` reads (dtype, shape, C and Fortran order); the small ones are
    read.  A byte flipped inside a mapped array fails its CRC: the entry is refused and deleted, never trusted."""
    import mmap

    import numpy as np

    from gis_screening.cache import MAP_MIN_BYTES, load_entry, save_entry
    rng = np.random.default_rng(1)
    arrays = {"small": np.arange(10), "blob": rng.integers(0, 255, 3 * MAP_MIN_BYTES, dtype=np.uint8),
              "grid": rng.random((600, 300)), "fgrid": np.asfortranarray(rng.random((300, 600))),
              "text": np.array(["红线", "管控单元"])}
    path = tmp_path / "entry.npz"
    save_entry(path, arrays)
    got = load_entry(path, ("blob", "grid"))
    assert got is not None and list(got) == list(arrays)
    for name, want in arrays.items():
        assert got[name].dtype == want.dtype and got[name].shape == want.shape and np.array_equal(got[name], want)

    def mapped(a) -> bool:
        while isinstance(a, np.ndarray):
            a = a.base
        return isinstance(a.obj if isinstance(a, memoryview) else a, mmap.mmap)
    assert {name for name, a in got.items() if mapped(a)} == {"blob", "grid", "fgrid"}
    assert not got["blob"].flags.writeable
    del got
    data = bytearray(path.read_bytes())
    at = data.find(arrays["blob"][1000:1064].tobytes())      # inside the blob's bytes in the file
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    assert load_entry(path, ("blob",)) is None and not path.exists()
