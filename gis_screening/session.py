"""The desktop session as plain Python objects with psygnal signals (no Qt), napari-style.

Holds the layer set and per-layer display state, the projects being screened and the last result; the Qt
widgets bind to these signals, and tests drive the same objects without a window.  Saved as one JSON file
(atomic write) so a session can be reopened or recovered after a crash.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import shapely
from psygnal import Signal

from .engine.project import Project
from .errors import InputError
from .layerset import load_layerset
from .model import Layer, LayerSet

SESSION_VERSION = 1


@dataclass
class LayerView:
    """Display state of one layer."""

    layer: Layer
    visible: bool = True
    opacity: float = 1.0
    style: dict | None = None     # user override: {"fill": "#rrggbbaa", "outline": "#rrggbb"}


class Session:
    """Layer views, projects and the last screening result of one desktop session."""

    layers_changed = Signal()              # views added, removed or reordered
    layer_changed = Signal(int)            # visibility / opacity of view i
    projects_changed = Signal()
    result_changed = Signal(object)        # a result document (dict) or None
    selection_changed = Signal(str, int)   # layer name, feature index (-1 = none)

    def __init__(self) -> None:
        self.layerset: LayerSet | None = None
        self.layerset_path: str | None = None
        self.views: list[LayerView] = []
        self.projects: list[Project] = []
        self.result: dict | None = None
        self.dirty = False

    # ---- layers ---------------------------------------------------------------------------------
    def open_layerset(self, path: str | Path) -> None:
        """Load a manifest (raises InputError on bad input) and show all its layers."""
        ls = load_layerset(path)
        self.layerset, self.layerset_path = ls, str(Path(path).resolve())
        self.views = [LayerView(lyr) for lyr in ls.layers]
        self.result = None
        self.layers_changed.emit()
        self.result_changed.emit(None)

    def add_layer(self, layer: Layer) -> None:
        if self.layerset is None:
            self.layerset = LayerSet(name="未命名图层集")
        self.layerset.layers.append(layer)
        self.views.append(LayerView(layer))
        self.dirty = True
        self.layers_changed.emit()

    def set_visible(self, index: int, visible: bool) -> None:
        if self.views[index].visible != visible:
            self.views[index].visible = visible
            self.dirty = True
            self.layer_changed.emit(index)

    def set_opacity(self, index: int, opacity: float) -> None:
        opacity = min(1.0, max(0.0, float(opacity)))
        if self.views[index].opacity != opacity:
            self.views[index].opacity = opacity
            self.dirty = True
            self.layer_changed.emit(index)

    def set_style(self, index: int, style: dict | None) -> None:
        self.views[index].style = dict(style) if style else None
        self.dirty = True
        self.layer_changed.emit(index)

    def move_layer(self, src: int, dst: int) -> None:
        view = self.views.pop(src)
        self.views.insert(dst, view)
        self.dirty = True
        self.layers_changed.emit()

    def index_of(self, name: str) -> int:
        return next(i for i, v in enumerate(self.views) if v.layer.name == name)

    # ---- projects and results ---------------------------------------------------------------------
    def set_projects(self, projects: list[Project]) -> None:
        self.projects = list(projects)
        self.dirty = True
        self.projects_changed.emit()

    def set_result(self, doc: dict | None) -> None:
        self.result = doc
        self.result_changed.emit(doc)

    def select(self, layer_name: str, index: int) -> None:
        self.selection_changed.emit(layer_name, index)

    # ---- persistence --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"version": SESSION_VERSION, "layerset": self.layerset_path,
                "views": [{"name": v.layer.name, "visible": v.visible, "opacity": v.opacity, "style": v.style}
                          for v in self.views],
                "projects": [{"id": p.id, "name": p.name, "industry_code": p.industry_code,
                              "construction_type": p.construction_type, "wkt": shapely.to_wkt(p.geometry, rounding_precision=9),
                              "sheet": p.sheet, "attributes": {k: v for k, v in p.attributes.items()
                                                               if isinstance(v, (str, int, float, bool, type(None)))},
                              "source": p.source} for p in self.projects],
                "result": self.result}

    def save(self, path: str | Path) -> Path:
        """Write the session atomically (temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_dict(), fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.dirty = False
        return path

    def load(self, path: str | Path) -> None:
        """Open a saved session (layer set reloaded from its manifest)."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read session file: {exc}", file=path) from None
        if doc.get("layerset"):
            self.open_layerset(doc["layerset"])
        state = {v["name"]: v for v in doc.get("views", [])}
        order = [s["name"] for s in doc.get("views", [])]
        self.views.sort(key=lambda v: order.index(v.layer.name) if v.layer.name in order else len(order))
        for v in self.views:
            if v.layer.name in state:
                v.visible, v.opacity = state[v.layer.name]["visible"], state[v.layer.name]["opacity"]
                v.style = state[v.layer.name].get("style")
        self.layers_changed.emit()
        self.set_projects([Project(id=p["id"], geometry=shapely.from_wkt(p["wkt"]), name=p.get("name"),
                                   industry_code=p.get("industry_code"), construction_type=p.get("construction_type"),
                                   attributes=p.get("attributes") or {}, sheet=p.get("sheet"), source=p.get("source"))
                           for p in doc.get("projects", [])])
        self.set_result(doc.get("result"))
        self.dirty = False
