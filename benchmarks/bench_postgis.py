"""PostGIS benchmark (issue 17): reading the province-scale layers from PostGIS vs from GeoPackage, publishing them
(`layers push`), and one save of a 10-feature edit with its audit rows — on a throwaway local server
(tests/pgcluster.py: initdb in a temp folder, loopback port).

Medians of ``--repeats`` runs; figures go to benchmarks/README.md (no timing assertions anywhere).
Run: .venv/bin/python benchmarks/generate_province.py && .venv/bin/python benchmarks/bench_postgis.py --repeats 3
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from pgcluster import Cluster  # noqa: E402

from gis_screening.editing.pgstore import PostgisLayer  # noqa: E402
from gis_screening.layerset import load_layerset  # noqa: E402
from gis_screening.publish import push_layerset  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    manifest = HERE / "data" / "layerset.yaml"
    if not manifest.exists():
        raise SystemExit("run benchmarks/generate_province.py first")
    with Cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pg.yaml"
        t_push, _ = timed(lambda: push_layerset(manifest, f"{cluster.url}?schema=bench", out, replace=True), 1)
        t_gpkg, ls = timed(lambda: load_layerset(manifest), args.repeats)
        t_pg, ls_pg = timed(lambda: load_layerset(out), args.repeats)
        n = sum(lyr.feature_count for lyr in ls.layers)
        assert n == sum(lyr.feature_count for lyr in ls_pg.layers)
        url = next(lyr.source for lyr in ls_pg.layers if lyr.role == "control_units")
        t_open, units = timed(lambda: PostgisLayer(url, journal=Path(tmp) / "b.journal"), args.repeats)
        saves = []
        for r in range(args.repeats):
            for fid in sorted(units.features)[:10]:
                f = units.features[fid]
                units.set_feature(fid, {**f.attrs, units.columns[1]: f"bench {r}"}, f.geom)
            t = time.perf_counter()
            assert units.save("benchmark", user="bench") == 10
            saves.append(time.perf_counter() - t)
        print(f"features: {n:,} ({', '.join(f'{lyr.role} {lyr.feature_count:,}' for lyr in ls.layers)})")
        print(f"layers push (whole set, one transaction): {t_push:.2f} s")
        print(f"load layer set from GeoPackage: {t_gpkg:.2f} s; from PostGIS: {t_pg:.2f} s "
              f"(ratio {t_pg / t_gpkg:.2f})")
        print(f"open control units for editing from PostGIS: {t_open:.2f} s")
        print(f"save a 10-feature edit with audit rows + NOTIFY (median of {len(saves)}): "
              f"{statistics.median(saves) * 1000:.0f} ms (includes re-reading the table after the commit)")


if __name__ == "__main__":
    main()
