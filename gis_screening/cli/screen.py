"""``gis-screening screen``: screen projects against a layer set and write the result JSON and reports."""
from __future__ import annotations

import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import InputError
from ..outputs import MAP_SUFFIXES, REPORT_SUFFIXES
from . import (
    FOOTPRINT_CRS,
    FOOTPRINT_ENCODING,
    FOOTPRINT_LAYER,
    FOOTPRINT_OFFSET,
    FOOTPRINT_TOWGS84,
    FOOTPRINT_ZONE,
    app,
    check_cache_dir,
    check_outputs,
    exit_without_teardown,
    fail,
    read_project_files,
    rich_console,
    say,
    say_project_notes,
    say_screening_notes,
    screen_inputs,
    screening_options,
    with_files_after,
)

STDOUT = Path("-")     # --json - / --jsonl -: the result on standard output
TABLE_MAX = 50   # print the per-project table up to this many projects (or with --table)
#: what each file option writes, and the endings its file name may have (checked before any work is done)
OUTPUTS = {"--pdf": ("the report PDF", REPORT_SUFFIXES["pdf"]), "--docx": ("the Word report", REPORT_SUFFIXES["docx"]),
           "--xlsx": ("the summary workbook", REPORT_SUFFIXES["xlsx"]),
           "--html": ("the HTML map", REPORT_SUFFIXES["html"]), "--map": ("the screening map", MAP_SUFFIXES),
           "--gpkg": ("the verdict layer", (".gpkg",))}


