"""Dialogs: project-sheet form (from the ProjectSheet schema), print layout with preview."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from qtpy.QtCore import Qt
from qtpy.QtGui import QPixmap
from qtpy.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..carbon.reference import benchmarks
from ..carbon.sheet import Product, validate_sheet
from ..errors import InputError
from ..normalise import number_or_given
from ..outputs import MAP_SUFFIXES
from ..sheet_columns import EMISSION_LABELS, ENERGY_LABELS, KILN_FUELS, kiln_fuel
from .industry import IndustryPicker

if TYPE_CHECKING:
    from ..reports.maplayout import MapInfo

def _spin() -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(0, 1e12)
    s.setDecimals(3)
    s.setSpecialValueText("—")   # 0 shown as "not given"
    return s


def chosen_name(path: str, chosen_filter: str) -> str:
    """A file name typed without an ending gets the one of the type chosen in the save dialog (``PDF (*.pdf)`` →
    ``.pdf``), as Windows' own dialog adds it."""
    import re
    found = re.search(r"\*(\.\w+)", chosen_filter or "")
    return path + found.group(1) if path and not Path(path).suffix and found else path


class SheetDialog(QDialog):
    """建设项目信息表 form over the ProjectSheet model; ``sheet()`` returns a validated dict."""

    def __init__(self, project, parent=None, catalog=None):
        from ..catalog import default_catalog
        from ..io.projects import RULE_FLAGS
        super().__init__(parent)
        self.setWindowTitle(self.tr("建设项目信息表") + f" — {project.id}")
        self.project = project
        sheet = dict(project.sheet or {})
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.industry = IndustryPicker()
        self.industry.set_code(sheet.get("industry_code") or project.industry_code)
        self.ctype = QComboBox()
        self.ctype.addItems(["", "新建", "改建", "扩建", "改扩建", "技术改造"])
        self.ctype.setCurrentText(sheet.get("construction_type") or project.construction_type or "")
        self.kiln = QComboBox()
        self.kiln.addItem("", None)
        for value, label in KILN_FUELS.items():
            self.kiln.addItem(self.tr(label), value)
        self.kiln.setCurrentIndex(max(0, self.kiln.findData(kiln_fuel(sheet.get("kiln_fuel")))))
        form.addRow(self.tr("国民经济行业代码"), self.industry)
        form.addRow(self.tr("建设性质"), self.ctype)
        form.addRow(self.tr("工业炉窑燃料"), self.kiln)
        # yes/no facts (含燃煤自备电厂 for the carbon checks; 有限人为活动, 国家重大项目 … for the rules): 未说明 / 是 / 否,
        # so that a fact nobody stated stays unstated (a checkbox would record 否)
        self.captive = self._yes_no(sheet.get("captive_coal_power"))
        form.addRow(self.tr("含燃煤自备电厂"), self.captive)
        fields = (catalog or default_catalog()).role("projects").fields
        self.flags: dict[str, QComboBox] = {}
        for key in RULE_FLAGS:
            self.flags[key] = self._yes_no(sheet.get(key, project.attributes.get(key)))
            form.addRow(fields[key].title if key in fields else key, self.flags[key])
        lay.addLayout(form)
        self.energy, self.emissions = {}, {}
        for title, labels, store, key in (("年能源消费量", ENERGY_LABELS, self.energy, "energy"),
                                          ("新增污染物排放量", EMISSION_LABELS, self.emissions, "emissions_t")):
            box = QGroupBox(self.tr(title))
            grid = QFormLayout(box)
            for k, label in labels.items():
                s = _spin()
                s.setValue(float((sheet.get(key) or {}).get(k) or 0))
                store[k] = s
                grid.addRow(label, s)
            lay.addWidget(box)
        self.products = QTableWidget(0, 3)
        self.products.setHorizontalHeaderLabels([self.tr("产品（能效标杆）"), self.tr("年产能"), self.tr("单位产品能耗")])
        for p in sheet.get("products") or []:
            self._add_product(p)
        add = QPushButton(self.tr("添加产品"))
        add.clicked.connect(lambda: self._add_product({}))
        lay.addWidget(self.products)
        lay.addWidget(add)
        bb = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        bb.accepted.connect(self._accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)
        self.result_sheet = None

    def _yes_no(self, known) -> QComboBox:
        """A 未说明 / 是 / 否 choice showing ``known`` (True, False or anything else: 未说明)."""
        combo = QComboBox()
        for text, value in ((self.tr("未说明"), None), (self.tr("是"), True), (self.tr("否"), False)):
            combo.addItem(text, value)
        combo.setCurrentIndex({True: 1, False: 2}.get(known, 0) if isinstance(known, bool) else 0)
        return combo

    def _add_product(self, p: dict) -> None:
        r = self.products.rowCount()
        self.products.insertRow(r)
        combo = QComboBox()
        try:            # a product named in Chinese (水泥熟料) is its benchmark row; one of no row keeps its name
            p = Product.model_validate(p).model_dump(exclude_none=True) if p else {}
        except ValueError:
            pass        # the sheet's validation names the bad product when the form is accepted
        if p.get("name") and not p.get("benchmark"):
            combo.addItem(f"{p['name']}（{self.tr('无能效标杆')}）", f"name:{p['name']}")
        for bid, row in benchmarks("2021").items():
            combo.addItem(f"{row['product']} {row['route']}（{row['unit']}）", bid)
        if p.get("benchmark"):
            combo.setCurrentIndex(max(0, combo.findData(p["benchmark"])))
        self.products.setCellWidget(r, 0, combo)
        self.products.setItem(r, 1, QTableWidgetItem(str(p.get("capacity", ""))))
        self.products.setItem(r, 2, QTableWidgetItem(str(p.get("unit_energy", ""))))

    def sheet(self) -> dict:
        """The form's content as a project-sheet dict (0 / empty = not given)."""
        code = self.industry.code()
        d = {**(self.project.sheet or {}), "id": self.project.id, "name": self.project.name,
             "industry_code": code or None, "construction_type": self.ctype.currentText() or None,
             "kiln_fuel": self.kiln.currentData(), "captive_coal_power": self.captive.currentData(),
             "energy": {k: s.value() for k, s in self.energy.items() if s.value() > 0} or None,
             "emissions_t": {k: s.value() for k, s in self.emissions.items() if s.value() > 0} or None,
             **{k: combo.currentData() for k, combo in self.flags.items()}}
        prods = []
        for r in range(self.products.rowCount()):
            def num(col, r=r):      # typed as a spreadsheet shows it (1,500,000); other text the validation names
                item = self.products.item(r, col)
                text = item.text().strip() if item else ""
                return number_or_given(text) if text else None
            chosen = str(self.products.cellWidget(r, 0).currentData())
            prods.append({**({"name": chosen[5:]} if chosen.startswith("name:") else {"benchmark": chosen}),
                          "capacity": num(1), "unit_energy": num(2)})
        d["products"] = prods
        d.pop("footprint", None)
        return {k: v for k, v in d.items() if v is not None}

    def _accept(self) -> None:
        try:
            data = self.sheet()
            validate_sheet(data, f"{self.project.id}")
        except (InputError, ValueError) as exc:
            QMessageBox.warning(self, self.tr("信息表有误"), str(exc))
            return
        self.result_sheet = data
        self.accept()


