"""Docks bound to the Session: layer panel, results (verdict banner + findings), identify, attribute table."""
from __future__ import annotations

from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.model import LEVEL_LABELS, LEVEL_RANK, VERDICT_COLOURS, VERDICT_LABELS
from ..engine.words import decisive_titles
from ..model import is_missing
from . import commands

#: Verdicts in severity order (worst first), as counts and filters list them.
SEVERITY = ("non_compliant", "needs_review", "conditional", "compliant")


def _style() -> QStyle:
    """The application's style (Qt always has one once a QApplication exists)."""
    style = QApplication.style()
    assert style is not None
    return style


class LayerPanel(QTreeWidget):
    """Layer list: check = visibility, drag = order, context menu = zoom / table / opacity; two-way bound."""

    zoom_requested = Signal(str)
    table_requested = Signal(str)

    def __init__(self, session, undo_stack, parent=None):
        super().__init__(parent)
        self.session, self.undo = session, undo_stack
        self.setHeaderHidden(True)
        self.setDragDropMode(QAbstractItemView.InternalMove)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self._updating = False
        self.itemChanged.connect(self._item_changed)
        session.layers_changed.connect(self.refresh)
        session.layer_changed.connect(self._sync_one)
        session.layer_data_changed.connect(self._relabel)
        self.model().rowsMoved.connect(self._rows_moved)

    def refresh(self) -> None:
        """Rebuild the tree from the session's layer views (top of the list is drawn on top)."""
        self._updating = True
        self.clear()
        for v in self.session.views:
            it = QTreeWidgetItem([self._label(v)])
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
            it.setFlags(it.flags() & ~Qt.ItemFlags(Qt.ItemFlag.ItemIsDropEnabled))
            it.setCheckState(0, Qt.CheckState.Checked if v.visible else Qt.CheckState.Unchecked)
            it.setData(0, Qt.ItemDataRole.UserRole, v.layer.uid)
            it.setToolTip(0, f"{v.layer.name}\n{v.layer.source}")
            problems = [p for p in v.layer.problems if p.level in ("warning", "error")]
            if problems:
                it.setIcon(0, _style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
                it.setToolTip(0, "\n".join(str(p) for p in problems[:15]))
            self.addTopLevelItem(it)
        self._updating = False

    def _label(self, v) -> str:
        return f"{v.layer.name}（{v.layer.feature_count} {self.tr('要素')}）"

    def _relabel(self, index: int) -> None:
        it = self.topLevelItem(index)
        if it is not None:
            self._updating = True
            it.setText(0, self._label(self.session.views[index]))
            self._updating = False

    def _sync_one(self, index: int) -> None:
        it = self.topLevelItem(index)
        if it is None:
            return
        self._updating = True
        it.setCheckState(0, Qt.CheckState.Checked if self.session.views[index].visible else Qt.CheckState.Unchecked)
        self._updating = False

    def _item_changed(self, item, _col) -> None:
        if self._updating:
            return
        i = self.session.index_of(item.data(0, Qt.ItemDataRole.UserRole))
        visible = item.checkState(0) == Qt.CheckState.Checked
        if visible != self.session.views[i].visible:
            self.undo.push(commands.SetVisibility(self.session, i, visible))

    def _rows_moved(self, *_):
        names = [self.topLevelItem(i).data(0, Qt.UserRole) for i in range(self.topLevelItemCount())]
        current = [v.layer.uid for v in self.session.views]
        if names != current:
            moved = next(n for n, c in zip(names, current) if n != c)
            self.undo.push(commands.MoveLayer(self.session, current.index(moved), names.index(moved)))

    def _menu(self, pos) -> None:
        it = self.itemAt(pos)
        if it is None:
            return
        name = it.data(0, Qt.ItemDataRole.UserRole)
        m = QMenu(self)
        m.addAction(self.tr("缩放到图层"), lambda: self.zoom_requested.emit(name))
        m.addAction(self.tr("打开属性表"), lambda: self.table_requested.emit(name))
        m.addAction(self.tr("透明度…"), lambda: self._opacity(name))
        m.addAction(self.tr("样式…"), lambda: self._style(name))
        m.addAction(self.tr("恢复默认样式"), lambda: self.undo.push(commands.SetStyle(
            self.session, self.session.index_of(name), None)))
        m.exec_(self.mapToGlobal(pos) if (vp := self.viewport()) is None else vp.mapToGlobal(pos))

    def _style(self, name: str) -> None:
        from qtpy.QtWidgets import QColorDialog
        i = self.session.index_of(name)
        fill = QColorDialog.getColor(QColor("#80ff9800"), self, self.tr("填充颜色"), QColorDialog.ShowAlphaChannel)
        if not fill.isValid():
            return
        line = QColorDialog.getColor(QColor("#e65100"), self, self.tr("边线颜色"))
        if not line.isValid():
            return
        style = {"fill": f"#{fill.red():02x}{fill.green():02x}{fill.blue():02x}{fill.alpha():02x}",
                 "outline": line.name()}
        self.undo.push(commands.SetStyle(self.session, i, style))

    def _opacity(self, name: str) -> None:
        i = self.session.index_of(name)
        val, ok = QInputDialog.getInt(self, self.tr("图层透明度"), name, int(self.session.views[i].opacity * 100), 0, 100)
        if ok:
            self.undo.push(commands.SetOpacity(self.session, i, val / 100))


class _SortItem(QTableWidgetItem):
    """A table cell that sorts by a key (verdict severity, area) instead of its text."""

    def __init__(self, text: str, key):
        super().__init__(text)
        self.key = key

    def __lt__(self, other):
        k = getattr(other, "key", None)
        try:
            return self.key < k
        except TypeError:
            return str(self.key) < str(k)


class ProjectsPanel(QWidget):
    """The project list with its verdicts: one row per project (id, name, verdict, area, decisive rule titles),
    sortable, filterable by text and verdict, counts in severity order; the selected row is the session's
    selected project (it drives the banner, the findings, the sheet form and printing)."""

    add_requested = Signal()
    COLUMNS = ("编号", "名称", "结论", "面积 / 长度", "决定性规则")

    def __init__(self, session, undo_stack, parent=None):
        super().__init__(parent)
        self.session, self.undo = session, undo_stack
        lay = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("筛选项目…"))
        self.verdict_filter = QComboBox()
        self.verdict_filter.addItem(self.tr("全部结论"), None)
        for v in SEVERITY:
            self.verdict_filter.addItem(self.tr(VERDICT_LABELS[v]), v)
        self.verdict_filter.addItem(self.tr("未筛查"), "none")
        self.btn_add = QPushButton(self.tr("添加…"))
        self.btn_remove = QPushButton(self.tr("移除"))
        for w in (self.filter, self.verdict_filter, self.btn_add, self.btn_remove):
            bar.addWidget(w)
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        hdr = self.table.horizontalHeader()
        hdr.setSortIndicator(0, Qt.AscendingOrder)       # by id until the user clicks another column
        hdr.setSectionResizeMode(QHeaderView.Interactive)
        hdr.setStretchLastSection(True)
        lay.addLayout(bar)
        lay.addWidget(self.counts)
        lay.addWidget(self.table)
        self._updating = False
        self.filter.textChanged.connect(self._apply_filter)
        self.verdict_filter.currentIndexChanged.connect(self._apply_filter)
        self.btn_add.clicked.connect(self.add_requested.emit)
        self.btn_remove.clicked.connect(self.remove_selected)
        self.table.itemSelectionChanged.connect(self._row_selected)
        session.projects_changed.connect(self.refresh)
        session.result_changed.connect(lambda _doc: self.refresh())
        session.project_selected.connect(self._select_row)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the rows from the session's projects and the last result."""
        self._updating = True
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.session.projects))
        tally = dict.fromkeys((*SEVERITY, "none"), 0)
        for row, p in enumerate(self.session.projects):
            r = self.session.result_for(p.id)
            verdict = r["verdict"] if r else None
            tally[verdict or "none"] += 1
            titles = "；".join(decisive_titles(r)) if r else ""
            size = r["project"] if r else {}
            if size.get("area_m2"):
                amount, text = size["area_m2"], f"{size['area_m2']:,.1f} m²"
            elif size.get("length_m"):
                amount, text = size["length_m"], f"{size['length_m']:,.1f} m"
            else:
                amount, text = 0.0, (self.tr("点状") if r else "")
            cells = [_SortItem(p.id, p.id), _SortItem(p.name or "", p.name or ""),
                     _SortItem(self.tr(r["verdict_label"]) if r else self.tr("未筛查"),
                               -LEVEL_RANK.get(verdict, -1) if verdict else 1),
                     _SortItem(text, amount), _SortItem(titles, titles)]
            for col, it in enumerate(cells):
                it.setData(Qt.ItemDataRole.UserRole, p.id)
                it.setToolTip(it.text())
                self.table.setItem(row, col, it)
            cells[2].setForeground(QBrush(QColor(VERDICT_COLOURS.get(str(verdict), "#78909c"))))
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self.counts.setText("；".join(f"{self.tr(VERDICT_LABELS[v])} {tally[v]}" for v in SEVERITY)
                            + (f"；{self.tr('未筛查')} {tally['none']}" if tally["none"] else ""))
        self._updating = False
        self._apply_filter()
        self._select_row(self.session.selected_project)

    def row_ids(self, visible_only: bool = False) -> list[str]:
        """Project ids in the table's current (sorted) order."""
        return [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.table.rowCount())
                if not (visible_only and self.table.isRowHidden(r))]

    def _apply_filter(self, *_):
        text = self.filter.text().strip().lower()
        want = self.verdict_filter.currentData()
        for r in range(self.table.rowCount()):
            pid = self.table.item(r, 0).data(Qt.UserRole)
            res = self.session.result_for(pid)
            verdict = res["verdict"] if res else "none"
            row_text = " ".join(self.table.item(r, c).text() for c in range(self.table.columnCount())).lower()
            self.table.setRowHidden(r, bool((text and text not in row_text) or (want and want != verdict)))

    def _row_selected(self) -> None:
        if self._updating:
            return
        items = self.table.selectedItems()
        if items:
            self.session.select_project(items[0].data(Qt.ItemDataRole.UserRole))

    def _select_row(self, pid) -> None:
        self._updating = True
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == pid:
                self.table.selectRow(r)
                break
        else:
            self.table.clearSelection()
        self._updating = False

    def remove_selected(self) -> None:
        """Remove the selected projects (undoable)."""
        pid = self.session.selected_project
        if pid is None:
            return
        keep = [p for p in self.session.projects if p.id != pid]
        self.undo.push(commands.SetProjects(self.session, keep, f"{self.tr('移除项目')} {pid}"))


