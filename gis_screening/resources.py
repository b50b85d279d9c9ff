"""Locate the package data folders (``layers/``, ``rules/``, ``ui/``).

In a checkout (editable install) they sit at the repository root; in a wheel they are
installed under ``gis_screening/_data/``.
"""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``"layers"``, ``"rules"`` or ``"ui"``) wherever it is installed."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"package data folder {name!r} not found next to {_PKG}")
