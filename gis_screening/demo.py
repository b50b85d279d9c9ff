"""``./dev demo``: screen every bundled sample project and write all outputs into ``out/``.

Runs the same CLI a user would (``gis-screening screen …``), prints a verdict table, and opens the desktop app
on the sample data when a display is available (otherwise saves an offscreen screenshot of it).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _run(args: list, env: dict[str, str] | None = None) -> int:
    """Run ``args`` after printing them (the demo shows the commands a user would type)."""
    print("$ " + " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], env=env)


def sample_projects() -> list[Path]:
    """What the demo screens, in the CLI and in the app alike: the sample footprints and the 两高 project sheets
    (the sheets carry the energy and 建设性质 facts some verdicts depend on)."""
    return [SAMPLE / "projects" / "projects.gpkg"] + sorted((SAMPLE / "sheets").glob("*.yaml"))


def _with_projects(args: list) -> list:
    for p in sample_projects():
        args += ["--project", p]
    return args


def main(argv: list[str] | None = None) -> int:
    out = Path((argv or sys.argv[1:] or ["out"])[0])
    out.mkdir(parents=True, exist_ok=True)
    manifest = SAMPLE / "layerset.yaml"
    bindir = Path(sys.executable).parent
    cli = bindir / "gis-screening"
    if _run([cli, "layers", "check", manifest]) == 2:
        return 2
    args = _with_projects([cli, "screen", "--layerset", manifest])
    args += ["--json", out / "screening.json", "--pdf", out / "report.pdf", "--docx", out / "report.docx",
             "--xlsx", out / "summary.xlsx", "--html", out / "map.html", "--map", out / "map.pdf"]
    code = _run(args)
    if code != 0:
        return code
    doc = json.loads((out / "screening.json").read_text(encoding="utf-8"))
    print(f"\n{'项目':<12}{'结论':<8}面积 (m²)")
    for r in doc["results"]:
        print(f"{r['project']['id']:<12}{r['verdict_label']:<8}{r['project']['area_m2']:>12,.0f}")
    print(f"\n{len(doc['results'])} projects screened; outputs in {out.resolve()}")
    import importlib.util
    app = bindir / "gis-screening-app"
    if importlib.util.find_spec("gis_screening.app.main") is None or importlib.util.find_spec("qtpy") is None:
        return 0
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform == "win32"
    app_args = _with_projects([app, "--layerset", manifest])     # the same projects and sheets: the same verdicts
    if app.exists() and has_display and os.environ.get("CI") != "true":
        return _run(app_args)
    if app.exists():
        _run(app_args + ["--screenshot", out / "app.png"], env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        print(f"no display: saved a screenshot of the app to {out / 'app.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
