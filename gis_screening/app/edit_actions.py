"""Zone editing and shared layers in the main window: start/stop editing, the edit actions (split, merge, copy,
vertices, attributes), topology and version diff views, saves with the merge view, unsaved-edit prompts, and
reloading PostGIS layers other planners changed.  A mixin of :class:`~gis_screening.app.main_window.MainWindow`
(it uses the window's session, canvas, undo stack and status line); the edits themselves are engine commands run
through :class:`~gis_screening.app.editing.EditController`."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QListWidget, QMainWindow, QMessageBox

from ..errors import InputError
from ..io.formats import SUPPORTED_SUFFIXES, UNREADABLE
from ..io.postgis import is_postgres
from ..io.projects import SHEET_SUFFIXES
from ..model import Project
from . import commands

#: the file-dialog filter for footprints and zone-layer versions (every format the importers read, and those they
#: say how to convert; a File Geodatabase is a folder: a table file inside it is picked)
FOOTPRINT_FILTER = "项目范围 ({})".format(" ".join(
    sorted(f"*{s}" for s in (SUPPORTED_SUFFIXES | SHEET_SUFFIXES | set(UNREADABLE)) - {".gdb"}) + ["*.gdbtable"]))


if TYPE_CHECKING:
    from qtpy.QtWidgets import QDockWidget, QLabel, QPushButton, QUndoStack

    from ..session import Session
    from .canvas import MapCanvas
    from .editing import EditController
    from .panels import LayerPanel
    _Host = QMainWindow
else:
    _Host = object


class EditActions(_Host):
    """The editing and shared-layer actions of the main window (the window's parts it uses are declared below)."""

    session: Session
    canvas: MapCanvas
    layer_panel: LayerPanel
    undo: QUndoStack
    lbl_msg: QLabel
    btn_reload: QPushButton
    editor: EditController | None
    stale_layers: dict[str, dict[str, Any]]
    _draw_count: int

    if TYPE_CHECKING:
        def _error(self, title: str, exc: Exception) -> None: ...
        def _dock(self, widget: Any, title: str, area: Any, name: str) -> QDockWidget: ...
        def set_tool(self, key: str) -> None:
            """Switch the map tool (the window's)."""

    def _shared_layer_changed(self, uid: str, note: dict) -> None:
        """Another planner saved a PostGIS layer we show: say who and offer to reload it."""
        try:
            layer = self.session.views[self.session.index_of(uid)].layer
        except StopIteration:
            return
        self.stale_layers[uid] = note
        self.lbl_msg.setText(self.tr("图层“%1”已由 %2 在数据库中修改（%3 处），可重新加载")
                             .replace("%1", layer.name).replace("%2", str(note.get("user")))
                             .replace("%3", str(note.get("changes"))))
        self.btn_reload.show()

    def reload_shared_layers(self) -> int:
        """Reload the PostGIS layers others changed; an open edit of one of them takes their changes and keeps
        ours (conflicts keep ours and are checked again, per feature, when saving).  Returns layers reloaded."""
        from ..layerset import load_layerset
        stale, self.stale_layers = self.stale_layers, {}
        self.btn_reload.hide()
        fresh = None
        n = 0
        for uid in stale:
            try:
                idx = self.session.index_of(uid)
            except StopIteration:
                continue
            layer = self.session.views[idx].layer
            try:
                if self.editor is not None and self.editor.view.layer.uid == uid:
                    self.editor.editable.rebase("ours")
                    self.editor.refresh()
                else:
                    fresh = fresh or load_layerset(self.session.layerset_path or "")
                    match = [lyr for lyr in fresh.layers if lyr.source == layer.source]
                    if not match:
                        continue
                    self.session.replace_features(idx, match[0].gdf)
            except InputError as exc:
                self._error("无法重新加载", exc)
                continue
            n += 1
        self.canvas.update()
        self.lbl_msg.setText(self.tr("已重新加载 %1 个图层").replace("%1", str(n)))
        return n

    # ---- data in ----------------------------------------------------------------------------------
    def start_editing(self, layer_key: str | None = None) -> bool:
        """Edit the layer ``layer_key`` (uid or name; default: the layer selected in the panel)."""
        from .editing import EditController
        if layer_key is None:
            item = self.layer_panel.currentItem()
            if item is None:
                return False
            layer_key = item.data(0, Qt.ItemDataRole.UserRole)
        try:
            name = self.session.views[self.session.index_of(layer_key)].layer.name
        except StopIteration:
            self._error("无法编辑", InputError(f"no layer {layer_key!r}"))
            return False
        if self.editor is not None and self.editor.view.layer.name != name and not self._confirm_unsaved_edits():
            return False
        layer = self.session.views[self.session.index_of(layer_key)].layer
        src = Path(layer.source)
        if not src.is_absolute() and self.session.layerset_path:
            src = Path(self.session.layerset_path).parent / src
        if not is_postgres(layer.source) and src.suffix.lower() != ".gpkg" and src.exists():
            if not self._offer_geopackage_copy(layer, src):
                return False
        try:
            self.editor = EditController(self, layer_key)
        except InputError as exc:
            self._error("无法编辑", exc)
            return False
        self.set_tool("identify")
        self.lbl_msg.setText(f"{self.tr('编辑中')}：{name}" + (f"（{self.editor.recovered}）" if self.editor.recovered
                                                              else ""))
        return True

    def _offer_geopackage_copy(self, layer, src: Path) -> bool:
        """Only GeoPackage layers can be edited: offer to save ``src`` as a GeoPackage with the same schema
        (field names and code values unchanged) and edit that copy.  ``self.ask_copy(src) -> path | None``
        replaces the dialog.  Declined (否, or 取消 of the file dialog): the status bar says nothing is edited."""
        from ..io.writers import save_as_geopackage
        ask = getattr(self, "ask_copy", None)
        if ask is not None:
            target = ask(src)
        else:
            answer = QMessageBox.question(
                self, self.tr("另存为 GeoPackage"),
                self.tr("只能编辑 GeoPackage 图层。是否将“%1”另存为 GeoPackage（字段名与代码值保持不变）并编辑副本？")
                .replace("%1", src.name))
            target = None
            if answer == QMessageBox.Yes:
                from .dialogs import chosen_name
                target, chosen = QFileDialog.getSaveFileName(self, self.tr("另存为 GeoPackage"),
                                                             str(src.with_suffix(".gpkg")), "GeoPackage (*.gpkg)")
                target = chosen_name(target, chosen)
        if not target:      # declined: the question said why, so no box says it again
            self.lbl_msg.setText(self.tr("未编辑：只能编辑 GeoPackage 图层，“%1”未另存为 GeoPackage").replace("%1", src.name))
            return False
        from ..outputs import output_conflict
        conflict = output_conflict({"另存为": target}, self.session.files_read())
        if conflict:        # the copy written over another layer's or a project's file would destroy it
            self._error("无法编辑", InputError(conflict, file=target))
            return False
        try:
            save_as_geopackage(src, target)
        except InputError as exc:
            self._error("无法编辑", exc)
            return False
        layer.source = str(Path(target).resolve())
        self.lbl_msg.setText(f"{self.tr('已另存为')} {target}")
        return True

    def copy_features(self):
        """Copy the selected features of the edited layer."""
        if self.editor and self.editor.selected:
            f = self.editor.editable.features
            self.clipboard = [(dict(f[k].attrs), f[k].geom) for k in self.editor.selected]

    def paste_features(self):
        """Paste copied features into the edited layer (one undoable command)."""
        from ..editing import commands as ec
        if self.editor and getattr(self, "clipboard", None):
            self.editor.push(ec.CopyFeatures(self.editor.editable, self.clipboard))

    def diff_dialog(self, old: str | None = None, new: str | None = None):
        """Compare two versions of a zone layer: list added/removed/changed units and draw them on the map."""
        from ..editing.diff import diff_layers
        from ..io import read_layer
        if old is None:
            old, _ = QFileDialog.getOpenFileName(self, self.tr("旧版本"), "", FOOTPRINT_FILTER)
            if old:                         # (取消 of the first question asks no second)
                new, _ = QFileDialog.getOpenFileName(self, self.tr("新版本"), "", FOOTPRINT_FILTER)
        if not old or not new:
            return None
        try:
            a, b = read_layer(old, "control_units"), read_layer(new, "control_units")
        except InputError as exc:
            self._error("无法打开", exc)
            return None
        d = diff_layers(a.gdf, b.gdf)
        geo_new, geo_old = b.gdf.set_index("code").geometry, a.gdf.set_index("code").geometry
        rows = [(f"＋ {x['code']} {x['name'] or ''} {x['area_m2']:,.1f} m²", geo_new.get(x["code"])) for x in d.added]
        rows += [(f"－ {x['code']} {x['name'] or ''} {x['area_m2']:,.1f} m²", geo_old.get(x["code"])) for x in d.removed]
        rows += [(f"～ {x['code']} 增加 {x['area_gained_m2']:,.1f} m²，减少 {x['area_lost_m2']:,.1f} m²"
                  + "".join(f"；{k}: {v['old']} → {v['new']}" for k, v in x["attributes"].items()),
                  geo_new.get(x["code"]).symmetric_difference(geo_old.get(x["code"]))
                  if x["area_gained_m2"] or x["area_lost_m2"] else geo_new.get(x["code"])) for x in d.changed]
        self.diff_list = self._show_items(rows, self.tr("版本对比"), "diff")
        return d

    def show_topology(self):
        """Topology errors in a dock; clicking one zooms to it."""
        if not self.editor:
            return None
        items = self.editor.topology_items()
        self.topo_list = self._show_items(items or [(self.tr("未发现重叠、缝隙、重复编码或无效几何"), None)],
                                          self.tr("拓扑检查"))
        return items

    def _show_items(self, items: list[tuple[str, Any]], title: str, name: str = "topology") -> QListWidget:
        """List ``[(text, geometry EPSG:4490 | None)]`` in the bottom dock ``name`` (made on first use, then
        reused); clicking one zooms to it.  Returns the list widget."""
        from qtpy.QtWidgets import QListWidgetItem
        docks = self.__dict__.setdefault("_item_docks", {})
        if name not in docks:
            widget = QListWidget()
            widget.setWordWrap(True)
            widget.itemClicked.connect(self._topology_clicked)
            docks[name] = (widget, self._dock(widget, title, Qt.DockWidgetArea.BottomDockWidgetArea, name))
        widget, dock = docks[name]
        widget.clear()
        for text, geom in items:
            it = QListWidgetItem(text)
            it.setToolTip(text)
            it.setData(Qt.ItemDataRole.UserRole, geom)
            widget.addItem(it)
        dock.show()
        return widget

    def _topology_clicked(self, item):
        import geopandas as gpd
        geom = item.data(Qt.UserRole)
        if geom is not None:
            g = gpd.GeoSeries([geom], crs=4490).to_crs(self.canvas.epsg).iloc[0]
            self.canvas.highlight = g
            self.canvas.zoom_to_bounds(g.buffer(50).bounds, margin=0.5)

    def edit_attributes(self):
        """Open the attribute form of the selected feature; changes are one undoable command."""
        from .dialogs import AttributeFormDialog
        if not (self.editor and self.editor.selected):
            return None
        fid = self.editor.selected[0]
        f = self.editor.editable.features[fid]
        mapping = self.editor.view.layer.cat.match_fields(self.editor.role, list(f.attrs))
        canon = {mapping.get(k, k): v for k, v in f.attrs.items()}
        dlg = AttributeFormDialog(self.editor.role, canon, self)
        if dlg.exec_():
            back = {src: c for src, c in mapping.items()}
            inverse = {c: src for src, c in back.items()}
            self.editor.set_attributes(fid, {inverse.get(k, k): v for k, v in dlg.values().items()
                                             if inverse.get(k, k) in f.attrs})
        return dlg

    def _vertex_clicked(self, tool, x, y):
        if not self.editor:
            return
        ll = self.canvas.to_lonlat.transform(x, y)
        if tool == "add_vertex":
            self.editor.insert_vertex(ll)
        else:
            self.editor.delete_vertex(ll, self.canvas.res * 8 / 100_000)

    def _vertex_dragged(self, x0, y0, x1, y1):
        if not self.editor:
            return
        to_ll = self.canvas.to_lonlat
        a, b = to_ll.transform(x0, y0), to_ll.transform(x1, y1)
        tol = self.canvas.res * 8 / 100_000
        near = []
        for v in self.session.views:   # snap targets: features of visible layers near the drop point
            if v.visible:
                near += list(v.layer.gdf.cx[b[0] - tol:b[0] + tol, b[1] - tol:b[1] + tol].geometry.values)
        self.editor.move_vertex(a, b, tol, near)

    def save_edits(self, reason: str | None = None) -> bool:
        """Save the edits with ``reason`` in the audit table (asked for when not given)."""
        from qtpy.QtWidgets import QInputDialog
        if not self.editor:
            return False
        if reason is None:
            reason, ok = QInputDialog.getText(self, self.tr("保存编辑…"), self.tr("修改原因（写入审计表）"))
            if not ok:
                return False
        from ..editing.store import ConcurrentModification
        try:
            try:
                n = self.editor.save(reason)
            except ConcurrentModification:
                raise
            except InputError as exc:
                defects = self.editor.edit_defects()
                if not defects:
                    raise
                self.topo_list = self._show_items(defects, self.tr("拓扑检查"))
                if not self._ask_force(str(exc)):
                    return False
                n = self.editor.save(reason, force=True)
        except ConcurrentModification:        # ``self.ask_merge(dialog) -> "theirs" | "ours" | None`` replaces it
            self.merge_dialog(reason, choose=getattr(self, "ask_merge", None))
            return True
        except InputError as exc:
            self._error("无法保存", exc)
            return False
        self.editor.refresh()    # new ids from the store; a PostGIS save also brings others' saved changes
        self.lbl_msg.setText(f"{self.tr('已保存')} {n}")
        return True

    def _ask_force(self, message: str) -> bool:
        """Save despite the listed topology errors?  ``self.ask_force(message) -> bool`` replaces the dialog."""
        ask = getattr(self, "ask_force", None)
        if ask is not None:
            return bool(ask(message))
        box = QMessageBox(QMessageBox.Warning, self.tr("拓扑检查"),
                          self.tr("本次编辑产生了新的重叠或缝隙（见“拓扑检查”面板）。仍然保存？原因将记入审计表。")
                          + f"\n\n{message}", QMessageBox.Save | QMessageBox.Cancel, self)
        return box.exec_() == QMessageBox.Save

    def merge_dialog(self, reason: str = "", choose=None):
        """The file or table changed since it was read: show theirs / ours / conflicts per unit and merge (keep theirs
        or ours), then save."""
        from .dialogs import MergeDialog
        editor = self.editor
        assert editor is not None, "merge_dialog needs an open edit"
        dlg = MergeDialog(editor.editable.merge_items(), self)
        prefer = choose(dlg) if choose else (dlg.exec_() and dlg.prefer)
        if prefer:
            editor.editable.rebase(prefer)
            editor.save(reason)
            editor.refresh()
            self.lbl_msg.setText(self.tr("已合并并保存"))
        return dlg

    def _drawn(self, geom) -> None:
        if self.editor and self.editor.selected and geom.geom_type == "LineString":
            try:
                self.editor.split_selected(geom)
            except InputError as exc:
                self._error("无法分割", exc)
            return
        if self.editor and geom.geom_type in ("Polygon", "MultiPolygon"):
            self.editor.add_or_cut(geom)
            return
        self._draw_count += 1
        p = Project(id=f"绘制-{self._draw_count}", geometry=geom, name=f"手绘项目范围 {self._draw_count}", source="绘制")
        self.undo.push(commands.SetProjects(self.session, self.session.projects + [p], self.tr("添加项目范围")))

    def _confirm_unsaved_edits(self) -> bool:
        """Ask save / discard / cancel when the edited layer has unsaved edits; False = the user cancelled.
        ``self.ask_unsaved(n) -> "save" | "discard" | "cancel"`` replaces the dialog (scripts, tests)."""
        if self.editor is None or not self.editor.unsaved:
            return True
        n = len(self.editor.editable.changes())
        ask = getattr(self, "ask_unsaved", None)
        if ask is None:
            box = QMessageBox(QMessageBox.Question, self.tr("未保存的编辑"),
                              self.tr("图层“%1”有 %2 处未保存的编辑。").replace("%1", self.editor.view.layer.name)
                              .replace("%2", str(n)), QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
            answer = {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(box.exec_(), "cancel")
        else:
            answer = ask(n)
        if answer == "save":
            return self.save_edits()
        if answer == "discard":
            ed = self.editor
            ed.editable.discard()                          # nothing to recover next time
            ed.refresh()                                   # the map shows the file again
            self.editor = None
            return True
        return False

