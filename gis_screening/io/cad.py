"""AutoCAD drawings (DXF) as 设计院 and surveyors send 用地红线图: the outlines of one CAD layer (图层) as features.

Read with ezdxf, which decodes the text as AutoCAD wrote it (UTF-8 from R2007 on, the ``$DWGCODEPAGE`` before,
``\\U+xxxx`` escapes); GDAL's DXF reader takes the code page for every version and garbles Chinese layer names.
Model space only (a layout's 图框 and 图签 are paper space); block references are exploded.  Closed polylines
(or drawn back to their first point), circles, hatches and a layer's lines that all join into rings are polygons;
other polylines, lines and arcs are lines (arcs and bulges flattened to 0.01 drawing units); texts, dimensions and
points are left out, and counted.  A drawing carries no CRS: coordinates in metres are read like any file without
one (inferred from their magnitude, or ``--crs``/``--zone``).  DWG, AutoCAD's own format, has no open reader: the
error says to save it as DXF.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import ezdxf
import geopandas as gpd
import numpy as np
import shapely

from ..errors import InputError, LayerRequired, Problem
from .vector import RawRead

#: flattening tolerance for arcs, bulges and circles, in drawing units (metres in a survey drawing)
FLATTEN = 0.01
#: where a drawing has none of these, its lines are read (a pipeline or road route), never its texts
SHAPES = ("Polygon", "LineString")
#: a polyline whose ends are this close (drawing units: 1 mm) is an outline even without the 闭合 flag; one whose
#: ends are within NEARLY_CLOSED of each other (or 1 % of its length) is said: a boundary left open in CAD
CLOSED_GAP = 0.001
NEARLY_CLOSED = 1.0
#: a layer of more lines than this (contours, hatching drawn as lines) is not searched for rings: a red line drawn
#: as separate segments has tens of them
JOIN_MAX = 2000


def read_dxf(path: Path, layer: str | None = None, crs_given: bool = False) -> RawRead:
    """The outlines of one CAD layer of the drawing at ``path`` (model space).  ``layer`` names it; without it,
    the one layer holding closed outlines is read (or, when none has any, the one holding lines), and several
    such layers are a :class:`~gis_screening.errors.LayerRequired` listing them (a 红线 beside 建筑 and 图框
    outlines cannot be told apart by their shapes).  Features carry ``cad_layer`` and ``handle``; for the
    projects role a drawing is one project, its outlines the parcels.  ``crs_given``: the user names the
    drawing's CRS (else a warning says it is taken as CGCS2000)."""
    key = _file_key(path)
    asked = _asked.pop(key, None)       # the drawing parsed for the layer question just asked
    _asked.clear()                      # (any other is stale: another file, or one saved again since)
    if asked is None:
        doc = _open(path)
        entities = _entities_by_layer(doc, path)
    else:
        doc, entities = asked
    # a layer named and drawn: only its entities are made shapes (a 总平面图 holds tens of thousands of others)
    shapes, left_out = _shapes(entities, [layer] if layer in entities else list(entities))
    if not shapes and any(len(lay) for lay in doc.layouts if not lay.is_modelspace):
        raise InputError("the DXF drawing has no outlines or lines in model space, only in a layout (paper space): "
                         "move them to model space in CAD (CHSPACE) and save again", file=path)
    if layer in entities and layer not in shapes:
        raise InputError(f"CAD layer {layer!r} holds no outlines or lines ({_listing(left_out.get(layer, {}))})",
                         file=path)
    try:
        joined = {name: _joined(v) for name, v in shapes.items()}
    except DRAWING_ERRORS as exc:       # NaN or absurd coordinates
        raise InputError(f"cannot join the drawing's lines: {_said(exc)}", file=path) from None
    shapes.update({name: outlines for name, outlines in joined.items() if outlines})
    problems: list[Problem] = []
    try:
        chosen = _choose_layer(shapes, layer, path, problems)
    except LayerRequired:
        # the answer reads the same drawing again at once (the app asks and reads on): parsed once, not twice —
        # only the last drawing asked about is kept, and only until it is read
        _asked.clear()
        if key is not None:
            _asked[key] = (doc, entities)
        raise
    rows = [(g, h) for g, h in shapes[chosen] if g.geom_type != "LineString"] or shapes[chosen]
    gdf = gpd.GeoDataFrame({"cad_layer": [chosen] * len(rows), "handle": [h for _, h in rows]},
                           geometry=[g for g, _ in rows], crs=None)
    problems[:0] = _notes(chosen, rows, shapes[chosen], bool(joined.get(chosen)), entities, left_out.get(chosen))
    if not crs_given:
        problems.append(Problem("warning", "CAD drawing: it carries no coordinate system; its coordinates are read as "
                                "CGCS2000 (a Xian 1980, Beijing 1954 or local drawing needs --crs, and --towgs84)"))
    return RawRead(gdf, None, problems=problems)


