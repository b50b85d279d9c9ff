"""The long monkey run (the suite runs 3 seeds × 500 actions): many seeds, many actions, on the real window.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/monkey.py --seeds 20 --actions 2000
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--actions", type=int, default=2000)
    args = ap.parse_args()
    from qtpy.QtCore import QSettings
    from qtpy.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    import test_app_monkey as tm

    from gis_screening.app.main_window import MainWindow
    for seed in range(1, args.seeds + 1):
        tmp = Path(tempfile.mkdtemp())
        os.environ["GIS_SCREENING_CACHE"] = str(tmp / "cache")
        win = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
        win.show()
        win.open_layerset(str(tm._gpkg_layerset(tmp)))
        t = time.perf_counter()
        counts = tm.run_monkey(win, seed, args.actions)
        print(f"seed {seed}: {sum(counts.values())} actions in {time.perf_counter() - t:.1f} s  {counts}", flush=True)
        win.ask_unsaved = lambda _n: "discard"
        win.close()
        app.processEvents()


if __name__ == "__main__":
    main()
