"""Every CLI entry point survives hostile input: exit 2 with one short line, no traceback, bounded time and
memory, nothing created outside the output folder (tests/hostile/corpus.py builds the ≥ 60 cases)."""
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .corpus import build, renderer_cases

LIMIT_S = 20
RSS_LIMIT = 2 * 1024 ** 3


def _run(argv, cwd: Path, env) -> tuple[int, str, float]:
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (RSS_LIMIT * 2, RSS_LIMIT * 2))   # address space, a loose RSS cap
    t = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "gis_screening.cli", *argv], capture_output=True, text=True,
                           timeout=LIMIT_S, cwd=cwd, env=env, preexec_fn=limit, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return -9, "timeout", LIMIT_S
    return p.returncode, p.stderr, time.perf_counter() - t


def _snapshot(folder: Path) -> set:
    return {str(p) for p in folder.rglob("*")}


def test_hostile_corpus(tmp_path):
    cases = build(tmp_path)
    assert len(cases) >= 60
    env = dict(os.environ, GIS_SCREENING_CACHE=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))
    outside_before = _snapshot(Path(__file__).resolve().parents[2] / "sample_data")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda c: (c[0], *_run(c[1], c[2], env)), cases))
    bad = []
    for name, code, err, secs in runs:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        if code != 2 or "Traceback" in err or not (1 <= len(lines) <= 3) or secs > LIMIT_S:
            bad.append(f"{name}: exit {code}, {secs:.1f} s, stderr {err.strip()[:300]!r}")
    assert not bad, "\n".join(bad)
    assert _snapshot(Path(__file__).resolve().parents[2] / "sample_data") == outside_before
    assert not list((tmp_path / "out").glob(".*tmp*"))        # no half-written temp files left


def test_text_reaching_renderers_is_escaped(tmp_path):
    env = dict(os.environ, GIS_SCREENING_CACHE=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))
    for name, argv, cwd in renderer_cases(tmp_path):
        code, err, _secs = _run(argv, cwd, env)
        assert code == 0 and "Traceback" not in err, (name, err[-1500:])
