"""Tables reviewers keep in Excel/WPS (XLSX, legacy .xls, or CSV in UTF-8 or GBK; a 准入清单 also as published, in
a Word document) read cell by cell, their header found below any title rows: the 准入清单
(:mod:`gis_screening.admission`) and project-sheet tables (:mod:`.projects`)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..model import is_missing
from .safezip import check_workbook

if TYPE_CHECKING:
    import pandas as pd

#: Rows searched for a table's header (title rows above it are skipped).
HEADER_ROWS = 10
#: what tables are read from (a CSV may come named .txt)
TABLE_SUFFIXES = {".xlsx", ".xls", ".csv", ".txt", ".docx"}
#: forms tables are published in that are not read here: what to do instead
UNREADABLE_TABLES = {
    ".pdf": "a PDF's tables cannot be read reliably: take the list's Word or Excel version, or copy the table into "
            "Excel/WPS and save it as .xlsx",
    ".doc": "a Word 97-2003 document (.doc) is not read: open it in Word or WPS and save it as .docx",
    ".wps": "a WPS document (.wps) is not read: open it in WPS and save it as .docx"}


def _workbook_file(path: Path) -> io.BytesIO:
    """A workbook's bytes, for calamine to read by their content: an XLSX, or a BIFF workbook (Excel/WPS
    "97-2003"), whatever its name says.  An HTML or XML table saved as .xls, as web systems export them, is an
    InputError saying to save it as .xlsx."""
    data = path.read_bytes()
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise InputError(f"not an Excel workbook but a web page or XML table saved with an {path.suffix} name (as "
                         "some online systems export): open it in Excel or WPS and save it as .xlsx", file=path)
    return io.BytesIO(data)


@contextmanager
def calamine_errors(path: Path, what: str) -> Iterator[None]:
    """Turn what calamine raises on a damaged workbook into an InputError naming ``path`` — including the Rust
    panics it surfaces as ``pyo3_runtime.PanicException``, which derive from BaseException, not Exception."""
    try:
        yield
    except InputError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a damaged workbook may make calamine panic
        raise InputError(f"cannot read {what}: the workbook is damaged ({' '.join(str(exc).split())[:160]})",
                         file=path) from None


Merged = tuple[int, int, int, int]
"""A merged cell range: first row, first column, last row, last column (0-based, inclusive)."""


@dataclass
class Sheet:
    """A workbook sheet: its cells row by row from A1 (None where empty; a whole number stored as a float is an
    int, as Excel shows it), a merged range's value on every cell it spans (the 单元编码 merged down a unit's rows,
    a requirement merged over the units sharing it), and the merged ranges themselves."""

    title: str
    rows: list[list[object]]
    merged: list[Merged]


class NoSuchSheet(InputError):
    """A sheet asked for by name that the workbook does not have (the message names the sheets it has)."""


def workbook_sheets(path: Path, what: str, sheet: str | int | None = None) -> list[Sheet]:
    """Every sheet of an XLSX or a legacy .xls (Excel/WPS 97-2003), or only ``sheet`` (its name or position), read
    with calamine (the cells a sheet uses, its merged ranges; a formula's saved value); the other sheets are not
    read.  InputError naming ``what`` when the workbook cannot be read, :class:`NoSuchSheet` for a name it lacks."""
    from python_calamine import CalamineWorkbook
    check_workbook(path)
    sheets = []
    with calamine_errors(path, what):
        wb = CalamineWorkbook.from_filelike(_workbook_file(path))
        names = wb.sheet_names
        if isinstance(sheet, str) and sheet not in names:
            raise NoSuchSheet(f"no sheet {sheet!r}; its sheets are: {', '.join(names)}", file=path)
        for name in names if sheet is None else [sheet if isinstance(sheet, str) else names[sheet]]:
            ws = wb.get_sheet_by_name(name)
            r_off, c_off = ws.start or (0, 0)         # the used range may start below or right of A1
            rows: list[list[object]] = [[None] * c_off + [_value(v) for v in row] for row in ws.to_python()]
            above: list[list[object]] = [[None] * len(rows[0]) for _ in range(r_off)] if rows else []
            sheets.append(Sheet(name, above + rows, [(a[0], a[1], b[0], b[1]) for a, b in ws.merged_cell_ranges or []]))
    for read in sheets:
        rows = read.rows
        width = max(map(len, rows), default=0)      # a range merged over whole rows or columns fills the cells used
        for r0, c0, r1, c1 in read.merged:
            value = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
            end = min(c1 + 1, width)
            for r in range(r0, min(r1 + 1, len(rows))):
                rows[r].extend([None] * (end - len(rows[r])))
                rows[r][c0:end] = [value] * max(0, end - c0)
        while rows and all(v is None for v in rows[-1]):        # rows only formatted, below the table
            rows.pop()
    return sheets


def _value(v: object) -> object:
    """A cell as calamine gives it: a whole number stored as a float is an int (as Excel shows it), "" is empty."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    return None if v == "" else v


def _sheet_cells(path: Path, what: str, sheet: str | int) -> pd.DataFrame:
    """The cells of one sheet (by name, or position) of a workbook, as :func:`workbook_sheets` reads them."""
    import pandas as pd
    return pd.DataFrame(workbook_sheets(path, what, sheet)[0].rows, dtype=object)


def read_cells(path: Path, what: str, *, sheet: str | int = 0, dtype: type = object,
               nrows: int | None = None) -> pd.DataFrame:
    """Every cell of an XLSX or .xls sheet (:func:`workbook_sheets`: merged ranges filled), a CSV (UTF-8 or GBK, as
    Excel and WPS save it) or the tables of a Word document, no row taken as the header; ``nrows`` rows below the
    first :data:`HEADER_ROWS` at most; ``dtype=str``: every value as its text.  InputError naming ``what`` when
    unreadable, saying what to do for a form not read (PDF, .doc, WPS)."""
    from .formats import UNREADABLE
    rows = None if nrows is None else nrows + HEADER_ROWS
    suffix = path.suffix.lower()
    if suffix in UNREADABLE_TABLES or suffix in UNREADABLE:
        raise InputError(UNREADABLE_TABLES.get(suffix) or UNREADABLE[suffix], file=path)
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"cannot read {what} from a {suffix or 'file without suffix'}: give XLSX, XLS, CSV or DOCX",
                         file=path)
    try:
        if suffix in (".docx", ".xlsx", ".xls"):
            cells = _docx_cells(path) if suffix == ".docx" else _sheet_cells(path, what, sheet)
            cells = cells.head(rows) if rows is not None else cells
            return cells.map(lambda v: v if v is None else str(v)) if dtype is str else cells
        from ..encoding import read_text
        text, _ = read_text(path)
        import pandas as pd
        return pd.read_csv(io.StringIO(text), dtype=dtype, header=None, nrows=rows, sep=text_dialect(text).delimiter)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read {what}: {exc}", file=path) from None


