"""The screening map / print layout (matplotlib; vector PDF or PNG), shared by the CLI and the app's print dialog.

A4/A3, portrait/landscape, a user scale (1:2,000 … 1:500,000) or fit-to-footprint; drawn in the project's GK metric
CRS, so the scale bar is in true metres.  Title, legend of what is visible, scale bar, north arrow, CGCS2000
graticule with lon/lat labels, overview inset, verdict box, sources, date and producer.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.patches import Polygon as MplPolygon

from .. import __version__  # noqa: E402
from ..atomic import atomic_path  # noqa: E402
from ..crs import STORAGE_EPSG, metric_epsg_for_lon, transformer  # noqa: E402
from ..engine.model import VERDICT_COLOURS  # noqa: E402
from ..engine.words import chinese_datetime, decisive_titles  # noqa: E402
from .fonts import find_cjk_font  # noqa: E402

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
NICE_SCALES = [2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000]
MM = 1 / 25.4  # inch per mm


@dataclass
class MapInfo:
    scale: int
    epsg: int
    extent: tuple[float, float, float, float]   # metres, GK
    bar_m: float                                 # scale bar length in ground metres
    bar_paper_mm: float                          # the bar's drawn length on paper
    map_width_mm: float
    visible: list[str]


@lru_cache(maxsize=1)
def _font() -> str:
    """The CJK font's family name, registered with matplotlib once (registering again clears its font cache)."""
    path = find_cjk_font()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def choose_scale(extent_w: float, extent_h: float, frame_w_mm: float, frame_h_mm: float) -> int:
    """Smallest nice scale at which an extent (metres) fits a frame (mm)."""
    need = max(extent_w / (frame_w_mm / 1000), extent_h / (frame_h_mm / 1000))
    for s in NICE_SCALES:
        if s >= need:
            return s
    return int(np.ceil(need / 100000) * 100000)


def nice_length(max_m: float) -> float:
    """Largest 1/2/5 × 10^k not above ``max_m``."""
    k = 10 ** np.floor(np.log10(max_m))
    for m in (5, 2, 1):
        if m * k <= max_m:
            return float(m * k)
    return float(k)


def _dms(v: float, pos: str, neg: str) -> str:
    h = pos if v >= 0 else neg
    v = abs(v)
    d = int(v)
    m = int((v - d) * 60)
    s = round((v - d - m / 60) * 3600)
    if s == 60:
        m, s = m + 1, 0
    return f"{d}°{m:02d}′{s:02d}″{h}"


#: matplotlib hatch patterns for the catalog's hatch names: the map and its legend draw from this one table
HATCH = {"diagonal": "////", "cross": "xx", "horizontal": "---", "vertical": "|||"}


def style_kwargs(style, width_factor: float = 0.6) -> dict:
    """Fill, outline, hatch and line width of a catalog style, for a map patch and its legend swatch alike."""
    return {"facecolor": style.fill, "edgecolor": style.outline, "linewidth": style.width * width_factor,
            "hatch": HATCH.get(style.hatch or "")}


@dataclass
class MapExtras:
    """What the user adds to a printed map: a basemap (a GeoTIFF, or the cached tiles of the app's XYZ source) and
    place labels from a layer's field."""

    basemap: str | None = None
    labels: object | None = None          # a Layer (points, lines or polygons) whose features are named
    label_field: str = "name"
    tiles: object | None = None           # a gis_screening.tiles.TileSource: its cached tiles, when no GeoTIFF


def _style_groups(layer):
    rs = layer.cat.style(layer.role)
    gdf = layer.gdf
    if rs.by and rs.by in gdf.columns:
        for value, sub in gdf.groupby(gdf[rs.by].fillna("—")):
            yield str(value), rs.for_value(value), sub
    else:
        yield None, rs.default, gdf


