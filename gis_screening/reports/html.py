"""Offline HTML map (folium/Leaflet): footprints, intersected features, buffers, popups with the evidence.

Works with no network: every CDN script/stylesheet folium references is removed and the bundled Leaflet
(ui/vendor/leaflet) is inlined.  All attribute text is HTML-escaped before it reaches a popup or tooltip.
"""
from __future__ import annotations

import html
import re
import uuid
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import orjson
import shapely
from branca.element import MacroElement, Template

from ..atomic import atomic_path
from ..engine.words import size_text
from ..resources import data_dir

_REMOTE = re.compile(r"<(script|link)\b[^>]*(src|href)=\"https?://[^\"]*\"[^>]*>(\s*</script>)?", re.I)


def esc(text: object) -> str:
    """HTML-escape, and neutralise what could end folium's JS template literals (` $ \\)."""
    return html.escape(str(text)).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _popup(title: str, rows: list[tuple[str, object]]) -> str:
    """A popup's HTML: the title and a table of the rows that have a value, every text escaped."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    return f"<b>{esc(title)}</b><table>{body}</table>"


#: Decimal places of the drawn coordinates (degrees): 1e-6° is ~0.1 m, finer than any screen shows.
COORD_DECIMALS = 6


def _feature(geom, style: dict | None = None, popup: str | None = None, tooltip: str | None = None) -> tuple:
    """A feature to draw (EPSG:4490) and how: its style, popup HTML and tooltip text (escaped here)."""
    return geom, {"s": style or {}, "p": popup, "t": esc(tooltip) if tooltip else None}


def _script_json(text: str) -> str:
    """JSON text made safe inside a <script>: ``<``, ``>`` and ``&`` (which only occur in its strings) become JSON
    escapes, so no text can end the script or open a comment; Chinese is kept as it is (the page stays readable)."""
    for ch, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                        ("\u2029", "\\u2029")):
        text = text.replace(ch, escaped)
    return text


class _Features(MacroElement):
    """Many features drawn as one Leaflet GeoJSON layer in the element it is added to (a feature group), each with
    its own style, popup and tooltip; points as circle markers (Leaflet's default marker is an image that an
    offline page cannot load).  One element instead of one folium element per feature (a 10,200-project map took
    93 s, 3.6 GB of memory and 214 MB of HTML: folium compiled a template for each of ~50,000 elements), and its
    GeoJSON goes into the page after folium has rendered it (:meth:`fill`), under a token: folium would compile
    the text of every rendered script as a template again."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.geoJSON({{ this.token }}, {
            style: function (f) { return f.properties.s; },
            pointToLayer: function (f, latlng) {
                return L.circleMarker(latlng, {radius: 7, fill: true, fillOpacity: 0.9});
            },
            onEachFeature: function (f, layer) {
                if (f.properties.p) { layer.bindPopup(f.properties.p, {maxWidth: 420}); }
                if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true}); }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, features: list[tuple], token: str) -> None:
        super().__init__()
        self._name = "Features"
        self.token = token
        geoms = np.empty(len(features), dtype=object)
        geoms[:] = [g for g, _ in features]
        rounded = shapely.transform(geoms, lambda xy: np.round(xy, COORD_DECIMALS))
        self.json = _script_json('{"type":"FeatureCollection","features":[' + ",".join(
            f'{{"type":"Feature","geometry":{g},"properties":{orjson.dumps(p).decode("utf-8")}}}'
            for g, (_, p) in zip(shapely.to_geojson(rounded), features)) + "]}")

    @staticmethod
    def fill(text: str, elements: list[_Features]) -> str:
        """``text`` (the rendered page) with each element's token replaced by its GeoJSON, in one pass (nothing
        inserted is looked at again)."""
        data = {e.token: e.json for e in elements}
        return re.sub("|".join(re.escape(t) for t in data), lambda m: data[m.group(0)], text)


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
    rows_of: dict[str, dict[str, int]] = {}     # layer name → feature id → its first row (found once per layer)
    legend: dict[str, tuple[str, str, float]] = {}      # label → (fill, outline, opacity) of what is drawn
    drawn = []
    for r in doc["results"]:
        for o in r["overlaps"]:
            key = (o["layer"], o["feature_id"])
            lyr = layers.get(o["layer"])
            if key in seen or lyr is None:
                continue
            seen.add(key)
            if o["layer"] not in rows_of:
                rows_of[o["layer"]] = {}
                for i, fid in enumerate(lyr.feature_ids()):
                    rows_of[o["layer"]].setdefault(fid, i)
            row = lyr.gdf.iloc[rows_of[o["layer"]][o["feature_id"]]]
            style = cat.style(lyr.role).for_value(row.get(cat.style(lyr.role).by)) if cat.style(lyr.role).by else \
                cat.style(lyr.role).default
            fill, alpha = _colour(style.fill)
            line, _ = _colour(style.outline)
            value = row.get(cat.style(lyr.role).by) if cat.style(lyr.role).by else None
            legend.setdefault(f"{o['layer']}{'：' + str(value) if value else ''}", (fill, line, max(alpha, 0.15)))
            fields = [(cat.roles[lyr.role].fields[k].title if k in cat.roles[lyr.role].fields else k, row[k])
                      for k in row.index if k != lyr.gdf.geometry.name][:12]
            fields += [("重叠面积 m²", f"{o['overlap_area_m2']:,.1f}"), ("距离 m", f"{o['distance_m']:,.1f}")]
            drawn.append(_feature(row.geometry, {"fillColor": fill, "fillOpacity": max(alpha, 0.15), "color": line,
                                                 "weight": 1.5}, _popup(f"{o['layer']} {o['feature_id']}", fields),
                                  f"{o['layer']}：{o.get('feature_name') or o['feature_id']}"))
    salt = uuid.uuid4().hex          # the tokens where the features go: no text of the data can spell them
    groups: list[_Features] = []

    def draw(group: folium.FeatureGroup, features: list[tuple]) -> None:
        """``features`` as one layer of ``group``, under a token of its own."""
        groups.append(_Features(features, f"gis_features_{salt}_{len(groups)}"))
        group.add_child(groups[-1])
    draw(feats, drawn)
    feats.add_to(m)
    buffers = folium.FeatureGroup(name="500 m / 1000 m 缓冲区")
    projects = folium.FeatureGroup(name="项目范围")
    results = doc["results"]
    geoms = [footprints[r["project"]["id"]] for r in results]
    ring = {"fill": False, "color": "#546e7a", "weight": 1, "dashArray": "6 4"}
    rings = []
    for epsg in sorted({int(r["project"]["metric_crs"].split(":")[1]) for r in results}):   # buffered per GK zone
        here = [g for g, r in zip(geoms, results) if r["project"]["metric_crs"] == f"EPSG:{epsg}"]
        metric = gpd.GeoSeries(here, crs=4490).to_crs(epsg)
        for dist in (1000, 500):
            rings += [_feature(b, ring) for b in metric.buffer(dist).to_crs(4490)]
    draw(buffers, rings)
    shapes = []
    for r, geom in zip(results, geoms):
        p = r["project"]
        decisive = [f for f in r["findings"] if f["level"] == r["verdict"]][:6]
        rows = [("结论", r["verdict_label"]), ("行业代码", p.get("industry_code")), ("面积 / 长度", size_text(p))]
        rows += [(f.get("title") or "未命名规则", f["message"]) for f in decisive]
        shapes.append(_feature(geom, {"fillColor": "#ffeb3b", "fillOpacity": 0.5, "color": "#d50000", "weight": 3},
                               _popup(f"{p['id']} {p.get('name') or ''}", rows),
                               f"{p['id']} {p.get('name') or ''}：{r['verdict_label']}"))
    draw(projects, shapes)
    buffers.add_to(m)
    projects.add_to(m)
    legend["项目范围"] = ("#ffeb3b", "#d50000", 0.5)
    legend["500 m / 1000 m 缓冲区"] = ("#ffffff", "#546e7a", 0.0)
    m.get_root().html.add_child(folium.Element(_legend_html(legend)))  # type: ignore[attr-defined]  # a Figure
    folium.LayerControl(collapsed=False).add_to(m)
    b = union.bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    text = _REMOTE.sub("", m.get_root().render())
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
    text = _Features.fill(text, groups)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
