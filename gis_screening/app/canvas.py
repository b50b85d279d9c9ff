"""QPainter map canvas: pan/zoom, zoom box, identify, measure, draw footprints, selection highlight.

Geometries are drawn in the CGCS2000 3° GK zone of the data (metres), culled with an STRtree over feature
bounds and simplified per zoom band (tolerance ≈ half a pixel, cached per band), so province-scale layers stay
fluid.  Styles come from the layer catalog (fill, outline, hatching, category colours).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from qtpy.QtCore import QPointF, QRectF, Qt, Signal
from qtpy.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF, QTransform
from qtpy.QtWidgets import QWidget

from ..catalog import Style
from ..crs import STORAGE_EPSG, gk3_zone_for_lon, metric_epsg_for_bounds, reproject, transformer
from ..engine.projected import layer_bounds, projected_geoms

# pandas, geopandas and PROJ are not imported to open and draw layers from the cache: the transformations are made on
# first use (a pointer's coordinates, a tile, a drawn footprint)
if TYPE_CHECKING:
    from pyproj import Transformer

HATCH = {"diagonal": Qt.BrushStyle.BDiagPattern, "cross": Qt.BrushStyle.DiagCrossPattern, "horizontal": Qt.BrushStyle.HorPattern,
         "vertical": Qt.BrushStyle.VerPattern}


def qcolor(hex8: str, opacity: float = 1.0) -> QColor:
    """``#rrggbb[aa]`` (catalog order) → QColor, alpha scaled by ``opacity``."""
    h = hex8.lstrip("#")
    a = int(h[6:8], 16) if len(h) == 8 else 255
    return QColor(int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), int(a * opacity))


def _polygon(xy: np.ndarray) -> QPolygonF:
    """A QPolygonF of the (n, 2) coordinates ``xy`` (a third column, Z, is left out), copied straight into its buffer (PyQt5's QPolygonF is a
    contiguous array of (x, y) doubles, as pyqtgraph uses it); point by point where the binding has no buffer."""
    poly = QPolygonF(len(xy))
    if not len(xy):
        return poly
    try:
        buf: Any = poly.data()
        buf.setsize(16 * len(xy))
        np.frombuffer(buf, dtype=np.float64)[:] = np.ascontiguousarray(xy[:, :2], dtype=np.float64).ravel()
    except (AttributeError, TypeError):
        poly = QPolygonF([QPointF(p[0], p[1]) for p in xy])
    return poly


def _rings_path(geom, path: QPainterPath) -> None:
    t = geom.geom_type
    if t == "Polygon":
        for ring in [geom.exterior, *geom.interiors]:
            path.addPolygon(_polygon(np.asarray(ring.coords)))
            path.closeSubpath()
    elif t in ("LineString", "LinearRing"):
        path.addPolygon(_polygon(np.asarray(geom.coords)))        # an open subpath: the line itself
    elif t == "Point":
        path.addEllipse(QPointF(geom.x, geom.y), 0.5, 0.5)
    else:
        for part in geom.geoms:
            _rings_path(part, path)


