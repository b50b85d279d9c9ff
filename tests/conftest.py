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


@pytest.fixture
def units_only_layerset(tmp_path) -> Path:
    """A layer set of the sample control units (with their 准入清单) alone: the rules on every other layer the shipped
    packs refer to cannot be checked."""
    manifest = tmp_path / "units-only.yaml"
    manifest.write_text(f"name: units only\nlayers:\n- role: control_units\n  source: "
                        f"{SAMPLE / 'zones' / '环境管控单元.shp'}\nadmission_lists:\n- source: {SAMPLE / '准入清单.xlsx'}\n"
                        "  key: code\n", encoding="utf-8")
    return manifest


@pytest.fixture(scope="session")
def pg_cluster():
    """A real PostgreSQL + PostGIS server for this test session (tests/pgcluster.py), stopped afterwards."""
    from pgcluster import Cluster
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_schema(pg_cluster, request):
    """``(server url, fresh schema name)`` so each test publishes into its own schema."""
    import re
    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:40]
    import psycopg
    with psycopg.connect(pg_cluster.url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    return pg_cluster.url, name


@pytest.fixture
def new_window(qtbot, tmp_path, monkeypatch):
    """``new_window(layerset) -> MainWindow``: a real window (offscreen) with its own settings, caches and journal
    folder under tmp_path, the layer set opened, no auto-screening, unsaved edits discarded on close."""
    monkeypatch.setenv("GIS_SCREENING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))        # crash journals of PostGIS layers

    def make(layerset):
        from qtpy.QtCore import QSettings

        from gis_screening.app.main_window import MainWindow
        win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        win.ask_unsaved = lambda n: "discard"
        qtbot.addWidget(win)
        win.show()
        assert win.open_layerset(str(layerset))
        win.auto_screen = False
        return win
    return make
