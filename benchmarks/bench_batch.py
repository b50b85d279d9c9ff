"""`gis-screening batch` on the province set: 100,000 projects with 1 and 2 local workers, and a projection for a
16-worker cluster from the measured figures.  Warm prepared-layer cache (built once before timing).

Model: T(n) = C + W + max(⌈P / n⌉·t + P·o, K), with C the client's own work outside the screening phase (loading and
partitioning the projects, starting the cluster, the combining left after the last partition: the whole command
minus the screening phase, measured), t the mean time a worker spends on one partition (measured by the workers
themselves and summed by `batch`), P partitions, o the scheduler overhead per task (dask's ~1 ms), and W the rest
of the screening phase of the 1-worker run (worker start-up and loading, waiting) = S1 − P·t − P·o; K is the CPU
time the client spends combining the partitions into results.jsonl and summary.xlsx (measured by `batch` on its
combining thread): it combines each partition as it arrives, so however many workers deliver, the phase cannot end
before the client has done K seconds of combining (an upper estimate by at most the tail already counted in C).
The 2-worker
run checks the model; on a cluster every worker has its own core, so the 16-worker projection uses t from the
1-worker run.
It also reads the CPU seconds of the client process (which hosts the LocalCluster's scheduler) and of the worker
processes from /proc: their sum over the machine's cores bounds how fast any run of that work can be here.
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
from installed import compile_package

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
CLI = [str(Path(sys.executable).parent / "gis-screening")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=100_000)
    ap.add_argument("--partition-size", type=int, default=2000)
    args = ap.parse_args()
    compile_package()
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
    times, phases, cpus = {}, {}, {}
    for workers in (1, 2):
        out = tmp / f"out{workers}"
        shutil.rmtree(out, ignore_errors=True)
        times[workers], stderr, cpus[workers] = run_with_cpu(
            CLI + ["batch", "--layerset", DATA / "layerset.yaml", "--projects", projects, "--out", out, "--workers",
                   str(workers), "--partition-size", str(args.partition_size)], env)
        import re
        m = re.search(r"screening ([\d.]+) s \(workers' own time ([\d.]+) s\), combining ([\d.]+) s after it "
                      r"\(([\d.]+) s CPU in all\)", stderr)
        phases[workers] = (float(m.group(1)), float(m.group(3)), float(m.group(2)), float(m.group(4)))
    parts = len(list((tmp / "out1" / "parts").glob("z*.parquet")))
    overhead = 0.001
    t1, t2 = times[1], times[2]
    s1, s2 = phases[1][0], phases[2][0]
    work1, work2 = phases[1][2], phases[2][2]
    t = work1 / parts
    client = t1 - s1
    fixed = s1 - work1 - parts * overhead
    combine = phases[1][3]

    def model(n: int) -> float:
        return client + fixed + max(-(-parts // n) * t + parts * overhead, combine)
    print(f"{n:,} projects, {parts} partitions of {args.partition_size}")
    print(f"1 worker {t1:.1f} s, 2 workers {t2:.1f} s → {t1 / t2:.2f}× from the second worker (whole command)")
    print(f"screening phase: 1 worker {s1:.1f} s, 2 workers {s2:.1f} s → {s1 / s2:.2f}×; combining after it "
          f"{phases[1][1]:.1f} s / {phases[2][1]:.1f} s; workers' own time {work1:.1f} s / {work2:.1f} s "
          f"({work2 / work1:.2f}× inflated by sharing two cores with the client and the scheduler)")
    print(f"model: C = {client:.1f} s, W = {fixed:.1f} s, t = {t:.2f} s per partition, o = {overhead * 1000:.0f} ms, "
          f"K = {combine:.1f} s; "
          f"predicts 2 workers {model(2):.1f} s (measured {t2:.1f} s); 16 workers ≈ {model(16):.1f} s "
          f"({t1 / model(16):.1f}× one worker)")
    for workers in (1, 2):
        client, rest = cpus[workers]
        print(f"CPU seconds, {workers} worker(s): client (with the scheduler) {client:.1f} s, worker processes "
              f"{rest:.1f} s; on this machine's {os.cpu_count()} cores even a perfect use of every core cannot finish "
              f"the {workers}-worker run's work in less than {(client + rest) / (os.cpu_count() or 1):.1f} s")
    bound = t1 / (sum(cpus[2]) / (os.cpu_count() or 1))
    print(f"so the second worker can give at most {bound:.2f}× here with this much work (the 1-worker run already "
          f"uses {sum(cpus[1]) / t1:.2f} cores: the client's work and each worker's overlay threads run beside it)")
    shutil.rmtree(tmp, ignore_errors=True)


def run_with_cpu(cmd: list, env: dict) -> tuple[float, str, tuple[float, float]]:
    """Run ``cmd``; return its wall seconds, its stderr, and the CPU seconds (user + system) of the command's own
    process and of all its descendants (the dask workers, the nannies), read from /proc every 0.1 s."""
    tick = os.sysconf("SC_CLK_TCK")
    seen: dict[int, float] = {}

    def tree(pid: int) -> list[int]:
        out = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    out += [q for c in fh.read().split() for q in tree(int(c))]
        except OSError:
            pass
        return out

    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([str(c) for c in cmd], env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        while proc.poll() is None:
            for pid in tree(proc.pid):
                try:
                    with open(f"/proc/{pid}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                    seen[pid] = (int(fields[11]) + int(fields[12])) / tick
                except OSError:
                    pass
            time.sleep(0.1)
        wall = time.perf_counter() - t
        err.seek(0)
        stderr = err.read()
    if proc.returncode:
        raise SystemExit(f"{cmd[1]} failed: {stderr[-2000:]}")
    client = seen.pop(proc.pid, 0.0)
    return wall, stderr, (client, sum(seen.values()))


if __name__ == "__main__":
    main()