def render_map(result: dict, layerset, footprint, out_path: str | Path, *, paper: str = "A4",
               landscape: bool = False, scale: int | None = None, dpi: int = 200, extras: MapExtras | None = None
               ) -> MapInfo:
    """Draw one project's screening map to ``out_path``: the sheet as .pdf/.svg (vector) or .png, or the map frame
    alone as a georeferenced GeoTIFF (.tif/.tiff, RGBA in the project's GK CRS).  Returns what was drawn."""
    if Path(out_path).suffix.lower() in (".tif", ".tiff"):
        return _save_geotiff(result, layerset, footprint, out_path, paper, landscape, scale, dpi, extras)
    fig, info = build_figure(result, layerset, footprint, paper=paper, landscape=landscape, scale=scale,
                             extras=extras)
    with matplotlib.rc_context({"pdf.fonttype": 42, "svg.fonttype": "none"}), atomic_path(out_path) as tmp:
        suffix = Path(out_path).suffix.lower().lstrip(".")
        jpeg = {"pil_kwargs": {"quality": 90}} if suffix in ("jpg", "jpeg") else {}
        fig.savefig(tmp, dpi=dpi, format=suffix or None, **jpeg)
    plt.close(fig)
    return info


def _save_geotiff(result, layerset, footprint, out_path, paper, landscape, scale, dpi: int, extras) -> MapInfo:
    """The sheet's map frame alone at ``dpi`` as an RGBA GeoTIFF georeferenced in the project's GK CRS."""
    import rasterio
    from rasterio.transform import from_bounds
    _w, _h, map_w, map_h, epsg, fp, extent, scale = _sheet_frame(result, footprint, paper, landscape, scale)
    x0, y0, x1, y1 = extent
    fig = plt.figure(figsize=(map_w * MM, map_h * MM), dpi=dpi)
    fig.canvas.draw_idle = lambda *a, **k: None  # type: ignore[method-assign]
    ax = fig.add_axes((0, 0, 1, 1))
    _frame(ax, extent)
    _handles, visible = _draw_layers(ax, layerset, extent, epsg, fp, result["project"]["id"], extras)
    bar_m = nice_length((x1 - x0) / 4)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]  # the Agg canvas
    plt.close(fig)
    h, w = rgba.shape[:2]
    with atomic_path(out_path) as tmp, rasterio.open(
            tmp, "w", driver="GTiff", width=w, height=h, count=4, dtype="uint8", crs=f"EPSG:{epsg}",
            transform=from_bounds(x0, y0, x1, y1, w, h), photometric="RGB", compress="deflate") as dst:
        dst.write(np.moveaxis(rgba, 2, 0))
        dst.colorinterp = [rasterio.enums.ColorInterp.red, rasterio.enums.ColorInterp.green,
                           rasterio.enums.ColorInterp.blue, rasterio.enums.ColorInterp.alpha]
        dst.update_tags(TIFFTAG_DOCUMENTNAME=f"{result['project']['id']} 筛查图 1:{scale}")
    return MapInfo(scale, epsg, extent, bar_m, bar_m / scale * 1000, map_w, visible)


def _frame(ax, extent) -> None:
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


#: drawing order of the roles (bottom first)
ORDER = ["air_quality", "control_units", "industrial_parks", "other", "water_sources", "protected_areas", "eco_redline"]


def _draw_layers(ax, layerset, extent, epsg: int, fp, project_id: str, extras: MapExtras | None):
    """Basemap, layers clipped to the frame (catalog styles), unit codes, place labels and the footprint;
    returns the legend handles and labels of what is visible."""
    frame = shapely.box(*extent)
    frame_ll = gpd.GeoSeries([frame], crs=epsg).to_crs(4490).iloc[0]
    if extras and extras.basemap:
        from ..basemap import warp_geotiff
        rgba, (bx0, by0, bx1, by1) = warp_geotiff(extras.basemap, epsg, bounds=extent, max_px=2400)
        ax.imshow(rgba, extent=(bx0, bx1, by0, by1), origin="upper", zorder=1, interpolation="bilinear")
    elif extras and extras.tiles is not None:
        from ..basemap import tile_mosaic
        mosaic = tile_mosaic(extras.tiles, epsg, extent)
        if mosaic is not None:
            rgba, (bx0, by0, bx1, by1) = mosaic
            ax.imshow(rgba, extent=(bx0, bx1, by0, by1), origin="upper", zorder=1, interpolation="bilinear")
    handles, visible = [], []
    for layer in sorted(layerset.layers, key=lambda lyr: ORDER.index(lyr.role) if lyr.role in ORDER else 0):
        sub_ll = layer.gdf.cx[frame_ll.bounds[0]:frame_ll.bounds[2], frame_ll.bounds[1]:frame_ll.bounds[3]]
        if sub_ll.empty:
            continue
        sub = sub_ll.to_crs(epsg)
        sub = sub[sub.intersects(frame)]
        if sub.empty:
            continue
        for value, style, part in _style_groups(type(layer)(layer.role, layer.name, layer.source, sub,
                                                            catalog=layer.catalog)):
            part.plot(ax=ax, **style_kwargs(style), zorder=2 + ORDER.index(layer.role) if layer.role in ORDER else 2)
            label = layer.name + (f"：{value}" if value else "")
            handles.append(Patch(**style_kwargs(style), label=label))
            visible.append(label)
        if layer.role == "control_units" and len(sub) <= 40:
            for code, geom in zip(sub["code"], sub.geometry):
                p = geom.intersection(frame).representative_point()
                if not p.is_empty:
                    ax.text(p.x, p.y, code, fontsize=5, color="#37474f", ha="center", va="center", zorder=20,
                            clip_on=True)
    if extras and extras.labels is not None:
        visible += _place_labels(ax, extras.labels, extras.label_field, frame, frame_ll, epsg)
    g = fp.iloc[0]
    fp.plot(ax=ax, facecolor="#ffeb3b66", edgecolor="#d50000", linewidth=1.6, zorder=30,
            markersize=30, color=None if g.geom_type not in ("Point", "MultiPoint") else "#d50000")
    handles.append(Patch(facecolor="#ffeb3b66", edgecolor="#d50000", linewidth=1.6, label=f"项目范围 {project_id}"))
    visible.append("项目范围")
    ax.set_xlabel("")
    ax.set_ylabel("")
    return handles, visible


