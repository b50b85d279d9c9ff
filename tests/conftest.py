"""Shared fixtures: paths to the real third-party test data (copied into tests/data, see its README) and to sample
data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = ROOT / "sample_data"


@pytest.fixture
def fujian_counties() -> Path:
    return DATA / "fujian_counties" / "fujian_counties.shp"