@app.command("screen")
def screen_cmd(
    layerset: Path = typer.Option(..., "--layerset", help="layer-set manifest (YAML)"),
    project: List[Path] = typer.Option(..., "--project", help="footprint file, project sheet (YAML/JSON/XLSX), or a "
                                       "folder of them; repeatable, and more files may follow it (--project "
                                       "sheets/*.yaml)"),
    more: Optional[List[Path]] = typer.Argument(None, hidden=True),
    json_out: Optional[Path] = typer.Option(None, "--json", help="result JSON (screening-result.schema.json); "
                                            "- for standard output"),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help="result as JSON lines: a header, then one project per "
                                         "line; - for standard output"),
    gpkg: Optional[Path] = typer.Option(None, "--gpkg", help="GeoPackage of footprints with verdict columns"),
    zone: Optional[int] = FOOTPRINT_ZONE,
    crs: Optional[str] = FOOTPRINT_CRS,
    source_offset: Optional[str] = FOOTPRINT_OFFSET,
    encoding: Optional[str] = FOOTPRINT_ENCODING,
    footprint_layer: Optional[str] = FOOTPRINT_LAYER,
    towgs84: Optional[str] = FOOTPRINT_TOWGS84,
    search_radius: float = typer.Option(1000.0, "--search-radius", min=0, help="metres"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="date (YYYY-MM-DD) whose rule packs apply"),
    rules: Optional[List[Path]] = typer.Option(None, "--rules", help="rule pack files/folders (default: shipped rules/)"),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="report PDF"),
    docx: Optional[Path] = typer.Option(None, "--docx", help="report DOCX"),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="summary XLSX"),
    html: Optional[Path] = typer.Option(None, "--html", help="offline HTML map"),
    map_out: Optional[Path] = typer.Option(None, "--map", help="screening map: PDF (one page per project), or "
                                           "PNG/SVG/JPEG/GeoTIFF (.tif, georeferenced map frame) of the first project"),
    basemap: Optional[Path] = typer.Option(None, "--basemap", help="GeoTIFF drawn under the maps"),
    place_labels: Optional[str] = typer.Option(None, "--place-labels", help="layer (name or role in the layer set, "
                                               "or a file) whose features are labelled on the maps"),
    label_field: str = typer.Option("name", "--label-field", help="field of --place-labels holding the names"),
    per_project: Optional[Path] = typer.Option(None, "--per-project", help="folder: also one report per project "
                                               "(PDF and DOCX, own report number)"),
    paper: str = typer.Option("A4", "--paper", help="A4 or A3"),
    landscape: bool = typer.Option(False, "--landscape", help="maps (--map) in landscape (default: portrait)"),
    scale: Optional[int] = typer.Option(None, "--scale", min=1, help="map scale denominator, e.g. 10000"),
    table: bool = typer.Option(False, "--table", help=f"print one line per project even for more than {TABLE_MAX}"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="prepared-layer cache folder "
                                             "(default: the user cache folder or $GIS_SCREENING_CACHE)"),
    no_cache: bool = typer.Option(False, "--no-cache", help="read the layers from their sources and prepare them in memory only"),
    profile: Optional[Path] = typer.Option(None, "--profile", help="report cover and sign-off (编制单位, 编制人, 校核人, "
                                           "审核人, 报告编号前缀; YAML); default: profile.yaml in the user config folder"),
) -> None:
    """Screen every project in the given files; exit 0 when screening ran, 2 for bad input."""
    from ..engine.collector import collector_paused
    from ..engine.model import VERDICT_LABELS
    project = with_files_after(project, more, "--project")
    if not any((json_out, jsonl, gpkg, pdf, docx, xlsx, html, map_out, per_project)):
        fail("no output: give --json, --jsonl, --gpkg or a report option (--pdf, --docx, --xlsx, --html, --map, "
             "--per-project)")
    day = screening_options(search_radius, as_of)
    if paper.upper() not in ("A4", "A3"):
        fail(f"--paper {paper!r}: use A4 or A3")
    for option, path in (("--pdf", pdf), ("--docx", docx), ("--xlsx", xlsx), ("--html", html), ("--map", map_out),
                         ("--gpkg", gpkg)):
        what, endings = OUTPUTS[option]
        if path is not None and path.suffix.lower() not in endings:
            fail(f"{option} {path}: {what} is written to a file whose name ends in {', '.join(endings)}")
    if not no_cache:
        check_cache_dir(cache_dir)
    to_stdout = [o for o, path in (("--json", json_out), ("--jsonl", jsonl)) if path == STDOUT]
    if len(to_stdout) > 1 or (to_stdout and table):
        clashing = to_stdout + (["--table"] if table else [])
        fail(f"{' and '.join(clashing)} would {'both' if len(clashing) == 2 else 'all'} write to standard output; "
             "give one of them a file")
    steps: dict[str, float] = {}
    writes: list = []       # the layers' new cache entries, written while the screening goes on
    t = time.perf_counter()

    def step(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = steps.get(name, 0.0) + now - t
        t = now

    try:
        # the imports, the layers, the screening and its results allocate millions of objects that live until the
        # process ends and form no reference cycles: the cyclic collector would only walk them again and again
        # (~0.25 s of a 10,000-project run); it runs again, on new objects only, for the reports (whose figures and
        # documents do form cycles)
        with collector_paused(freeze=True):
            from ..engine.prepared import PreparedCache
            from ..layerset import load_layerset
            from ..screening import rules_for, screen
            # no output may replace another or a file the run reads (checked once the modules it needs are in)
            files_out = {"--json": None if json_out == STDOUT else json_out,
                         "--jsonl": None if jsonl == STDOUT else jsonl, "--gpkg": gpkg, "--pdf": pdf, "--docx": docx,
                         "--xlsx": xlsx, "--html": html, "--map": map_out}
            check_outputs(files_out, screen_inputs(layerset, project, rules, profile, basemap, place_labels))
            # the project files are read while the layers are loaded (both mostly in GDAL and Arrow, which let go of
            # the GIL); a bad layer set is still said first, and the reading thread has ended before the screening,
            # which may fork
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="projects") as reader:
                cached = False if no_cache else (cache_dir or True)     # the loaded-layer cache
                read = reader.submit(read_project_files, project, zone=zone, crs=crs, offset=source_offset,
                                     encoding=encoding, layer=footprint_layer, towgs84=towgs84, cache=cached,
                                     cache_writes=writes)
                ls = load_layerset(layerset, cache=cached, cache_writes=writes)
                stack = rules_for(ls.rule_packs, rules, as_of=day)
                say_screening_notes(stack, ls, day, search_radius)
                projects = say_project_notes(*read.result())
            # nor the footprint files the project sheets name (known once they are read; nothing is written yet)
            check_outputs(files_out, {Path(p.footprint_file): "a footprint file a project sheet names"
                                      for p in projects if p.footprint_file})
            step("load layers and projects")        # read at once: one step
            cache = PreparedCache(cache_dir, disk=not no_cache)
            result = _screen_with_progress(screen, projects, ls, stack, search_radius, cache, writes)
            step("screen")
            reporting = any((pdf, docx, xlsx, html, map_out, per_project))
            listing = table or (len(result.results) <= TABLE_MAX and not to_stdout)
            # a document only written out as JSON keeps the results held encoded (a forked copy's) as they are
            doc = result.to_json(encoded=not (jsonl or gpkg or reporting or listing))
            outputs = _write_results(doc, json_out, jsonl, gpkg, projects)
            step("write results")
        if reporting:
            from ..reports import export
            from ..reports.profile import load_profile
            footprints = {p.id: p.geometry for p in projects}
            outputs += export(doc, ls, footprints, pdf=pdf, docx=docx, xlsx=xlsx, html=html, map=map_out,
                              paper=paper.upper(), landscape=landscape, scale=scale, profile=load_profile(profile),
                              extras=_map_extras(ls, basemap, place_labels, label_field), per_project=per_project)
            step("reports")
    except InputError as exc:
        for write in writes:        # a bad project file, say: the layers read are cached all the same
            write()
        fail(str(exc))
    if listing:
        from ..engine.words import decisive_titles
        for r in doc["results"]:
            titles = "；".join(decisive_titles(r))
            typer.echo(f"{r['project']['id']}\t{r['verdict_label']}\t{_cut(titles, 80)}")
    counts = Counter(VERDICT_LABELS[r.verdict] for r in result.results)
    order = ("不符合", "需人工核实", "有条件符合", "符合")
    slowest = max(steps, key=lambda k: steps[k])
    say(f"screened {len(result.results)} project(s): " + "，".join(f"{k} {counts[k]}" for k in order)
        + f"; {sum(steps.values()):.1f} s, slowest step {slowest} {steps[slowest]:.1f} s; wrote "
        + ", ".join(str(o) for o in outputs))
    exit_without_teardown(doc, result, projects, ls, cache)


