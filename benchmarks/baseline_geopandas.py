"""The named baseline for the whole-process benchmark: a plain geopandas/shapely script doing the core of a
screening (read the layers and projects, project each GK zone, STRtree ``dwithin`` candidates, intersection
area and distance per pair) and writing the pairs as JSON.  No rules, no reports.
Run: .venv/bin/python benchmarks/baseline_geopandas.py benchmarks/data OUT.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely


def main(data: Path, out: Path, radius: float = 1000.0) -> None:
    layers = {"units": gpd.read_file(data / "units.gpkg"), "redline": gpd.read_file(data / "redline.gpkg")}
    projects = gpd.read_file(data / "projects.gpkg")
    zone = np.floor(projects.geometry.centroid.x / 3 + 0.5).astype(int)
    rows = []
    for z in sorted(set(zone)):
        epsg = 4534 + z - 25
        fps = projects[zone == z].to_crs(epsg)
        for name, lyr in layers.items():
            geoms = lyr.to_crs(epsg).geometry.values
            tree = shapely.STRtree(geoms)
            fi, gi = tree.query(fps.geometry.values, predicate="dwithin", distance=radius)
            a, b = fps.geometry.values[fi], geoms[gi]
            area = shapely.area(shapely.intersection(a, b))
            dist = shapely.distance(a, b)
            ids = fps["id"].to_numpy()[fi]
            rows += [{"project": p, "layer": name, "feature": int(g), "area_m2": float(x), "distance_m": float(d)}
                     for p, g, x, d in zip(ids, gi, area, dist)]
    out.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
