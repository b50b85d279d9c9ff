"""Docks bound to the Session: layer panel, results (verdict banner + findings), identify, attribute table."""
from __future__ import annotations

from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (QAbstractItemView, QHeaderView, QInputDialog, QLabel, QLineEdit, QMenu, QSizePolicy, QStyle,
                            QTableView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..catalog import default_catalog
from ..engine.model import LEVEL_LABELS
from . import commands

VERDICT_COLOURS = {"non_compliant": "#c62828", "needs_review": "#ef6c00", "conditional": "#f9a825",
                   "compliant": "#2e7d32", None: "#78909c"}


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
        self.model().rowsMoved.connect(self._rows_moved)

    def refresh(self) -> None:
        self._updating = True
        self.clear()
        for v in self.session.views:
            it = QTreeWidgetItem([self._label(v)])
            it.setFlags(it.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsDragEnabled)
            it.setFlags(it.flags() & ~Qt.ItemIsDropEnabled)
            it.setCheckState(0, Qt.Checked if v.visible else Qt.Unchecked)
            it.setData(0, Qt.UserRole, v.layer.name)
            problems = [p for p in v.layer.problems if p.level in ("warning", "error")]
            if problems:
                it.setIcon(0, self.style().standardIcon(QStyle.SP_MessageBoxWarning))
                it.setToolTip(0, "\n".join(str(p) for p in problems[:15]))
            self.addTopLevelItem(it)
        self._updating = False

    def _label(self, v) -> str:
        return f"{v.layer.name}（{v.layer.feature_count} {self.tr('要素')}）"

    def _sync_one(self, index: int) -> None:
        it = self.topLevelItem(index)
        if it is None:
            return
        self._updating = True
        it.setCheckState(0, Qt.Checked if self.session.views[index].visible else Qt.Unchecked)
        self._updating = False

    def _item_changed(self, item, _col) -> None:
        if self._updating:
            return
        i = self.session.index_of(item.data(0, Qt.UserRole))
        visible = item.checkState(0) == Qt.Checked
        if visible != self.session.views[i].visible:
            self.undo.push(commands.SetVisibility(self.session, i, visible))

    def _rows_moved(self, *_):
        names = [self.topLevelItem(i).data(0, Qt.UserRole) for i in range(self.topLevelItemCount())]
        current = [v.layer.name for v in self.session.views]
        if names != current:
            moved = next(n for n, c in zip(names, current) if n != c)
            self.undo.push(commands.MoveLayer(self.session, current.index(moved), names.index(moved)))

    def _menu(self, pos) -> None:
        it = self.itemAt(pos)
        if it is None:
            return
        name = it.data(0, Qt.UserRole)
        m = QMenu(self)
        m.addAction(self.tr("缩放到图层"), lambda: self.zoom_requested.emit(name))
        m.addAction(self.tr("打开属性表"), lambda: self.table_requested.emit(name))
        m.addAction(self.tr("透明度…"), lambda: self._opacity(name))
        m.addAction(self.tr("样式…"), lambda: self._style(name))
        m.addAction(self.tr("恢复默认样式"), lambda: self.undo.push(commands.SetStyle(
            self.session, self.session.index_of(name), None)))
        m.exec_(self.viewport().mapToGlobal(pos))

    def _style(self, name: str) -> None:
        from qtpy.QtWidgets import QColorDialog
        i = self.session.index_of(name)
        fill = QColorDialog.getColor(QColor("#80ff9800"), self, self.tr("填充颜色"), QColorDialog.ShowAlphaChannel)
        if not fill.isValid():
            return
        line = QColorDialog.getColor(QColor("#e65100"), self, self.tr("边线颜色"))
        if not line.isValid():
            return
        style = {"fill": "#%02x%02x%02x%02x" % (fill.red(), fill.green(), fill.blue(), fill.alpha()),
                 "outline": line.name()}
        self.undo.push(commands.SetStyle(self.session, i, style))

    def _opacity(self, name: str) -> None:
        i = self.session.index_of(name)
        val, ok = QInputDialog.getInt(self, self.tr("图层透明度"), name, int(self.session.views[i].opacity * 100), 0, 100)
        if ok:
            self.undo.push(commands.SetOpacity(self.session, i, val / 100))


class ResultsDock(QWidget):
    """Verdict banner and findings grouped by level; clicking a finding asks to zoom to its feature."""

    finding_clicked = Signal(str, str)   # layer name, feature id

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        lay = QVBoxLayout(self)
        self.banner = QLabel()
        self.banner.setAlignment(Qt.AlignCenter)
        self.banner.setMinimumHeight(44)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([self.tr("说明"), self.tr("依据")])
        self.tree.header().setSectionResizeMode(0, QHeaderView.Stretch)
        self.tree.setWordWrap(True)
        self.tree.itemClicked.connect(self._clicked)
        self.project_box = QLabel()
        self.project_box.setWordWrap(True)
        self.project_box.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        lay.addWidget(self.banner)
        lay.addWidget(self.project_box)
        lay.addWidget(self.tree)
        session.result_changed.connect(self.show_result)
        self.show_result(None)

    def show_result(self, doc) -> None:
        self.tree.clear()
        if not doc or not doc.get("results"):
            self._banner(None, self.tr("尚未筛查"))
            self.project_box.setText("")
            return
        worst = max(doc["results"], key=lambda r: ["compliant", "conditional", "needs_review", "non_compliant"].index(r["verdict"]))
        self._banner(worst["verdict"], self.tr(worst["verdict_label"]) + (f"（{len(doc['results'])} 个项目）" if len(doc["results"]) > 1 else ""))
        counts = {}
        for r in doc["results"]:
            counts[r["verdict_label"]] = counts.get(r["verdict_label"], 0) + 1
        self.project_box.setText("；".join(f"{self.tr(k)} {v}" for k, v in counts.items()))
        for r in doc["results"]:
            proj = QTreeWidgetItem([f"{r['project']['id']} {r['project'].get('name') or ''} — {self.tr(r['verdict_label'])}", ""])
            proj.setForeground(0, QBrush(QColor(VERDICT_COLOURS[r["verdict"]])))
            self.tree.addTopLevelItem(proj)
            for level in ("non_compliant", "needs_review", "conditional", "info"):
                items = [f for f in r["findings"] if f["level"] == level]
                if not items:
                    continue
                grp = QTreeWidgetItem([f"{self.tr(LEVEL_LABELS[level])}（{len(items)}）", ""])
                grp.setForeground(0, QBrush(QColor(VERDICT_COLOURS.get(level, "#546e7a"))))
                proj.addChild(grp)
                for f in items:
                    it = QTreeWidgetItem([f["message"], "；".join(f["basis"])])
                    it.setToolTip(0, f"{f['rule_id']}\n{f['message']}")
                    it.setToolTip(1, "\n".join(f["basis"]))
                    it.setData(0, Qt.UserRole, (f.get("layer"), f.get("feature_id")))
                    grp.addChild(it)
                grp.setExpanded(level != "info")
            proj.setExpanded(True)

    def _banner(self, verdict, text) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(f"background:{VERDICT_COLOURS.get(verdict, '#78909c')};color:white;"
                                  "font-size:18px;font-weight:bold;border-radius:4px;padding:6px")
        self.banner.setProperty("verdict", verdict)

    def _clicked(self, item, _col) -> None:
        data = item.data(0, Qt.UserRole)
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

    def show_feature(self, layer, index: int) -> None:
        self.clear()
        row = layer.gdf.iloc[index]
        fields = default_catalog().roles[layer.role].fields if layer.role in default_catalog().roles else {}
        top = QTreeWidgetItem([layer.name, str(layer.feature_ids()[index])])
        self.addTopLevelItem(top)
        for k, v in row.items():
            if k == layer.gdf.geometry.name or v is None or (isinstance(v, float) and v != v):
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
            return "" if v is None or (isinstance(v, float) and v != v) else str(v)
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
        src = self.model.index(index, 0)
        self.view.selectRow(self.proxy.mapFromSource(src).row())