def _place_labels(ax, layer, field: str, frame, frame_ll, epsg: int, limit: int = 200) -> list[str]:
    """Names from ``layer[field]`` at their features (points: beside a dot) on a light box (kept as text in PDF and
    SVG, so the names can be searched and copied); returns the names drawn."""
    gdf = layer.gdf
    if field not in gdf.columns:
        return []
    sub = gdf.cx[frame_ll.bounds[0]:frame_ll.bounds[2], frame_ll.bounds[1]:frame_ll.bounds[3]]
    sub = sub[sub[field].notna()].to_crs(epsg)
    sub = sub[sub.intersects(frame)].head(limit)
    box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}
    names = []
    for name, geom in zip(sub[field], sub.geometry):
        point = geom if geom.geom_type == "Point" else geom.intersection(frame).representative_point()
        if point.is_empty:
            continue
        text = " ".join(str(name).split())[:30]
        if geom.geom_type == "Point":
            ax.plot(point.x, point.y, "o", color="#263238", markersize=2, zorder=44)
        ax.annotate(text, (point.x, point.y), xytext=(3, 2) if geom.geom_type == "Point" else (0, 0),
                    textcoords="offset points", fontsize=6, color="#263238", zorder=45, annotation_clip=True,
                    ha="left" if geom.geom_type == "Point" else "center", bbox=box)
        names.append(text)
    return names


#: sheet layout in mm: outer margin, side panel width, title band, bottom band
MARGIN, PANEL_W, TOP, BOTTOM = 12.0, 58.0, 22.0, 26.0


def _sheet_frame(result: dict, footprint, paper: str, landscape: bool, scale: int | None):
    """Where a sheet's map frame is: ``(paper w, h mm, frame w, h mm, GK EPSG, footprint GeoSeries in it,
    extent in metres, scale)``; the frame is centred on the footprint at ``scale`` (or the smallest nice scale
    showing it with room around)."""
    w_mm, h_mm = PAPER_MM[paper.upper()]
    if landscape:
        w_mm, h_mm = h_mm, w_mm
    map_w, map_h = w_mm - 2 * MARGIN - PANEL_W - 4, h_mm - TOP - BOTTOM
    proj = result["project"]
    epsg = int(proj["metric_crs"].split(":")[1]) if "metric_crs" in proj else metric_epsg_for_lon(footprint.centroid.x)
    fp = gpd.GeoSeries([footprint], crs=4490).to_crs(epsg)
    x0, y0, x1, y1 = fp.iloc[0].bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ext_w, ext_h = max(x1 - x0, 1) * 1.6 + 400, max(y1 - y0, 1) * 1.6 + 400
    scale = int(scale) if scale else choose_scale(ext_w, ext_h, map_w, map_h)
    half_w, half_h = map_w / 1000 * scale / 2, map_h / 1000 * scale / 2
    return w_mm, h_mm, map_w, map_h, epsg, fp, (cx - half_w, cy - half_h, cx + half_w, cy + half_h), scale