class PrintDialog(QDialog):
    """Print layout (shared with the CLI's --map): labelled paper, orientation, scale, basemap and place labels,
    live preview, export PDF/PNG/SVG or the map frame as a georeferenced GeoTIFF."""

    def __init__(self, session, project_id: str, parent=None, basemap: str | None = None, tiles=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("打印筛查图"))
        self.session, self.project_id = session, project_id
        # the result block and the footprint are taken now: later edits of the project list do not change them
        from ..reports import sheet_result
        doc = session.result
        ids = [r["project"]["id"] for r in doc["results"]]
        self.sheet = sheet_result(doc, session.result_for(project_id), ids.index(project_id))
        self.footprint = session.project(project_id).geometry
        lay = QHBoxLayout(self)
        side = QWidget()
        form = QFormLayout(side)
        self.paper = QComboBox()
        self.paper.addItems(["A4", "A3"])
        self.orient = QComboBox()
        self.orient.addItems([self.tr("纵向"), self.tr("横向")])
        self.scale = QComboBox()
        self.scale.addItem(self.tr("适合项目范围"), None)
        for s in (2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000):
            self.scale.addItem(f"1:{s:,}", s)
        self.basemap = QComboBox()
        self.basemap.addItem(self.tr("无"), None)
        self.tiles = tiles
        if tiles is not None:
            self.basemap.addItem(self.tr("在线瓦片（已缓存部分）"), "tiles")
            self.basemap.setCurrentIndex(1)
        if basemap:
            self.basemap.addItem(Path(basemap).name, basemap)
            self.basemap.setCurrentIndex(self.basemap.count() - 1)
        self.labels = QComboBox()                  # place labels: any loaded layer
        self.labels.addItem(self.tr("无"), None)
        for v in session.views:
            self.labels.addItem(v.layer.name, v.layer.uid)
        self.label_field = QComboBox()
        self.labels.currentIndexChanged.connect(self._fill_fields)
        for label, w in ((self.tr("纸张"), self.paper), (self.tr("方向"), self.orient), (self.tr("比例尺"), self.scale),
                         (self.tr("底图"), self.basemap), (self.tr("地名标注图层"), self.labels),
                         (self.tr("标注字段"), self.label_field)):
            w.currentIndexChanged.connect(self.refresh)
            form.addRow(label, w)
        export = QPushButton(self.tr("导出 PDF/PNG/SVG/GeoTIFF…"))
        export.clicked.connect(self._export_clicked)
        form.addRow(export)
        self.preview = QLabel()
        self.preview.setMinimumSize(420, 560)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(side)
        lay.addWidget(self.preview, 1)
        self.info: MapInfo | None = None
        self.refresh()

    def _fill_fields(self) -> None:
        self.label_field.blockSignals(True)
        self.label_field.clear()
        uid = self.labels.currentData()
        if uid is not None:
            gdf = self.session.views[self.session.index_of(uid)].layer.gdf
            fields = [str(c) for c in gdf.columns if c != gdf.geometry.name]
            self.label_field.addItems(fields)
            if "name" in fields:
                self.label_field.setCurrentText("name")
        self.label_field.blockSignals(False)

    def _args(self):
        from ..reports import MapExtras
        uid = self.labels.currentData()
        layer = self.session.views[self.session.index_of(uid)].layer if uid is not None else None
        base = self.basemap.currentData()
        extras = MapExtras(None if base == "tiles" else base, layer, self.label_field.currentText() or "name",
                           tiles=self.tiles if base == "tiles" else None)
        return dict(paper=self.paper.currentText(), landscape=self.orient.currentIndex() == 1,
                    scale=self.scale.currentData(), extras=extras)

    def refresh(self) -> None:
        """Redraw the preview with the current paper, orientation, scale, basemap and labels."""
        from ..reports import render_map
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "preview.png"
            self.info = render_map(self.sheet, self.session.layerset, self.footprint, out, dpi=60, **self._args())
            pm = QPixmap(str(out))
        self.preview.setPixmap(pm.scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def _export_clicked(self) -> None:
        self.export()       # (clicked carries `checked`, which PyQt would pass as ``path``)

    def export(self, path: str | None = None) -> bool:
        """Write the sheet to ``path`` (.pdf/.png/.svg/.jpg, or .tif for the georeferenced map frame); asks when
        None.  A name of another kind is said (a message box), not written."""
        from ..reports import render_map
        if path is None:
            path, chosen = QFileDialog.getSaveFileName(self, self.tr("导出 PDF/PNG/SVG/GeoTIFF…"), "",
                                                       "PDF (*.pdf);;PNG (*.png);;SVG (*.svg);;"
                                                       + self.tr("GeoTIFF 地图框（带坐标）") + " (*.tif)")
            path = chosen_name(path, chosen)
        if not path:
            return False
        if Path(path).suffix.lower() not in MAP_SUFFIXES:
            box = QMessageBox(QMessageBox.Warning, self.tr("无法导出"), self.tr("筛查图可导出为 {0} 文件：{1}")
                              .format("、".join(MAP_SUFFIXES), Path(path).name), QMessageBox.Ok, self)
            box.setObjectName("error-box")
            box.open()
            return False
        from ..io.layer_cache import source_files
        from ..outputs import output_conflict
        args = self._args()
        basemap = args["extras"].basemap
        read = {**self.session.files_read(),
                **dict.fromkeys(source_files(Path(basemap)) if basemap else [], "the basemap")}
        conflict = output_conflict({"导出": path}, read)
        if conflict:        # a map written over a file the session reads (the basemap GeoTIFF, say) would destroy it
            box = QMessageBox(QMessageBox.Warning, self.tr("无法导出"), conflict, QMessageBox.Ok, self)
            box.setObjectName("error-box")
            box.open()
            return False
        render_map(self.sheet, self.session.layerset, self.footprint, path, **args)
        return True


class AttributeFormDialog(QDialog):
    """Attribute form generated from the catalog: domains as drop-downs, required fields, code checks."""

    def __init__(self, role: str, attrs: dict, parent=None):
        from qtpy.QtWidgets import QPlainTextEdit

        from ..editing.forms import form_for
        super().__init__(parent)
        self.setWindowTitle(self.tr("要素属性"))
        self.role = role
        self.widgets = {}
        form = QFormLayout()
        for f in form_for(role):
            v = attrs.get(f.name)
            if f.choices:
                w = QComboBox()
                w.addItems([""] + f.choices)
                w.setCurrentText("" if v is None else str(v))
            elif f.multiline:
                w = QPlainTextEdit("" if v is None else str(v))
                w.setMinimumHeight(60)
            else:
                w = QLineEdit("" if v is None else str(v))
            self.widgets[f.name] = w
            form.addRow(f.title + (" *" if f.required else ""), w)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        self.errors = QLabel()
        self.errors.setStyleSheet("color:#c62828")
        self.errors.setWordWrap(True)
        lay.addWidget(self.errors)
        bb = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        bb.accepted.connect(self._accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def values(self) -> dict:
        """The form's values by canonical field name (empty fields as None)."""
        out = {}
        for k, w in self.widgets.items():
            text = w.currentText() if isinstance(w, QComboBox) else (
                w.toPlainText() if hasattr(w, "toPlainText") else w.text())
            out[k] = text.strip() or None
        return out

    def _accept(self):
        from ..editing.forms import validate_attributes
        errs = validate_attributes(self.role, self.values())
        if errs:
            self.errors.setText("\n".join(errs))
            return
        self.accept()


class MergeDialog(QDialog):
    """Per unit: changed by them, by us, or both (conflict); choose whose version wins the conflicts."""

    def __init__(self, items: list[dict], parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("文件已被他人修改 — 合并"))
        self.prefer: str | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(self.tr("打开后该文件已被他人修改。下表列出双方修改的单元；冲突单元需选择保留哪一方。")))
        self.table = QTableWidget(len(items), 4)
        self.table.setHorizontalHeaderLabels([self.tr("单元编码"), self.tr("他人修改"), self.tr("我的修改"), self.tr("冲突")])
        for r, it in enumerate(items):
            for c, v in enumerate([it["code"], "✓" if it["theirs"] else "", "✓" if it["ours"] else "",
                                   "冲突" if it["conflict"] else ""]):
                self.table.setItem(r, c, QTableWidgetItem(v))
        lay.addWidget(self.table)
        bb = QDialogButtonBox()
        theirs = bb.addButton(self.tr("冲突处保留他人的版本"), QDialogButtonBox.AcceptRole)
        ours = bb.addButton(self.tr("冲突处保留我的版本"), QDialogButtonBox.AcceptRole)
        bb.addButton(QDialogButtonBox.Cancel)
        for button, prefer in ((theirs, "theirs"), (ours, "ours")):
            assert button is not None
            button.clicked.connect(lambda _=False, p=prefer: self._choose(p))
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def _choose(self, prefer: str) -> None:
        self.prefer = prefer
        self.accept()
