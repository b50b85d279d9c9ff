"""GB/T 4754-2017 industry code picker: type a code or part of a name, or browse the 门类→小类 tree."""
from __future__ import annotations

from qtpy.QtCore import QSortFilterProxyModel, Qt, Signal
from qtpy.QtGui import QStandardItem, QStandardItemModel
from qtpy.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ..engine.sectors import classify, industry_path, path_text, two_high_table
from ..industry import gbt4754, normalise_code

CODE_ROLE = Qt.ItemDataRole.UserRole + 1


def entry_label(code: str) -> str:
    """“3011 水泥制造 【两高·建材】”, with the level for groups (“30 非金属矿物制品业（大类）”)."""
    e = gbt4754()[code]
    label = f"{e.code} {e.name}"
    if e.level != "小类":
        label += f"（{e.level}）"
    row = two_high_table().get(code)
    if row:
        label += f" 【两高·{row['two_high_sector']}】"
    return label


def describe(code: str | None) -> tuple[str, bool]:
    """(text for the info line, ok) — the code's place in the standard and its 两高 status, or what is wrong."""
    c = normalise_code(code)
    if not c:
        return "未填写行业代码：无法对照准入清单禁止/限制类。", False
    path = industry_path(c)
    if not path:
        return f"“{c}” 不是 GB/T 4754-2017 行业代码（2011 版代码或笔误？）。", False
    text = path_text(path)
    m = classify(c)
    if m.two_high:
        text += f"　两高：{m.sector}"
    elif m.two_high is None and m.sector:
        text += f"　涵盖两高行业（{m.sector}），请选到四位小类"
    if path[-1].level != "小类":
        return text + "　— 请选到四位小类代码", False
    return text, True


class IndustryPicker(QWidget):
    """Editable combo over all GB/T 4754-2017 entries (match anywhere in code or name), a tree browser and an
    info line; ``code()`` returns the chosen or typed code, ``codeChanged`` fires on every change."""

    codeChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.NoInsert)
        self.combo.setMaxVisibleItems(20)
        self.combo.addItem("", "")
        for code, e in gbt4754().items():
            if e.level != "门类":
                self.combo.addItem(entry_label(code), code)
        completer = QCompleter(self.combo.model(), self.combo)
        completer.setFilterMode(Qt.MatchContains)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        completer.setCompletionMode(QCompleter.PopupCompletion)
        self.combo.setCompleter(completer)
        self.browse = QPushButton(self.tr("浏览…"))
        self.browse.setToolTip(self.tr("按门类、大类、中类、小类浏览 GB/T 4754-2017"))
        self.browse.clicked.connect(self._browse)
        self.info = QLabel()
        self.info.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.browse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.info)
        self.combo.currentTextChanged.connect(self._changed)
        self._changed()

    def code(self) -> str:
        """The code: the chosen entry's, else the first word typed ("C3011 …" → "3011")."""
        text = self.combo.currentText().strip()
        idx = self.combo.findText(text)
        if idx > 0:
            return self.combo.itemData(idx)
        return normalise_code(text.split(" ")[0]) if text else ""

    def set_code(self, code: str | None) -> None:
        """Show GB/T 4754-2017 code ``code`` in the picker (text, path and 两高 hint)."""
        c = normalise_code(code)
        idx = self.combo.findData(c) if c else 0
        if idx >= 0:
            self.combo.setCurrentIndex(idx)
        else:
            self.combo.setEditText(c)
        self._changed()

    def _changed(self, *_):
        text, ok = describe(self.code())
        self.info.setText(text)
        self.info.setStyleSheet("" if ok else "color: #b45309;")
        self.codeChanged.emit(self.code())

    def _browse(self) -> None:
        dlg = IndustryTreeDialog(self.code(), self)
        if dlg.exec_() == QDialog.Accepted and dlg.selected:
            self.set_code(dlg.selected)


class IndustryTreeDialog(QDialog):
    """The whole standard as a tree with a filter box (code or any part of a name); double-click chooses."""

    def __init__(self, current: str | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("国民经济行业分类（GB/T 4754-2017）"))
        self.resize(560, 640)
        self.selected: str | None = None
        self.model = QStandardItemModel()
        items: dict[str, QStandardItem] = {}
        root = self.model.invisibleRootItem()
        assert root is not None
        for code, e in gbt4754().items():
            item = QStandardItem(entry_label(code) if e.level != "门类" else f"{e.code} {e.name}")
            item.setData(code, CODE_ROLE)
            item.setEditable(False)
            (items[e.parent] if e.parent in items else root).appendRow(item)
            items[code] = item
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("输入代码或名称筛选，如 3011 或 水泥"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        self.tree = QTreeView()
        self.tree.setHeaderHidden(True)
        self.tree.setModel(self.proxy)
        self.tree.doubleClicked.connect(lambda i: self._choose() if not self.proxy.hasChildren(i) else None)
        bb = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        bb.accepted.connect(self._choose)
        bb.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.filter)
        lay.addWidget(self.tree, 1)
        lay.addWidget(bb)
        c = normalise_code(current)
        if c in items:
            idx = self.proxy.mapFromSource(items[c].index())
            self.tree.setCurrentIndex(idx)
            self.tree.scrollTo(idx)

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if not text.strip():
            self.tree.collapseAll()
            return
        self.tree.expandAll()
        idx = self.proxy.index(0, 0)
        while idx.isValid() and self.proxy.hasChildren(idx):     # first match, deepest level
            idx = self.proxy.index(0, 0, idx)
        if idx.isValid():
            self.tree.setCurrentIndex(idx)

    def _choose(self) -> None:
        idx = self.tree.currentIndex()
        if not idx.isValid():
            return
        self.selected = idx.data(CODE_ROLE)
        self.accept()
