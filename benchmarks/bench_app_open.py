"""The app reopening the province layer set, as a user sees it: a fresh process, the real main window (offscreen),
`open_layerset` until the map is painted.  Warm caches (the first, unmeasured run fills them); the package
byte-compiled first, as an installed one is.

Reports medians of ``--repeats`` processes: open + first paint, and process start → map painted.
Run: .venv/bin/python benchmarks/bench_app_open.py --repeats 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installed import compile_package

DATA = Path(__file__).resolve().parent / "data"

CHILD = """
import os, sys, tempfile, time
t0 = time.perf_counter()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qtpy.QtCore import QSettings
from qtpy.QtWidgets import QApplication
app = QApplication([])
from gis_screening.app.main_window import MainWindow
win = MainWindow(settings=QSettings(tempfile.mktemp(suffix=".ini"), QSettings.IniFormat))
win.auto_screen = False
win.show()
app.processEvents()
t = time.perf_counter()
assert win.open_layerset(sys.argv[1])
win.canvas.repaint()
app.processEvents()
print(time.perf_counter() - t, time.perf_counter() - t0)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not (DATA / "layerset.yaml").exists():
        subprocess.run([sys.executable, Path(__file__).parent / "generate_province.py"], check=True)
    compile_package()
    env = dict(os.environ, GIS_SCREENING_CACHE=tempfile.mkdtemp(), QT_QPA_PLATFORM="offscreen")

    def run() -> tuple[float, float]:
        out = subprocess.run([sys.executable, "-c", CHILD, str(DATA / "layerset.yaml")], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        return float(out[0]), float(out[1])
    t = time.perf_counter()
    first = run()
    print(f"first open (fills the caches): {first[0]:.2f} s ({time.perf_counter() - t:.1f} s with the process)")
    runs = [run() for _ in range(args.repeats)]
    print(f"reopen, median of {args.repeats}: open_layerset + map painted {statistics.median(r[0] for r in runs):.2f} s; "
          f"process start → map painted {statistics.median(r[1] for r in runs):.2f} s (target ≤ 2 s)")


if __name__ == "__main__":
    main()
