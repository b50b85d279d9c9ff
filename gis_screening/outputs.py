"""The files a screening writes and the endings their names may have: the CLI's output options are checked against
them before any work, the app's save dialogs take them (the map writer picks its format by the ending: a PDF page,
an image, or for .tif the georeferenced map frame)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: the screening map (``--map``, the print dialog)
MAP_SUFFIXES = (".pdf", ".png", ".svg", ".jpg", ".jpeg", ".tif", ".tiff")
#: the reports (``--pdf``, ``--docx``, ``--xlsx``, ``--html``, the app's 导出报告): kind → endings
REPORT_SUFFIXES = {"pdf": (".pdf",), "docx": (".docx",), "xlsx": (".xlsx",), "html": (".html", ".htm")}


def report_kind(suffix: str) -> str | None:
    """The report a file ending stands for (``.htm`` → ``html``), None for none."""
    return next((kind for kind, endings in REPORT_SUFFIXES.items() if suffix.lower() in endings), None)


def output_conflict(outputs: Mapping[str, str | Path | None], inputs: Mapping[Path, str]) -> str | None:
    """Why the ``outputs`` (option or kind → file; None: not asked for) may not be written, or None: one names a
    file the run reads (``inputs``: file → what it is; writing it would destroy what was read) or the file of
    another output (the second written would replace the first).  Files are compared as they are opened: relative or
    absolute, through links, regardless of case (as on Windows)."""
    def key(path: str | Path) -> str:
        return os.path.normcase(os.path.realpath(path)).casefold()
    read = {key(f): what for f, what in inputs.items()}
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        k = key(path)
        if k in read:
            return f"{option} {path} is {read[k]}, which this run reads: write the output to another file"
        if k in seen:
            return f"{seen[k]} and {option} both name {path}: give each output a file of its own"
        seen[k] = option
    return None
