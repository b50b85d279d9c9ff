"""Offline HTML map (folium/Leaflet): footprints, intersected features, buffers, popups with the evidence.

Works with no network: every CDN script/stylesheet folium references is removed and the bundled Leaflet
(ui/vendor/leaflet) is inlined.  All attribute text is HTML-escaped before it reaches a popup or tooltip.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import folium
import geopandas as gpd
import shapely

from ..atomic import atomic_path
from ..engine.words import size_text
from ..resources import data_dir

_REMOTE = re.compile(r"<(script|link)\b[^>]*(src|href)=\"https?://[^\"]*\"[^>]*>(\s*</script>)?", re.I)


def esc(text: object) -> str:
    """HTML-escape, and neutralise what could end folium's JS template literals (` $ \\)."""
    return html.escape(str(text)).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _popup(title: str, rows: list[tuple[str, object]]) -> folium.Popup:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    return folium.Popup(f"<b>{esc(title)}</b><table>{body}</table>", max_width=420)


def _geojson(geom, style: dict, popup: folium.Popup, tooltip: str):
    """A styled GeoJSON layer; points are circle markers (Leaflet's default marker is an image that an offline
    page cannot load)."""
    marker = folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9) if geom.geom_type in ("Point", "MultiPoint") \
        else None
    gj = folium.GeoJson(shapely.geometry.mapping(geom), style_function=lambda _f, s=style: s,
                        tooltip=folium.Tooltip(esc(tooltip)), marker=marker)
    gj.add_child(popup)
    return gj


def _colour(hex8: str) -> tuple[str, float]:
    h = hex8.lstrip("#")
    return "#" + h[:6], (int(h[6:8], 16) / 255 if len(h) == 8 else 0.4)


def _legend_html(items: dict[str, tuple[str, str, float]]) -> str:
    """A fixed legend with one swatch per drawn style (same fill, outline and opacity as the map)."""
    rows = "".join(
        f'<div class="lg-row"><span class="lg-sw" style="background:{fill};opacity:{max(op, 0.25) if op else 1};'
        f'border:2px solid {line};{"background:none;border-style:dashed;" if op == 0 else ""}"></span>{esc(label)}</div>'
        for label, (fill, line, op) in items.items())
    return ('<div id="legend" style="position:fixed;bottom:24px;left:10px;z-index:1000;background:white;padding:8px 10px;'
            'border:1px solid #999;border-radius:4px;font:12px sans-serif;max-height:50%;overflow-y:auto">'
            '<b>图例</b><style>.lg-row{margin-top:4px;white-space:nowrap}.lg-sw{display:inline-block;width:18px;'
            'height:12px;margin-right:6px;vertical-align:middle}</style>' + rows + "</div>")


