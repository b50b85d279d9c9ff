"""Reports and maps from a screening result: PDF, DOCX, XLSX, offline HTML, and the print layout."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import shapely

from .maplayout import MapExtras, MapInfo, build_figure, render_map  # noqa: F401

#: the maps inside reports: JPEG at 150 dpi passes into the PDF as is (no re-encoding) and keeps the DOCX small
REPORT_JPEG = {"quality": 90}


def sheet_result(doc: dict, result: dict, k: int = 0, profile=None) -> dict:
    """One project's result block as the map sheet reads it: rule packs, 图号 (report number + sheet number) and
    制图单位 (the profile's 编制单位)."""
    from .profile import load_profile, report_number
    profile = profile or load_profile()
    return {**result, "rule_packs": doc.get("rule_packs", []),
            "map_number": f"{report_number(profile, doc)}-图{k + 1:02d}", "map_unit": profile.编制单位}


def _step(progress, cancel, done: int, total: int) -> None:
    from ..errors import Cancelled
    if cancel is not None and cancel():
        raise Cancelled()
    if progress is not None:
        progress(done, total)


#: PDF atlases of at least this many maps are drawn by two processes (this one and a spawned helper), then joined
PARALLEL_MIN = 6
#: Reports of at least this many projects have their maps drawn by two processes (below it, starting the helper
#: costs more than it saves: ~0.16 s a map against ~2 s for the helper to start on the province layers).
REPORT_PARALLEL_MIN = 40


def render_atlas(doc: dict, layerset, footprints: dict, out: str | Path, *, paper="A4", landscape=False,
                 scale=None, progress=None, cancel=None, png_dir: Path | None = None, profile=None,
                 extras: MapExtras | None = None) -> Path:
    """The screening map of every project: one page each in a PDF (vector), or one PNG/SVG/GeoTIFF (first
    project).  ``png_dir``: also save each page as ``{index}.jpg`` (150 dpi) there, from the same figure (the
    report's maps).  With two or more cores, the second half of a large atlas is drawn by a helper process."""
    from ..atomic import atomic_path
    from .profile import load_profile
    out = Path(out)
    profile = profile or load_profile()
    if out.suffix.lower() != ".pdf" or len(doc["results"]) == 1:
        r = doc["results"][0]
        render_map(sheet_result(doc, r, 0, profile), layerset, footprints[r["project"]["id"]], out, paper=paper,
                   landscape=landscape, scale=scale, extras=extras)
        return out
    n = len(doc["results"])
    args = (doc, layerset, footprints, paper, landscape, scale, png_dir, profile, extras)
    with tempfile.TemporaryDirectory(prefix="gis-screening-atlas-") as tmp, atomic_path(out) as target, \
            _helper(args, n, PARALLEL_MIN, Path(tmp), Path(tmp) / "part2.pdf") as (helper, split):
        first = Path(tmp) / "part1.pdf" if helper else target
        draw_pages(*args, range(split), first, progress=progress, cancel=cancel, total=n)
        if helper is None:
            return out
        if _helper_done(helper, cancel) != 0 or not (Path(tmp) / "part2.pdf").exists():   # it failed: draw here
            draw_pages(*args, range(split, n), Path(tmp) / "part2.pdf", progress=progress, cancel=cancel, total=n)
        from pypdf import PdfWriter
        writer = PdfWriter()
        for part in ("part1.pdf", "part2.pdf"):
            writer.append(str(Path(tmp) / part))
        with open(target, "wb") as fh:
            writer.write(fh)
    return out


@contextmanager
def _helper(args, n: int, minimum: int, tmp: Path, pdf_path: Path | None, each: bool = False
            ) -> Iterator[tuple[subprocess.Popen | None, int]]:
    """(helper, cut): a helper process (:func:`_start_helper`) drawing the maps from ``cut`` to ``n`` — the second
    half of a job of ``minimum`` maps or more, with two or more cores — or (None, ``n``): this process draws them
    all.  A helper still running on the way out (a cancel, an error) is ended."""
    split = (n + 1) // 2 if n >= minimum and (os.cpu_count() or 1) > 1 else n
    helper = _start_helper(args, range(split, n), tmp, pdf_path, each) if split < n else None
    try:
        yield helper, split if helper is not None else n
    finally:
        if helper is not None and helper.poll() is None:
            helper.kill()
            helper.wait()


def _start_helper(args, ks, tmp: Path, pdf_path: Path | None, each: bool = False):
    """A helper process (``python -m gis_screening.reports.pages``) drawing pages ``ks`` into ``pdf_path`` (None:
    only their report images, into ``args``' ``png_dir``), or None when the job cannot be written (the pages are
    then drawn here).  Its inputs go through a data-only job
    folder in our private temp folder; a fresh interpreter never re-runs the caller's script (as multiprocessing's
    spawn would)."""
    import sys

    from .pages import write_job
    try:
        job = write_job(tmp / "job", args, ks, pdf_path, each)
    except Exception:  # noqa: BLE001 - columns GeoParquet cannot hold, a full disk: one process draws everything
        return None
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)          # no console window from the app on Windows
    return subprocess.Popen([sys.executable, "-m", "gis_screening.reports.pages", str(job)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            creationflags=flags)


def _helper_done(helper, cancel, every_s: float = 0.1) -> int:
    """Wait for the helper process to end (its exit code), asking ``cancel()`` every ``every_s`` seconds: a cancel
    raises :class:`~gis_screening.errors.Cancelled` at once (:func:`_helper` then ends the helper) instead of after
    the helper's half of the maps."""
    while True:
        try:
            return int(helper.wait(timeout=every_s))
        except subprocess.TimeoutExpired:
            _step(None, cancel, 0, 0)


def draw_pages(doc, layerset, footprints, paper, landscape, scale, png_dir, profile, extras, ks, pdf_path, *,
               progress=None, cancel=None, total=None, each: bool = False) -> None:
    """Draw the map sheets of results ``ks`` into the PDF ``pdf_path`` (None: none) and ``{k}.jpg`` into
    ``png_dir`` (the report's maps; None: none).  ``each``: every result's sheet as that of a report of its own
    (``--per-project``: its own report number, 图01)."""
    import contextlib

    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    with matplotlib.rc_context({"pdf.fonttype": 42}), \
            (PdfPages(pdf_path) if pdf_path is not None else contextlib.nullcontext()) as pdf:
        for done, k in enumerate(ks):
            r = doc["results"][k]
            _step(progress, cancel, done, total or len(ks))
            sheet = sheet_result({**doc, "results": [r]}, r, 0, profile) if each else sheet_result(doc, r, k, profile)
            fig, _ = build_figure(sheet, layerset, footprints[r["project"]["id"]], paper=paper, landscape=landscape,
                                  scale=scale, extras=extras)
            if pdf is not None:
                pdf.savefig(fig)
            if png_dir is not None:
                fig.savefig(png_dir / f"{k}.jpg", dpi=150, pil_kwargs=REPORT_JPEG)
            plt.close(fig)


def export(doc: dict, layerset, footprints: dict, *, pdf=None, docx=None, xlsx=None, html=None, map=None,
           paper: str = "A4", landscape: bool = False, scale: int | None = None, progress=None,
           cancel=None, profile=None, extras: MapExtras | None = None, per_project: str | Path | None = None
           ) -> list[Path]:
    """Write the requested outputs for a result document; returns the paths written.

    ``progress(done, total)`` is called per project map; when ``cancel()`` returns True the export stops with
    :class:`~gis_screening.errors.Cancelled` and the file being written is left as it was.  ``profile`` (a
    :class:`~gis_screening.reports.profile.Profile`) fills the cover, sign-off, 图号 and 制图单位; default: the
    user's profile.  ``extras`` adds a basemap and place labels to every map.  ``per_project`` (a folder): also one
    report per project there, ``{id} 筛查报告.pdf`` and ``.docx``, each with its own report number and 图号."""
    from .profile import load_profile
    profile = profile or load_profile()
    written: list[Path] = []
    if xlsx:
        from .xlsx import write_xlsx
        written.append(write_xlsx(doc, xlsx, paper=paper))
    if html:
        from .html import write_html
        written.append(write_html(doc, layerset, footprints, html))
    with tempfile.TemporaryDirectory(prefix="gis-screening-report-") as tmp:
        # the report's maps are A4 portrait: when the atlas is drawn that way too, each figure is drawn once
        shared = bool(map and (pdf or docx) and paper == "A4" and not landscape and Path(map).suffix.lower() == ".pdf"
                      and len(doc["results"]) > 1)
        if map:
            written.append(render_atlas(doc, layerset, footprints, map, paper=paper, landscape=landscape,
                                        scale=scale, progress=progress, cancel=cancel,
                                        png_dir=Path(tmp) if shared else None, profile=profile, extras=extras))
        if pdf or docx:
            written += _report(doc, layerset, footprints, Path(tmp), shared, pdf, docx, scale, progress, cancel,
                               profile, extras)
    if per_project:
        folder = Path(per_project)
        if folder.exists() and not folder.is_dir():
            from ..errors import InputError
            raise InputError("the per-project report folder is a file", file=folder)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="gis-screening-report-") as tmp:
            maps, one = Path(tmp) / "maps", Path(tmp) / "one"
            maps.mkdir()
            one.mkdir()
            _report_maps(doc, layerset, footprints, maps, scale, None, cancel, profile, extras, each=True)
            stems = _unique_stems([f"{file_stem(r['project']['id'])} 筛查报告" for r in doc["results"]])
            for k, (r, stem) in enumerate(zip(doc["results"], stems)):
                os.replace(maps / f"{k}.jpg", one / "0.jpg")          # the map of a one-project report
                written += _report({**doc, "results": [r]}, layerset, footprints, one, True, folder / f"{stem}.pdf",
                                   folder / f"{stem}.docx", scale, None, cancel, profile, extras)
    return written