def simplified(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Geometries with more than 16 vertices simplified to ``tolerance`` (canvas metres) in one call; one that
    simplifies to nothing is drawn as its envelope."""
    out = geoms.copy()
    big = np.flatnonzero(shapely.get_num_coordinates(geoms) > 16)
    if len(big):
        s = shapely.simplify(geoms[big], tolerance, preserve_topology=False)
        gone = shapely.is_empty(s)
        s[gone] = shapely.envelope(geoms[big[gone]])
        out[big] = s
    return out


def geometry_path(geom) -> QPainterPath:
    """A QPainterPath of a shapely geometry (polygon rings, lines, point dots) in its own coordinates."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    if geom is not None and not geom.is_empty:
        _rings_path(geom, path)
    return path


class RenderLayer:
    """A layer projected to the canvas CRS, indexed, with simplified paths cached per zoom band."""

    def __init__(self, view, epsg: int):
        self.view = view
        layer = view.layer
        self.version = layer.version
        self.geoms = projected_geoms(layer, epsg)
        self.tree = shapely.STRtree(self.geoms)
        self.sizes = np.max(shapely.bounds(self.geoms)[:, 2:] - shapely.bounds(self.geoms)[:, :2], axis=1)
        self.dims = shapely.get_dimensions(self.geoms)
        self.max_dim = int(self.dims.max()) if len(self.dims) else 2
        self._paths: dict[Any, dict[Any, Any]] = {}   # band → {feature → path}; ("merged", band) → {"groups": …}
        self.restyle()
        codes = layer.column_values("code") if layer.role == "control_units" else None
        self.labels: list[str] | None = None if codes is None else [v if isinstance(v, str) else "" for v in codes]

    def label_points(self) -> np.ndarray:
        """(x, y) inside each feature where its label goes (computed once)."""
        if getattr(self, "_label_pts", None) is None:
            rp = shapely.point_on_surface(self.geoms)
            self._label_pts = np.column_stack([shapely.get_x(rp), shapely.get_y(rp)])
        return self._label_pts

    def restyle(self) -> None:
        """Styles per feature: the user's override, else the catalog's (by category value)."""
        layer = self.view.layer
        cat = layer.cat
        rs = cat.style(layer.role) if layer.role in cat.roles else None
        if self.view.style:
            base = rs.default if rs else None
            st = Style(**{**(base.model_dump() if base else {}), **self.view.style})
            self.styles: list[Style | None] = [st] * len(self.geoms)
        elif rs and rs.by and (values := layer.column_values(rs.by)) is not None:
            self.styles = [rs.for_value(v) for v in values]
        else:
            self.styles = [rs.default if rs else None] * len(self.geoms)
        self._paths = {k: v for k, v in self._paths.items() if not (isinstance(k, tuple) and k[0] == "merged")}

    def merged(self, band: int) -> list[tuple[object, QPainterPath]]:
        """All features at least a pixel wide at ``band``, merged into one path per style (for far zooms)."""
        cache = self._paths.setdefault(("merged", band), {})
        if "groups" not in cache:
            groups: dict[int, tuple[object, QPainterPath]] = {}
            shown = np.flatnonzero(self.sizes >= 2.0 ** (band + 1))
            self._build_paths(shown, band)
            for i in shown:
                st = self.styles[i]
                key = id(st)
                if key not in groups:
                    path = QPainterPath()
                    path.setFillRule(Qt.FillRule.OddEvenFill)
                    groups[key] = (st, path)
                groups[key][1].addPath(self.path(int(i), band))
            cache["groups"] = list(groups.values())
        return cache["groups"]

    def path(self, i: int, band: int) -> QPainterPath:
        """The cached QPainterPath of feature ``i`` at level-of-detail ``band`` (canvas metres, GK)."""
        p = self._paths.setdefault(band, {}).get(i)
        if p is None:
            self._build_paths(np.array([i]), band)
            p = self._paths[band][i]
        return p

    def _build_paths(self, idx: np.ndarray, band: int) -> None:
        """Cache the paths of features ``idx`` at ``band`` that are not cached yet (simplified in one call)."""
        cache = self._paths.setdefault(band, {})
        todo = [i for i in idx.tolist() if i not in cache]
        if todo:
            for i, g in zip(todo, simplified(self.geoms[todo], 2.0 ** band)):
                cache[i] = geometry_path(g)


class MapCanvas(QWidget):
    """The map: renders the session's layers and projects; emits cursor, identify, measure and draw events."""

    cursor_moved = Signal(float, float, float, float)    # lon, lat, GK X (north), GK Y (east, with zone)
    scale_changed = Signal(int)
    feature_identified = Signal(str, int)                 # layer uid, feature index (topmost hit)
    features_identified = Signal(list)                    # [(layer uid, feature index)] of every visible layer
    measured = Signal(str)
    footprint_drawn = Signal(object)                      # shapely geometry in EPSG:4490
    vertex_dragged = Signal(float, float, float, float)   # from (x, y) to (x, y), canvas metres
    vertex_clicked = Signal(str, float, float)            # tool (add_vertex / delete_vertex), canvas metres
    tile_arrived = Signal()                               # a basemap tile reached the cache (from a fetch thread)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setMouseTracking(True)
        self.setMinimumSize(400, 300)
        self.setFocusPolicy(Qt.StrongFocus)
        self.epsg = 4549
        self.center = (500_000.0, 2_900_000.0)
        self.res = 50.0                         # metres per pixel
        self.layers: list[RenderLayer] = []
        self.highlight = None                   # metric geometry
        self.overlap_highlight = None           # footprint ∩ feature of a clicked finding
        self.tool = "pan"                       # pan | identify | measure_line | measure_area | draw_polygon | draw_line | draw_point | zoom_box
        self._drag = None
        self._points: list[tuple[float, float]] = []
        self._box = None
        session.layers_changed.connect(self.rebuild)
        session.layer_changed.connect(self._layer_changed)
        session.layer_data_changed.connect(self._layer_data_changed)
        session.projects_changed.connect(self._projects_changed)
        self._project_geoms: list = []
        self.basemap = None                     # (QImage, (x0, y0, x1, y1) in canvas metres)
        self.basemap_path: str | None = None    # the GeoTIFF behind it (the print layout warps it again)
        self.tiles = None                       # gis_screening.tiles.TileSource or None
        self.tile_arrived.connect(self.update, Qt.QueuedConnection)
        self.tile_opacity = 0.8
        self._built = False                     # rebuilt once: the canvas has a CRS to show coordinates in

    # ---- data ---------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Views added, removed or reordered: reuse the render layers of unchanged views; zoom to everything only
        when the canvas showed nothing before or the layer set moved to another GK zone."""
        views = self.session.views
        epsg = self.epsg
        if views:
            b = np.array([layer_bounds(v.layer) for v in views])
            epsg = metric_epsg_for_bounds((b[:, 0].min(), 0, b[:, 2].max(), 0))
        had = bool(self.layers) and epsg == self.epsg
        old = {(id(r.view), r.version): r for r in self.layers} if epsg == self.epsg else {}
        self.epsg = epsg
        self.layers = [old.get((id(v), v.layer.version)) or RenderLayer(v, self.epsg) for v in views]
        self._built = True
        self._projects_changed()
        if not had:
            self.zoom_to_all()
        else:
            self.update()

    def _layer_data_changed(self, index: int) -> None:
        """An edit replaced a layer's features: re-index that layer only; the view stays where it is."""
        view = self.session.views[index]
        self.layers = [RenderLayer(view, self.epsg) if r.view is view else r for r in self.layers]
        self.update()

    def _layer_changed(self, index: int) -> None:
        view = self.session.views[index]
        for rl in self.layers:
            if rl.view is view:
                rl.restyle()
        self.update()

    def _projects_changed(self) -> None:
        if not self.session.projects:
            self._project_geoms = []
        else:
            geoms = np.array([p.geometry for p in self.session.projects], dtype=object)
            self._project_geoms = list(reproject(geoms, STORAGE_EPSG, self.epsg))
        self.update()

    def set_basemap(self, path: str, max_px: int = 4000) -> None:
        """Offline background from a GeoTIFF (rasterio), warped to the canvas CRS (:mod:`gis_screening.basemap`)."""
        from qtpy.QtGui import QImage

        from ..basemap import warp_geotiff
        rgba, extent = warp_geotiff(path, self.epsg, max_px=max_px)
        h, w = rgba.shape[:2]
        self.basemap = (QImage(rgba.tobytes(), w, h, 4 * w, QImage.Format_RGBA8888).copy(), extent)
        self.basemap_path = str(path)
        self.update()

    def _draw_tiles(self, p: QPainter, xf: QTransform) -> None:
        """XYZ tiles warped into the GK view (each tile mapped by its corners; exact enough at tile size)."""
        from qtpy.QtGui import QImage

        from ..tiles import tile_bounds, tiles_for, zoom_for
        view = self.visible_box().bounds
        lons, lats = self.to_lonlat.transform([view[0], view[2], view[0], view[2]], [view[1], view[1], view[3], view[3]])
        lat_mid = math.radians(sum(lats) / 4)
        deg_per_px = self.res / (111_320 * math.cos(lat_mid))
        z = zoom_for(deg_per_px)
        todo = tiles_for(min(lons), min(lats), max(lons), max(lats), z)
        if len(todo) > 64:
            return
        p.setOpacity(self.tile_opacity)
        missing = []
        for (tz, tx, ty) in todo:
            data = self.tiles.cached(tz, tx, ty)
            if not data:
                missing.append((tz, tx, ty))
                continue
            img = QImage.fromData(data)
            if img.isNull():
                continue
            w, s_, e, n = tile_bounds(tz, tx, ty)
            xs, ys = self.to_metres.transform([w, e, w], [n, n, s_])
            a = xf.map(QPointF(xs[0], ys[0]))
            b = xf.map(QPointF(xs[1], ys[1]))
            c = xf.map(QPointF(xs[2], ys[2]))
            t = QTransform((b.x() - a.x()) / img.width(), (b.y() - a.y()) / img.width(),
                           (c.x() - a.x()) / img.height(), (c.y() - a.y()) / img.height(), a.x(), a.y())
            p.setTransform(t)
            p.drawImage(0, 0, img)
        p.setOpacity(1.0)
        p.resetTransform()
        if missing:    # fetched on background threads; each arrival repaints (queued to this thread)
            self.tiles.fetch_async(missing, self.tile_arrived.emit)

    def render_layer(self, key: str) -> RenderLayer:
        """The render layer of the layer with uid ``key`` (or, failing that, display name ``key``)."""
        return next((r for r in self.layers if r.view.layer.uid == key), None) or \
            next(r for r in self.layers if r.view.layer.name == key)

    # ---- view ---------------------------------------------------------------------------------
    @property
    def to_lonlat(self) -> Transformer:
        """Canvas metres (EPSG ``self.epsg``) → CGCS2000 lon/lat, x/y order."""
        return transformer(self.epsg, STORAGE_EPSG)

    @property
    def to_metres(self) -> Transformer:
        """CGCS2000 lon/lat → canvas metres (EPSG ``self.epsg``), x/y order."""
        return transformer(STORAGE_EPSG, self.epsg)

    def zoom_to_bounds(self, b, margin: float = 0.08) -> None:
        """Show ``b`` = (x0, y0, x1, y1) in canvas metres (GK) with ``margin`` (share of the size) around it."""
        self._auto_extent = False
        w, h = max(b[2] - b[0], 10.0), max(b[3] - b[1], 10.0)
        self.center = (float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2)
        self.res = float(max(w / max(self.width(), 1), h / max(self.height(), 1)) * (1 + 2 * margin))
        self._changed()

    def zoom_to_all(self) -> None:
        """Fit every layer; until the user navigates, the view keeps fitting when the canvas is resized (so the
        first view fills the canvas once the window has its final size)."""
        if self.layers:
            b = np.array([shapely.total_bounds(r.geoms) for r in self.layers])
            self.zoom_to_bounds((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()), margin=0.02)
            self._auto_extent = True

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        if getattr(self, "_auto_extent", False):
            self.zoom_to_all()

    def zoom_to_layer(self, name: str) -> None:
        """Fit the layer with uid or name ``name``."""
        self.zoom_to_bounds(shapely.total_bounds(self.render_layer(name).geoms))

    def zoom_to_projects(self) -> None:
        """Fit every project footprint (or every layer when there is none): one project with its surroundings
        (the zones within about a footprint's size around it), several filling the view."""
        if self._project_geoms:
            b = shapely.total_bounds(np.array(self._project_geoms, dtype=object))
            self.zoom_to_bounds(b, margin=1.2 if len(self._project_geoms) == 1 else 0.1)

    def zoom_to_feature(self, name: str, index: int) -> None:
        """Fit feature ``index`` of layer ``name``."""
        g = self.render_layer(name).geoms[index]
        self.highlight = g
        self.zoom_to_bounds(g.bounds, margin=0.3)

    def scale_denominator(self) -> int:
        """The map scale 1:N of the current view (screen pixels at 96 dpi)."""
        mm_per_px = 25.4 / max(self.logicalDpiX(), 1)
        return int(round(self.res / (mm_per_px / 1000)))

    def _changed(self) -> None:
        self.scale_changed.emit(self.scale_denominator())
        self.update()

    def world_to_screen(self) -> QTransform:
        """The transform from canvas metres (GK, y up) to widget pixels (y down)."""
        t = QTransform()
        t.translate(self.width() / 2, self.height() / 2)
        t.scale(1 / self.res, -1 / self.res)
        t.translate(-self.center[0], -self.center[1])
        return t

    def to_world(self, x: float, y: float) -> tuple[float, float]:
        """Widget pixel (x, y) → canvas metres (GK easting, northing)."""
        return (self.center[0] + (x - self.width() / 2) * self.res, self.center[1] - (y - self.height() / 2) * self.res)

    def visible_box(self):
        """The visible extent as a shapely box in canvas metres (GK)."""
        x0, y1 = self.to_world(0, 0)
        x1, y0 = self.to_world(self.width(), self.height())
        return shapely.box(x0, y0, x1, y1)

    # ---- painting ---------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        self.render_to(p)
        p.end()

    def render_to(self, p: QPainter) -> None:
        """Draw everything with ``p`` (also used to render to a QImage offscreen)."""
        p.fillRect(self.rect(), QColor("#f5f5f0"))
        p.setRenderHint(QPainter.Antialiasing, bool(self.res < 200))
        xf = self.world_to_screen()
        view = self.visible_box()
        band = max(0, int(math.floor(math.log2(max(self.res * 0.5, 1e-3))))) if self.res > 1 else 0
        if self.tiles is not None and self._built:
            self._draw_tiles(p, xf)
        if self.basemap is not None:
            img, (bx0, by0, bx1, by1) = self.basemap
            p.setTransform(xf)
            p.save()
            p.translate(bx0, by1)
            p.scale((bx1 - bx0) / img.width(), -(by1 - by0) / img.height())
            p.drawImage(0, 0, img)
            p.restore()
            p.resetTransform()
        for rl in reversed(self.layers):  # first in the list = drawn on top
            v = rl.view
            if not v.visible:
                continue
            idx = rl.tree.query(view)
            p.setTransform(xf)
            big = idx[rl.sizes[idx] >= self.res]            # features under a pixel are skipped
            if len(big) > 1500:                              # far zoom: one cached merged path per style
                for st, path in rl.merged(band):
                    self._draw_path(p, path, st, v.opacity, rl.max_dim, xf)
            else:
                for i in big:
                    self._draw_path(p, rl.path(int(i), band), rl.styles[i], v.opacity, int(rl.dims[i]), xf)
            if rl.labels is not None and len(big) < 300:
                self._draw_labels(p, rl, big, xf)
        p.setTransform(xf)
        for g in self._project_geoms:
            pen = QPen(QColor("#d50000"), 2.5)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(QBrush(QColor(255, 235, 59, 120)))
            if g.geom_type in ("Point", "MultiPoint"):
                for q in shapely.get_parts(g):
                    p.drawEllipse(QPointF(q.x, q.y), 6 * self.res, 6 * self.res)
            else:
                p.drawPath(geometry_path(g))
        if self.highlight is not None:
            pen = QPen(QColor("#00e5ff"), 3)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(QBrush(QColor(0, 229, 255, 60)))
            p.drawPath(geometry_path(self.highlight))
        if self.overlap_highlight is not None and not self.overlap_highlight.is_empty:
            pen = QPen(QColor("#d500f9"), 2)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(QBrush(QColor(213, 0, 249, 90), Qt.BrushStyle.SolidPattern))
            p.drawPath(geometry_path(self.overlap_highlight))
        if self._points:
            pen = QPen(QColor("#6200ea"), 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            poly = QPolygonF([QPointF(x, y) for x, y in self._points])
            p.drawPolyline(poly)
        p.resetTransform()
        if self._box is not None:
            p.setPen(QPen(QColor("#1565c0"), 1, Qt.PenStyle.DashLine))
            p.setBrush(QBrush(QColor(21, 101, 192, 40)))
            p.drawRect(self._box)
        self._draw_scale_bar(p)

    def _draw_labels(self, p: QPainter, rl: RenderLayer, idx, xf: QTransform) -> None:
        """Unit codes at each feature's label point, largest features first, skipping any label that would
        overlap one already placed or not fit inside its feature; white halo for legibility."""
        p.resetTransform()
        p.setFont(QFont(self.font().family(), 8))
        fm = p.fontMetrics()
        placed: list[QRectF] = []
        self.label_boxes = placed            # the boxes of the last labelled layer (screen pixels)
        pts, labels = rl.label_points(), rl.labels or []
        for i in sorted(idx, key=lambda k: -rl.sizes[k]):
            text = labels[i]
            if not text or rl.sizes[i] / self.res < fm.horizontalAdvance(text) * 0.9:
                continue
            pt = xf.map(QPointF(*pts[i]))
            w, h = fm.horizontalAdvance(text), fm.height()
            box = QRectF(pt.x() - w / 2 - 2, pt.y() - h / 2 - 1, w + 4, h + 2)
            if not self.rect().contains(box.toRect()) or any(box.intersects(b) for b in placed):
                continue
            placed.append(box)
            path = QPainterPath()
            path.addText(QPointF(pt.x() - w / 2, pt.y() + fm.ascent() / 2 - 1), p.font(), text)
            p.strokePath(path, QPen(QColor(255, 255, 255, 220), 3))
            p.fillPath(path, QColor("#263238"))

    @staticmethod
    def _draw_path(p: QPainter, path: QPainterPath, st, opacity: float, dim: int, xf: QTransform) -> None:
        pen = QPen(qcolor(st.outline if st else "#000000", opacity), st.width if st else 1)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.setBrush(QBrush(qcolor(st.fill, opacity)) if (st and dim == 2) else Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        if st and st.hatch and dim == 2:
            hb = QBrush(qcolor(st.outline, opacity * 0.7), HATCH[st.hatch])
            hb.setTransform(xf.inverted()[0])
            p.setBrush(hb)
            p.setPen(Qt.PenStyle.NoPen)
            p.drawPath(path)

    def _draw_scale_bar(self, p: QPainter) -> None:
        target = self.width() / 5 * self.res
        k = 10 ** math.floor(math.log10(max(target, 1e-6)))
        length = max(m * k for m in (1, 2, 5) if m * k <= target) if target >= k else k
        px = length / self.res
        x, y = 16, self.height() - 20
        p.setPen(QPen(QColor("#212121"), 2))
        p.drawLine(QPointF(x, y), QPointF(x + px, y))
        p.drawLine(QPointF(x, y - 5), QPointF(x, y))
        p.drawLine(QPointF(x + px, y - 5), QPointF(x + px, y))
        p.drawText(QPointF(x, y - 8), f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m")

    # ---- interaction ------------------------------------------------------------------------------
    def wheelEvent(self, e) -> None:
        before = self.to_world(e.pos().x(), e.pos().y())
        self.res *= 0.8 if e.angleDelta().y() > 0 else 1.25
        after = self.to_world(e.pos().x(), e.pos().y())
        self.center = (self.center[0] + before[0] - after[0], self.center[1] + before[1] - after[1])
        self._auto_extent = False
        self._changed()

    def mousePressEvent(self, e) -> None:
        w = self.to_world(e.pos().x(), e.pos().y())
        if e.button() == Qt.MouseButton.LeftButton and (self.tool == "zoom_box" or e.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self._drag = ("box", e.pos())
        elif e.button() == Qt.MouseButton.LeftButton and self.tool in ("measure_line", "measure_area", "draw_polygon",
                                                             "draw_line"):
            self._points.append(w)
            self._report_measure()
            self.update()
        elif e.button() == Qt.MouseButton.LeftButton and self.tool == "draw_point":
            self.footprint_drawn.emit(self._in_lonlat(shapely.Point(*w)))
        elif e.button() == Qt.MouseButton.LeftButton and self.tool in ("add_vertex", "delete_vertex"):
            self.vertex_clicked.emit(self.tool, *w)
        elif e.button() == Qt.MouseButton.LeftButton and self.tool == "move_vertex":
            self._drag = ("vertex", w)
        elif e.button() == Qt.MouseButton.LeftButton and self.tool == "identify":
            self.identify(*w)
        else:
            self._drag = ("pan", e.pos(), self.center)

    def mouseMoveEvent(self, e) -> None:
        x, y = self.to_world(e.pos().x(), e.pos().y())
        if self._built:
            lon, lat = self.to_lonlat.transform(x, y)
            zone = gk3_zone_for_lon(lon)
            self.cursor_moved.emit(lon, lat, y, zone * 1_000_000 + x if self.epsg == 4534 + zone - 25 else x)
        if self._drag and self._drag[0] == "pan":
            d = e.pos() - self._drag[1]
            c = self._drag[2]
            self.center = (c[0] - d.x() * self.res, c[1] + d.y() * self.res)
            self._auto_extent = False
            self.update()
        elif self._drag and self._drag[0] == "box":
            self._box = QRectF(self._drag[1], e.pos()).normalized()
            self.update()

    def mouseReleaseEvent(self, e) -> None:
        if self._drag and self._drag[0] == "box" and self._box is not None and self._box.width() > 4:
            a = self.to_world(self._box.left(), self._box.bottom())
            b = self.to_world(self._box.right(), self._box.top())
            self._box = None
            self.zoom_to_bounds((a[0], a[1], b[0], b[1]), margin=0)
        elif self._drag and self._drag[0] == "pan":
            self._changed()
        elif self._drag and self._drag[0] == "vertex":
            end = self.to_world(e.pos().x(), e.pos().y())
            self.vertex_dragged.emit(*self._drag[1], *end)
        self._drag = None
        self._box = None

    def mouseDoubleClickEvent(self, e) -> None:
        if self.tool in ("draw_polygon", "draw_line") and len(self._points) >= (3 if self.tool == "draw_polygon" else 2):
            geom = shapely.Polygon(self._points) if self.tool == "draw_polygon" else shapely.LineString(self._points)
            self._points = []
            self.footprint_drawn.emit(self._in_lonlat(shapely.make_valid(geom)))
            self.update()
        elif self.tool.startswith("measure"):
            self._points = []
            self.update()

    def keyPressEvent(self, e) -> None:
        if e.key() == Qt.Key.Key_Escape:
            self._points = []
            self.highlight = None
            self.update()

    def _in_lonlat(self, geom):
        """A geometry in canvas metres as CGCS2000 lon/lat."""
        return reproject(np.array([geom], dtype=object), self.epsg, STORAGE_EPSG)[0]

    def _report_measure(self) -> None:
        if self.tool == "measure_line" and len(self._points) >= 2:
            self.measured.emit(f"距离 {shapely.LineString(self._points).length:,.2f} m")
        elif self.tool == "measure_area" and len(self._points) >= 3:
            poly = shapely.Polygon(self._points)
            self.measured.emit(f"面积 {poly.area:,.2f} m²（{poly.area / 10000:,.4f} ha），周长 {poly.length:,.2f} m")

    def identify(self, x: float, y: float) -> tuple[str, int] | None:
        """Every visible feature under a world point (metres), top layer first, as QGIS does: emits
        ``features_identified`` with all hits and ``feature_identified`` with the topmost; returns the topmost."""
        pt = shapely.Point(x, y).buffer(self.res * 3)
        hits_all: list[tuple[str, int]] = []
        for rl in self.layers:
            if not rl.view.visible:
                continue
            hits = rl.tree.query(pt, predicate="intersects")
            for i in hits[np.argsort(shapely.area(rl.geoms[hits]), kind="stable")]:
                hits_all.append((rl.view.layer.uid, int(i)))
        if not hits_all:
            return None
        top = hits_all[0]
        self.highlight = self.render_layer(top[0]).geoms[top[1]]
        self.update()
        self.features_identified.emit(hits_all)
        self.feature_identified.emit(*top)
        return top
