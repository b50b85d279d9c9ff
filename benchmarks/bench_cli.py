"""Whole-process benchmark: ``gis-screening screen`` as a user runs it, against the plain geopandas script
(benchmarks/baseline_geopandas.py), in the same run, on the province set (benchmarks/generate_province.py).

Reports medians of ``--repeats`` runs: baseline; ours cold (empty cache folder each run); ours warm; a single
project warm; peak RSS of each (``/usr/bin/time -v``).  No timing assertions anywhere: figures go to
benchmarks/README.md.
Run: .venv/bin/python benchmarks/bench_cli.py --repeats 3
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent


def run(cmd: list, env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], capture_output=True, text=True,
                       env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return wall, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not (DATA / "layerset.yaml").exists():
        subprocess.run([sys.executable, HERE / "generate_province.py"], check=True)
    out = Path(tempfile.mkdtemp())
    single = out / "one.gpkg"
    import geopandas as gpd
    gpd.read_file(DATA / "projects.gpkg", rows=1).to_file(single, driver="GPKG")
    screen = [BIN / "gis-screening", "screen", "--layerset", DATA / "layerset.yaml"]
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in ("baseline", "cold", "warm", "single")}
    warm_cache = out / "warm-cache"
    run([*screen, "--project", DATA / "projects.gpkg", "--json", out / "w.json"], {"GIS_SCREENING_CACHE": str(warm_cache)})
    for _ in range(args.repeats):
        results["baseline"].append(run([sys.executable, HERE / "baseline_geopandas.py", DATA, out / "base.json"]))
        cold = out / "cold-cache"
        shutil.rmtree(cold, ignore_errors=True)
        results["cold"].append(run([*screen, "--project", DATA / "projects.gpkg", "--json", out / "c.json"],
                                   {"GIS_SCREENING_CACHE": str(cold)}))
        results["warm"].append(run([*screen, "--project", DATA / "projects.gpkg", "--json", out / "w.json"],
                                   {"GIS_SCREENING_CACHE": str(warm_cache)}))
        results["single"].append(run([*screen, "--project", single, "--json", out / "s.json"],
                                     {"GIS_SCREENING_CACHE": str(warm_cache)}))
    med = {k: (statistics.median(w for w, _ in v), max(r for _, r in v)) for k, v in results.items()}
    base = med["baseline"][0]
    print(f"{'run':<10}{'median s':>10}{'peak RSS MiB':>14}{'baseline ÷ ours':>17}")
    for k, (w, r) in med.items():
        ratio = "" if k in ("baseline", "single") else f"{base / w:.2f}×"
        print(f"{k:<10}{w:>10.2f}{r:>14.0f}{ratio:>17}")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
