"""Whole-process benchmark: ``gis-screening screen`` as a user runs it, against the plain geopandas script
(benchmarks/baseline_geopandas.py), in the same run, on the province set (benchmarks/generate_province.py).

Reports medians of ``--repeats`` runs: baseline; ours cold (empty cache folder each run); ours warm; a single
project warm; peak RSS of each (``/usr/bin/time -v``).  The package is byte-compiled first, as an installed one is
(``pip install`` compiles it; where ``PYTHONDONTWRITEBYTECODE`` is set, as on this workplace's machines, every run
would otherwise compile the package's modules again, ~0.06 s a run, which no user's installation does).  With ``--diverse``, also warm on the same footprints with
industry codes drawn from every GB/T 4754 小类 and 建设性质 新建/扩建/改建/missing (the province projects carry 4
codes and no 建设性质), to check the rule figures are not flattered.  No timing assertions anywhere: figures go to
benchmarks/README.md.
Run: .venv/bin/python benchmarks/bench_cli.py --repeats 3 [--diverse]
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

from installed import compile_package

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
    ap.add_argument("--diverse", action="store_true", help="also warm runs on projects with diverse codes and 建设性质")
    args = ap.parse_args()
    if not (DATA / "layerset.yaml").exists():
        subprocess.run([sys.executable, HERE / "generate_province.py"], check=True)
    compile_package()
    out = Path(tempfile.mkdtemp())
    single = out / "one.gpkg"
    import geopandas as gpd
    gpd.read_file(DATA / "projects.gpkg", rows=1).to_file(single, driver="GPKG")
    screen = [BIN / "gis-screening", "screen", "--layerset", DATA / "layerset.yaml"]
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in ("baseline", "cold", "warm", "single")}
    diverse = out / "diverse.gpkg"
    if args.diverse:
        import numpy as np

        from gis_screening.industry import gbt4754
        codes = sorted(c for c in gbt4754() if len(c) == 4)
        gdf = gpd.read_file(DATA / "projects.gpkg")
        rng = np.random.default_rng(3)
        gdf["industry_code"] = rng.choice(codes, len(gdf))
        gdf["construction_type"] = rng.choice(np.array(["新建", "扩建", "改建", None], dtype=object), len(gdf))
        gdf.to_file(diverse, driver="GPKG")
        results["diverse"] = []
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
        if args.diverse:
            results["diverse"].append(run([*screen, "--project", diverse, "--json", out / "d.json"],
                                          {"GIS_SCREENING_CACHE": str(warm_cache)}))
    med = {k: (statistics.median(w for w, _ in v), max(r for _, r in v)) for k, v in results.items()}
    base = med["baseline"][0]
    print(f"{'run':<10}{'median s':>10}{'peak RSS MiB':>14}{'baseline ÷ ours':>17}")
    for k, (w, r) in med.items():
        ratio = "" if k in ("baseline", "single") else f"{base / w:.2f}×"    # diverse: warm, other projects
        print(f"{k:<10}{w:>10.2f}{r:>14.0f}{ratio:>17}")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
