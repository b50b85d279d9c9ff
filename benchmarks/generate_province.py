"""Generate a province-scale synthetic data set (deterministic) into benchmarks/data/.

≥1,000 control units tiling a Fujian-sized area (lon 115.9–120.4, lat 23.6–28.2, across GK zones 39 and 40),
≥20,000 red-line polygons with ≥4 million vertices including a few of 60,000 vertices, 10,000 project
footprints.  Written as GeoPackage (what users load) in EPSG:4490.
Run: .venv/bin/python benchmarks/generate_province.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

OUT = Path(__file__).resolve().parent / "data"
LON0, LON1, LAT0, LAT1 = 115.9, 120.4, 23.6, 28.2


def stars(cx, cy, r, n, rng):
    """Vectorised star-shaped polygons: centres (deg), radius (deg), ``n`` vertices each."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = len(cx)
    rad = r[:, None] * (1 + 0.25 * np.sin(3 * t[None, :] + rng.uniform(0, 6, (k, 1)))
                        + 0.1 * np.sin(11 * t[None, :] + rng.uniform(0, 6, (k, 1))))
    xs = cx[:, None] + rad * np.cos(t)[None, :] / np.cos(np.radians(cy))[:, None]
    ys = cy[:, None] + rad * np.sin(t)[None, :]
    coords = np.stack([xs, ys], axis=-1)
    coords = np.concatenate([coords, coords[:, :1]], axis=1)
    return shapely.polygons(coords)


def main(out: Path = OUT) -> None:
    rng = np.random.default_rng(42)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    province = shapely.box(LON0, LAT0, LON1, LAT1)
    seeds = shapely.points(rng.uniform(LON0, LON1, 1200), rng.uniform(LAT0, LAT1, 1200))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=province.buffer(1)))
    cells = shapely.intersection(cells, province)
    cats = rng.choice(["优先保护单元", "重点管控单元", "一般管控单元"], len(cells), p=[0.45, 0.4, 0.15])
    units = gpd.GeoDataFrame({"code": [f"ZH35{i:04d}{'123'[['优先保护单元', '重点管控单元', '一般管控单元'].index(c)]}0001"
                                       for i, c in enumerate(cats)],
                              "name": [f"单元{i}" for i in range(len(cells))], "category": cats,
                              # every unit has a list (a unit with all list fields blank is 需人工核实): codes only,
                              # the restricted ones (原油加工、炼焦) carried by no benchmark project but by --diverse ones
                              "prohibited_industries": np.where(cats == "优先保护单元", "25;26;30;31;32", ""),
                              "restricted_industries": np.where(cats == "优先保护单元", "", "2511;2521")},
                             geometry=cells, crs=4490)
    units.to_file(out / "units.gpkg", layer="units", driver="GPKG")
    # red lines: 20,000 of ~200 vertices, plus 4 giants of 60,000 vertices
    n = 20_000
    cx, cy = rng.uniform(LON0 + 0.1, LON1 - 0.1, n), rng.uniform(LAT0 + 0.1, LAT1 - 0.1, n)
    small = stars(cx, cy, rng.uniform(0.002, 0.01, n), 200, rng)
    giants = stars(np.array([117.0, 118.5, 119.3, 117.8]), np.array([25.0, 26.5, 27.2, 24.6]),
                   np.full(4, 0.25), 60_000, rng)
    geoms = np.concatenate([small, giants])
    red = gpd.GeoDataFrame({"code": [f"HX{i:06d}" for i in range(len(geoms))],
                            "name": [f"红线{i}" for i in range(len(geoms))]}, geometry=geoms, crs=4490)
    red.to_file(out / "redline.gpkg", layer="redline", driver="GPKG")
    # projects: 10,000 footprints of 100–600 m, plus 200 placed on the giants' boundaries
    m = 10_000
    px, py = rng.uniform(LON0 + 0.05, LON1 - 0.05, m), rng.uniform(LAT0 + 0.05, LAT1 - 0.05, m)
    w, h = rng.uniform(0.001, 0.006, m), rng.uniform(0.001, 0.005, m)
    boxes = shapely.box(px, py, px + w, py + h)
    gb = [g.exterior.interpolate(f, normalized=True) for g in giants for f in np.linspace(0, 1, 50, endpoint=False)]
    giant_fps = shapely.box([p.x - 0.003 for p in gb], [p.y - 0.002 for p in gb], [p.x + 0.003 for p in gb],
                            [p.y + 0.002 for p in gb])
    projects = gpd.GeoDataFrame({"id": [f"B{i:05d}" for i in range(m)] + [f"G{i:03d}" for i in range(len(gb))],
                                 "industry_code": rng.choice(["3011", "3399", "2614", "1713"], m + len(gb))},
                                geometry=np.concatenate([boxes, giant_fps]), crs=4490)
    projects.to_file(out / "projects.gpkg", layer="projects", driver="GPKG")
    (out / "layerset.yaml").write_text(
        "name: 省级基准数据（合成）\nlayers:\n  - {role: control_units, source: units.gpkg}\n"
        "  - {role: eco_redline, source: redline.gpkg}\n"
        "# the synthetic province has no zone of these kinds (rules on them find nothing)\n"
        "absent: [protected_areas, water_sources, industrial_parks, air_quality, 'other:永久基本农田']\n",
        encoding="utf-8")
    nv = int(shapely.get_num_coordinates(geoms).sum())
    print(f"{len(units)} units, {len(red)} red lines ({nv:,} vertices), {len(projects)} projects "
          f"in {time.time() - t0:.1f} s → {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
