"""PDF report (reportlab): A4, embedded CJK TrueType font, page numbers, real tables."""
from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..atomic import atomic_path
from ..engine.model import VERDICT_COLOURS
from .content import Block
from .fonts import find_cjk_font

FONT = "CJK"
rl_config.useA85 = 0      # binary streams: ASCII85 of the map images cost seconds in pure Python


def _register() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        path = find_cjk_font()
        kwargs = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
        pdfmetrics.registerFont(TTFont(FONT, str(path), **kwargs))


def _styles():
    base = dict(fontName=FONT, wordWrap="CJK", leading=14)
    return {"h1": ParagraphStyle("h1", fontSize=16, leading=22, spaceAfter=6, **{k: v for k, v in base.items() if k != "leading"}),
            "h2": ParagraphStyle("h2", fontSize=12.5, leading=18, spaceBefore=8, spaceAfter=4,
                                 **{k: v for k, v in base.items() if k != "leading"}),
            "p": ParagraphStyle("p", fontSize=9.5, spaceAfter=3, **base),
            "cell": ParagraphStyle("cell", fontSize=7.8, leading=10, fontName=FONT, wordWrap="CJK"),
            "verdict": ParagraphStyle("verdict", fontSize=14, leading=20, textColor=colors.white, fontName=FONT)}


def _numbered_canvas():
    """A canvas that writes the header and “第 X 页 共 Y 页” on every page once the page count is known."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.saveState()
                self.setFont(FONT, 8)
                self.drawCentredString(A4[0] / 2, 10 * mm, f"第 {self._pageNumber} 页 共 {total} 页")
                self.drawString(18 * mm, A4[1] - 10 * mm, "生态环境分区管控与碳达峰准入筛查报告（gis-screening）")
                self.restoreState()
                super().showPage()
            super().save()
    return NumberedCanvas


#: A table cell longer than this would not fit on a page; the PDF cuts it (the JSON, XLSX and DOCX keep it whole).
MAX_CELL_CHARS = 400


def _cell_text(value) -> str:
    text = str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…"


def _image(path: str, width: float) -> Image:
    img = Image(path)
    ratio = img.imageHeight / img.imageWidth
    img.drawWidth, img.drawHeight = width, width * ratio
    if img.drawHeight > 220 * mm:
        img.drawHeight, img.drawWidth = 220 * mm, 220 * mm / ratio
    return img


def write_pdf(blocks: list[Block], path: str | Path, title: str = "筛查报告") -> Path:
    """Render report blocks to an A4 PDF with the CJK font embedded (subset)."""
    _register()
    st = _styles()
    width = A4[0] - 36 * mm
    story = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            story.append(Paragraph(escape(b.text), st[b.kind]))
        elif b.kind == "p":
            text = escape(b.text).replace("\n", "<br/>")
            story.append(Paragraph(f"<b>{text}</b>" if b.data.get("bold") else text, st["p"]))
        elif b.kind == "verdict":
            t = Table([[Paragraph(escape(b.text), st["verdict"])]], colWidths=[width])
            t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(VERDICT_COLOURS[b.data["verdict"]])),
                                   ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]))
            story += [t, Spacer(1, 4)]
        elif b.kind == "table" and b.table is not None:
            tb = b.table
            w = tb.widths or [1] * len(tb.headers)
            col = [width * x / sum(w) for x in w]
            data = [[Paragraph(escape(h), st["cell"]) for h in tb.headers]]
            data += [[Paragraph(escape(_cell_text(c)).replace("\n", "<br/>"), st["cell"]) for c in row] for row in tb.rows]
            t = Table(data, colWidths=col, repeatRows=1)
            t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3eaf2")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story += [t, Spacer(1, 5)]
        elif b.kind == "cover":
            story += [Spacer(1, 50 * mm), Paragraph(escape(b.text), st["h1"]), Spacer(1, 20 * mm)]
            rows = [[Paragraph(escape(k), st["p"]), Paragraph(escape(v), st["p"])] for k, v in b.data["rows"]]
            t = Table(rows, colWidths=[30 * mm, width - 60 * mm])
            t.setStyle(TableStyle([("LINEBELOW", (1, 0), (1, -1), 0.4, colors.grey), ("TOPPADDING", (0, 0), (-1, -1), 6)]))
            story += [t, Spacer(1, 30 * mm)]
            sign = [[Paragraph(escape(f"{k}："), st["p"]), Paragraph(escape(v), st["p"]),
                     Paragraph("日期：＿＿＿＿＿＿", st["p"])] for k, v in b.data["signoff"]]
            s = Table(sign, colWidths=[20 * mm, 60 * mm, 60 * mm])
            s.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 10)]))
            story.append(s)
        elif b.kind == "toc":
            story.append(Paragraph(escape(b.text), st["h1"]))
            story += [Paragraph(escape(f"{i}. {e}"), st["p"]) for i, e in enumerate(b.data["entries"], start=1)]
        elif b.kind == "figure":
            story.append(KeepTogether([Paragraph(escape(b.text), st["h2"]), _image(b.data["image"], width)]))
        elif b.kind == "image":
            story.append(_image(b.text, width))
        elif b.kind == "pagebreak":
            story.append(PageBreak())
    with atomic_path(path) as tmp:
        SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                          bottomMargin=16 * mm, title=title, author="gis-screening").build(
            story, canvasmaker=_numbered_canvas())
    return Path(path)
