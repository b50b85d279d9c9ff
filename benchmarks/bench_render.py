"""Map canvas redraw times on the province-scale set, rendering to a QImage offscreen.

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_render.py [--repeats 5]
Reports the median of repeated redraws: full extent (cold = first draw at that zoom, warm = cached paths) and
zoomed in (~1:10,000 around random points).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy.QtGui import QImage, QPainter  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from gis_screening.app.canvas import MapCanvas  # noqa: E402
from gis_screening.session import Session  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"


def draw(canvas, img) -> float:
    t = time.perf_counter()
    p = QPainter(img)
    canvas.render_to(p)
    p.end()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    s = Session()
    t = time.perf_counter()
    s.open_layerset(DATA / "layerset.yaml")
    canvas = MapCanvas(s)
    canvas.resize(1600, 1000)
    canvas.rebuild()
    t_open = time.perf_counter() - t
    img = QImage(1600, 1000, QImage.Format_ARGB32_Premultiplied)
    canvas.zoom_to_all()
    cold_full = draw(canvas, img)
    full = [draw(canvas, img) for _ in range(args.repeats)]
    import numpy as np
    rng = np.random.default_rng(1)
    red = canvas.layers[1].geoms
    zoomed_cold, zoomed = [], []
    for k in range(args.repeats * 4):
        g = red[int(rng.integers(len(red)))] if k % 2 else red[-1 - (k % 4)]  # also the 60,000-vertex ones
        c = g.representative_point()
        canvas.center, canvas.res = (c.x, c.y), 2.65  # ≈ 1:10,000 at 96 dpi
        zoomed_cold.append(draw(canvas, img))
        zoomed.append(draw(canvas, img))
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    print(f"open + index: {t_open:.2f} s; {sum(len(r.geoms) for r in canvas.layers):,} features")
    print(f"full extent 1600×1000: first {cold_full * 1000:.0f} ms, redraw median {ms(full):.0f} ms (target ≤ 150 ms)")
    print(f"zoomed in (~1:10,000): first draw median {ms(zoomed_cold):.0f} ms, redraw median {ms(zoomed):.0f} ms "
          "(target ≤ 50 ms)")


if __name__ == "__main__":
    main()
