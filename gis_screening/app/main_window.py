"""The main window: map canvas, layer panel, results/identify docks, menus, toolbar, status bar."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtCore import QEventLoop, QSettings, QStandardPaths, Qt, QTimer
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import (
    QAction,
    QActionGroup,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QUndoStack,
)

from ..engine.prepared import PreparedCache
from ..errors import InputError, LayerRequired, ZoneRequired
from ..io.projects import ONE_PROJECT_SUFFIXES, load_projects
from ..model import Project
from ..screening import check_sheets
from ..session import Session
from . import commands
from .canvas import MapCanvas
from .edit_actions import FOOTPRINT_FILTER, EditActions
from .panels import AttributeTable, IdentifyPanel, LayerPanel, ProjectsPanel, ResultsDock
from .shared_layers import SharedLayerWatch
from .worker import Job, screening_job


class MainWindow(EditActions, QMainWindow):
    """The desktop window: map canvas, layer/project/result docks, actions for import, screening, editing,
    printing and export; engine work runs on one background thread (``worker.py``)."""
    def __init__(self, session: Session | None = None, settings: QSettings | None = None):
        super().__init__()
        self.session = session or Session()
        self.settings = settings or QSettings("gis-screening", "gis-screening")
        self.undo = QUndoStack(self)
        self.cache = PreparedCache()
        self.worker: Job | None = None
        self.auto_screen = True
        self._draw_count = 0
        self.setWindowTitle("gis-screening — 三线一单 / 碳达峰 选址筛查[*]")
        self.canvas = MapCanvas(self.session, self)
        self.setCentralWidget(self.canvas)
        self.layer_panel = LayerPanel(self.session, self.undo)
        self.results = ResultsDock(self.session)
        self.projects_panel = ProjectsPanel(self.session, self.undo)
        self.identify_panel = IdentifyPanel()
        self.d_layers = d_layers = self._dock(self.layer_panel, self.tr("图层"), Qt.DockWidgetArea.LeftDockWidgetArea, "layers")
        self.d_projects = self._dock(self.projects_panel, self.tr("项目与结论"), Qt.DockWidgetArea.RightDockWidgetArea, "projects")
        self.d_results = d_results = self._dock(self.results, self.tr("筛查结果"), Qt.DockWidgetArea.RightDockWidgetArea, "results")
        self._dock(self.identify_panel, self.tr("要素属性"), Qt.DockWidgetArea.RightDockWidgetArea, "identify")
        self.resizeDocks([d_layers, d_results], [260, 460], Qt.Orientation.Horizontal)
        self.tables: dict[str, AttributeTable] = {}
        self._actions()
        self._status()
        self.layer_panel.zoom_requested.connect(self.canvas.zoom_to_layer)
        self.layer_panel.table_requested.connect(self.open_table)
        self.canvas.feature_identified.connect(self._identified)
        self.canvas.features_identified.connect(self._identified_all)
        self.projects_panel.add_requested.connect(lambda: self.import_footprint_dialog())
        self.session.project_selected.connect(lambda _pid: self.canvas.update())
        self.canvas.footprint_drawn.connect(self._drawn)
        self.canvas.vertex_dragged.connect(self._vertex_dragged)
        self.canvas.vertex_clicked.connect(self._vertex_clicked)
        self.results.finding_clicked.connect(self._finding_clicked)
        self.session.projects_changed.connect(self._projects_changed)
        self.session.layers_changed.connect(lambda: self.setWindowModified(True))
        geo = self.settings.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
            self.restoreState(self.settings.value("window/state"))
        else:
            self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.autosave = QTimer(self)
        self.autosave.timeout.connect(self._autosave)
        self.autosave.start(60_000)

    # ---- construction ---------------------------------------------------------------------------
    def _dock(self, widget, title, area, name):
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _act(self, text, slot, shortcut=None, icon=None, checkable=False):
        """A menu/toolbar action calling ``slot()``.  ``triggered`` carries ``checked``, which PyQt passes to a slot
        that accepts an argument: it would land in the first optional parameter (``start_editing(layer_key=False)``,
        ``sheet_dialog(project_index=False)`` → the first project, ``save_edits(reason=False)`` → an audit row
        without the reason asked for), so the slot is called with none."""
        a = QAction(self.tr(text), self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        a.setCheckable(checkable)
        a.triggered.connect(lambda _checked=False: slot())
        return a

    def _actions(self):
        mb = self.menuBar()
        f = mb.addMenu(self.tr("文件"))
        self.a_open = self._act("打开图层集…", self.open_layerset_dialog, "Ctrl+O", QStyle.SP_DirOpenIcon)
        self.a_import = self._act("导入项目范围…", lambda: self.import_footprint_dialog(), "Ctrl+I", QStyle.SP_FileIcon)
        self.a_import_web = self._act("导入项目范围（网络地图坐标）…", self.import_webmap_dialog)
        self.a_save = self._act("保存会话…", self.save_session_dialog, "Ctrl+S", QStyle.SP_DialogSaveButton)
        self.a_load = self._act("打开会话…", self.open_session_dialog, "Ctrl+Shift+O")
        self.a_export = self._act("导出报告…", self.export_dialog, "Ctrl+E")
        self.a_print = self._act("打印筛查图…", self.print_dialog, "Ctrl+P", QStyle.SP_FileDialogDetailedView)
        self.a_basemap = self._act("添加底图（GeoTIFF）…", self.basemap_dialog)
        self.a_tiles = self._act("在线瓦片底图（XYZ，可选）…", self.tiles_dialog)
        self.a_sheet = self._act("建设项目信息表…", self.sheet_dialog, "Ctrl+K")
        self.recent_menu = f.addMenu(self.tr("最近的图层集"))
        for a in (self.a_open, self.a_import, self.a_import_web, self.a_basemap, self.a_tiles, self.a_sheet, self.a_save, self.a_load, self.a_export,
                  self.a_print):
            f.addAction(a)
        f.addSeparator()
        f.addAction(self._act("退出", self.close, "Ctrl+Q"))
        self._refresh_recent()
        e = mb.addMenu(self.tr("视图"))
        ua = self.undo.createUndoAction(self, self.tr("撤销"))
        ua.setShortcut(QKeySequence.Undo)
        ra = self.undo.createRedoAction(self, self.tr("重做"))
        ra.setShortcut(QKeySequence.Redo)
        e.addActions([ua, ra])
        self.a_all = self._act("全图", self.canvas.zoom_to_all, "Ctrl+Shift+F")
        self.a_proj = self._act("缩放到项目", self.canvas.zoom_to_projects, "Ctrl+F")
        e.addActions([self.a_all, self.a_proj])
        t = mb.addMenu(self.tr("工具"))
        group = QActionGroup(self)
        self.tool_actions = {}
        for key, text, sc in (("pan", "平移", "P"), ("zoom_box", "拉框放大", "Z"), ("identify", "识别", "I"),
                              ("measure_line", "测量距离", "M"), ("measure_area", "测量面积", "Shift+M"),
                              ("draw_polygon", "绘制多边形", "D"), ("draw_line", "绘制线", "L"), ("draw_point", "绘制点", "Shift+D"),
                              ("move_vertex", "移动节点", "V"), ("add_vertex", "添加节点", "Shift+V"),
                              ("delete_vertex", "删除节点", "Ctrl+Shift+V")):
            a = self._act(text, lambda k=key: self.set_tool(k), sc, checkable=True)
            group.addAction(a)
            t.addAction(a)
            self.tool_actions[key] = a
        self.tool_actions["pan"].setChecked(True)
        ed = mb.addMenu(self.tr("编辑"))
        self.editor = None
        ed.addAction(self._act("开始编辑所选图层", self.start_editing))
        ed.addAction(self._act("分割所选要素（绘制线）", lambda: self.set_tool("draw_line")))
        ed.addAction(self._act("合并所选要素", lambda: self.editor and self.editor.merge_selected()))
        ed.addAction(self._act("删除所选要素", lambda: self.editor and self.editor.delete_selected(), "Del"))
        ed.addActions([self.tool_actions[k] for k in ("move_vertex", "add_vertex", "delete_vertex")])
        ed.addAction(self._act("编辑属性…", self.edit_attributes))
        ed.addAction(self._act("复制所选要素", self.copy_features, "Ctrl+C"))
        ed.addAction(self._act("粘贴要素", self.paste_features, "Ctrl+V"))
        ed.addAction(self._act("拓扑检查", self.show_topology))
        ed.addAction(self._act("版本对比…", self.diff_dialog))
        ed.addAction(self._act("保存编辑…", self.save_edits))
        s = mb.addMenu(self.tr("筛查"))
        self.a_screen = self._act("运行筛查", self.run_screening, "F5", QStyle.SP_MediaPlay)
        s.addAction(self.a_screen)
        lang = mb.addMenu(self.tr("语言"))
        lang.addAction(self._act("中文", lambda: self._set_lang("zh")))
        lang.addAction(self._act("English", lambda: self._set_lang("en")))
        tb = self.addToolBar("main")
        tb.setObjectName("toolbar")
        tb.addActions([self.a_open, self.a_import, self.a_save, ua, ra, self.a_all, self.a_proj])
        tb.addSeparator()
        tb.addActions([self.tool_actions[k] for k in ("pan", "zoom_box", "identify", "measure_line", "measure_area",
                                                       "draw_polygon")])
        tb.addSeparator()
        tb.addAction(self.a_screen)

    def _status(self):
        sb = self.statusBar()
        self.lbl_msg = QLabel(self.tr("就绪"))
        self.lbl_pos = QLabel()
        self.lbl_scale = QLabel()
        self.lbl_crs = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.btn_cancel = QPushButton(self.tr("取消"))
        self.btn_cancel.hide()
        self.btn_cancel.clicked.connect(self.cancel_screening)
        self.btn_reload = QPushButton(self.tr("重新加载已更改的图层"))
        self.btn_reload.hide()
        self.btn_reload.clicked.connect(self.reload_shared_layers)
        self.shared = SharedLayerWatch(self, own_sessions=lambda: [getattr(self.editor.editable, "session_id", None)]
                                       if self.editor else [])
        self.shared.changed.connect(self._shared_layer_changed)
        self.shared.failed.connect(self.lbl_msg.setText)
        self.session.layers_changed.connect(lambda: self.shared.track([v.layer for v in self.session.views]))
        #: uids of PostGIS layers another planner saved since they were loaded
        self.stale_layers: dict[str, dict] = {}
        sb.addWidget(self.lbl_msg, 1)
        for w in (self.btn_reload, self.progress, self.btn_cancel, self.lbl_pos, self.lbl_scale, self.lbl_crs):
            sb.addPermanentWidget(w)
        self.canvas.cursor_moved.connect(lambda lon, lat, x, y: self.lbl_pos.setText(
            f"{lon:.6f}°E {lat:.6f}°N   X {x:,.3f}  Y {y:,.3f}"))
        self.canvas.scale_changed.connect(lambda n: self.lbl_scale.setText(f"{self.tr('比例尺')} 1:{n:,}"))
        self.canvas.measured.connect(self.lbl_msg.setText)
        self.session.layers_changed.connect(lambda: self.lbl_crs.setText(
            f"{self.tr('坐标系')} CGCS2000 / GK EPSG:{self.canvas.epsg}"))

    def _error(self, title: str, exc: Exception) -> None:
        """Show a bad-input message (window-modal, non-blocking) — never a traceback; headless runs
        (``--results``, ``--screenshot``) print it as one line on stderr instead."""
        if getattr(self, "headless", False):
            import sys
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            return
        box = QMessageBox(QMessageBox.Warning, self.tr(title), f"{self.tr(title)}：\n{exc}", QMessageBox.Ok, self)
        box.setObjectName("error-box")
        box.open()

    def open_layerset(self, path: str) -> bool:
        """Open a layer-set manifest (files or PostGIS tables); False after showing why it could not be opened."""
        try:
            self.session.open_layerset(path)
        except InputError as exc:
            self._error("无法打开", exc)
            return False
        recent = [p for p in (self.settings.value("recent", []) or []) if p != str(path)]
        self.settings.setValue("recent", [str(path)] + recent[:7])
        self._refresh_recent()
        self.undo.clear()
        self.lbl_msg.setText(self.session.layerset.name if self.session.layerset else "")
        return True

    def _refresh_recent(self):
        self.recent_menu.clear()
        for p in self.settings.value("recent", []) or []:
            self.recent_menu.addAction(p, lambda _c=False, q=p: self.open_layerset(q))

    def open_layerset_dialog(self):
        """Ask for a manifest and open it."""
        path, _ = QFileDialog.getOpenFileName(self, self.tr("打开图层集…"), "", "图层集 (*.yaml *.yml)")
        if path:
            self.open_layerset(path)

    def import_footprint(self, path: str, zone: int | None = None, offset: str | None = None,
                         ask=None, layer: str | None = None, ask_layer=None) -> bool:
        """Import a footprint file; asks for the GK zone when the coordinates cannot tell it
        (``ask(message) -> zone or None``; a dialog by default), and for the layer of a GeoPackage, File
        Geodatabase or CAD drawing holding several (``ask_layer(path, layers) -> layer or None``)."""
        return self.import_footprints([path], zone=zone, offset=offset, ask=ask, layer=layer, ask_layer=ask_layer)

    def import_footprints(self, paths: list[str], zone: int | None = None, offset: str | None = None,
                          ask=None, layer: str | None = None, ask_layer=None) -> bool:
        """Import several footprint files at once (as chosen together in the file dialog): each file's questions
        asked in turn, a file that cannot be read said and left out, the others added as one undoable step
        (screened once).  True when any file was imported."""
        loaded: list[Project] = []
        for path in paths:
            projects = self._load_footprint(path, zone, offset, ask, layer, ask_layer)
            if projects is not None:
                loaded += projects
        if not loaded:
            return False
        self._add_projects(loaded, paths)
        return True

    def _add_projects(self, loaded: list[Project], paths: list[str]) -> None:
        """Add the projects read from ``paths`` as one undoable step; the first import note in the status bar."""
        merged, notes = self.session.with_projects(loaded)
        what = Path(paths[0]).name if len(paths) == 1 else self.tr("{n} 个文件").format(n=len(paths))
        self.undo.push(commands.SetProjects(self.session, merged, f"{self.tr('添加项目范围')} {what}"))
        self.session.select_project(loaded[0].id)
        # a table's own note (its 合计 row, columns not read) is on each of its projects: counted once
        problems = list(dict.fromkeys(notes + [s for p in loaded for s in p.problems
                                               if s.startswith(("[warning]", "[error]"))]))
        if problems:
            from ..reports.import_notes import import_note_zh
            label = self.tr("导入问题")
            first = import_note_zh(problems[0]) if label == "导入问题" else problems[0]    # the UI's language
            self.lbl_msg.setText(f"{label}：{first}" + (self.tr("（共 {n} 条）").format(n=len(problems))
                                                        if len(problems) > 1 else ""))
        self.canvas.zoom_to_projects()

    def _load_footprint(self, path: str, zone, offset, ask, layer, ask_layer) -> list[Project] | None:
        """The projects of one footprint file, asking for its zone or layer when needed; None (said) when it
        cannot be read or a question was declined."""
        try:
            projects = load_projects(path, zone=zone, offset=offset, layer=layer)
            check_sheets(projects)
            return projects
        except ZoneRequired as exc:
            z = (ask or self._ask_zone)(str(exc)) if zone is None else None
            if z:
                return self._load_footprint(path, z, offset, ask, layer, ask_layer)
            if zone is not None or ask is not None:     # not the user's own 取消 of the question: say why
                self._error("无法导入", exc)
        except LayerRequired as exc:
            chosen = self._which_layer(path, exc, ask_layer) if layer is None else None
            if chosen:
                return self._load_footprint(path, zone, offset, ask, chosen, ask_layer)
            if layer is not None or ask_layer is not None:
                self._error("无法导入", exc)
        except InputError as exc:
            self._error("无法导入", exc)
        return None

    def import_projects(self, path: str, zone: int | None = None) -> bool:
        """Scripting API: add the projects of ``path`` (footprints, sheets, XLSX tables) to the project list."""
        return self.import_footprint(str(path), zone=zone, ask=lambda _m: zone)

    def _which_layer(self, path, exc: LayerRequired, ask=None):
        """The layer of ``path`` to read: ``ask(path, layers)`` when given (scripts, tests), else the question."""
        return ask(path, exc.layers) if ask else self._ask_layer(path, exc)

    def _ask_layer(self, path, exc: LayerRequired):
        """Ask which layer of ``path`` to read, each shown with what it holds (``二期（3 个要素）``, ``红线（1 个闭合轮廓）``)."""
        from qtpy.QtWidgets import QInputDialog
        unit = {"features": self.tr("个要素"), "outlines": self.tr("个闭合轮廓"), "lines": self.tr("条线")}[exc.unit]
        labels = [f"{name}（{exc.counts[name]:,} {unit}）" if name in exc.counts else name for name in exc.layers]
        item, ok = QInputDialog.getItem(self, self.tr("选择图层"), self.tr("{0} 含多个图层，请选择要读取的图层：")
                                        .format(Path(path).name), labels, 0, False)
        return exc.layers[labels.index(item)] if ok and item in labels else None

    def _ask_zone(self, message: str):
        from qtpy.QtWidgets import QInputDialog
        z, ok = QInputDialog.getInt(self, self.tr("高斯投影带号"), self.tr("坐标不含带号，请输入 3° 带带号（福建为 39 或 40）："),
                                    40, 25, 45)
        return z if ok else None

    def import_footprint_dialog(self, offset: str | None = None):
        """Ask for footprint files (any supported format; several may be chosen together) and import them."""
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("导入项目范围…"), "", FOOTPRINT_FILTER)
        if paths:
            self.import_footprints(paths, offset=offset)

    def import_webmap_dialog(self):
        """Import footprints drawn on a web map, removing the GCJ-02 or BD-09 offset."""
        from qtpy.QtWidgets import QInputDialog
        items = ["GCJ-02（高德、腾讯）", "BD-09（百度）"]
        item, ok = QInputDialog.getItem(self, self.tr("网络地图坐标"), self.tr("坐标来源"), items, 0, False)
        if ok:
            self.import_footprint_dialog(offset="gcj02" if item.startswith("GCJ") else "bd09")

    def add_files(self, paths, choose_role=None, choose_layer=None, ask_zone=None) -> list[str]:
        """Add dropped files: a survey TXT, coordinate table or CAD drawing is a project footprint; any other file
        is a layer whose role is guessed from names and fields and confirmed by ``choose_role(path, ranked_roles)
        -> role or None`` (a dialog by default).  The layer of a GeoPackage, File Geodatabase or drawing holding
        several is asked by ``choose_layer(path, layers) -> layer or None``, the GK zone of unprefixed
        coordinates by ``ask_zone(message) -> zone or None`` (the zone dialog by default).  The footprints come
        in as one undoable step.  Returns the roles added."""
        from ..io import read_layer
        from ..io.pipeline import read_raw
        cat = self.session.cat
        added: list[str] = []
        footprints: list[tuple[str, str | None]] = []
        for path in paths:
            if Path(path).suffix.lower() in ONE_PROJECT_SUFFIXES:
                footprints.append((path, None))
                continue
            layer = None
            try:
                try:
                    cols = list(read_raw(path).gdf.columns)
                except LayerRequired as exc:
                    layer = self._which_layer(path, exc, choose_layer)
                    if not layer:
                        continue
                    cols = list(read_raw(path, layer=layer).gdf.columns)
            except InputError as exc:
                self._error("无法导入", exc)
                continue
            ranked = [r for r, _s in cat.guess_role(cols, Path(path).name)] or ["other"]
            ranked += [r for r in cat.roles if r not in ranked]
            role = (choose_role or self._ask_role)(path, ranked)
            if not role:
                continue
            if role == "projects":
                footprints.append((path, layer))
                continue
            try:
                self.session.add_layer(read_layer(path, role, name=Path(path).stem if role == "other" else None,
                                                  catalog=cat, layer=layer))
            except InputError as exc:
                self._error("无法导入", exc)
                continue
            added.append(role)
        loaded = [found for path, layer in footprints
                  if (found := self._load_footprint(path, None, None, ask_zone, layer, choose_layer)) is not None]
        if loaded:
            self._add_projects([p for found in loaded for p in found], [path for path, _ in footprints])
            added += ["projects"] * len(loaded)
        return added

    def _ask_role(self, path, ranked):
        from qtpy.QtWidgets import QInputDialog

        cat = self.session.cat
        items = [f"{cat.roles[r].title}（{r}）" for r in ranked]
        item, ok = QInputDialog.getItem(self, self.tr("图层类型"), f"{Path(path).name}", items, 0, False)
        return ranked[items.index(item)] if ok else None

    def dragEnterEvent(self, e):
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e):
        self.add_files([u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()])

    def basemap_dialog(self):
        """Choose an offline GeoTIFF basemap."""
        path, _ = QFileDialog.getOpenFileName(self, self.tr("添加底图（GeoTIFF）…"), "", "GeoTIFF (*.tif *.tiff)")
        if path:
            try:
                self.canvas.set_basemap(path)
            except InputError as exc:
                self._error("无法打开", exc)

    def tiles_dialog(self):
        """Set an XYZ tile URL (e.g. 天地图 …/{z}/{x}/{y}&tk={key}) and key; empty turns tiles off."""
        from qtpy.QtWidgets import QInputDialog

        from ..tiles import TileSource
        url, ok = QInputDialog.getText(self, self.tr("在线瓦片底图（XYZ，可选）…"), "URL ({z} {x} {y} {key})",
                                       text=self.settings.value("tiles/url", ""))
        if not ok:
            return
        key, ok = QInputDialog.getText(self, self.tr("在线瓦片底图（XYZ，可选）…"), "key",
                                       text=self.settings.value("tiles/key", ""))
        self.settings.setValue("tiles/url", url)
        self.settings.setValue("tiles/key", key if ok else "")
        self.canvas.tiles = TileSource(url, key) if url else None
        self.canvas.update()

    def sheet_dialog(self, project_index: int | None = None):
        """The project-sheet form of the selected project (or of ``project_index``)."""
        from .dialogs import SheetDialog
        if not self.session.projects:
            return None
        if project_index is None:
            ids = [q.id for q in self.session.projects]
            project_index = ids.index(self.session.selected_project) if self.session.selected_project in ids else 0
        p = self.session.projects[project_index]
        dlg = SheetDialog(p, self, self.session.cat)
        if dlg.exec_() and dlg.result_sheet is not None:
            self.apply_sheet(project_index, dlg.result_sheet)
        return dlg

    def apply_sheet(self, project_index: int, sheet: dict) -> None:
        """Attach a project sheet to a project (one undoable command; re-screens)."""
        import copy

        from ..io.projects import RULE_FLAGS
        projects = copy.copy(self.session.projects)
        old = projects[project_index]
        # the sheet says each yes/no fact the rules read, or leaves it unsaid (then it is unsaid, whatever the
        # footprint file said)
        attributes = {k: v for k, v in old.attributes.items() if k not in RULE_FLAGS}
        attributes.update({k: sheet[k] for k in RULE_FLAGS if k in sheet})
        projects[project_index] = Project(id=old.id, geometry=old.geometry, name=old.name,
                                          industry_code=sheet.get("industry_code") or old.industry_code,
                                          construction_type=sheet.get("construction_type") or old.construction_type,
                                          attributes=attributes, sheet=sheet, source=old.source)
        self.undo.push(commands.SetProjects(self.session, projects, self.tr("建设项目信息表") + f" {old.id}"))

    def print_dialog(self):
        """Print layout of the selected project."""
        from .dialogs import PrintDialog
        pid = self.session.selected_project
        if self.session.project(pid) is None or self.session.result_for(pid) is None:
            self.lbl_msg.setText(self.tr("请先选择并筛查一个项目，再打印筛查图"))
            return None
        dlg = PrintDialog(self.session, pid, self, basemap=self.canvas.basemap_path, tiles=self.canvas.tiles)
        dlg.open()
        return dlg

    # ---- screening --------------------------------------------------------------------------------
    def _projects_changed(self):
        self.canvas.update()
        if self.auto_screen and self.session.projects and self.session.layerset:
            self.run_screening()

    def run_screening(self, wait: bool = False) -> None:
        """Screen the session's projects on the engine thread (a running screening is cancelled first).
        ``wait`` runs the event loop until the result has arrived (see :meth:`screen_and_wait`)."""
        if not (self.session.projects and self.session.layerset):
            return
        if self.worker is not None:
            self.worker.cancel()
        self.worker = w = screening_job(self.session.projects, self.session.layerset, cache=self.cache)
        w.setParent(self)
        w.progress.connect(self._show_progress)
        w.finished.connect(lambda out, me=w: self._screened(me, *out))
        w.failed.connect(lambda msg, me=w: self._failed(me, msg))
        self.progress.setValue(0)
        self.progress.show()
        self.btn_cancel.show()
        self.lbl_msg.setText(self.tr("筛查中…"))
        w.start()
        if wait:
            self._wait_for(w)

    @staticmethod
    def _wait_for(job: Job, timeout_s: float = 600.0) -> None:
        """Run the event loop until ``job``'s finished/failed signal has been handled (``job.delivered``)."""
        import time

        from qtpy.QtCore import QCoreApplication
        deadline = time.monotonic() + timeout_s
        while not job.delivered and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)

    def screen_and_wait(self) -> dict | None:
        """Trigger the screening action and run the event loop until it has finished; the result document."""
        self.a_screen.trigger()
        if self.worker is not None:
            self._wait_for(self.worker)
        return self.session.result

    def cancel_screening(self):
        """Stop the running screening at its next step (the result holds what was screened, marked partial)."""
        if self.worker is not None:
            self.worker.cancel()

    def _screened(self, worker, doc, inputs):
        worker.delivered = True
        if worker is not self.worker:
            return  # a newer run superseded this one
        self.worker = None
        self.progress.hide()
        self.btn_cancel.hide()
        self.session.set_result(doc, inputs)
        missing = "、".join(m["title"] for m in doc.get("layers_missing") or [])
        self.lbl_msg.setText(self.tr("就绪") if not missing else
                             f"{self.tr('未加载图层，相关规则未能核对（列为需人工核实）')}：{missing}")

    def _failed(self, worker, msg):
        worker.delivered = True
        if worker is not self.worker:
            return
        self.worker = None
        self.progress.hide()
        self.btn_cancel.hide()
        self.lbl_msg.setText(f"{self.tr('筛查失败')}：{msg}")

    # ---- selection ----------------------------------------------------------------------------------
    def _identified(self, name, index):
        layer = self.session.views[self.session.index_of(name)].layer
        if self.editor and self.editor.view.layer is layer:
            from qtpy.QtWidgets import QApplication
            fid = self.editor.fid_at(index)
            if QApplication.keyboardModifiers() & Qt.ControlModifier:   # Ctrl+click adds to the selection
                if fid not in self.editor.selected:
                    self.editor.selected.append(fid)
            else:
                self.editor.selected = [fid]
        if layer.uid in self.tables:
            self.tables[layer.uid].select_feature(index)

    def _identified_all(self, hits) -> None:
        views = self.session.views
        self.identify_panel.show_features([(views[self.session.index_of(k)].layer, i) for k, i in hits])

    def identify(self, lon: float, lat: float) -> list[tuple[str, str]]:
        """Scripting API: identify at a CGCS2000 lon/lat through all visible layers; ``[(layer name, feature
        id)]`` top layer first (also shown in the identify dock)."""
        x, y = self.canvas.to_metres.transform(lon, lat)
        found: list[tuple[str, int]] = []
        self.canvas.features_identified.connect(found.extend)
        try:
            self.canvas.identify(x, y)
        finally:
            self.canvas.features_identified.disconnect(found.extend)
        out = []
        for key, i in found:
            layer = self.session.views[self.session.index_of(key)].layer
            out.append((layer.name, layer.feature_ids()[i]))
        return out

    def _finding_clicked(self, layer_name, feature_id):
        try:
            view = self.session.views[self.session.index_of(layer_name)]
        except StopIteration:
            return
        ids = view.layer.feature_ids()
        if feature_id in ids:
            i = ids.index(feature_id)
            self.canvas.zoom_to_feature(layer_name, i)
            self.identify_panel.show_feature(view.layer, i)
            feat = self.canvas.render_layer(layer_name).geoms[i]
            overlap = [g.intersection(feat) for g in self.canvas._project_geoms if g.intersects(feat)]
            self.canvas.overlap_highlight = overlap[0] if overlap else None
            self.canvas.update()

    def open_table(self, key):
        """Show the attribute table of layer ``key`` (uid or name)."""
        view = self.session.views[self.session.index_of(key)]
        t = AttributeTable(view.layer)
        t.feature_selected.connect(lambda n, i: (self.canvas.zoom_to_feature(view.layer.uid, i),
                                                  self.identify_panel.show_feature(view.layer, i)))
        self.tables[view.layer.uid] = t
        name = view.layer.name
        d = self._dock(t, f"{self.tr('属性表')} — {name}", Qt.BottomDockWidgetArea, f"table-{name}")
        d.show()
        return t

    def set_tool(self, key):
        """Switch the map tool (pan, zoom_box, identify, measure_line, measure_area, draw_polygon, …)."""
        self.canvas.tool = key
        self.tool_actions[key].setChecked(True)

    # ---- files ----------------------------------------------------------------------------------------
    def save_session_dialog(self):
        """Ask for a file and save the session (layer set, views, projects, result)."""
        path, _ = QFileDialog.getSaveFileName(self, self.tr("保存会话…"), "", "会话 (*.gsproj)")
        if path:
            self.session.save(path if path.endswith(".gsproj") else path + ".gsproj")

    def open_session_dialog(self):
        """Ask for a session file and open it (what is invalid is reported, not fatal)."""
        path, _ = QFileDialog.getOpenFileName(self, self.tr("打开会话…"), "", "会话 (*.gsproj)")
        if path:
            self.open_session(path)

    def open_session(self, path: str) -> bool:
        """Open a saved session; a bad file is a message, never a crash (what was dropped is said)."""
        try:
            notes = self.session.load(path) or []
        except InputError as exc:
            self._error("无法打开", exc)
            return False
        if notes:
            self.lbl_msg.setText("；".join(notes))
        return True

    def export_dialog(self):
        """Ask for report files and write them in the background (cancellable)."""
        if not self.session.result:
            return
        from .dialogs import chosen_name
        path, chosen = QFileDialog.getSaveFileName(self, self.tr("导出报告…"), "",
                                                   "PDF (*.pdf);;Word (*.docx);;Excel (*.xlsx);;HTML (*.html)")
        if path:
            self.export_report(chosen_name(path, chosen))

    def export_report(self, path: str) -> Job | None:
        """Export the last result (PDF/DOCX/XLSX/HTML by suffix) on the engine thread with progress and cancel;
        the window stays responsive.  Returns the running job."""
        from ..outputs import REPORT_SUFFIXES, report_kind
        from ..reports import export
        kind = report_kind(Path(path).suffix)
        if kind is None or not self.session.result:
            endings = ", ".join(e for kind_endings in REPORT_SUFFIXES.values() for e in kind_endings)
            self._error("无法导出", InputError(f"choose a file ending in {endings}", file=path))
            return None
        from ..outputs import output_conflict
        conflict = output_conflict({"导出": path}, self.session.files_read())
        if conflict:                # a report written over a file the session reads would destroy it
            self._error("无法导出", InputError(conflict, file=path))
            return None
        doc, ls = self.session.result, self.session.layerset
        fps = {p.id: p.geometry for p in self.session.projects}
        missing = [r["project"]["id"] for r in doc["results"] if r["project"]["id"] not in fps]
        if missing:
            self._error("无法导出", InputError(f"projects removed since screening: {', '.join(missing[:5])}; "
                                                "screen again"))
            return None
        outputs: dict[str, Any] = {kind: path}
        job = Job(lambda progress, cancelled: export(doc, ls, fps, progress=progress, cancel=cancelled,
                                                     **outputs), self)
        self.export_job = job
        job.progress.connect(self._show_progress)
        job.finished.connect(lambda _w, me=job: self._exported(me, f"{self.tr('已导出')} {path}"))
        job.failed.connect(lambda msg, me=job: self._exported(me, f"{self.tr('导出失败')}：{msg}"))
        self.btn_cancel.clicked.connect(job.cancel)
        self.progress.setValue(0)
        self.progress.show()
        self.btn_cancel.show()
        self.lbl_msg.setText(self.tr("正在导出报告…"))
        return job.start()

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)

    def _exported(self, job: Job, message: str) -> None:
        job.delivered = True
        try:
            self.btn_cancel.clicked.disconnect(job.cancel)
        except TypeError:
            pass
        if self.worker is None:
            self.progress.hide()
            self.btn_cancel.hide()
        self.lbl_msg.setText(message)

    @staticmethod
    def autosave_path() -> Path:
        """Where the session is saved every minute for crash recovery."""
        return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or ".") / "autosave.gsproj"

    def _autosave(self):
        if self.session.dirty and (self.session.layerset_path or self.session.projects):
            self.session.save(self.autosave_path())
            self.session.dirty = True  # autosave is not a user save

    def _set_lang(self, lang):
        self.settings.setValue("lang", lang)
        self.lbl_msg.setText("语言设置重启后生效 / The language takes effect after a restart")

    def closeEvent(self, e):
        if not self._confirm_unsaved_edits():
            e.ignore()
            return
        for job in (self.worker, getattr(self, "export_job", None)):   # the engine thread stops at its next step
            if job is not None:
                job.cancel()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.autosave_path().unlink(missing_ok=True)  # a clean exit leaves nothing to recover
        self.shared.close()
        super().closeEvent(e)
