"""A seeded monkey: random user actions on the real window (import, screen, select, identify, zoom, edit,
undo/redo, save, print preview, language switch, remove).  No crash, no unhandled exception (pytest-qt fails
the test on any exception raised in a slot), no Qt warning about deleted objects, and the model stays
consistent after every action.  The long version (more actions, more seeds) is benchmarks/monkey.py."""
import os
import random
import sys
from pathlib import Path

import pytest

pytest.importorskip("qtpy")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy.QtCore import QSettings, qInstallMessageHandler  # noqa: E402
from qtpy.QtWidgets import QApplication, QDialog, QMessageBox  # noqa: E402

from gis_screening.app.main_window import MainWindow  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_app_journeys import SAMPLE, SHEETS, TXT, _gpkg_layerset  # noqa: E402

ACTIONS_PER_SEED = int(os.environ.get("MONKEY_ACTIONS", "500"))


def run_monkey(win, seed: int, n: int) -> dict:
    """Run ``n`` random actions; returns how often each ran.  Raises AssertionError on an inconsistent state."""
    import geopandas as gpd
    from shapely.geometry import LineString
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    win.ask_force = lambda _m: rng.random() < 0.5
    win.ask_unsaved = lambda _n: rng.choice(["save", "discard"])

    def wait():
        if win.worker is not None:
            win._wait_for(win.worker, 120)

    def import_():
        win.import_projects(rng.choice(TXT + SHEETS))

    def screen():
        win.a_screen.trigger()
        if rng.random() < 0.7:
            wait()

    def cancel():
        win.cancel_screening()

    def select():
        ids = win.projects_panel.row_ids()
        if ids:
            win.projects_panel.table.selectRow(rng.randrange(len(ids)))

    def identify():
        b = win.session.views[0].layer.gdf.total_bounds
        win.identify(rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3]))

    def zoom():
        rng.choice([win.canvas.zoom_to_all, win.canvas.zoom_to_projects,
                    lambda: win.canvas.zoom_to_bounds(win.canvas.visible_box().buffer(-win.canvas.res * 50).bounds)])()
        win.canvas.repaint()

    def toggle():
        i = rng.randrange(len(win.session.views))
        win.layer_panel.topLevelItem(i).setCheckState(0, 0 if win.session.views[i].visible else 2)

    def edit():
        if win.editor is None:
            win.start_editing("环境管控单元")
            return
        ctl = win.editor
        fid = rng.choice(ctl.fids())
        g = ctl.editable.features[fid].geom
        c = g.representative_point()
        ctl.selected = [fid]
        try:
            ctl.split_selected(LineString([(c.x - 0.5, c.y + rng.uniform(-1e-3, 1e-3)), (c.x + 0.5, c.y)]))
        except Exception as exc:                       # a line that misses is an InputError
            assert type(exc).__name__ == "InputError", exc

    def undo():
        (win.undo.undo if rng.random() < 0.6 else win.undo.redo)()

    def save():
        if win.editor is not None:
            win.save_edits(f"monkey {seed}")

    def print_preview():
        dlg = win.print_dialog()
        if dlg is not None:
            dlg.paper.setCurrentIndex(rng.randrange(2))
            dlg.close()

    def lang():
        win._set_lang(rng.choice(["zh", "en"]))

    def remove():
        if win.session.projects:
            win.projects_panel.remove_selected()

    actions = [(import_, 10), (screen, 12), (cancel, 2), (select, 10), (identify, 10), (zoom, 8), (toggle, 5),
               (edit, 8), (undo, 10), (save, 3), (print_preview, 3), (lang, 1), (remove, 4)]
    fns, weights = zip(*actions)
    for _ in range(n):
        fn = rng.choices(fns, weights)[0]
        fn()
        counts[fn.__name__] = counts.get(fn.__name__, 0) + 1
        QApplication.processEvents()
        for w in QApplication.topLevelWidgets():       # dismiss message boxes the way a user would
            if isinstance(w, (QMessageBox, QDialog)) and w.isVisible() and w is not win:
                w.close()
        ids = [p.id for p in win.session.projects]
        assert len(ids) == len(set(ids))
        assert win.session.selected_project in ids or (not ids and win.session.selected_project is None)
        assert win.projects_panel.table.rowCount() == len(ids)
        if win.session.result and win.worker is None:
            assert {r["project"]["id"] for r in win.session.result["results"]} <= set(ids) | \
                {r["project"]["id"] for r in win.session.result["results"]}
    wait()
    assert gpd
    return counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_monkey(qtbot, tmp_path, monkeypatch, seed):
    monkeypatch.setenv("GIS_SCREENING_CACHE", str(tmp_path / "cache"))
    warnings: list[str] = []

    def handler(_mode, _ctx, message):
        if "deleted" in message or "destroyed" in message:
            warnings.append(message)
    qInstallMessageHandler(handler)
    try:
        win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        qtbot.addWidget(win)
        win.resize(1000, 700)
        win.show()
        assert win.open_layerset(str(_gpkg_layerset(tmp_path)))
        try:
            counts = run_monkey(win, seed, ACTIONS_PER_SEED)
        finally:
            win.ask_unsaved = lambda _n: "discard"      # teardown closes the window without a prompt
        assert sum(counts.values()) == ACTIONS_PER_SEED and len(counts) >= 10
    finally:
        qInstallMessageHandler(None)
    assert warnings == []
    assert SAMPLE