def file_stem(text: str, limit: int = 80) -> str:
    """``text`` as a file name on Windows and Linux: reserved characters and control characters become ``_``."""
    import re
    stem = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", text).strip(" .") or "_"
    return stem[:limit]


def _unique_stems(stems: list[str]) -> list[str]:
    """``stems`` made distinct as file names are on Windows (regardless of case): a repeat gets `` (2)``, `` (3)``…
    (two project ids that differ only in characters a file name cannot hold, or in case, would otherwise write
    one report over the other)."""
    seen: set[str] = set()
    out = []
    for stem in stems:
        name, n = stem, 1
        while name.casefold() in seen:
            n += 1
            name = f"{stem} ({n})"
        seen.add(name.casefold())
        out.append(name)
    return out


def _report_maps(doc, layerset, footprints, tmp: Path, scale, progress, cancel, profile, extras,
                 each: bool = False) -> None:
    """The report's map of each result ``k`` as ``tmp/{k}.jpg`` (A4 portrait, 150 dpi; ``each``: as in a report of
    its own); with two or more cores, those of the second half of :data:`REPORT_PARALLEL_MIN` projects or more by a
    helper process (the atlas's), whose maps are drawn here if it fails."""
    n = len(doc["results"])
    args = (doc, layerset, footprints, "A4", False, scale, tmp, profile, extras)
    with _helper(args, n, REPORT_PARALLEL_MIN, tmp, None, each) as (helper, split):
        draw_pages(*args, range(split), None, progress=progress, cancel=cancel, total=n, each=each)
        if helper is not None and _helper_done(helper, cancel) != 0:
            draw_pages(*args, range(split, n), None, progress=progress, cancel=cancel, total=n, each=each)