#: the drawing a :class:`LayerRequired` was last raised for, parsed: ``{file key: (document, entities by layer)}``
_asked: dict[tuple | None, tuple[Any, dict[str, list]]] = {}


def _file_key(path: Path) -> tuple | None:
    """What identifies a drawing's content without reading it: its resolved path, size and modification time (None
    when it cannot be looked at: reading it says why)."""
    try:
        st = path.stat()
        return str(path.resolve()), st.st_size, st.st_mtime_ns
    except OSError:
        return None


def _entities_by_layer(doc, path: Path) -> dict[str, list]:
    """The model space's entities (block references exploded) by CAD layer name, in drawing order."""
    from ezdxf.disassemble import recursive_decompose
    entities: dict[str, list] = {}
    try:
        for entity in recursive_decompose(doc.modelspace()):
            entities.setdefault(_layer_name(entity.dxf.layer), []).append(entity)
    except DRAWING_ERRORS as exc:
        raise InputError(f"cannot read the DXF drawing's model space: {_said(exc)}", file=path) from None
    return entities


def _shapes(entities: dict[str, list], layers: list[str]) -> tuple[dict[str, list], dict[str, Counter]]:
    """(shape, handle) of the entities of ``layers`` that are outlines or lines, and per layer the types of those
    that are not (texts …), counted."""
    shapes: dict[str, list] = {}
    left_out: dict[str, Counter] = {}
    for name in layers:
        for entity in entities[name]:
            geom = _shape(entity)
            if geom is None:
                left_out.setdefault(name, Counter())[entity.dxftype()] += 1
            else:
                shapes.setdefault(name, []).append((geom, entity.dxf.get("handle")))
    return shapes, left_out


def _notes(chosen: str, rows: list, drawn: list, joined: bool, entities: dict[str, list],
           left_out: Counter | None) -> list[Problem]:
    """What the reader says about the layer it read (``rows`` of its shapes ``drawn``) and what it left out."""
    notes = [Problem("warning", f"CAD drawing: footprint read from CAD layer {chosen!r} ({len(rows)} "
                     f"{'lines' if rows[0][0].geom_type == 'LineString' else 'outlines'})")]
    if joined:
        notes.append(Problem("warning", f"CAD layer {chosen!r}: its lines (drawn as separate segments) joined into "
                             f"{len(rows)} closed outlines"))
    others = {name: len(v) for name, v in entities.items() if name != chosen}     # their entities, of any kind
    if others:
        notes.append(Problem("warning", f"CAD drawing: other CAD layers left out: {_listing(others)}"))
    if left_out:
        notes.append(Problem("info", f"CAD drawing: {sum(left_out.values())} texts, dimensions and other entities of "
                             f"the layer left out ({_listing(left_out)})"))
    almost = [h for g, h in rows if g.geom_type == "LineString" and _gap(g) <= max(NEARLY_CLOSED, 0.01 * g.length)]
    if almost:
        notes.append(Problem("warning", f"CAD layer {chosen!r}: {len(almost)} lines nearly close on themselves "
                             f"(handle {', '.join(str(h) for h in almost[:5])}): read as lines; if they are "
                             "boundaries, close them in CAD"))
    if len(rows) < len(drawn):
        notes.append(Problem("warning", f"CAD layer {chosen!r}: {len(drawn) - len(rows)} open lines beside its "
                             "closed outlines left out (an outline that is not closed in the drawing is among them: "
                             "close it in CAD)"))
    return notes


#: what a damaged drawing raises while it is read (ezdxf's own errors, and the parsing errors beneath them)
DRAWING_ERRORS: tuple[type[BaseException], ...] = (ezdxf.DXFError, ValueError, TypeError, KeyError, IndexError,
                                                    AttributeError, ArithmeticError, UnicodeError, RecursionError,
                                                    shapely.errors.ShapelyError)