class ResultsDock(QWidget):
    """Verdict banner and findings of the selected project, grouped by level; clicking a finding asks to
    zoom to its feature."""

    finding_clicked = Signal(str, str)   # layer name, feature id

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        lay = QVBoxLayout(self)
        self.banner = QLabel()
        self.banner.setAlignment(Qt.AlignCenter)
        self.banner.setMinimumHeight(44)
        self.banner.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([self.tr("说明"), self.tr("依据")])
        self.tree.header().setSectionResizeMode(0, QHeaderView.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 320)
        self.tree.setWordWrap(True)
        self.tree.itemClicked.connect(self._clicked)
        self.project_box = QLabel()
        self.project_box.setWordWrap(True)
        self.project_box.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        lay.addWidget(self.banner)
        lay.addWidget(self.project_box)
        lay.addWidget(self.tree)
        session.result_changed.connect(lambda _doc: self.show_selected())
        session.project_selected.connect(lambda _pid: self.show_selected())
        self.show_selected()

    def show_selected(self) -> None:
        """Show the selected project's verdict and findings (or what is missing)."""
        self.tree.clear()
        p = self.session.project()
        r = self.session.result_for()
        if p is None:
            self._banner(None, self.tr("尚无项目"))
            self.project_box.setText("")
            return
        self.project_box.setText(f"{p.id} {p.name or ''}")
        if r is None:
            self._banner(None, self.tr("尚未筛查"))
            return
        self._banner(r["verdict"], self.tr(r["verdict_label"]))
        for level in ("non_compliant", "needs_review", "conditional", "info"):
            items = [f for f in r["findings"] if f["level"] == level]
            if not items:
                continue
            grp = QTreeWidgetItem([f"{self.tr(LEVEL_LABELS[level])}（{len(items)}）", ""])
            grp.setForeground(0, QBrush(QColor(VERDICT_COLOURS.get(level, "#546e7a"))))
            self.tree.addTopLevelItem(grp)
            for f in items:
                it = QTreeWidgetItem([f"{f.get('title') or ''}：{f['message']}" if f.get("title") else f["message"],
                                      "；".join(f["basis"])])
                it.setToolTip(0, f"{f.get('title') or ''}\n{f['message']}")
                it.setToolTip(1, "\n".join(f["basis"]))
                it.setData(0, Qt.ItemDataRole.UserRole, (f.get("layer"), f.get("feature_id")))
                grp.addChild(it)
            grp.setExpanded(level != "info")

    def _banner(self, verdict, text) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(f"background:{VERDICT_COLOURS.get(verdict, '#78909c')};color:white;"
                                  "font-size:18px;font-weight:bold;border-radius:4px;padding:6px")
        self.banner.setProperty("verdict", verdict)

    def _clicked(self, item, _col) -> None:
        data = item.data(0, Qt.ItemDataRole.UserRole)
        if data and data[0] and data[1]:
            self.finding_clicked.emit(data[0], data[1])


