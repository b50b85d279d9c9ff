"""Screening performance on the province-scale set (run generate_province.py first).

Measures, with medians over repeated runs:
  (a) one project against all layers, warm (overlay + rules): p50 / p99 over 2,000 projects, and over the 200
      footprints that sit on the boundaries of the 60,000-vertex red lines;
  (b) 10,000 projects against control units + red lines, end to end from loaded layers, ours vs the
      straightforward vectorised geopandas baseline (STRtree dwithin query on the unsplit geometries, then
      shapely intersection area and distance on every candidate pair), same run, same data;
  (c) reopening the province layers: read + prepare from the on-disk cache, vs the first (cold) preparation.
Usage: .venv/bin/python benchmarks/bench_screen.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from gis_screening.engine.overlay import batch_overlaps, footprint_metrics, overlaps_for
from gis_screening.engine.prepared import PreparedCache
from gis_screening.engine.screen import evaluate_rules
from gis_screening.io import read_layer
from gis_screening.io.projects import projects_from_layer
from gis_screening.layerset import load_layerset
from gis_screening.screening import load_rules

DATA = Path(__file__).resolve().parent / "data"


def baseline(fps, layers_metric, radius):
    """Straightforward vectorised approach: STRtree over whole features, exact ops on all candidate pairs."""
    geoms = np.array([f.geom_metric for f in fps], dtype=object)
    out = []
    for g in layers_metric:
        tree = shapely.STRtree(g)
        a, b = tree.query(geoms, predicate="dwithin", distance=radius)
        area = shapely.area(shapely.intersection(geoms[a], g[b]))
        dist = shapely.distance(geoms[a], g[b])
        out.append((a, b, area, dist))
    return out


def pct(xs, q):
    return float(np.percentile(np.asarray(xs) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cache_dir = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    t = time.perf_counter()
    ls = load_layerset(DATA / "layerset.yaml")
    t_read = time.perf_counter() - t
    projects = projects_from_layer(read_layer(DATA / "projects.gpkg", "projects"))
    stack = load_rules()
    records = {lyr.uid: PreparedCache(disk=False).records(lyr) for lyr in ls.layers}
    fps_all = [footprint_metrics(p.geometry) for p in projects]
    # (c) cold preparation, then reopen from the cache
    t = time.perf_counter()
    cold = PreparedCache(cache_dir)
    for epsg in (4548, 4549):
        for lyr in ls.layers:
            cold.get(lyr, epsg)
    t_cold = time.perf_counter() - t
    reopen = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        ls2 = load_layerset(DATA / "layerset.yaml")
        warm = PreparedCache(cache_dir)
        for lyr in ls2.layers:
            warm.get(lyr, 4549)
        reopen.append(time.perf_counter() - t)
    prepared = {epsg: [cold.get(lyr, epsg) for lyr in ls.layers] for epsg in (4548, 4549)}
    npieces = sum(len(p.pieces) for p in prepared[4549])
    # (a) single project, warm
    def single(idx):
        times = []
        for i in idx:
            p, fp = projects[i], fps_all[i]
            t = time.perf_counter()
            ovs = overlaps_for(fp, prepared[fp.metric_epsg], 1000)
            evaluate_rules(p, fp, ovs, stack, records, ls.cat)
            times.append(time.perf_counter() - t)
        return times
    normal = [i for i, p in enumerate(projects) if p.id.startswith("B")][:2000]
    giant = [i for i, p in enumerate(projects) if p.id.startswith("G")]
    single(normal[:50])
    a_norm = [single(normal) for _ in range(args.repeats)]
    a_giant = [single(giant) for _ in range(args.repeats)]
    # (b) batch: all 10,000 projects, grouped by GK zone; ours (warm prepared layers) vs baseline (layers
    #     already projected); then both including the per-zone projection / preparation of the layers.
    groups = {}
    for i, p in enumerate(projects):
        if p.id.startswith("B"):
            groups.setdefault(fps_all[i].metric_epsg, []).append(fps_all[i])
    metric = {epsg: [p.geoms for p in prepared[epsg]] for epsg in groups}
    ours, base, ours_cold, base_cold = [], [], [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        res = [r for epsg, fps in groups.items() for r in batch_overlaps(fps, prepared[epsg], 1000)]
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        for epsg, fps in groups.items():
            baseline(fps, metric[epsg], 1000)
        base.append(time.perf_counter() - t)
    t = time.perf_counter()
    fresh = PreparedCache(disk=False)
    for epsg, fps in groups.items():
        batch_overlaps(fps, [fresh.get(lyr, epsg) for lyr in ls.layers], 1000)
    ours_cold.append(time.perf_counter() - t)
    t = time.perf_counter()
    for epsg, fps in groups.items():
        baseline(fps, [np.asarray(lyr.gdf.to_crs(epsg).geometry.values, dtype=object) for lyr in ls.layers], 1000)
    base_cold.append(time.perf_counter() - t)
    fps = [f for g in groups.values() for f in g]
    n_pairs = sum(len(r) for r in res)
    print(f"data: {sum(l.feature_count for l in ls.layers):,} features, "
          f"{int(sum(shapely.get_num_coordinates(l.gdf.geometry.values).sum() for l in ls.layers)):,} vertices; "
          f"{npieces:,} pieces in EPSG:4549; {len(projects):,} projects")
    print(f"(a) single project warm, overlay+rules: p50 {statistics.median(pct(x, 50) for x in a_norm):.2f} ms, "
          f"p99 {statistics.median(pct(x, 99) for x in a_norm):.2f} ms (n={len(normal)})")
    print(f"    on the 60,000-vertex red lines:     p50 {statistics.median(pct(x, 50) for x in a_giant):.2f} ms, "
          f"p99 {statistics.median(pct(x, 99) for x in a_giant):.2f} ms (n={len(giant)})")
    mo, mb = statistics.median(ours), statistics.median(base)
    print(f"(b) {len(fps):,} projects × units + red lines (zones {sorted(groups)}): ours {mo:.2f} s, baseline "
          f"{mb:.2f} s → {mb / mo:.1f}× ({n_pairs:,} feature pairs within 1 km)")
    print(f"    including projecting/preparing the layers per zone: ours {ours_cold[0]:.2f} s, baseline "
          f"{base_cold[0]:.2f} s → {base_cold[0] / ours_cold[0]:.1f}×")
    print(f"(c) read layers {t_read:.2f} s; cold prepare (2 zones) {t_cold:.2f} s; "
          f"reopen (read + cached index, 1 zone) median {statistics.median(reopen):.2f} s")
    shutil.rmtree(cache_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
