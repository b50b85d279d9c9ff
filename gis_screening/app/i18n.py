"""Translations: the UI's source strings are Chinese; English comes from this table through Qt's translator.

Every visible string goes through ``QCoreApplication.translate``/``self.tr``; a :class:`DictTranslator` installed on
the application answers with English when the user picks it (persisted in QSettings).  No lrelease is needed.
"""
from __future__ import annotations

from qtpy.QtCore import QTranslator

EN = {
    "无能效标杆": "no benchmark", "燃煤": "Coal", "天然气": "Natural gas", "电": "Electricity", "生物质": "Biomass", "燃油": "Oil", "无": "None",
    "文件": "File", "视图": "View", "工具": "Tools", "筛查": "Screening", "帮助": "Help", "语言": "Language",
    "打开图层集…": "Open layer set…", "导入项目范围…": "Import footprint…", "导入项目信息表…": "Import project sheet…",
    "保存会话…": "Save session…", "打开会话…": "Open session…", "最近的图层集": "Recent layer sets", "退出": "Quit",
    "撤销": "Undo", "重做": "Redo", "全图": "Zoom to all", "缩放到项目": "Zoom to projects", "拉框放大": "Zoom box",
    "平移": "Pan", "识别": "Identify", "测量距离": "Measure distance", "测量面积": "Measure area",
    "绘制多边形": "Draw polygon", "绘制线": "Draw line", "绘制点": "Draw point", "运行筛查": "Run screening",
    "取消": "Cancel", "导出报告…": "Export report…", "图层": "Layers", "筛查结果": "Screening results",
    "要素属性": "Feature attributes", "属性表": "Attribute table", "缩放到图层": "Zoom to layer",
    "打开属性表": "Open attribute table", "透明度…": "Opacity…", "筛查中…": "Screening…", "就绪": "Ready",
    "未加载图层，相关规则未能核对（列为需人工核实）": "Layers not loaded, their rules not checked (listed as needs review)",
    "比例尺": "Scale", "坐标系": "CRS", "不符合": "Non-compliant", "需人工核实": "Needs review",
    "有条件符合": "Conditionally compliant", "符合": "Compliant", "提示": "Info", "尚未筛查": "Not screened yet",
    "无法打开": "Cannot open", "无法导入": "Cannot import", "筛查失败": "Screening failed", "筛选…": "Filter…",
    "要素": "features", "个问题": "problems", "图层透明度": "Layer opacity", "显示图层": "Show layer",
    "隐藏图层": "Hide layer", "移动图层": "Move layer", "添加项目范围": "Add footprint", "中文": "中文",
    "English": "English", "恢复会话": "Recover session", "发现上次未正常退出时自动保存的会话，是否恢复？":
    "An autosaved session from a run that did not close normally was found. Recover it?",
    "依据": "Basis", "说明": "Message", "结论": "Verdict", "项目": "Project", "字段": "Field", "值": "Value",
    "导入问题": "Import problems", "已合并并保存": "Merged and saved", "文件已被他人修改 — 合并": "File changed by someone else — merge",
    "打开后该文件已被他人修改。下表列出双方修改的单元；冲突单元需选择保留哪一方。":
    "The file was changed by someone else after you opened it. The table lists both sides' changes; choose which side wins the conflicts.",
    "单元编码": "Unit code", "他人修改": "Changed by them", "我的修改": "Changed by me", "冲突": "Conflict",
    "冲突处保留他人的版本": "Keep theirs for conflicts", "冲突处保留我的版本": "Keep mine for conflicts", "在线瓦片底图（XYZ，可选）…": "Online XYZ tiles (optional)…", "添加节点": "Add vertex", "删除节点": "Delete vertex", "复制所选要素": "Copy selected features", "粘贴要素": "Paste features",
    "版本对比…": "Compare versions…", "版本对比": "Version diff", "旧版本": "Old version", "新版本": "New version", "移动节点": "Move vertex", "编辑属性…": "Edit attributes…", "样式…": "Style…", "恢复默认样式": "Default style", "填充颜色": "Fill colour",
    "边线颜色": "Outline colour", "图层样式": "Layer style", "高斯投影带号": "Gauss-Krüger zone",
    "坐标不含带号，请输入 3° 带带号（福建为 39 或 40）：": "Coordinates carry no zone prefix; enter the 3° zone (Fujian: 39 or 40):",
    "筛查图可导出为 {0} 文件：{1}": "The screening map is exported as a {0} file: {1}",
    "选择图层": "Choose layer", "{0} 含多个图层，请选择要读取的图层：": "{0} holds several layers; choose the one to read:",
    "个要素": "features", "个闭合轮廓": "closed outlines", "条线": "lines",
    "导入项目范围（网络地图坐标）…": "Import footprint (web-map coordinates)…", "网络地图坐标": "Web-map coordinates",
    "坐标来源": "Coordinate source", "编辑": "Edit", "开始编辑所选图层": "Start editing the selected layer",
    "分割所选要素（绘制线）": "Split selected feature (draw a line)", "合并所选要素": "Merge selected features",
    "删除所选要素": "Delete selected features", "拓扑检查": "Topology check", "保存编辑…": "Save edits…",
    "打印筛查图…": "Print screening map…", "添加底图（GeoTIFF）…": "Add basemap (GeoTIFF)…",
    "建设项目信息表…": "Project sheet…", "建设项目信息表": "Project sheet", "图层类型": "Layer role",
    "无法编辑": "Cannot edit", "无法保存": "Cannot save", "无法分割": "Cannot split", "无法导出": "Cannot export",
    "编辑中": "Editing", "已保存": "Saved", "修改原因（写入审计表）": "Reason (written to the audit table)",
    "未发现重叠、缝隙、重复编码或无效几何": "No overlaps, gaps, duplicate codes or invalid geometries",
    "打印筛查图": "Print screening map", "纵向": "Portrait", "横向": "Landscape", "适合项目范围": "Fit to footprint",
    "导出 PDF/PNG…": "Export PDF/PNG…", "国民经济行业代码": "Industry code (GB/T 4754)", "建设性质": "Construction type",
    "工业炉窑燃料": "Kiln fuel", "含燃煤自备电厂": "Includes a captive coal power plant", "年能源消费量": "Annual energy use",
    "新增污染物排放量": "New emissions", "添加产品": "Add product", "信息表有误": "Sheet has errors",
    "{n} 个文件": "{n} files", "（共 {n} 条）": " ({n} in all)",
}


class DictTranslator(QTranslator):
    """Answers ``translate`` from a Python dict (Chinese source → English)."""

    def __init__(self, table: dict[str, str], parent=None):
        super().__init__(parent)
        self.table = table

    def translate(self, context, source, disambiguation=None, n=-1):  # noqa: D401 - Qt signature
        """The English text of Chinese ``source`` from the table; "" (keep the source) when it has none."""
        return self.table.get(source, "") if source else ""

    def isEmpty(self) -> bool:
        """Never empty (Qt skips empty translators)."""
        return False
