"""Report benchmark (issue 14): the 25 sample projects' batch report — PDF + DOCX + XLSX + offline HTML + PDF map
atlas — as the whole `gis-screening screen` process, medians of ``--repeats`` runs, plus each output's share
measured in-process.  No timing assertions anywhere: figures go to benchmarks/README.md.
Run: .venv/bin/python benchmarks/bench_reports.py --repeats 3
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

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def whole(out: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(SAMPLE / "layerset.yaml"),
                    "--project", str(SAMPLE / "projects" / "projects.gpkg"), "--pdf", str(out / "r.pdf"),
                    "--docx", str(out / "r.docx"), "--xlsx", str(out / "s.xlsx"), "--html", str(out / "m.html"),
                    "--map", str(out / "map.pdf")], check=True, capture_output=True)
    return time.perf_counter() - t


def parts(out: Path) -> dict[str, float]:
    from gis_screening.io.projects import load_projects
    from gis_screening.layerset import load_layerset
    from gis_screening.reports import render_atlas
    from gis_screening.reports.content import build_report
    from gis_screening.reports.docx import write_docx
    from gis_screening.reports.html import write_html
    from gis_screening.reports.pdf import write_pdf
    from gis_screening.reports.profile import load_profile
    from gis_screening.reports.xlsx import write_xlsx
    from gis_screening.screening import load_rules, screen
    ls = load_layerset(SAMPLE / "layerset.yaml")
    ps = load_projects(SAMPLE / "projects" / "projects.gpkg")
    doc = screen(ps, ls, load_rules()).to_json()
    fps, prof, t = {p.id: p.geometry for p in ps}, load_profile(), {}
    with tempfile.TemporaryDirectory() as tmp:
        s = time.perf_counter()
        render_atlas(doc, ls, fps, out / "map.pdf", png_dir=Path(tmp), profile=prof)
        t["atlas (PDF pages + report JPEGs, two processes)"] = time.perf_counter() - s
        images = {r["project"]["id"]: str(Path(tmp) / f"{k}.jpg") for k, r in enumerate(doc["results"])}
        blocks = build_report({**doc, "_report_path": str(out / "r.pdf")}, ls, fps, images, prof)
        for name, fn in (("report PDF", lambda: write_pdf(blocks, out / "r.pdf")),
                         ("report DOCX", lambda: write_docx(blocks, out / "r.docx")),
                         ("HTML map", lambda: write_html(doc, ls, fps, out / "m.html")),
                         ("XLSX", lambda: write_xlsx(doc, out / "s.xlsx"))):
            s = time.perf_counter()
            fn()
            t[name] = time.perf_counter() - s
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    compile_package()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        runs = [whole(out) for _ in range(args.repeats)]
        print(f"whole process, 25 projects, all outputs: median {statistics.median(runs):.2f} s "
              f"({', '.join(f'{r:.2f}' for r in runs)}); {statistics.median(runs) / 25 * 1000:.0f} ms per project")
        for name, secs in parts(out).items():
            print(f"  {name}: {secs:.2f} s")


if __name__ == "__main__":
    main()
