"""The files a screening writes and the endings their names may have: the CLI's output options are checked against
them before any work, the app's save dialogs take them (the map writer picks its format by the ending: a PDF page,
an image, or for .tif the georeferenced map frame)."""
from __future__ import annotations

#: the screening map (``--map``, the print dialog)
MAP_SUFFIXES = (".pdf", ".png", ".svg", ".jpg", ".jpeg", ".tif", ".tiff")
#: the reports (``--pdf``, ``--docx``, ``--xlsx``, ``--html``, the app's 导出报告): kind → endings
REPORT_SUFFIXES = {"pdf": (".pdf",), "docx": (".docx",), "xlsx": (".xlsx",), "html": (".html", ".htm")}


def report_kind(suffix: str) -> str | None:
    """The report a file ending stands for (``.htm`` → ``html``), None for none."""
    return next((kind for kind, endings in REPORT_SUFFIXES.items() if suffix.lower() in endings), None)
