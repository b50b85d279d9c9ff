"""``gis-screening screen``: screen projects against a layer set and write the result JSON and reports."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import InputError
from . import app, err_console, fail


@app.command("screen")
def screen_cmd(
    layerset: Path = typer.Option(..., "--layerset", help="layer-set manifest (YAML)"),
    project: List[Path] = typer.Option(..., "--project", help="footprint file, project sheet (YAML/JSON/XLSX); repeatable"),
    json_out: Path = typer.Option(..., "--json", help="result JSON (contracts/screening-result.schema.json)"),
    search_radius: float = typer.Option(1000.0, "--search-radius", min=0, help="metres"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="date (YYYY-MM-DD) whose rule packs apply"),
    rules: Optional[List[Path]] = typer.Option(None, "--rules", help="rule pack files/folders (default: shipped rules/)"),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="report PDF"),
    docx: Optional[Path] = typer.Option(None, "--docx", help="report DOCX"),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="summary XLSX"),
    html: Optional[Path] = typer.Option(None, "--html", help="offline HTML map"),
    map_out: Optional[Path] = typer.Option(None, "--map", help="screening map PDF/PNG (one page per project)"),
    paper: str = typer.Option("A4", "--paper", help="A4 or A3"),
    landscape: bool = typer.Option(False, "--landscape"),
    scale: Optional[int] = typer.Option(None, "--scale", help="map scale denominator, e.g. 10000"),
) -> None:
    """Screen every project in the given files; exit 0 when screening ran, 2 for bad input."""
    from ..engine.project import load_projects, merge_duplicates
    from ..engine.result import write_json
    from ..engine.rules import load_rules
    from ..engine.screen import screen
    from ..layerset import load_layerset
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    if paper.upper() not in ("A4", "A3"):
        fail(f"--paper {paper!r}: use A4 or A3")
    try:
        ls = load_layerset(layerset)
        stack = load_rules([str(p) for p in rules] if rules else (getattr(ls, "rule_packs", None) or None), as_of=day)
        projects = [p for f in project for p in load_projects(f)]
        if not projects:
            fail("no project found in the given files")
        projects, notes = merge_duplicates(projects)
        for note in notes:
            err_console.print(note, markup=False, highlight=False)
        result = screen(projects, ls, stack, search_radius_m=search_radius)
        doc = result.to_json()
        write_json(doc, json_out)
        outputs = [json_out]
        if any((pdf, docx, xlsx, html, map_out)):
            from ..reports import export
            footprints = {p.id: p.geometry for p in projects}
            outputs += export(doc, ls, footprints, pdf=pdf, docx=docx, xlsx=xlsx, html=html, map=map_out,
                              paper=paper.upper(), landscape=landscape, scale=scale)
    except InputError as exc:
        fail(str(exc))
    for r in doc["results"]:
        rid = ", ".join(r.get("decisive_rules", [])[:3])
        typer.echo(f"{r['project']['id']}\t{r['verdict_label']}\t{rid}")
    err_console.print(f"screened {len(doc['results'])} project(s); wrote " + ", ".join(str(o) for o in outputs),
                      markup=False, highlight=False)
