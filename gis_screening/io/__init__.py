"""Readers and writers for every format reviewers receive.  Entry point: :func:`read_layer`.

The readers (GDAL through pyogrio, pandas, geopandas) are imported when first asked for, not with this package: a
warm screening reads its layers and projects from the cache (:mod:`.layer_cache`) and needs none of them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .formats import SUPPORTED_SUFFIXES  # noqa: F401 - part of this package's entry points

if TYPE_CHECKING:
    from .pipeline import read_layer, read_raw  # noqa: F401

_FROM_PIPELINE = ("read_layer", "read_raw")


def __getattr__(name: str) -> Any:
    if name in _FROM_PIPELINE:
        from . import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