def write_html(doc: dict, layerset, footprints: dict, path: str | Path) -> Path:
    """Write the offline map of every project in ``doc`` to ``path``."""
    union = shapely.union_all(list(footprints.values()))
    c = union.centroid
    m = folium.Map(location=[c.y, c.x], zoom_start=14, tiles=None, control_scale=True, prefer_canvas=False)
    cat = layerset.cat
    layers = {lyr.name: lyr for lyr in layerset.layers}
    feats = folium.FeatureGroup(name="相关要素（搜索半径内）")
    seen = set()
    legend: dict[str, tuple[str, str, float]] = {}      # label → (fill, outline, opacity) of what is drawn
    for r in doc["results"]:
        for o in r["overlaps"]:
            key = (o["layer"], o["feature_id"])
            lyr = layers.get(o["layer"])
            if key in seen or lyr is None:
                continue
            seen.add(key)
            row = lyr.gdf.iloc[[i for i, v in enumerate(lyr.feature_ids()) if v == o["feature_id"]][0]]
            style = cat.style(lyr.role).for_value(row.get(cat.style(lyr.role).by)) if cat.style(lyr.role).by else \
                cat.style(lyr.role).default
            fill, alpha = _colour(style.fill)
            line, _ = _colour(style.outline)
            value = row.get(cat.style(lyr.role).by) if cat.style(lyr.role).by else None
            legend.setdefault(f"{o['layer']}{'：' + str(value) if value else ''}", (fill, line, max(alpha, 0.15)))
            fields = [(cat.roles[lyr.role].fields[k].title if k in cat.roles[lyr.role].fields else k, row[k])
                      for k in row.index if k != lyr.gdf.geometry.name][:12]
            fields += [("重叠面积 m²", f"{o['overlap_area_m2']:,.1f}"), ("距离 m", f"{o['distance_m']:,.1f}")]
            feats.add_child(_geojson(row.geometry, {"fillColor": fill, "fillOpacity": max(alpha, 0.15), "color": line,
                                                    "weight": 1.5}, _popup(f"{o['layer']} {o['feature_id']}", fields),
                                     f"{o['layer']}：{o.get('feature_name') or o['feature_id']}"))
    feats.add_to(m)
    buffers = folium.FeatureGroup(name="500 m / 1000 m 缓冲区")
    projects = folium.FeatureGroup(name="项目范围")
    for r in doc["results"]:
        p = r["project"]
        geom = footprints[p["id"]]
        epsg = int(p["metric_crs"].split(":")[1])
        g_m = gpd.GeoSeries([geom], crs=4490).to_crs(epsg)
        for dist in (1000, 500):
            buf = g_m.buffer(dist).to_crs(4490).iloc[0]
            buffers.add_child(folium.GeoJson(shapely.geometry.mapping(buf), style_function=lambda _f: {
                "fill": False, "color": "#546e7a", "weight": 1, "dashArray": "6 4"}))
        decisive = [f for f in r["findings"] if f["level"] == r["verdict"]][:6]
        rows = [("结论", r["verdict_label"]), ("行业代码", p.get("industry_code")), ("面积 / 长度", size_text(p))]
        rows += [(f.get("title") or "未命名规则", f["message"]) for f in decisive]
        projects.add_child(_geojson(geom, {"fillColor": "#ffeb3b", "fillOpacity": 0.5, "color": "#d50000", "weight": 3},
                                    _popup(f"{p['id']} {p.get('name') or ''}", rows),
                                    f"{p['id']} {p.get('name') or ''}：{r['verdict_label']}"))
    buffers.add_to(m)
    projects.add_to(m)
    legend["项目范围"] = ("#ffeb3b", "#d50000", 0.5)
    legend["500 m / 1000 m 缓冲区"] = ("#ffffff", "#546e7a", 0.0)
    m.get_root().html.add_child(folium.Element(_legend_html(legend)))  # type: ignore[attr-defined]  # a Figure
    folium.LayerControl(collapsed=False).add_to(m)
    b = union.bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    text = m.get_root().render()
    text = _REMOTE.sub("", text)
    vendor = data_dir("ui") / "vendor"
    inline = (f"<style>{(vendor / 'leaflet' / 'leaflet.css').read_text(encoding='utf-8')}</style>\n"
              f"<script>{(vendor / 'leaflet' / 'leaflet.js').read_text(encoding='utf-8')}</script>\n"
              f"<script>{(vendor / 'jquery' / 'jquery.min.js').read_text(encoding='utf-8')}</script>\n"
              "<style>html,body{width:100%;height:100%;margin:0;padding:0}.folium-map{position:absolute;top:0;"
              "bottom:0;right:0;left:0} table th{text-align:left;padding-right:6px;vertical-align:top;white-space:nowrap}"
              ".leaflet-popup-content{max-width:400px;max-height:360px;overflow-y:auto;white-space:normal;"
              "word-break:break-all}</style>")
    names = "、".join(f"{r['project'].get('name') or r['project']['id']}" for r in doc["results"][:3])
    more = f"等 {len(doc['results'])} 个项目" if len(doc["results"]) > 3 else ""
    title = f"<title>{esc(names + more)} — 生态环境分区管控筛查图</title>"
    text = text.replace("<head>", "<head>\n<meta charset=\"utf-8\">\n" + title + "\n" + inline, 1)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
