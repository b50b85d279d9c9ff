"""The printed map as an official sees it: legend swatches drawn like the map (hatching included, checked on the
artists and on the rendered pixels), a GeoTIFF basemap under the map, place labels from a chosen layer, and the
map frame exported as a georeferenced GeoTIFF and as SVG — through the library and the CLI."""
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from gis_screening.io.projects import load_projects
from gis_screening.layerset import load_layerset
from gis_screening.model import Layer
from gis_screening.reports import MapExtras, build_figure, render_map
from gis_screening.reports.maplayout import HATCH
from gis_screening.screening import load_rules, screen

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def park_case():
    """A sample project whose map frame shows an industrial park (hatched in the catalog's style)."""
    ls = load_layerset(SAMPLE / "layerset.yaml")
    projects = load_projects(SAMPLE / "projects" / "projects.gpkg")
    doc = screen(projects, ls, load_rules()).to_json()
    k = next(i for i, r in enumerate(doc["results"]) if any(o["role"] == "industrial_parks" and o["overlap_area_m2"] > 0
                                                           for o in r["overlaps"]))
    return ls, doc["results"][k], projects[k].geometry


def _map_axes(fig):
    return fig.axes[0]


def test_legend_swatches_are_drawn_with_the_map_style(park_case):
    ls, result, geom = park_case
    fig, info = build_figure(result, ls, geom, scale=10000)
    legend = next(a.get_legend() for a in fig.axes if a.get_legend() is not None)
    swatch = {h.get_label(): h for h in legend.legend_handles}
    park = next(lbl for lbl in swatch if lbl.startswith("产业园区"))
    assert swatch[park].get_hatch() == HATCH["horizontal"]
    ax = _map_axes(fig)
    hatched = [c for c in ax.collections if c.get_hatch() == HATCH["horizontal"]]
    assert hatched, "the park is drawn hatched on the map"
    assert np.allclose(hatched[0].get_facecolor()[0], swatch[park].get_facecolor())
    assert np.allclose(hatched[0].get_edgecolor()[0], swatch[park].get_edgecolor())
    # on the rendered page: the swatch's inside shows the hatch lines (outline colour), as the park on the map does
    fig.set_dpi(300)
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    h = img.shape[0]
    renderer = fig.canvas.get_renderer()
    patch = next(p for p in legend.get_patches() if p.get_label() == park)
    bb = patch.get_window_extent(renderer)
    inner = img[h - int(bb.y1) + 2:h - int(bb.y0) - 2, int(bb.x0) + 2:int(bb.x1) - 2]
    outline = np.array([0x42, 0x42, 0x42])
    dark = (np.abs(inner - outline).sum(axis=2) < 90).mean()
    assert dark > 0.05, f"legend swatch has no hatch lines ({dark:.3f})"
    plt.close(fig)


def _basemap(path: Path) -> Path:
    arr = np.zeros((3, 400, 600), dtype=np.uint8)
    arr[2] = 200                                   # blue everywhere, a gradient in red so the stretch keeps blue
    arr[0] = (np.indices((400, 600))[1] % 50).astype(np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=600, height=400, count=3, dtype="uint8", crs="EPSG:4490",
                       transform=from_origin(118.8, 26.4, 0.001, 0.001)) as dst:
        dst.write(arr)
    return path


def _villages(geom, path: Path) -> Path:
    c = geom.centroid
    gdf = gpd.GeoDataFrame({"名称": ["下洋村", "石门村"]},
                           geometry=[shapely.Point(c.x + 0.003, c.y + 0.002), shapely.Point(c.x - 0.004, c.y - 0.003)],
                           crs=4490)
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_basemap_and_place_labels_on_the_printed_map(park_case, tmp_path):
    from pypdf import PdfReader

    from gis_screening.io import read_layer
    ls, result, geom = park_case
    villages = read_layer(_villages(geom, tmp_path / "v.geojson"))
    extras = MapExtras(str(_basemap(tmp_path / "base.tif")), villages, "名称")
    fig, info = build_figure(result, ls, geom, scale=10000, extras=extras)
    ax = _map_axes(fig)
    assert len(ax.images) == 1
    x0, x1, y0, y1 = ax.images[0].get_extent()
    assert (x0, y0) == pytest.approx(info.extent[:2], abs=1.0) and (x1, y1) == pytest.approx(info.extent[2:], abs=1.0)
    assert {t.get_text() for t in ax.texts} >= {"下洋村", "石门村"}
    plt.close(fig)
    render_map(result, ls, geom, tmp_path / "m.pdf", scale=10000, extras=extras)
    text = PdfReader(tmp_path / "m.pdf").pages[0].extract_text()
    assert "下洋村" in text and "石门村" in text
    # a blank spot of the frame is basemap blue with the basemap, white without
    render_map(result, ls, geom, tmp_path / "with.png", scale=10000, extras=MapExtras(extras.basemap), dpi=60)
    render_map(result, ls, geom, tmp_path / "without.png", scale=10000, dpi=60)
    a, b = plt.imread(tmp_path / "with.png"), plt.imread(tmp_path / "without.png")
    assert (np.abs(a - b).sum(axis=2) > 0.2).mean() > 0.1


def test_map_frame_as_georeferenced_geotiff_and_svg(park_case, tmp_path):
    ls, result, geom = park_case
    info = render_map(result, ls, geom, tmp_path / "frame.tif", scale=10000, dpi=100)
    with rasterio.open(tmp_path / "frame.tif") as src:
        assert src.crs.to_epsg() == info.epsg == int(result["project"]["metric_crs"].split(":")[1])
        assert src.count == 4
        assert tuple(src.bounds) == pytest.approx(info.extent, abs=1e-6)
        # the footprint's inside is drawn in the footprint colour (yellow over the layers, red outline)
        p = geom.representative_point()
        x, y = gpd.GeoSeries([p], crs=4490).to_crs(info.epsg).iloc[0].coords[0]
        row, col = src.index(x, y)
        r, g, b, a = src.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0]
        assert a == 255 and r > 180 and g > 150 and b < 170, (r, g, b)
    render_map(result, ls, geom, tmp_path / "sheet.svg", scale=10000)
    svg = (tmp_path / "sheet.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "生态环境分区管控符合性筛查图" in svg


def test_cli_map_options(park_case, tmp_path):
    ls, result, geom = park_case
    villages = _villages(geom, tmp_path / "v.geojson")
    base = _basemap(tmp_path / "base.tif")
    sheet = tmp_path / "p.geojson"
    gpd.GeoDataFrame({"项目编号": [result["project"]["id"]], "项目名称": ["地图测试"], "行业代码": ["3399"],
                      "建设性质": ["新建"]}, geometry=[geom], crs=4490).to_file(sheet, driver="GeoJSON")
    cmd = [sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(SAMPLE / "layerset.yaml"),
           "--project", str(sheet), "--basemap", str(base), "--place-labels", str(villages)]
    ok = subprocess.run([*cmd, "--label-field", "名称", "--map", str(tmp_path / "m.tif"), "--scale", "10000"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    with rasterio.open(tmp_path / "m.tif") as src:
        assert src.crs.to_epsg() == int(result["project"]["metric_crs"].split(":")[1])
    bad = subprocess.run([*cmd, "--label-field", "NAME", "--map", str(tmp_path / "m.pdf")], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "no field 'NAME'" in bad.stderr and "名称" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert json  # noqa
    assert Layer  # noqa