def _map_extras(ls, basemap, place_labels, label_field):
    """The basemap and place-label layer the maps add (None when neither is asked for)."""
    from ..limits import check_input_file
    from ..reports import MapExtras
    if not basemap and not place_labels:
        return None
    if basemap:
        check_input_file(basemap, "basemap GeoTIFF")
    labels = None
    if place_labels:
        from ..io import read_layer
        match = [lyr for lyr in ls.layers if place_labels in (lyr.name, lyr.role)]
        labels = match[0] if match else read_layer(check_input_file(place_labels, "place-label layer"))
        if label_field not in labels.gdf.columns:
            fields = ", ".join(str(c) for c in labels.gdf.columns if c != labels.gdf.geometry.name)
            raise InputError(f"no field {label_field!r} to label with; fields: {fields}", file=place_labels,
                             field=label_field)
    return MapExtras(str(basemap) if basemap else None, labels, label_field)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _screen_with_progress(screen, projects, ls, stack, radius, cache, writes):
    """Run ``screen`` with a rich progress bar on stderr (shown on a terminal, for runs over about a second).  The
    bar is redrawn on progress, not by a refresh thread: a single-threaded process may split its screening with a
    forked copy of itself (:mod:`gis_screening.forked`).  Without a terminal there is no bar (nor rich)."""
    run = partial(screen, projects, ls, stack, search_radius_m=radius, cache=cache, split=True, cache_writes=writes)
    if not sys.stderr.isatty():
        return run()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    console = rich_console(stderr=True)
    with Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=not console.is_terminal, auto_refresh=False) as bar:
        task = bar.add_task("screen", total=len(projects))
        return run(progress=lambda done, total: bar.update(task, completed=done, refresh=True))


def _to_stdout(write) -> None:
    """``write(stream)`` to standard output; a reader that stops reading (``| head``) ends the stream, not the run:
    the other outputs are still written."""
    import os
    try:
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())       # what is still buffered goes nowhere, not into a traceback
        os.close(devnull)


def _write_results(doc: dict, json_out, jsonl, gpkg, projects) -> list[Path]:
    from ..engine.result import stream_json, stream_jsonl, write_json, write_jsonl
    outputs = []
    header = {k: v for k, v in doc.items() if k != "results"}
    if json_out == STDOUT or jsonl == STDOUT:
        _to_stdout(partial(stream_json, doc) if json_out == STDOUT else partial(stream_jsonl, header, doc["results"]))
        outputs.append(STDOUT)
    if json_out and json_out != STDOUT:
        outputs.append(write_json(doc, json_out))
    if jsonl and jsonl != STDOUT:
        outputs.append(write_jsonl(header, doc["results"], jsonl))
    if gpkg:
        from ..engine.result import write_verdicts
        outputs.append(write_verdicts(doc, {p.id: p.geometry for p in projects}, gpkg))
    return outputs
