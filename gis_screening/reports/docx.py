"""DOCX report (python-docx): real headings and Word tables, editable in Word and WPS."""
from __future__ import annotations

import itertools
from pathlib import Path

from docx import Document
from docx.blkcntnr import BlockItemContainer
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.shared import Cm, Pt, RGBColor

from ..atomic import atomic_path
from ..engine.model import VERDICT_COLOURS
from .content import Block

FONT = "宋体"


def _keep_image_hashes() -> None:
    """python-docx (1.2) looks each added picture up among all the document's pictures by SHA1 and hashes every one
    of them again for each picture it adds: a report with 400 maps hashed ~50 GB (17 s of its pictures' 18 s).  A
    picture part's bytes never change, so its hash is worked out once and kept (as the library's own author says it
    should be: python-openxml/python-docx#4).  Left as it is where the library has no such property."""
    import functools
    import hashlib

    from docx.parts.image import ImagePart
    if not isinstance(ImagePart.__dict__.get("sha1"), property):
        return
    kept = functools.cached_property(lambda part: hashlib.sha1(part.blob).hexdigest())
    kept.__set_name__(ImagePart, "sha1")
    ImagePart.sha1 = kept  # type: ignore[assignment,method-assign]


_keep_image_hashes()


def _cjk(run, size=None, bold=False, color=None):
    """Size, weight and colour of a run; the font (宋体 for Latin and East Asian text) comes from the styles."""
    if size:
        run.font.size = Pt(size)
    if bold:                    # not bold: as the styles say (no <w:b w:val="0"/> on each of ~50,000 runs)
        run.bold = True
    if color:
        run.font.color.rgb = RGBColor.from_string(color.lstrip("#").upper())


def _field(paragraph, code: str) -> None:
    """A Word field (PAGE, NUMPAGES, TOC …) that Word/WPS update when the document is opened or printed."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, code), ("separate", None), (None, None), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            if kind == "begin":
                el.set(qn("w:dirty"), "true")
        elif text:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {text} "
        else:
            el = OxmlElement("w:t")
            el.text = "1"
        run._r.append(el)
    _cjk(run, size=9)


def _header_footer(sec) -> None:
    hp = sec.header.paragraphs[0]
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _cjk(hp.add_run("生态环境分区管控与碳达峰准入筛查报告"), size=9)
    fp = sec.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _cjk(fp.add_run("第 "), size=9)
    _field(fp, "PAGE")
    _cjk(fp.add_run(" 页 共 "), size=9)
    _field(fp, "NUMPAGES")
    _cjk(fp.add_run(" 页"), size=9)


class _Appender(BlockItemContainer):
    """Paragraphs, tables and pictures added at the end of ``doc``'s body in time linear in their number.

    python-docx adds each block before the body's closing ``w:sectPr``, which it looks for among all the body's
    children, and numbers each picture after the largest id in the whole document: both grow with the document, and
    a 400-project report (13,662 blocks, 400 maps) took 34 s (now 6 s).  Here blocks go into a scratch body of
    their own, which :meth:`flush` moves in front of the ``w:sectPr`` (found once), and pictures are numbered by a
    counter started after the largest id (nothing else written here carries an id): the same order and ids as
    python-docx's own calls give."""

    def __init__(self, doc) -> None:
        super().__init__(OxmlElement("w:body"), doc._body)
        self._end = doc.element.body.sectPr          # the body's last child: blocks go before it
        self._width = doc._block_width                # what Document.add_table gives a table
        self._ids = itertools.count(doc.part.next_id)

    def add_table(self, rows: int, cols: int, width=None):
        return super().add_table(rows, cols, self._width if width is None else width)

    def add_picture(self, image: str, width) -> None:
        """A paragraph holding the picture ``image`` (a file), ``width`` wide (as ``Document.add_picture``)."""
        part = self.part
        rel_id, img = part.get_or_add_image(image)
        cx, cy = img.scaled_dimensions(width, None)
        self.add_paragraph().add_run()._r.add_drawing(
            CT_Inline.new_pic_inline(next(self._ids), rel_id, img.filename, cx, cy))

    def flush(self) -> None:
        """Move what was added so far into the document's body."""
        for child in list(self._element):
            self._end.addprevious(child)


def write_docx(blocks: list[Block], path: str | Path) -> Path:
    """Render report blocks to a .docx (A4, 宋体; Word heading styles 标题 1/2 for navigation and the TOC field;
    header, and 第 X 页 共 Y 页 as PAGE/NUMPAGES fields in the footer)."""
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2)
    _header_footer(sec)
    for name in ("Normal", "Heading 1", "Heading 2", "Table Grid", "Header", "Footer"):
        style = doc.styles[name]
        style.font.name = FONT                      # creates rPr/rFonts; East Asian text needs eastAsia as well
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), FONT)
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):   # themes win over names
            fonts.attrib.pop(qn(theme), None)
    doc.styles["Normal"].font.size = Pt(10.5)
    ids = {name: doc.styles[name].style_id for name in ("Heading 1", "Heading 2", "Table Grid")}

    body = _Appender(doc)

    def heading(level: int):
        """A heading paragraph (style set by id: looking styles up by name scans them every time)."""
        p = body.add_paragraph()
        p._p.style = ids[f"Heading {level}"]
        return p
    for b in blocks:
        if b.kind in ("h1", "h2"):
            h = heading(1 if b.kind == "h1" else 2)
            _cjk(h.add_run(b.text), bold=True)
        elif b.kind == "p":
            _cjk(body.add_paragraph().add_run(b.text), bold=b.data.get("bold", False))
        elif b.kind == "verdict":
            p = body.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _cjk(p.add_run(b.text), size=16, bold=True, color=VERDICT_COLOURS[b.data["verdict"]])
        elif b.kind == "table" and b.table is not None:
            t = body.add_table(1, len(b.table.headers))
            t._tbl.tblStyle_val = ids["Table Grid"]
            for cell, text in zip(t.rows[0].cells, b.table.headers):     # a new cell holds one empty paragraph
                _cjk(cell.paragraphs[0].add_run(text), size=9, bold=True)
            for row in b.table.rows:
                cells = t.add_row().cells
                for cell, text in zip(cells, row):
                    _cjk(cell.paragraphs[0].add_run(str(text)), size=9)
            body.add_paragraph()
        elif b.kind == "cover":
            for _ in range(6):
                body.add_paragraph()
            t = body.add_paragraph()
            t.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _cjk(t.add_run(b.text), size=20, bold=True)
            for _ in range(4):
                body.add_paragraph()
            for k, v in b.data["rows"]:
                p = body.add_paragraph()
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _cjk(p.add_run(f"{k}：{v}"), size=12)
            for _ in range(4):
                body.add_paragraph()
            for k, v in b.data["signoff"]:
                _cjk(body.add_paragraph().add_run(f"{k}：{v}　　　　日期：＿＿＿＿＿＿"), size=12)
        elif b.kind == "toc":
            h = body.add_paragraph()
            _cjk(h.add_run(b.text), size=14, bold=True)
            _field(body.add_paragraph(), 'TOC \\o "1-2" \\h \\z \\u')
        elif b.kind == "figure":
            h = heading(2)
            _cjk(h.add_run(b.text), bold=True)
            h.paragraph_format.keep_with_next = True
            body.add_picture(b.data["image"], Cm(17))
        elif b.kind == "image":
            body.add_picture(b.text, Cm(17))
        elif b.kind == "pagebreak":
            body.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        body.flush()
    with atomic_path(path) as tmp:
        doc.save(str(tmp))
    return Path(path)
