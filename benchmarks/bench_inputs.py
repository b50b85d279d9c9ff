"""Reading the inputs reviewers are sent, as whole processes: a large CAD drawing (an 8 MB 总平面图 of ~48,000
entities, the red line on one layer) converted to a 勘测定界 TXT, with the layer named and without (the layer
question), and the sample layer set with a province-sized 准入清单 published as a Word document of one requirement a
row (1,761 units, 7,044 rows) checked with `layers check`.  Medians of ``--repeats`` runs; no timing assertions.
Run: .venv/bin/python benchmarks/bench_inputs.py --repeats 3
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installed import compile_package

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample_data"
CLI = [sys.executable, "-m", "gis_screening.cli"]


def _drawing(path: Path) -> Path:
    import ezdxf
    import numpy as np
    rng = np.random.default_rng(1)
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    e0, n0 = 40_429_000.0, 2_885_000.0
    msp.add_lwpolyline([(e0, n0), (e0 + 300, n0), (e0 + 300, n0 + 200), (e0, n0 + 200)], close=True,
                       dxfattribs={"layer": "红线"})
    for x0, y0, dx, dy in rng.uniform(0, 2000, size=(40_000, 4)):
        msp.add_line((e0 + x0, n0 + y0), (e0 + x0 + dx / 100, n0 + y0 + dy / 100), dxfattribs={"layer": "地形"})
    for x, y in rng.uniform(0, 2000, size=(3_000, 2)):
        msp.add_lwpolyline([(e0 + x, n0 + y), (e0 + x + 10, n0 + y), (e0 + x + 10, n0 + y + 8), (e0 + x, n0 + y + 8)],
                           close=True, dxfattribs={"layer": "建筑"})
    for i, (x, y) in enumerate(rng.uniform(0, 2000, size=(5_000, 2))):
        msp.add_text(str(i), dxfattribs={"layer": "标注", "insert": (e0 + x, n0 + y)})
    doc.saveas(path)
    return path


def _long_list(path: Path) -> Path:
    from docx import Document
    doc = Document()
    table = doc.add_table(rows=1, cols=4)
    for cell, h in zip(table.rows[0].cells, ["环境管控单元编码", "环境管控单元名称", "管控维度", "管控要求"]):
        cell.text = h
    for u in range(1761):
        for d in ("空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"):
            cells = table.add_row().cells
            cells[0].text, cells[1].text, cells[2].text, cells[3].text = f"ZH3501{u:07d}", f"单元{u}", d, "禁止新建化工项目。" * 5
    doc.save(path)
    return path


def _time(cmd: list, ok: tuple[int, ...] = (0,)) -> float:
    t = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode not in ok:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-2000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    compile_package()
    out = Path(tempfile.mkdtemp())
    dxf, docx = _drawing(out / "总平面图.dxf"), _long_list(out / "准入清单.docx")
    manifest = out / "layerset.yaml"
    manifest.write_text((SAMPLE / "layerset.yaml").read_text(encoding="utf-8")
                        .replace("source: zones/", f"source: {SAMPLE}/zones/")
                        .replace("source: 准入清单.xlsx", f"source: {docx}"), encoding="utf-8")
    runs = {"drawing, layer named (convert to TXT)": [CLI + ["convert", dxf, out / "a.txt", "--layer", "红线"], (0,)],
            "drawing, layer asked (the question)": [CLI + ["convert", dxf, out / "b.txt"], (2,)],
            "layer set with the Word 准入清单 (layers check)": [CLI + ["layers", "check", manifest], (0, 1)]}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.repeats):
        for name, (cmd, ok) in runs.items():
            times[name].append(_time(cmd, ok))
    print(f"{dxf.stat().st_size / 1e6:.1f} MB drawing, {docx.stat().st_size / 1e6:.1f} MB Word list")
    for name, ts in times.items():
        print(f"{name:50s} median {statistics.median(ts):6.2f} s  (runs {', '.join(f'{t:.2f}' for t in ts)})")


if __name__ == "__main__":
    main()