def _report(doc, layerset, footprints, tmp: Path, shared: bool, pdf, docx, scale, progress, cancel, profile, extras):
    """The PDF/DOCX report (maps rendered here unless the atlas already drew them into ``tmp``), plus the full
    界址点 list of large footprints in a CSV beside it."""
    from ..atomic import write_bytes
    from .content import MAX_REPORT_VERTICES, appendix_name, build_report, coordinate_rows
    from .profile import load_profile
    written: list[Path] = []
    if not shared:
        _report_maps(doc, layerset, footprints, tmp, scale, progress, cancel, profile or load_profile(), extras)
    images = {r["project"]["id"]: str(tmp / f"{k}.jpg") for k, r in enumerate(doc["results"])}
    report = pdf or docx
    blocks = build_report({**doc, "_report_path": str(report)}, layerset, footprints, images,
                          profile or load_profile())
    big = [r for r in doc["results"]
           if shapely.get_num_coordinates(footprints[r["project"]["id"]]) > MAX_REPORT_VERTICES]
    if big:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["项目编号", "点号", "圈号", "X（北）", "Y（东）", "坐标系"])
        for r in big:
            label, rows = coordinate_rows(footprints[r["project"]["id"]], r["project"]["metric_crs"])
            w.writerows([r["project"]["id"], *row, label] for row in rows)
        written.append(write_bytes(Path(report).with_name(appendix_name(report)), buf.getvalue().encode("utf-8-sig")))
    if pdf:
        from .pdf import write_pdf
        written.append(write_pdf(blocks, pdf))
    if docx:
        from .docx import write_docx
        written.append(write_docx(blocks, docx))
    return written