def text_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The CSV dialect of a table saved as text: comma, semicolon or tab separated (Excel/WPS save "CSV" with
    commas, "Unicode 文本" and "文本文件(制表符分隔)" with tabs), sniffed from its start; comma when unsure."""
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _docx_cells(path: Path) -> pd.DataFrame:
    """The rows of every table of a Word document, one after another (a list published as a document may run over
    several tables, each with its header); a merged cell's text on every row and column it spans."""
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    check_workbook(path)
    try:
        doc = Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise InputError(f"not a Word document (.docx): {exc}", file=path) from None
    rows = [[_cell_lines(cell.text) for cell in row.cells] for table in doc.tables for row in table.rows]
    if not rows:
        raise InputError("the Word document holds no table", file=path)
    width = max(len(r) for r in rows)
    import pandas as pd
    return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)


def _cell_lines(text: str) -> str:
    """A Word cell's text: its paragraphs (a list's items) one a line, blanks inside each folded."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def header_rows(cells: pd.DataFrame, extra: int = 1) -> list[list[str]]:
    """The first :data:`HEADER_ROWS` (and ``extra`` more) rows as column names: a cell's text with its blanks
    folded, an empty cell ``#n`` (its position), so every column has a name."""
    return [[" ".join(str(v).split()) if not is_missing(v) and str(v).strip() else f"#{k + 1}"
             for k, v in enumerate(row)] for row in cells.head(HEADER_ROWS + extra).itertuples(index=False)]