def build_figure(result: dict, layerset, footprint, *, paper="A4", landscape=False, scale=None,
                 extras: MapExtras | None = None):
    """The print layout as a matplotlib figure (for saving or previewing) and its :class:`MapInfo`."""
    family = _font()
    w_mm, h_mm, map_w, map_h, epsg, fp, extent, scale = _sheet_frame(result, footprint, paper, landscape, scale)
    margin, panel_w, top, bottom = MARGIN, PANEL_W, TOP, BOTTOM
    plt.rcParams["font.family"] = [family, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    fig = plt.figure(figsize=(w_mm * MM, h_mm * MM))
    fig.canvas.draw_idle = lambda *a, **k: None  # type: ignore[method-assign]  # geopandas redraws per layer: draw once
    ax = fig.add_axes((margin / w_mm, bottom / h_mm, map_w / w_mm, map_h / h_mm))
    proj = result["project"]
    g = fp.iloc[0]
    _frame(ax, extent)
    handles, visible = _draw_layers(ax, layerset, extent, epsg, fp, proj["id"], extras)
    _graticule(ax, extent, epsg)
    bar_m, bar_mm = _scale_bar(ax, extent, scale, map_w)
    # title and panel
    fig.text(0.5, 1 - 9 / h_mm, f"{proj.get('name') or proj['id']} 生态环境分区管控符合性筛查图", ha="center",
             va="center", fontsize=15)
    fig.text(0.5, 1 - 16 / h_mm, f"项目编号 {proj['id']}　比例尺 1:{scale:,}　坐标系 CGCS2000 / 3° 高斯-克吕格 "
             f"EPSG:{epsg}", ha="center", va="center", fontsize=8)
    px = (margin + map_w + 4) / w_mm
    pw = panel_w / w_mm
    verdict = result.get("verdict", "compliant")
    vb = fig.add_axes((px, 1 - (top + 22) / h_mm, pw, 20 / h_mm))
    vb.axis("off")
    vb.add_patch(Rectangle((0, 0), 1, 1, transform=vb.transAxes, facecolor=VERDICT_COLOURS.get(verdict, "#777"),
                           edgecolor="none"))
    vb.text(0.5, 0.62, f"筛查结论：{result.get('verdict_label', '')}", ha="center", va="center", color="white",
            fontsize=12, transform=vb.transAxes)
    decisive = "；".join(decisive_titles(result)[:2])
    vb.text(0.5, 0.25, decisive[:40], ha="center", va="center", color="white", fontsize=5.5, transform=vb.transAxes)
    na = fig.add_axes((px + pw * 0.35, 1 - (top + 40) / h_mm, pw * 0.3, 15 / h_mm))
    na.axis("off")
    na.add_patch(MplPolygon([(0.5, 1.0), (0.2, 0.2), (0.5, 0.4), (0.8, 0.2)], closed=True, facecolor="black",
                            transform=na.transAxes))
    na.text(0.5, -0.05, "N", ha="center", va="top", fontsize=10, transform=na.transAxes)
    leg = fig.add_axes((px, (bottom + 58) / h_mm, pw, (map_h - 106) / h_mm))
    leg.axis("off")
    leg.legend(handles=handles[:24], loc="upper left", fontsize=6.5, frameon=True, title="图例", title_fontsize=8,
               handlelength=2.2, borderaxespad=0)
    _overview(fig, [px, bottom / h_mm, pw, 52 / h_mm], layerset, g, epsg, extent)
    today = chinese_datetime(with_time=False)
    fig.text(margin / w_mm, 8 / h_mm,
             f"数据来源：{layerset.name}（{len(layerset.layers)} 个图层）；筛查规则："
             f"{', '.join(p['id'] + ' ' + p['version'] for p in result.get('rule_packs', []))}"[:160],
             fontsize=6, va="bottom")
    fig.text(1 - margin / w_mm, 8 / h_mm, f"图号：{result.get('map_number') or '—'}", fontsize=6, va="bottom",
             ha="right")
    fig.text(margin / w_mm, 4 / h_mm, f"制图单位：{result.get('map_unit') or '—'}　制图：gis-screening {__version__}　"
             f"日期：{today}　本图为分区管控初筛成果，"
             "不作为审批依据", fontsize=6, va="bottom")
    return fig, MapInfo(scale, epsg, extent, bar_m, bar_mm, map_w, visible)


def _graticule(ax, extent, epsg):
    to_ll = transformer(epsg, STORAGE_EPSG)
    to_m = transformer(STORAGE_EPSG, epsg)
    xs = np.linspace(extent[0], extent[2], 5)
    ys = np.linspace(extent[1], extent[3], 5)
    lons, lats = to_ll.transform(*np.meshgrid(xs, ys))
    lo0, lo1, la0, la1 = lons.min(), lons.max(), lats.min(), lats.max()
    for step in (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
        if (lo1 - lo0) / step <= 5:
            break
    for lon in np.arange(np.ceil(lo0 / step) * step, lo1, step):
        yy = np.linspace(la0 - step, la1 + step, 50)
        x, y = to_m.transform(np.full_like(yy, lon), yy)
        ax.plot(x, y, color="#607d8b", linewidth=0.3, linestyle="--", zorder=40)
        xb, _ = to_m.transform(lon, la0)
        if extent[0] < xb < extent[2]:
            ax.text(xb, extent[1], _dms(lon, "E", "W"), fontsize=5.5, ha="center", va="top", clip_on=False)
    for lat in np.arange(np.ceil(la0 / step) * step, la1, step):
        xx = np.linspace(lo0 - step, lo1 + step, 50)
        x, y = to_m.transform(xx, np.full_like(xx, lat))
        ax.plot(x, y, color="#607d8b", linewidth=0.3, linestyle="--", zorder=40)
        _, yb = to_m.transform(lo0, lat)
        if extent[1] < yb < extent[3]:
            ax.text(extent[0], yb, _dms(lat, "N", "S"), fontsize=5.5, ha="right", va="center", rotation=90,
                    clip_on=False)


def _scale_bar(ax, extent, scale, map_w_mm):
    """A bar drawn in data metres (so paper length = metres / scale); returns (metres, paper mm)."""
    width_m = extent[2] - extent[0]
    bar = nice_length(width_m / 4)
    x0 = extent[0] + width_m * 0.04
    y0 = extent[1] + (extent[3] - extent[1]) * 0.04
    h = (extent[3] - extent[1]) * 0.008
    for i in range(4):
        ax.add_patch(Rectangle((x0 + i * bar / 4, y0), bar / 4, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.5, zorder=50))
    unit, div = ("km", 1000) if bar >= 1000 else ("m", 1)
    for frac in (0, 0.5, 1):
        ax.text(x0 + bar * frac, y0 + h * 1.8, f"{bar * frac / div:g}", fontsize=6, ha="center", va="bottom", zorder=50)
    ax.text(x0 + bar + width_m * 0.01, y0, unit, fontsize=6, va="bottom", zorder=50)
    paper_mm = bar / scale * 1000
    return bar, paper_mm


_OUTLINES: dict = {}


def _outline(layer, epsg: int):
    """The simplified outline of all of ``layer``'s features in EPSG:``epsg`` (the overview map), computed once per
    layer version and CRS."""
    key = (layer.uid, layer.version, epsg)
    if key not in _OUTLINES:
        if len(_OUTLINES) > 8:
            _OUTLINES.clear()
        union = shapely.union_all(layer.gdf.geometry.values).simplify(0.002)
        _OUTLINES[key] = gpd.GeoSeries([union], crs=4490).to_crs(epsg).iloc[0]
    return _OUTLINES[key]


def _overview(fig, rect, layerset, g, epsg, extent):
    ov = fig.add_axes(rect)
    ov.set_xticks([])
    ov.set_yticks([])
    ov.set_title("位置示意", fontsize=7)
    base = layerset.first("control_units") or (layerset.layers[0] if layerset.layers else None)
    if base is not None:
        gpd.GeoSeries([_outline(base, epsg)], crs=epsg).plot(ax=ov, facecolor="#eceff1", edgecolor="#607d8b",
                                                               linewidth=0.5)
    ov.add_patch(Rectangle((extent[0], extent[1]), extent[2] - extent[0], extent[3] - extent[1], fill=False,
                           edgecolor="#d50000", linewidth=1.0))
    ov.set_aspect("equal")
    ov.set_xlabel("")
    ov.set_ylabel("")
