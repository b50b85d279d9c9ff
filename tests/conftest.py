"""Shared fixtures: paths to the real third-party test data in ../shared/testdata and to sample data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TESTDATA = SHARED / "testdata"
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = ROOT / "sample_data"


@pytest.fixture
def fujian_counties() -> Path:
    path = TESTDATA / "fujian_counties" / "fujian_counties.shp"
    if not path.exists():
        pytest.skip("shared/testdata not beside the checkout")
    return path
