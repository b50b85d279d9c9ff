"""`gis-screening batch` on the province set: 100,000 projects with 1 and 2 local workers, and a projection for a
16-worker cluster from the measured figures.  Warm prepared-layer cache (built once before timing).

Model: T(n) = S + P·t / n + P·o, with S the fixed cost (cluster start, project loading and partitioning, combining
the outputs), P partitions, t the mean compute time of one partition on one worker, o the scheduler overhead per
task.  S and t come from the 1- and 2-worker runs (two equations); o is taken from dask's own ~1 ms per task.
Run: .venv/bin/python benchmarks/bench_batch.py [--projects 100000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
CLI = [str(Path(sys.executable).parent / "gis-screening")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=100_000)
    ap.add_argument("--partition-size", type=int, default=2000)
    args = ap.parse_args()
    if not (DATA / "layerset.yaml").exists():
        subprocess.run([sys.executable, HERE / "generate_province.py"], check=True)
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(7)
    n = args.projects
    x, y = rng.uniform(116.0, 120.3, n), rng.uniform(23.7, 28.1, n)
    w, h = rng.uniform(0.001, 0.006, n), rng.uniform(0.001, 0.005, n)
    gdf = gpd.GeoDataFrame({"id": [f"P{i:06d}" for i in range(n)], "industry_code": rng.choice(["3011", "3399", "2614", "1713"], n),
                            "construction_type": "新建"}, geometry=shapely.box(x, y, x + w, y + h), crs=4490)
    projects = tmp / "projects.gpkg"
    gdf.to_file(projects, driver="GPKG")
    env = dict(os.environ, GIS_SCREENING_CACHE=str(tmp / "cache"))
    subprocess.run(CLI + ["screen", "--layerset", DATA / "layerset.yaml", "--project", DATA / "projects.gpkg",
                          "--json", tmp / "warm.json"], check=True, env=env, capture_output=True)
    times = {}
    for workers in (1, 2):
        out = tmp / f"out{workers}"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run(CLI + ["batch", "--layerset", DATA / "layerset.yaml", "--projects", projects, "--out", out,
                              "--workers", str(workers), "--partition-size", str(args.partition_size)],
                       check=True, env=env, capture_output=True)
        times[workers] = time.perf_counter() - t
    parts = len(list((tmp / "out1" / "parts").glob("z*.parquet")))
    overhead = 0.001
    t1, t2 = times[1], times[2]
    compute = 2 * (t1 - t2)             # P·t from T1 − T2 = P·t/2
    setup = t1 - compute - parts * overhead
    t16 = setup + compute / 16 + parts * overhead
    print(f"{n:,} projects, {parts} partitions of {args.partition_size}")
    print(f"1 worker {t1:.1f} s, 2 workers {t2:.1f} s → {t1 / t2:.2f}× from the second worker")
    print(f"model: fixed S = {setup:.1f} s, compute P·t = {compute:.1f} s (t = {compute / parts:.2f} s per partition), "
          f"o = {overhead * 1000:.0f} ms per task → 16 workers ≈ {t16:.1f} s ({t1 / t16:.1f}× one worker)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
