"""Reports and maps from a screening result: PDF, DOCX, XLSX, offline HTML, and the print layout."""
from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import shapely

from .maplayout import MapExtras, MapInfo, build_figure, render_map  # noqa: F401


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


def render_atlas(doc: dict, layerset, footprints: dict, out: str | Path, *, paper="A4", landscape=False,
                 scale=None, progress=None, cancel=None, png_dir: Path | None = None, profile=None,
                 extras: MapExtras | None = None) -> Path:
    """The screening map of every project: one page each in a PDF (vector), or one PNG (first project).
    ``png_dir``: also save each page as ``{index}.png`` (150 dpi) there, from the same figure (the report's maps)."""
    out = Path(out)
    if out.suffix.lower() != ".pdf" or len(doc["results"]) == 1:
        r = doc["results"][0]
        render_map(sheet_result(doc, r, 0, profile), layerset, footprints[r["project"]["id"]], out, paper=paper,
                   landscape=landscape, scale=scale, extras=extras)
        return out
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from ..atomic import atomic_path
    with matplotlib.rc_context({"pdf.fonttype": 42}), atomic_path(out) as tmp, PdfPages(tmp) as pdf:
        for k, r in enumerate(doc["results"]):
            _step(progress, cancel, k, len(doc["results"]))
            fig, _ = build_figure(sheet_result(doc, r, k, profile), layerset, footprints[r["project"]["id"]],
                                  paper=paper, landscape=landscape, scale=scale, extras=extras)
            pdf.savefig(fig)
            if png_dir is not None:
                fig.savefig(png_dir / f"{k}.png", dpi=150)
            plt.close(fig)
    return out


def export(doc: dict, layerset, footprints: dict, *, pdf=None, docx=None, xlsx=None, html=None, map=None,
           paper: str = "A4", landscape: bool = False, scale: int | None = None, progress=None,
           cancel=None, profile=None, extras: MapExtras | None = None) -> list[Path]:
    """Write the requested outputs for a result document; returns the paths written.

    ``progress(done, total)`` is called per project map; when ``cancel()`` returns True the export stops with
    :class:`~gis_screening.errors.Cancelled` and the file being written is left as it was.  ``profile`` (a
    :class:`~gis_screening.reports.profile.Profile`) fills the cover, sign-off, 图号 and 制图单位; default: the
    user's profile.  ``extras`` adds a basemap and place labels to every map."""
    from .profile import load_profile
    profile = profile or load_profile()
    written: list[Path] = []
    if xlsx:
        from .xlsx import write_xlsx
        written.append(write_xlsx(doc, xlsx))
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
    return written


def _report(doc, layerset, footprints, tmp: Path, shared: bool, pdf, docx, scale, progress, cancel, profile, extras):
    """The PDF/DOCX report (maps rendered here unless the atlas already drew them into ``tmp``), plus the full
    界址点 list of large footprints in a CSV beside it."""
    from ..atomic import write_bytes
    from .content import MAX_REPORT_VERTICES, appendix_name, build_report, coordinate_rows
    from .profile import load_profile
    written: list[Path] = []
    images = {}
    for k, r in enumerate(doc["results"]):
        pid = r["project"]["id"]
        img = tmp / f"{k}.png"
        if not shared:
            _step(progress, cancel, k, len(doc["results"]))
            render_map(sheet_result(doc, r, k, profile), layerset, footprints[pid], img, paper="A4", scale=scale,
                       dpi=150, extras=extras)
        images[pid] = str(img)
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