def _open(path: Path):
    """The drawing at ``path``, through ezdxf's recover mode when the strict reader refuses it (drawings written
    by other programs often break the rules a little); InputError when neither reads it."""
    from ezdxf import recover
    try:
        return ezdxf.readfile(path)
    except OSError as exc:
        raise InputError(f"cannot read the DXF drawing: {exc.strerror or exc}", file=path) from None
    except DRAWING_ERRORS:
        pass
    try:
        doc, _ = recover.readfile(path)
        return doc
    except OSError as exc:
        raise InputError(f"cannot read the DXF drawing: {exc.strerror or exc}", file=path) from None
    except DRAWING_ERRORS as exc:
        raise InputError(f"cannot read the DXF drawing: {_said(exc)}", file=path) from None


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _shape(entity) -> shapely.Geometry | None:
    """A polygon (closed outline, circle, hatch) or line of one drawing entity; None for texts, dimensions,
    points and anything without length."""
    from ezdxf.addons import geo
    if entity.dxftype() in ("TEXT", "MTEXT", "ATTRIB", "ATTDEF", "DIMENSION", "LEADER", "MLEADER", "POINT",
                            "INSERT", "IMAGE", "VIEWPORT", "SOLID", "TRACE", "3DFACE", "MESH"):
        return None
    try:
        geom = shapely.geometry.shape(geo.proxy(entity, distance=FLATTEN).__geo_interface__)
    except DRAWING_ERRORS:
        return None                     # an entity geo cannot map (ray, spline without fit points, damaged …)
    if geom.is_empty or geom.geom_type not in (*SHAPES, "MultiPolygon"):
        return None
    if geom.geom_type == "LineString" and geom.length == 0:
        return None
    geom = shapely.force_2d(geom)
    if geom.geom_type == "LineString" and len(geom.coords) >= 4 and _gap(geom) <= CLOSED_GAP:
        return shapely.Polygon(geom.coords)         # drawn back to its start without the 闭合 flag: an outline
    return geom


def _joined(shapes: list) -> list:
    """A layer of lines only that all join into closed rings (a red line drawn, or exploded, as separate segments):
    the outlines they enclose, as (polygon, handles); else []."""
    if len(shapes) > JOIN_MAX or any(g.geom_type != "LineString" for g, _ in shapes):
        return []
    if not all(np.isfinite(shapely.get_coordinates([g for g, _ in shapes])).all(axis=1)):
        return []               # the geometry checks name the lines with NaN or infinite coordinates
    lines = shapely.node(shapely.MultiLineString([g for g, _ in shapes]))
    polygons, cuts, dangles, invalid = shapely.polygonize_full([lines])
    if any(not part.is_empty for part in (cuts, dangles, invalid)) or polygons.is_empty:
        return []
    shells = [shapely.Polygon(p.exterior) for p in polygons.geoms]
    handles = ",".join(str(h) for _, h in shapes)
    # a ring inside another is part of it, as a closed polyline inside another is (the parcels are joined)
    return [(p, handles) for p in shells if not any(q is not p and q.contains(p) for q in shells)]


def _gap(line: shapely.LineString) -> float:
    """The distance between a line's ends (drawing units)."""
    return shapely.Point(line.coords[0]).distance(shapely.Point(line.coords[-1]))


def _layer_name(name: str) -> str:
    return ezdxf.decode_dxf_unicode(name) if ezdxf.has_dxf_unicode(name) else name


def _choose_layer(shapes: dict[str, list], layer: str | None, path: Path, problems: list[Problem]) -> str:
    """The CAD layer to read (see :func:`read_dxf`): ``layer`` when the drawing has it, else the one candidate
    (said in ``problems`` when a layer was named: a --layer meant for another drawing of a folder)."""
    if not shapes:
        raise InputError("the DXF drawing has no outlines or lines in model space", file=path)
    if layer in shapes:
        return layer
    with_outlines = [name for name, v in shapes.items() if any(g.geom_type != "LineString" for g, _ in v)]
    candidates = with_outlines or list(shapes)
    if layer is not None and len(candidates) > 1:
        raise InputError(f"no CAD layer {layer!r} with outlines or lines; the drawing's are: "
                         f"{_listing(_counts(shapes))}", file=path)
    if len(candidates) == 1:
        if layer is not None:
            problems.append(Problem("warning", f"no CAD layer {layer!r} in the drawing: its only layer with "
                                    f"{'outlines' if with_outlines else 'lines'} read"))
        return candidates[0]
    counts = {k: sum(g.geom_type != "LineString" for g, _ in shapes[k]) if with_outlines else len(shapes[k])
              for k in candidates}
    raise LayerRequired(f"the DXF drawing has {'closed outlines' if with_outlines else 'lines'} on {len(candidates)} "
                        f"CAD layers ({_listing(counts)}); name the layer with the footprint (--layer, manifest "
                        "`layer:`)", candidates, file=path, counts=counts, unit="outlines" if with_outlines else "lines")


def _counts(shapes: dict[str, list]) -> dict[str, int]:
    return {name: len(v) for name, v in shapes.items()}


def _listing(counts) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())
