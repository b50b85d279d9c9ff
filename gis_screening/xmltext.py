"""Text as XML documents (DOCX, XLSX) can hold it: the one place that decides what becomes of characters they
cannot.

XML 1.0 forbids the C0 control characters other than tab, line feed and carriage return, lone surrogates, and
U+FFFE/U+FFFF; python-docx and openpyxl refuse such text with a traceback.  They do occur in real files: a
manual line break copied from Word into an Excel cell is a vertical tab (U+000B), a damaged DBF holds stray
control bytes.
"""
from __future__ import annotations

import re
from typing import Any

#: characters XML 1.0 cannot hold
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Word's manual line break (vertical tab) and page break (form feed) read as the line breaks they stand for
_BREAKS = {"\x0b": "\n", "\x0c": "\n"}
#: what any other such character is shown as: visibly not the text it was, never dropped unseen
SHOWN_AS = "\ufffd"


def xml_text(value: Any) -> Any:
    """``value`` (a str; anything else is returned as it is) with the characters XML cannot hold replaced: a vertical
    tab or form feed by a line break, any other by U+FFFD (�)."""
    if not isinstance(value, str) or not _FORBIDDEN.search(value):
        return value
    return _FORBIDDEN.sub(lambda m: _BREAKS.get(m.group(), SHOWN_AS), value)


#: the most characters an Excel (and WPS) cell holds; a longer text makes Excel "repair" the workbook
XLSX_CELL_MAX = 32767


def xlsx_cell(value: Any) -> Any:
    """``value`` as a workbook cell can hold it: :func:`xml_text`, and a text longer than :data:`XLSX_CELL_MAX` cut
    to it, ending in “…” (the result JSON and the reports keep the whole text)."""
    value = xml_text(value)
    if isinstance(value, str) and len(value) > XLSX_CELL_MAX:
        return value[:XLSX_CELL_MAX - 1] + "…"
    return value


def formula_like(value: Any) -> bool:
    """Text a workbook writer (openpyxl) would store as a formula: it begins with "=".  A name such as ``=二期工程``
    must stay the text it is (as a formula Excel shows #NAME?, and ``=HYPERLINK(…)`` from a project file would be a
    live link): its cell is written as a string (``cell.data_type = "s"``)."""
    return isinstance(value, str) and value.startswith("=")
