"""DOCX report (python-docx): real headings and Word tables, editable in Word and WPS."""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..atomic import atomic_path
from ..engine.model import VERDICT_COLOURS
from .content import Block


def _cjk(run, size=None, bold=False, color=None):
    run.font.name = "宋体"
    run._element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    if size:
        run.font.size = Pt(size)
    run.bold = bold
    if color:
        run.font.color.rgb = RGBColor.from_string(color.lstrip("#").upper())


def write_docx(blocks: list[Block], path: str | Path) -> Path:
    """Render report blocks to a .docx (A4, 宋体 for East Asian text)."""
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2)
    normal = doc.styles["Normal"]
    normal.font.name = "宋体"
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    normal.font.size = Pt(10.5)
    for b in blocks:
        if b.kind in ("h1", "h2"):
            h = doc.add_heading(level=1 if b.kind == "h1" else 2)
            _cjk(h.add_run(b.text), bold=True)
        elif b.kind == "p":
            _cjk(doc.add_paragraph().add_run(b.text), bold=b.data.get("bold", False))
        elif b.kind == "verdict":
            p = doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _cjk(p.add_run(b.text), size=16, bold=True, color=VERDICT_COLOURS[b.data["verdict"]])
        elif b.kind == "table":
            t = doc.add_table(rows=1, cols=len(b.table.headers))
            t.style = "Table Grid"
            for cell, text in zip(t.rows[0].cells, b.table.headers):
                cell.text = ""
                _cjk(cell.paragraphs[0].add_run(text), size=9, bold=True)
            for row in b.table.rows:
                cells = t.add_row().cells
                for cell, text in zip(cells, row):
                    cell.text = ""
                    _cjk(cell.paragraphs[0].add_run(str(text)), size=9)
            doc.add_paragraph()
        elif b.kind == "image":
            doc.add_picture(b.text, width=Cm(17))
        elif b.kind == "pagebreak":
            doc.add_page_break()
    with atomic_path(path) as tmp:
        doc.save(tmp)
    return Path(path)
