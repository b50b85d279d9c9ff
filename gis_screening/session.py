"""The desktop session as plain Python objects with psygnal signals (no Qt), napari-style.

Holds the layer set and per-layer display state, the projects being screened and the last result; the Qt
widgets bind to these signals, and tests drive the same objects without a window.  Saved as one JSON file
(atomic write) so a session can be reopened or recovered after a crash.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from psygnal import Signal, evented

from .errors import InputError
from .layerset import load_layerset
from .model import Layer, LayerSet, Project

if TYPE_CHECKING:
    from .engine.rules import RuleStack

SESSION_VERSION = 1


@evented
@dataclass
class LayerView:
    """Display state of one layer; every field change emits on ``view.events`` (psygnal), which the
    :class:`Session` forwards as ``layer_changed(index)``."""

    layer: Layer
    visible: bool = True
    opacity: float = 1.0
    style: dict | None = None     # user override: {"fill": "#rrggbbaa", "outline": "#rrggbb"}


class Session:
    """Layer views, projects and the last screening result of one desktop session."""

    layers_changed = Signal()              # views added, removed or reordered
    layer_changed = Signal(int)            # visibility / opacity / style of view i
    layer_data_changed = Signal(int)       # features of view i replaced (an edit): same layer, new version
    projects_changed = Signal()
    project_selected = Signal(object)      # id of the selected project, or None
    result_changed = Signal(object)        # a result document (dict) or None
    selection_changed = Signal(str, int)   # layer name, feature index (-1 = none)

    def __init__(self) -> None:
        self.layerset: LayerSet | None = None
        self.layerset_path: str | None = None
        self.views: list[LayerView] = []
        self.projects: list[Project] = []
        self.selected_project: str | None = None
        self.result: dict | None = None
        self.result_inputs: str | None = None     # what the result was reached from (:func:`result_inputs`)
        self.dirty = False

    def _view(self, layer: Layer) -> LayerView:
        view = LayerView(layer)
        view.events.connect(lambda *_: self._view_changed(view))  # type: ignore[attr-defined]  # psygnal evented
        return view

    def _view_changed(self, view: LayerView) -> None:
        self.dirty = True
        for i, v in enumerate(self.views):
            if v is view:
                self.layer_changed.emit(i)

    # ---- layers ---------------------------------------------------------------------------------
    @property
    def cat(self):
        """The catalog of the open layer set (the shipped one before any is opened)."""
        from .catalog import default_catalog
        return self.layerset.cat if self.layerset is not None else default_catalog()

    def open_layerset(self, path: str | Path) -> None:
        """Load a manifest (raises InputError on bad input) and show all its layers."""
        ls = load_layerset(path)
        self.layerset, self.layerset_path = ls, str(Path(path).resolve())
        self.views = [self._view(lyr) for lyr in ls.layers]
        self.result = self.result_inputs = None
        self.layers_changed.emit()
        self.result_changed.emit(None)

    def add_layer(self, layer: Layer) -> None:
        if self.layerset is None:
            self.layerset = LayerSet(name="未命名图层集")
        self.layerset.layers.append(layer)
        self.views.append(self._view(layer))
        self.dirty = True
        self.layers_changed.emit()

    def set_visible(self, index: int, visible: bool) -> None:
        self.views[index].visible = bool(visible)

    def set_opacity(self, index: int, opacity: float) -> None:
        self.views[index].opacity = min(1.0, max(0.0, float(opacity)))

    def set_style(self, index: int, style: dict | None) -> None:
        self.views[index].style = dict(style) if style else None

    def replace_features(self, index: int, gdf) -> None:
        """Replace the features of view ``index`` (an edit): the layer keeps its uid and gets a new version, so
        caches re-prepare it; views keep their extent (``layer_data_changed``, not ``layers_changed``)."""
        self.views[index].layer.gdf = gdf
        self.dirty = True
        self.layer_data_changed.emit(index)

    def move_layer(self, src: int, dst: int) -> None:
        view = self.views.pop(src)
        self.views.insert(dst, view)
        self.dirty = True
        self.layers_changed.emit()

    def index_of(self, key: str) -> int:
        """Index of the view whose layer has uid ``key`` or, failing that, display name ``key``."""
        for attr in ("uid", "name"):
            for i, v in enumerate(self.views):
                if getattr(v.layer, attr) == key:
                    return i
        raise StopIteration(key)

    def files_read(self) -> dict[Path, str]:
        """The local files this session has read (file → what it is): its layer set's manifest and sources, every
        layer's source, every project's file.  What an export must not overwrite."""
        from .io.layer_cache import source_files
        from .layerset import manifest_files
        files: dict[Path, str] = {}
        if self.layerset_path:
            try:
                files.update(dict.fromkeys(manifest_files(self.layerset_path), "a file of the open layer set"))
            except (InputError, OSError):
                pass
        base = Path(self.layerset_path).parent if self.layerset_path else Path.cwd()
        for view in self.views:
            for f in source_files(base / view.layer.source):
                files.setdefault(f, f"the source of the layer {view.layer.name}")
        for p in self.projects:
            for name in p.files():
                for f in source_files(Path(name)):
                    files.setdefault(f, "a project file")
        return files

    # ---- projects and results ---------------------------------------------------------------------
    def set_projects(self, projects: list[Project]) -> None:
        self.projects = list(projects)
        self.dirty = True
        self.projects_changed.emit()
        ids = [p.id for p in self.projects]
        if self.selected_project not in ids:
            self.select_project(ids[0] if ids else None)

    def with_projects(self, new: list[Project]) -> tuple[list[Project], list[str]]:
        """The project list after adding ``new``: a project with an id already present replaces it in place,
        except that a footprint-only entry never replaces one that carries a project sheet (as the CLI
        merges a footprint file and a sheet).  Returns (projects, notes)."""
        out = list(self.projects)
        where = {p.id: i for i, p in enumerate(out)}
        notes = []
        for p in new:
            if p.id not in where:
                where[p.id] = len(out)
                out.append(p)
            elif out[where[p.id]].sheet is not None and p.sheet is None:
                notes.append(f"{p.id}: 已有建设项目信息表，保留信息表的项目（{out[where[p.id]].source}）")
            else:
                out[where[p.id]] = p
        return out, notes

    def select_project(self, pid: str | None) -> None:
        if pid != self.selected_project:
            self.selected_project = pid
            self.project_selected.emit(pid)

    def project(self, pid: str | None = None) -> Project | None:
        """The project with id ``pid`` (default: the selected one)."""
        pid = self.selected_project if pid is None else pid
        return next((p for p in self.projects if p.id == pid), None)

    def result_for(self, pid: str | None = None) -> dict | None:
        """The result block of project ``pid`` (default: the selected one) in the last result document."""
        pid = self.selected_project if pid is None else pid
        if not self.result:
            return None
        return next((r for r in self.result.get("results", []) if r["project"]["id"] == pid), None)

    def set_result(self, doc: dict | None, inputs: str | None = None) -> None:
        """The result document shown, and what it was reached from (:func:`result_inputs`, taken when its
        screening started: saved with it, and compared on reopening)."""
        self.result, self.result_inputs = doc, (inputs if doc is not None else None)
        self.result_changed.emit(doc)

    def select(self, layer_name: str, index: int) -> None:
        self.selection_changed.emit(layer_name, index)

    # ---- persistence --------------------------------------------------------------------------------
    def inputs_signature(self) -> str | None:
        """:func:`result_inputs` of the session as it stands: its layers, projects and the rules in force today."""
        from .screening import rules_for
        if self.layerset is None:
            return None
        try:
            rules = rules_for(self.layerset.rule_packs)
        except Exception:  # noqa: BLE001 - a pack gone or broken: unknown, a saved result is not trusted
            return None
        return result_inputs(self.layerset.layers, self.projects, rules)

    def to_dict(self) -> dict:
        return {"version": SESSION_VERSION, "layerset": self.layerset_path,
                "views": [{"name": v.layer.name, "visible": v.visible, "opacity": v.opacity, "style": v.style}
                          for v in self.views],
                "projects": [project_entry(p) for p in self.projects],
                "result": self.result, "result_inputs": self.result_inputs if self.result else None}

    def save(self, path: str | Path) -> Path:
        """Write the session atomically (temp file + fsync + rename).  The layer set is named by its full path and
        by its path from the session's folder, which finds it when both are moved together (a folder sent to a
        colleague, another drive letter)."""
        import os

        from .atomic import write_text
        doc = self.to_dict()
        if self.layerset_path:
            try:
                doc["layerset_from_session"] = Path(os.path.relpath(self.layerset_path, Path(path).resolve().parent)
                                                    ).as_posix()
            except ValueError:          # another drive (Windows): no path from one to the other
                pass
        write_text(path, json.dumps(doc, ensure_ascii=False))
        self.dirty = False
        return Path(path)

    def load(self, path: str | Path) -> list[str]:
        """Open a saved session (layer set reloaded from its manifest).  What is valid is opened and what was
        dropped is returned as notes; a file that is not a session, or of a newer version, is an InputError."""
        from .limits import load_structured
        path = Path(path)
        doc = load_structured(path, fmt="json")
        if not isinstance(doc, dict):
            raise InputError("not a session file (a JSON object with layerset, views, projects)", file=path)
        version = doc.get("version")
        if not isinstance(version, int) or version < 1:
            raise InputError(f"not a session file: version {version!r}", file=path, field="version")
        if version > SESSION_VERSION:
            raise InputError(f"session version {version} is newer than this program reads ({SESSION_VERSION}); "
                             "update gis-screening", file=path, field="version")
        notes: list[str] = []
        if doc.get("layerset"):
            if not isinstance(doc["layerset"], str):
                raise InputError("layerset must be a path", file=path, field="layerset")
            manifest = Path(doc["layerset"])
            beside = doc.get("layerset_from_session")
            if not manifest.exists() and isinstance(beside, str) and (path.resolve().parent / beside).exists():
                manifest = path.resolve().parent / beside       # moved with the session (another folder, drive)
                notes.append(f"图层集已不在 {doc['layerset']}，按会话文件的相对位置打开了 {manifest}")
            self.open_layerset(manifest)
        views = [v for v in doc.get("views") or [] if isinstance(v, dict) and isinstance(v.get("name"), str)]
        state = {v["name"]: v for v in views}
        order = [v["name"] for v in views]
        self.views.sort(key=lambda v: order.index(v.layer.name) if v.layer.name in order else len(order))
        for v in self.views:
            st = state.get(v.layer.name)
            if st:
                v.visible = bool(st.get("visible", True))
                op = st.get("opacity", 1.0)
                v.opacity = min(1.0, max(0.0, float(op))) if isinstance(op, (int, float)) and op == op else 1.0
                v.style = st.get("style") if isinstance(st.get("style"), dict) else None
        self.layers_changed.emit()
        projects = []
        for i, p in enumerate(doc.get("projects") or []):
            try:
                geom = shapely.from_wkt(p["wkt"])
                if geom is None or geom.is_empty:
                    raise ValueError("empty geometry")
                projects.append(Project(id=str(p["id"]), geometry=geom, name=p.get("name"),
                                        industry_code=p.get("industry_code"),
                                        construction_type=p.get("construction_type"),
                                        attributes=p.get("attributes") if isinstance(p.get("attributes"), dict) else {},
                                        sheet=p.get("sheet") if isinstance(p.get("sheet"), dict) else None,
                                        source=p.get("source"), problems=[n for n in p.get("problems") or []
                                                                          if isinstance(n, str)],
                                        footprint_file=p.get("footprint_file") if isinstance(
                                            p.get("footprint_file"), str) else None))
            except Exception as exc:  # noqa: BLE001 - a damaged entry is dropped and said, never a crash
                notes.append(f"项目 {i + 1} 无法读取，已忽略：{' '.join(str(exc).split())[:120]}")
        self.set_projects(projects)
        result = doc.get("result")
        if result is not None and not (isinstance(result, dict) and isinstance(result.get("results"), list)
                                       and all(isinstance(r, dict) and isinstance(r.get("project"), dict)
                                               and "verdict" in r and isinstance(r.get("findings"), list)
                                               for r in result["results"])):
            notes.append("保存的筛查结果已损坏，已忽略；请重新筛查")
            result = None
        elif result is not None and (doc.get("result_inputs") is None
                                     or doc.get("result_inputs") != self.inputs_signature()):
            # a layer file replaced or edited, a 准入清单 or rule pack edited, the program upgraded since the
            # screening (or its layer edits never saved): the saved verdicts would be shown (and exported) beside
            # layers and rules they were not reached from
            notes.append("图层、准入清单、规则或程序自筛查以来已更改，保存的筛查结果已作废；请重新筛查")
            result = None
        self.set_result(result, doc.get("result_inputs") if result is not None else None)
        self.dirty = False
        return notes


def project_entry(p: Project) -> dict[str, Any]:
    """A project as a session file holds it (and as it is read back)."""
    return {"id": p.id, "name": p.name, "industry_code": p.industry_code, "construction_type": p.construction_type,
            "wkt": shapely.to_wkt(p.geometry, rounding_precision=9), "sheet": p.sheet,
            "attributes": {k: v for k, v in p.attributes.items() if isinstance(v, (str, int, float, bool, type(None)))},
            "source": p.source, "footprint_file": p.footprint_file, "problems": list(p.problems)}


def result_inputs(layers: Sequence[Layer], projects: Sequence[Project], rules: RuleStack) -> str | None:
    """What a screening result is reached from, by content: every layer's features, attributes (its 准入清单
    joined in), role and name (:meth:`~gis_screening.model.Layer.content_digest`: of the edited features for a
    layer edited in memory, of its source files for one read from them), the projects as a session file holds
    them, and the rules (:func:`~gis_screening.screening.rules_signature`: packs, reference tables, catalog,
    program).  Taken when a screening starts and saved with its result; a session reopened beside other layers
    (a file replaced, an edit never saved), projects or rules drops the result.  None when it cannot be told."""
    import hashlib

    from .screening import rules_signature
    try:
        h = hashlib.sha256(rules_signature(rules).encode())
        for entry in sorted(json.dumps([lyr.content_digest(), lyr.role, lyr.name], ensure_ascii=False)
                            for lyr in layers):
            h.update(entry.encode())
        for p in projects:
            saved = project_entry(p)
            # as a reopened session has it: its footprint read back from the rounded WKT the file holds
            saved["wkt"] = shapely.to_wkt(shapely.from_wkt(saved["wkt"]), rounding_precision=9)
            h.update(json.dumps(saved, ensure_ascii=False, sort_keys=True, default=str).encode())
    except Exception:  # noqa: BLE001 - unknown (a layer gone unreadable): a saved result will not be trusted
        return None
    return h.hexdigest()[:32]