class IdentifyPanel(QTreeWidget):
    """Attributes of the identified feature, catalog titles first (incl. the four 准入清单 texts)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels([self.tr("字段"), self.tr("值")])
        self.setWordWrap(True)
        self.header().setSectionResizeMode(1, QHeaderView.Stretch)

    def show_features(self, hits: list) -> None:
        """Every identified feature grouped by layer: ``[(layer, index)]`` top layer first."""
        self.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for layer, index in hits:
            grp = groups.get(layer.uid)
            if grp is None:
                grp = groups[layer.uid] = QTreeWidgetItem([layer.name, ""])
                self.addTopLevelItem(grp)
                grp.setExpanded(True)
            self._add_feature(grp, layer, index)
            grp.setText(1, f"{grp.childCount()} {self.tr('个要素')}")

    def show_feature(self, layer, index: int) -> None:
        """List the attributes of feature ``index`` of ``layer`` (field titles from the catalog)."""
        self.clear()
        self._add_feature(self.invisibleRootItem(), layer, index)

    def _add_feature(self, parent, layer, index: int) -> None:
        row = layer.gdf.iloc[index]
        fields = layer.cat.roles[layer.role].fields if layer.role in layer.cat.roles else {}
        top = QTreeWidgetItem([layer.name, str(layer.feature_ids()[index])])
        parent.addChild(top)
        for k, v in row.items():
            if k == layer.gdf.geometry.name or is_missing(v):
                continue
            it = QTreeWidgetItem([fields[k].title if k in fields else str(k), str(v)])
            it.setToolTip(1, str(v))
            top.addChild(it)
        top.setExpanded(True)


class FrameModel(QAbstractTableModel):
    """A GeoDataFrame's attributes as a read-only table model."""

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.layer = layer
        self.cols = [c for c in layer.gdf.columns if c != layer.gdf.geometry.name]

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.layer.gdf)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.cols)

    def data(self, index, role=Qt.DisplayRole):
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            v = self.layer.gdf.iat[index.row(), self.layer.gdf.columns.get_loc(self.cols[index.column()])]
            return "" if is_missing(v) else str(v)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.cols[section]
        if role == Qt.DisplayRole:
            return str(section + 1)
        return None


class AttributeTable(QWidget):
    """Sortable, filterable attribute table; row selection selects the feature on the map."""

    feature_selected = Signal(str, int)

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.layer = layer
        lay = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("筛选…"))
        self.view = QTableView()
        self.model = FrameModel(layer, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view.selectionModel().currentRowChanged.connect(self._row)
        lay.addWidget(self.filter)
        lay.addWidget(self.view)

    def _row(self, current, _prev) -> None:
        if current.isValid():
            self.feature_selected.emit(self.layer.name, self.proxy.mapToSource(current).row())

    def select_feature(self, index: int) -> None:
        """Select and show row ``index``."""
        src = self.model.index(index, 0)
        self.view.selectRow(self.proxy.mapFromSource(src).row())
