"""How the workbooks' table sheets print (openpyxl): what an official printing the summary from Excel or WPS
gets on paper."""
from __future__ import annotations

from typing import Any

#: openpyxl's paper size codes (ECMA-376 ST_PaperSize): 9 is A4, 8 is A3
PAPER_SIZES = {"A4": 9, "A3": 8}


def print_layout(ws: Any, paper: str = "A4") -> None:
    """How a table sheet prints (Excel, WPS): landscape on ``paper`` (A4 or A3), every column on the page's width
    (as many pages down as it takes), the header row at the top of every page, cell grid lines printed (a printed
    table without them cannot be read), 第 N 页，共 M 页 at the foot.  Works on write-only sheets too (set before
    any row is written)."""
    from openpyxl.worksheet.properties import PageSetupProperties
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_SIZES[paper]
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
