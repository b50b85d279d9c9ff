"""Translations: the UI's source strings are Chinese; English comes from this table through Qt's translator.

Every visible string goes through ``QCoreApplication.translate``/``self.tr``; a :class:`DictTranslator` installed on
the application answers with English when the user picks it (persisted in QSettings).  No lrelease is needed.
"""
from __future__ import annotations

from qtpy.QtCore import QTranslator

EN = {
    "文件": "File", "视图": "View", "工具": "Tools", "筛查": "Screening", "帮助": "Help", "语言": "Language",
    "打开图层集…": "Open layer set…", "导入项目范围…": "Import footprint…", "导入项目信息表…": "Import project sheet…",
    "保存会话…": "Save session…", "打开会话…": "Open session…", "最近的图层集": "Recent layer sets", "退出": "Quit",
    "撤销": "Undo", "重做": "Redo", "全图": "Zoom to all", "缩放到项目": "Zoom to projects", "拉框放大": "Zoom box",
    "平移": "Pan", "识别": "Identify", "测量距离": "Measure distance", "测量面积": "Measure area",
    "绘制多边形": "Draw polygon", "绘制线": "Draw line", "绘制点": "Draw point", "运行筛查": "Run screening",
    "取消": "Cancel", "导出报告…": "Export report…", "图层": "Layers", "筛查结果": "Screening results",
    "要素属性": "Feature attributes", "属性表": "Attribute table", "缩放到图层": "Zoom to layer",
    "打开属性表": "Open attribute table", "透明度…": "Opacity…", "筛查中…": "Screening…", "就绪": "Ready",
    "比例尺": "Scale", "坐标系": "CRS", "不符合": "Non-compliant", "需人工核实": "Needs review",
    "有条件符合": "Conditionally compliant", "符合": "Compliant", "提示": "Info", "尚未筛查": "Not screened yet",
    "无法打开": "Cannot open", "无法导入": "Cannot import", "筛查失败": "Screening failed", "筛选…": "Filter…",
    "要素": "features", "个问题": "problems", "图层透明度": "Layer opacity", "显示图层": "Show layer",
    "隐藏图层": "Hide layer", "移动图层": "Move layer", "添加项目范围": "Add footprint", "中文": "中文",
    "English": "English", "恢复会话": "Recover session", "发现上次未正常退出时自动保存的会话，是否恢复？":
    "An autosaved session from a run that did not close normally was found. Recover it?",
    "依据": "Basis", "说明": "Message", "结论": "Verdict", "项目": "Project", "字段": "Field", "值": "Value",
    "导入问题": "Import problems",
}


class DictTranslator(QTranslator):
    """Answers ``translate`` from a Python dict (Chinese source → English)."""

    def __init__(self, table: dict[str, str], parent=None):
        super().__init__(parent)
        self.table = table

    def translate(self, context, source, disambiguation=None, n=-1):  # noqa: D401 - Qt signature
        return self.table.get(source, "") if source else ""

    def isEmpty(self) -> bool:
        return False
