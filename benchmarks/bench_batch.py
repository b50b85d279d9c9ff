"""`gis-screening batch` on the province set: 100,000 projects with 1 and 2 local workers, and a projection for a
16-worker cluster from the measured figures.  Warm prepared-layer cache (built once before timing).

Model: T(n) = C + W + P·t / n + P·o, with C the client's own work (loading and partitioning the projects, starting
the cluster, combining the outputs: the whole command minus the screening phase, measured), W the fixed part of the
screening phase (workers loading the layer set, rules and prepared layers), P partitions, t the compute time of one
partition on one worker, o the scheduler overhead per task.  W and P·t come from the screening phase of the 1- and
2-worker runs (two equations); o is dask's ~1 ms per task.
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
    times, phases = {}, {}
    for workers in (1, 2):
        out = tmp / f"out{workers}"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        res = subprocess.run(CLI + ["batch", "--layerset", DATA / "layerset.yaml", "--projects", projects, "--out",
                                    out, "--workers", str(workers), "--partition-size", str(args.partition_size)],
                             check=True, env=env, capture_output=True, text=True)
        times[workers] = time.perf_counter() - t
        import re
        m = re.search(r"screening ([\d.]+) s, combining ([\d.]+) s", res.stderr)
        phases[workers] = (float(m.group(1)), float(m.group(2)))
    parts = len(list((tmp / "out1" / "parts").glob("z*.parquet")))
    overhead = 0.001
    t1, t2 = times[1], times[2]
    s1, s2 = phases[1][0], phases[2][0]
    compute = 2 * (s1 - s2)             # P·t from S1 − S2 = P·t/2
    fixed = s1 - compute - parts * overhead
    client = t1 - s1
    t16 = client + fixed + compute / 16 + parts * overhead
    print(f"{n:,} projects, {parts} partitions of {args.partition_size}")
    print(f"1 worker {t1:.1f} s, 2 workers {t2:.1f} s → {t1 / t2:.2f}× from the second worker (whole command)")
    print(f"screening phase (tasks on the cluster): 1 worker {s1:.1f} s, 2 workers {s2:.1f} s → {s1 / s2:.2f}×; "
          f"combining outputs {phases[1][1]:.1f} s / {phases[2][1]:.1f} s")
    print(f"model: client C = {client:.1f} s, worker fixed W = {fixed:.1f} s, compute P·t = {compute:.1f} s "
          f"(t = {compute / parts:.2f} s per partition), o = {overhead * 1000:.0f} ms per task → 16 workers ≈ "
          f"{t16:.1f} s ({t1 / t16:.1f}× one worker; screening phase {fixed + compute / 16:.1f} s)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
