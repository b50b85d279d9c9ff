"""Command line: ``gis-screening layers check | convert | screen | rules check | zones …``.

Exit codes: 0 when the command ran, 1 when a check found errors in the data, 2 for bad input (one-line
reason on stderr, never a traceback).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

import typer

from ..errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="三线一单 / 碳达峰 screening of project sites.")
layers_app = typer.Typer(no_args_is_help=True, help="Inspect layer sets.")
app.add_typer(layers_app, name="layers")


def say(text: str) -> None:
    """One line of plain text on stderr, as written (no markup, no wrapping): notes, errors, a run's summary."""
    sys.stderr.write(f"{text}\n")


@functools.lru_cache(maxsize=2)
def rich_console(stderr: bool = False) -> Console:
    """The rich console on stdout (tables, listings) or stderr (progress bars), made on first use: a command that
    only says plain lines (:func:`say`) never imports rich (~20 ms of every run)."""
    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else (400 if stderr else 160))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error to stderr and exit (2 = bad input)."""
    say(f"error: {' '.join(str(message).split())}")
    raise typer.Exit(code)


def with_files_after(given: list[Path], more: list[Path] | None, option: str) -> list[Path]:
    """The files of ``option`` (repeatable) and those after it (a shell pattern gives several: ``--project
    sheets/*.yaml``).  A true/false word among them, no file of that name, was meant for a switch: said so."""
    for word in more or []:
        if str(word).lower() in ("true", "false", "yes", "no") and not word.exists():
            fail(f"{word}: not a file after {option}; a switch takes no value (give it alone, without true/false)")
    return [*given, *(more or [])]


def check_outputs(outputs: dict[str, Path | None], inputs: dict[Path, str]) -> None:
    """Refuse, before any work, an output option naming a file the run reads or the file of another output option
    (:func:`~gis_screening.outputs.output_conflict`)."""
    from ..outputs import output_conflict
    conflict = output_conflict(outputs, inputs)
    if conflict:
        fail(conflict)


def check_cache_dir(folder: Path | None) -> None:
    """Refuse, before any work, a ``--cache-dir`` that is no folder and cannot be made one: the cache is the user's
    explicit choice (an unusable default cache folder only costs speed, and is not said)."""
    if folder is None:
        return
    if folder.exists() and not folder.is_dir():
        fail(f"--cache-dir {folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--cache-dir {folder}: cannot be made a folder ({exc.strerror or exc})")


def screen_inputs(layerset: Path, projects: list[Path], rules, *others: Path | str | None) -> dict[Path, str]:
    """The local files a `screen` run reads (file → what it is), as far as its options name them: the layer set's
    manifest and sources, the project files (those in a given folder), rule packs, profile, basemap, labels.  A
    file that cannot be listed (missing, a bad manifest) is left to the run to report."""
    from ..io.layer_cache import source_files
    from ..io.projects import project_files
    from ..layerset import manifest_files
    inputs: dict[Path, str] = {}

    def add(files, what: str) -> None:
        for f in files:
            inputs.setdefault(f, what)
    try:
        add(manifest_files(layerset), f"a file of the layer set {layerset}")
    except (InputError, OSError):
        pass
    try:
        add((f for p in project_files(projects) for f in source_files(p)), "a project file")
    except (InputError, OSError):
        pass
    for given in [*(rules or []), *(p for p in others if p is not None)]:
        add(source_files(Path(given)), "an input file")
    return inputs


def screening_options(search_radius: float, as_of: str | None):
    """The options `screen` and `batch` share: a finite radius and a real date; returns the date (or None)."""
    import math
    if not math.isfinite(search_radius):
        fail(f"--search-radius {search_radius}: give a finite number of metres")
    return parse_day(as_of)


_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})(\d{2})(\d{2})")


def parse_day(text: str | None) -> dt.date | None:
    """An ``--as-of`` date: 2026-11-29, or as typed in China: 2026/11/29, 2026.11.29, 20261129, 2026年11月29日 (full
    width too); exits with one line for anything else, or a day that does not exist."""
    if not text:
        return None
    m = _DAY.fullmatch(unicodedata.normalize("NFKC", text).strip())
    try:
        if m is None:
            raise ValueError(text)
        y, mo, d = (int(g) for g in (m.groups()[:3] if m[1] else m.groups()[3:]))
        return dt.date(y, mo, d)
    except ValueError:
        fail(f"--as-of {text!r} is not a date (YYYY-MM-DD, 2026/11/29 or 2026年11月29日)")


def _absent_title(name: str, cat) -> str:
    from ..engine.screen import layer_title
    return layer_title(name, cat) if name.startswith("other:") else f"{layer_title(name, cat)}（{name}）"


def say_screening_notes(stack, layerset, day, radius: float) -> None:
    """What `screen` and `batch` say before screening: rule packs found but not in force on ``day``, layers the
    rules refer to that the layer set lacks, and a search ``radius`` (m) raised for a rule (one line each, on
    stderr)."""
    for note in (stack.not_in_force_note(day), _missing_layers_note(stack, layerset), _radius_note(stack, radius)):
        if note:
            say(note)


def _radius_note(stack, radius: float) -> str | None:
    reach, rule = stack.reach()
    if reach <= radius or rule is None:
        return None
    return (f"note: search radius {radius:g} m raised to {reach:g} m: the rule “{rule.title}” ({rule.id}) looks "
            f"{reach:g} m out")


def _missing_layers_note(stack, layerset) -> str | None:
    from ..engine.screen import layers_missing
    missing = layers_missing(stack, layerset)
    if not missing:
        return None
    them = "it" if len(missing) == 1 else "them"
    others = [lyr.name for lyr in layerset.layers if lyr.role == "other"]
    named = any(m["role"].startswith("other:") for m in missing) and others
    return ("note: the layer set has no layer for " + "、".join(m["title"] for m in missing) + f": the rules that need "
            f"{them} cannot be checked, and each project they could apply to gets a 需人工核实 finding; load the "
            f"layer(s), or list under `absent:` in the manifest the ones this area has none of"
            + (f"; rules find an `other` layer by its name, and this set's are named {'、'.join(others)} (give the "
               "layer that name with `name:` in the manifest)" if named else ""))


#: How `screen` and `batch` read the footprint files (each option one object, shared by both commands).
FOOTPRINT_ZONE = typer.Option(None, "--zone", help="3° GK zone of footprint eastings written without the zone "
                              "prefix (Fujian: 39 or 40)")
FOOTPRINT_CRS = typer.Option(None, "--crs", help="CRS of footprint files that do not state theirs, e.g. EPSG:4528")
FOOTPRINT_OFFSET = typer.Option(None, "--source-offset", help="footprints in web-map coordinates: gcj02 or bd09")
FOOTPRINT_ENCODING = typer.Option(None, "--encoding", help="text encoding of footprint files, e.g. gbk")
FOOTPRINT_TOWGS84 = typer.Option(None, "--towgs84", help="footprints in Xian 1980 / Beijing 1954: the transformation "
                                 "parameters dx,dy,dz[,rx,ry,rz,s]")
FOOTPRINT_LAYER = typer.Option(None, "--layer", help="layer to read in footprint sources that hold several: "
                               "GeoPackage, File Geodatabase, KML folder, CAD layer of a DXF, XLSX sheet (files of "
                               "one layer ignore it)")

NOTES_MAX = 30   # import problems printed on stderr; the rest are in the results


def load_project_files(files, **read) -> list:
    """Projects of every file (footprints, sheets, tables; a folder: the project files in it); a sheet supersedes a
    footprint-only entry (said on stderr); InputError on bad input or when nothing is found.  ``read``: how to read
    the footprint files (:func:`~gis_screening.io.projects.load_projects`: zone, crs, offset, encoding)."""
    return say_project_notes(*read_project_files(files, **read))


def read_project_files(files, **read) -> tuple[list, list[str]]:
    """:func:`load_project_files` without saying anything: the projects, and the lines to say about them."""
    from ..io.projects import load_projects, merge_duplicates, project_files
    from ..screening import check_sheets
    projects = [p for f in project_files(files) for p in load_projects(f, **read)]
    if not projects:
        raise InputError("no project found in the given files")
    check_sheets(projects)
    projects, notes = merge_duplicates(projects)
    # a footprint skipped or repaired is said once, not only inside each result; a note on a sheet table (its
    # columns not read, its 合计 row) once for the table, not for each of its rows
    said = dict.fromkeys(f"{p.source_file()}: {problem}" for p in projects
                         for problem in p.problems if problem.startswith(("[error]", "[warning]")))
    return projects, [*said, *notes]


def say_project_notes(projects: list, lines: list[str]) -> list:
    """Say (stderr) the ``lines`` :func:`read_project_files` gave, at most :data:`NOTES_MAX`; ``projects``."""
    for note in lines[:NOTES_MAX]:
        say(note)
    if len(lines) > NOTES_MAX:
        say(f"… and {len(lines) - NOTES_MAX} more (each project's result lists its own)")
    return projects


@layers_app.command("check")
def layers_check(manifest: Path = typer.Argument(..., help="layer-set manifest (YAML)")) -> None:
    """Load every layer of MANIFEST and report features, CRS, encoding, repairs and topology."""
    console = rich_console()
    from ..layerset import load_layerset
    from ..topology import check_topology
    try:
        ls = load_layerset(manifest)
    except InputError as exc:
        fail(str(exc))
    console.print(f"[bold]{ls.name}[/bold]  ({manifest})")
    from rich.table import Table
    table = Table("role", "name", "source", "features", "CRS", "encoding", "problems")
    errors = 0
    for lyr in ls.layers:
        n_err = sum(p.level == "error" for p in lyr.problems)
        n_warn = sum(p.level == "warning" for p in lyr.problems)
        errors += n_err
        table.add_row(lyr.role, lyr.name, lyr.source, str(lyr.feature_count),
                      f"{lyr.source_crs} → EPSG:4490", lyr.encoding or "-",
                      f"{n_err} errors, {n_warn} warnings" if (n_err or n_warn) else "none")
    console.print(table)
    if ls.absent:
        console.print("declared absent (no such zone in this area; rules on them find nothing): "
                      + "、".join(_absent_title(a, ls.cat) for a in ls.absent), markup=False)
    errors += _report_triggers(ls)
    for lyr in ls.layers:
        if lyr.problems or lyr.crs_reason:
            console.print(f"[bold]{lyr.name}[/bold] ({lyr.source})")
            console.print(f"  CRS: {lyr.source_crs} — {lyr.crs_reason}", markup=False)
            for p in lyr.problems:
                console.print(f"  {p}", markup=False)
    for lyr in ls.by_role("control_units"):
        rep = check_topology(lyr.gdf, lyr.feature_ids()).summary()
        console.print(f"[bold]topology of {lyr.name}[/bold] (areas in {rep['metric_crs']}):")
        for kind, label in (("overlaps", "overlaps (不重叠)"), ("gaps", "gaps (全覆盖)")):
            s = rep[kind]
            line = f"  {label}: {s['count']}, total {s['total_m2']:.2f} m²"
            if s["largest"]:
                lg = s["largest"]
                feats = f" between {' / '.join(lg['features'])}" if lg["features"] else ""
                line += f"; largest {lg['area_m2']:.2f} m² at lon {lg['lonlat'][0]}, lat {lg['lonlat'][1]}{feats}"
            console.print(line, markup=False)
        if rep["invalid"]:
            console.print(f"  invalid geometries: {', '.join(rep['invalid'])}", markup=False)
        errors += rep["overlaps"]["count"] + rep["gaps"]["count"]
    if errors:
        raise typer.Exit(1)


@layers_app.command("push")
def layers_push(
    manifest: Path = typer.Argument(..., help="layer-set manifest (YAML) whose layers to publish"),
    target: str = typer.Argument(..., help="postgresql://user@host:port/db[?schema=NAME] (password from PGPASSWORD, "
                                 "~/.pgpass or a service file)"),
    manifest_out: Path = typer.Option(..., "--manifest-out", help="manifest to write, pointing at the new tables"),
    replace: bool = typer.Option(False, "--replace", help="overwrite tables that already exist"),
) -> None:
    """Publish every layer of MANIFEST to PostGIS (field names and codes kept, CGCS2000, spatial index, per-feature
    version, audit table) in one transaction, and write a manifest for screen, batch and the app."""
    console = rich_console()
    from ..io.postgis import is_postgres
    from ..publish import push_layerset
    if not is_postgres(target):
        fail(f"{target}: give a postgresql:// address")
    check_outputs({"--manifest-out": manifest_out}, screen_inputs(manifest, [], None))
    try:
        done = push_layerset(manifest, target, manifest_out, replace=replace)
    except InputError as exc:
        fail(str(exc))
    for p in done:
        console.print(f"{p.source} → {p.table}: {p.features} features ({p.role})", markup=False, highlight=False)
    console.print(f"wrote {manifest_out}", markup=False, highlight=False)


def _report_triggers(ls) -> int:
    """GeoPackage sources with triggers beyond the standard R-tree ones (reported; editing refuses them)."""
    console = rich_console()
    import sqlite3

    from ..editing.gpkgblob import foreign_triggers
    n = 0
    for lyr in ls.layers:
        src = Path(lyr.source)
        if src.suffix.lower() != ".gpkg" or not src.is_file():
            continue
        try:
            with sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=5) as conn:
                found = foreign_triggers(conn)
        except sqlite3.Error:
            continue
        for t in found:
            console.print(f"[bold]{lyr.name}[/bold] ({lyr.source}): trigger {t} is not a GeoPackage R-tree trigger; "
                          "it may change data behind the editor's back (editing is refused)", highlight=False)
            n += 1
    return n


@app.command("convert")
def convert(
    input: Path = typer.Argument(..., help="any supported geometry file"),
    output: Path = typer.Argument(..., help=".gpkg, .geojson or .txt (勘测定界)"),
    layer: Optional[str] = typer.Option(None, help="layer inside a multi-layer source"),
    encoding: Optional[str] = typer.Option(None, help="attribute/text encoding override, e.g. gbk"),
    crs: Optional[str] = typer.Option(None, help="source CRS override, e.g. EPSG:4528"),
    zone: Optional[int] = typer.Option(None, help="3° GK zone for eastings without zone prefix"),
    source_offset: Optional[str] = typer.Option(None, "--source-offset", help="gcj02 or bd09"),
    role: Optional[str] = typer.Option("auto", help="catalog role whose canonical field names to write; "
                                       "'auto' guesses it from names and fields, 'none' keeps the source fields"),
    towgs84: Optional[str] = typer.Option(None, help="Xian80/Beijing54 parameters dx,dy,dz[,rx,ry,rz,s]"),
) -> None:
    """Convert INPUT to OUTPUT in EPSG:4490 (TXT: GK zone of the data, with zone prefix)."""
    console = rich_console()
    from ..io import read_layer
    from ..io.layer_cache import source_files
    from ..io.writers import write_layer
    check_outputs({"OUTPUT": output}, dict.fromkeys(source_files(input), "the INPUT"))
    try:
        if role == "auto":
            role = _guess_role(input, layer, encoding, zone, crs)
        lyr = read_layer(input, None if role == "none" else role, layer=layer, encoding=encoding, crs=crs, zone=zone,
                         offset=source_offset, towgs84=towgs84)
        written = write_layer(lyr, output)
    except InputError as exc:
        fail(str(exc))
    for p in lyr.problems:
        say(f"{input.name}: {p}")
    console.print(f"wrote {lyr.feature_count} features to {output} ({written})", markup=False)


def _guess_role(path: Path, layer: str | None, encoding: str | None, zone: int | None, crs: str | None) -> str:
    """The catalog role whose required fields the file has (best guess), or 'none'; said on stderr."""
    from ..catalog import default_catalog
    from ..io.pipeline import read_raw
    from ..io.projects import ONE_PROJECT_SUFFIXES
    if path.suffix.lower() in ONE_PROJECT_SUFFIXES:        # a survey TXT, coordinate table or CAD drawing
        say(f"{path.name}: read as a project footprint (role projects)")
        return "projects"
    cat = default_catalog()
    cols = list(read_raw(path, layer=layer, encoding=encoding, zone=zone, crs=crs).gdf.columns)
    for r, _score in cat.guess_role(cols, path.name):
        required = [f for f, spec in cat.roles[r].fields.items() if spec.required]
        mapped = set(cat.match_fields(r, cols).values())
        if all(f in mapped for f in required) or r == "projects":
            say(f"{path.name}: fields mapped as role {r} ({cat.roles[r].title}); "
                "use --role to choose another or --role none")
            return r
    say(f"{path.name}: no layer role recognised from the file name or fields; source fields kept "
        "(use --role to map them to a role's canonical names)")
    return "none"


def _register_optional_commands() -> None:
    """Sub-command modules register themselves on ``app`` when imported (screen, rules, zones…)."""
    import importlib
    for mod in ("screen", "batch", "rules", "zones"):
        try:
            importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{mod}":
                raise


def _plain_metavars(command: Any) -> None:
    """What ``--help`` shows after an option, as users of command-line tools read it: nothing after a switch
    (``--landscape``, not ``--landscape <bool>``, which reads as if it took true/false) and the kind of one value
    after a repeatable option (``--project <path>``, not ``<list[Path]>``; its help says it is repeatable)."""
    for param in getattr(command, "params", []):
        if getattr(param, "metavar", "") is None and not getattr(param, "is_argument", False):
            if getattr(param, "is_flag", False):
                param.metavar = ""
            elif getattr(param, "multiple", False):
                import typing
                kind = (typing.get_args(param.type_descriptor.annotation) or (str,))[0]
                param.metavar = f"<{getattr(kind, '__name__', 'text').lower()}>"
    for sub in getattr(command, "commands", {}).values():
        _plain_metavars(sub)


def main() -> None:
    """Entry point: run the Typer app.  Bad options and InputError anywhere → one line on stderr and exit 2."""
    _register_optional_commands()
    command = typer.main.get_command(app)
    _plain_metavars(command)
    usage_error: Any = typer.BadParameter.__mro__[1]   # click's UsageError (vendored by typer)
    try:
        code = command.main(standalone_mode=False)
    except usage_error as exc:                      # bad option value, missing option, unknown command
        message = " ".join(exc.format_message().split())
        if message:                                 # empty: no arguments, the help was printed
            where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
            say(f"error: {where}{message}")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except InputError as exc:  # pragma: no cover - commands catch their own
        say(f"error: {exc}")
        sys.exit(2)
    code = code if isinstance(code, int) else 0
    if _fast_exit:
        hard_exit(code)
    sys.exit(code)


_fast_exit = False
_kept: list[object] = []


def exit_without_teardown(*keep: object) -> None:
    """Let :func:`main` end the process without freeing every object: called by commands that hold many results
    once their outputs are written (freeing 10,000 results takes about half a second).  ``keep``: the command's
    large objects, held here so that returning from the command does not free them either."""
    global _fast_exit
    _fast_exit = True
    _kept.extend(keep)


def hard_exit(code: int) -> None:
    """Flush the console streams and end the process at once (``os._exit``): every output file is already written
    and synced (atomic writes) and the cache writes still running are waited for, so nothing is lost by skipping
    the interpreter's teardown."""
    import os

    from ..cache import finish_writes
    finish_writes()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
