"""Reports: PDF text and embedded CJK font, DOCX/XLSX cells, print-layout scale bar, offline HTML in Chromium."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from gis_screening.engine.result import validate
from gis_screening.io.projects import load_projects
from gis_screening.layerset import load_layerset
from gis_screening.reports import export, render_map
from gis_screening.screening import load_rules, screen

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def screened():
    ls = load_layerset(SAMPLE / "layerset.yaml")
    projects = [p for p in load_projects(SAMPLE / "projects" / "projects.gpkg") if p.id in ("P2026-002", "P2026-006")]
    projects += load_projects(SAMPLE / "sheets" / "P2026-001.yaml")
    doc = screen(projects, ls, load_rules()).to_json()
    validate(doc)
    return doc, ls, {p.id: p.geometry for p in projects}


@pytest.fixture(scope="module")
def outputs(screened, tmp_path_factory):
    doc, ls, fps = screened
    out = tmp_path_factory.mktemp("reports")
    paths = dict(pdf=out / "r.pdf", docx=out / "r.docx", xlsx=out / "r.xlsx", html=out / "m.html", map=out / "m.pdf")
    export(doc, ls, fps, **paths)
    return paths


def test_pdf_text_and_font(outputs, screened):
    reader = PdfReader(outputs["pdf"])
    text = "".join(page.extract_text() for page in reader.pages)
    assert "青山石料加工厂" in text and "不符合" in text and "ZH35019910002" in text.replace(" ", "")
    assert "五、碳达峰准入" in text and "第 1 页" in text
    fonts = set()
    for page in reader.pages:
        for f in (page["/Resources"].get("/Font") or {}).values():
            f = f.get_object()
            desc = f.get("/FontDescriptor")
            if desc is not None and "/FontFile2" in desc.get_object():
                fonts.add(str(f["/BaseFont"]))
    assert any("WenQuanYi" in f or "Hei" in f or "Song" in f for f in fonts), fonts
    if shutil.which("pdffonts"):
        listing = subprocess.run(["pdffonts", str(outputs["pdf"])], capture_output=True, text=True).stdout
        cjk = [line for line in listing.splitlines() if "WenQuanYi" in line]
        assert cjk and all(" yes " in line for line in cjk)


def test_docx_has_headings_and_tables(outputs):
    d = Document(outputs["docx"])
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert "一、项目概况" in heads and any("青山石料加工厂" in h for h in heads)
    cells = [c.text for t in d.tables for row in t.rows for c in row.cells]
    assert "ZH35019910002" in cells and "不符合" in " ".join(cells + [p.text for p in d.paragraphs])
    assert len(d.inline_shapes) == 3  # one map per project


def test_xlsx_summary_and_findings(outputs, screened):
    wb = load_workbook(outputs["xlsx"])
    s, f = wb["汇总"], wb["发现"]
    assert s.freeze_panes == "A2" and s.auto_filter.ref.startswith("A1:")
    rows = {r[0].value: r for r in s.iter_rows(min_row=2)}
    assert rows["P2026-002"][3].value == "不符合" and rows["P2026-006"][3].value == "符合"
    assert f.max_row - 1 == sum(len(r["findings"]) for r in screened[0]["results"])
    # every finding, in order, with its message; headers bold on their fill, text wrapped, verdicts coloured
    assert [(row[0].value, row[8].value) for row in f.iter_rows(min_row=2)] == [
        (r["project"]["id"], x["message"]) for r in screened[0]["results"] for x in r["findings"]]
    assert all(c.font.b and c.fill.fgColor.rgb == "00DCE6F1" for c in s[1]) and f["A1"].font.b
    assert f["I2"].alignment.wrap_text and f["I2"].alignment.vertical == "top" and f.column_dimensions["I"].width == 60
    assert rows["P2026-002"][3].fill.fgColor.rgb == "00FFCDD2" and rows["P2026-006"][3].fill.fgColor.rgb == "00C8E6C9"
    assert rows["P2026-002"][4].fill.fgColor.rgb == "00000000" and rows["P2026-002"][4].alignment.wrap_text
    # printed from Excel or WPS: landscape, every column on the page's width, the header on every page, the grid
    # printed, page N of M at the foot (A4 here; A3 with --paper A3)
    for ws in (s, f):
        setup = (ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.fitToWidth,
                 ws.page_setup.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage, ws.print_title_rows,
                 ws.print_options.gridLines, ws.oddFooter.center.text)
        assert setup == ("landscape", 9, 1, 0, True, "$1:$1", True, "第 &P 页，共 &N 页"), ws.title


def test_the_workbook_prints_on_the_paper_asked_for(screened, tmp_path):
    from gis_screening.reports.xlsx import write_xlsx
    wb = load_workbook(write_xlsx(screened[0], tmp_path / "a3.xlsx", paper="A3"))
    assert [ws.page_setup.paperSize for ws in wb] == [8, 8]


@pytest.mark.parametrize("scale", [2000, 10000, 50000])
def test_scale_bar_matches_scale(screened, tmp_path, scale):
    doc, ls, fps = screened
    r = {**doc["results"][0], "rule_packs": doc["rule_packs"]}
    info = render_map(r, ls, fps[r["project"]["id"]], tmp_path / "m.png", scale=scale, dpi=60)
    assert info.scale == scale
    # ground width of the frame / paper width of the frame = scale, and the bar obeys it within 1 %
    ground_w = info.extent[2] - info.extent[0]
    assert ground_w / (info.map_width_mm / 1000) == pytest.approx(scale, rel=0.01)
    assert info.bar_m / (info.bar_paper_mm / 1000) == pytest.approx(scale, rel=0.01)


def test_map_pdf_atlas_is_vector_with_font(outputs, screened):
    reader = PdfReader(outputs["map"])
    assert len(reader.pages) == len(screened[0]["results"])
    text = reader.pages[0].extract_text()
    assert "筛查结论" in text and "比例尺" in text
    assert reader.pages[0].mediabox.width == pytest.approx(595, abs=2)  # A4 portrait, points


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed (./dev setup installs it)")
def test_html_offline_and_escaped(screened, tmp_path):
    doc, ls, fps = screened
    units = ls.first("control_units")
    hit = next(o["feature_id"] for o in doc["results"][0]["overlaps"] if o["layer"] == units.name)
    idx = units.gdf.index[units.gdf["code"] == hit][0]
    old = units.gdf.at[idx, "name"]
    units.gdf.at[idx, "name"] = ("<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED'\">"
                                 "`+(document.title='PWNED')+`${document.title='PWNED'}\\")
    try:
        from gis_screening.reports.html import write_html
        path = write_html(doc, ls, fps, tmp_path / "m.html")
    finally:
        units.gdf.at[idx, "name"] = old
    text = path.read_text(encoding="utf-8")
    import re
    assert not re.search(r"<script[^>]*src=\"https?:", text) and not re.search(r"<link[^>]*href=\"https?:", text)
    assert "\\u0026lt;script\\u0026gt;" in text and "<script>document" not in text   # escaped as HTML, then as JSON
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}",
             "--proxy-server=127.0.0.1:9", "--window-size=1000,800", "--virtual-time-budget=3000"]
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert "leaflet-container" in dom
    assert "<title>PWNED" not in dom and '<img src="x"' not in dom  # the attribute text never ran
    n_paths = dom.count("leaflet-interactive")
    n_features = len({(o["layer"], o["feature_id"]) for r in doc["results"] for o in r["overlaps"]})
    assert n_paths >= n_features + len(doc["results"])  # every feature and footprint drawn: no script error
    assert "<title>" in dom and "生态环境分区管控筛查图" in dom.split("</title>")[0]
    assert 'id="legend"' in dom and dom.count('class="lg-sw"') >= 3 and "项目范围" in dom.split('id="legend"')[1]
    shot = tmp_path / "shot.png"
    subprocess.run([_chromium(), *flags, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120)
    from PIL import Image
    px = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    red = (np.abs(px - [0xd5, 0x00, 0x00]).max(axis=2) < 40).sum()       # the footprints' outline colour
    assert red > 50, f"no footprint outline drawn ({red} red pixels)"


RULE_ID = __import__("re").compile(r"\b(national|fujian|unit|carbon)\.[a-z_]+")


def test_officials_see_titles_relative_paths_and_page_x_of_y(outputs, screened):
    """What an official reads: no rule ids, no absolute paths, every page numbered 第 X 页 共 Y 页, dates in Chinese."""
    import subprocess
    text = subprocess.run(["pdftotext", "-layout", str(outputs["pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")[:-1]
    assert not RULE_ID.search(text), RULE_ID.search(text)
    assert "/work/" not in text and "/tmp/" not in text and str(ROOT) not in text
    for i, page in enumerate(pages, start=1):
        assert f"第 {i} 页 共 {len(pages)} 页" in page
    assert "年" in text and "月" in text and "生成时间：" in text
    assert "决定性规则：生态保护红线内禁止开发性、生产性建设活动" in text.replace("\n", "")
    map_text = subprocess.run(["pdftotext", str(outputs["map"]), "-"], capture_output=True, text=True).stdout
    assert not RULE_ID.search(map_text)
    import openpyxl
    wb = openpyxl.load_workbook(outputs["xlsx"])
    cells = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    assert not RULE_ID.search(cells)
    html_text = outputs["html"].read_text(encoding="utf-8")      # popups included (they live in the scripts)
    assert "生态保护红线内禁止开发性、生产性建设活动" in html_text and not RULE_ID.search(html_text)


def test_officials_see_no_internal_keys_paths_or_pack_ids(outputs):
    """No layer-role ids (water_sources), sheet keys (captive_coal_power), pack ids (unit-admission) or reference
    file paths in the report: the data table names layer kinds, the 准入要求 table the level (国家/省级/管控单元), the
    rule packs by title, the emission factors by their standards and the grid factor's document."""
    import subprocess
    text = subprocess.run(["pdftotext", str(outputs["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    flat = text.replace("\n", "")
    assert not re.search(r"\b[a-z]+_[a-z_0-9]+\b", text), re.search(r"\b[a-z]+_[a-z_0-9]+\b", text)
    assert not re.search(r"rules/|contracts/|unit-admission|fujian-carbon|\(as reported\)", flat)
    assert "饮用水水源保护区" in text and "《福建省两高项目碳达峰准入（减污降碳协同）》（2022.1 版）" in flat
    assert "外购电力：0.4092 tCO2/MWh（福建省电力平均二氧化碳排放因子，2022 年" in flat and "转引，未核对原文" in flat


def test_cover_signoff_toc_and_word_fields(screened, tmp_path):
    """Cover (编制单位, 日期, 报告编号, 编制/校核/审核) from the profile, a TOC for batches, DOCX footer page fields and
    Word heading styles, heading and map kept together."""
    import subprocess
    import zipfile

    from gis_screening.reports.profile import load_profile
    doc, ls, fps = screened
    prof = tmp_path / "profile.yaml"
    prof.write_text("编制单位: 示范市生态环境局技术评估中心\n编制人: 张三\n校核人: 李四\n审核人: 王五\n报告编号前缀: FZ\n",
                    encoding="utf-8")
    profile = load_profile(prof)
    pdf, docx_path, atlas = tmp_path / "r.pdf", tmp_path / "r.docx", tmp_path / "m.pdf"
    export(doc, ls, fps, pdf=pdf, docx=docx_path, map=atlas, profile=profile)
    sheets = subprocess.run(["pdftotext", str(atlas), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    for k, sheet in enumerate(sheets[:len(doc["results"])], start=1):      # 图号 and 制图单位 on every map sheet
        assert f"-图{k:02d}" in sheet and "图号：FZ-" in sheet and "制图单位：示范市生态环境局技术评估中心" in sheet
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    cover = pages[0]
    for text in ("筛查报告", "示范市生态环境局技术评估中心", "报告编号", "FZ-", "编制：", "张三", "校核：", "李四",
                 "审核：", "王五", "年"):
        assert text in cover, text
    assert "目录" in pages[1] and "1. " in pages[1]                      # a batch has a table of contents
    from pypdf import PdfReader
    reader = PdfReader(pdf)
    figure_pages = [i for i, p in enumerate(pages) if "附图 筛查叠加图" in p]
    assert len(figure_pages) == len(doc["results"])
    assert all(len(reader.pages[i].images) >= 1 for i in figure_pages)     # the map is on the heading's page
    with zipfile.ZipFile(docx_path) as z:
        footer = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("word/footer"))
        body = z.read("word/document.xml").decode("utf-8")
    assert "PAGE" in footer and "NUMPAGES" in footer and "第 " in footer
    assert 'TOC \\o "1-2"' in body
    from docx import Document
    d = Document(docx_path)
    styles = {p.style.name for p in d.paragraphs if p.text.endswith("筛查报告") or p.text.startswith("一、")}
    assert {"Heading 1", "Heading 2"} <= styles
    heads = [p for p in d.paragraphs if p.text == "附图 筛查叠加图"]
    assert heads and all(h.paragraph_format.keep_with_next for h in heads)


def test_large_footprint_lists_the_first_vertices_and_writes_the_rest_beside_the_report(screened, tmp_path):
    """Bounded reports: a footprint with many vertices lists the first MAX_REPORT_VERTICES 界址点 and writes them
    all to a CSV beside the report (a 10⁶-vertex footprint used to run out of memory)."""
    import csv
    import subprocess

    import numpy as np
    import shapely as sh

    from gis_screening.reports.content import MAX_REPORT_VERTICES
    doc, ls, fps = screened
    t = np.linspace(0, 2 * np.pi, 1000, endpoint=False)
    big = sh.Polygon(np.column_stack([119.02 + 0.01 * np.cos(t), 26.10 + 0.01 * np.sin(t)]))
    pid = doc["results"][0]["project"]["id"]
    one = {**doc, "results": doc["results"][:1]}
    pdf = tmp_path / "r.pdf"
    written = export(one, ls, {pid: big}, pdf=pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert f"共 1,001 个坐标点，此处列出前 {MAX_REPORT_VERTICES} 个" in text and "r-界址点.csv" in text
    appendix = tmp_path / "r-界址点.csv"
    assert appendix in written
    with open(appendix, encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["项目编号", "点号", "圈号"] and len(rows) == 1 + 1001 and rows[1][0] == pid


def test_html_point_project_is_drawn_offline(tmp_path):
    """A point footprint (地热井) is a circle marker, not Leaflet's marker image (which cannot load offline)."""
    import subprocess
    ls = load_layerset(SAMPLE / "layerset.yaml")
    p = [x for x in load_projects(SAMPLE / "projects" / "projects.gpkg") if x.id == "P2026-010"]
    doc = screen(p, ls, load_rules()).to_json()
    from gis_screening.reports.html import write_html
    path = write_html(doc, ls, {p[0].id: p[0].geometry}, tmp_path / "pt.html")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}",
             "--proxy-server=127.0.0.1:9", "--window-size=800,600", "--virtual-time-budget=3000"]
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    import re
    assert not re.search(r"<img[^>]*leaflet-marker-icon", dom)          # no marker image element
    assert dom.count("leaflet-interactive") >= 1


def test_large_atlas_drawn_by_two_processes_keeps_order_and_report_maps(tmp_path):
    """An atlas of ≥ PARALLEL_MIN maps is drawn half here, half by a helper process: one page per project in
    order with its own 图号, and every project's figure in the report has its map."""
    import subprocess

    from gis_screening.reports import PARALLEL_MIN
    ls = load_layerset(SAMPLE / "layerset.yaml")
    projects = load_projects(SAMPLE / "projects" / "projects.gpkg")[:PARALLEL_MIN + 2]
    doc = screen(projects, ls, load_rules()).to_json()
    fps = {p.id: p.geometry for p in projects}
    export(doc, ls, fps, pdf=tmp_path / "r.pdf", map=tmp_path / "m.pdf")
    sheets = subprocess.run(["pdftotext", str(tmp_path / "m.pdf"), "-"], capture_output=True, text=True,
                            check=True).stdout.split("\f")[:len(projects)]
    assert len(PdfReader(tmp_path / "m.pdf").pages) == len(projects)
    for k, (sheet, p) in enumerate(zip(sheets, projects), start=1):
        assert f"项目编号 {p.id}" in sheet and f"-图{k:02d}" in sheet, k
    pages = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    reader = PdfReader(tmp_path / "r.pdf")
    figure_pages = [i for i, page in enumerate(pages) if "附图 筛查叠加图" in page]
    assert len(figure_pages) == len(projects) and all(len(reader.pages[i].images) == 1 for i in figure_pages)


@pytest.mark.parametrize("helper", ["draws", "fails"])
def test_a_large_reports_maps_drawn_by_two_processes_are_the_ones_drawn_by_one(screened, tmp_path, monkeypatch,
                                                                                 helper):
    """A report (and per-project reports) of ≥ REPORT_PARALLEL_MIN projects has the maps of its second half drawn
    by a helper process: the reports' images are those drawn in one process, byte for byte and in order (each
    per-project map with its own report's 图号).  A helper that fails (here: exits at once) costs only time: its
    maps are drawn here."""
    import hashlib
    import sys

    import gis_screening.reports as reports
    doc, ls, fps = screened
    n = len(doc["results"])
    ids = [r["project"]["id"] for r in doc["results"]]
    export(doc, ls, fps, pdf=tmp_path / "one.pdf", per_project=tmp_path / "one")    # 25 projects: one process
    monkeypatch.setattr(reports, "REPORT_PARALLEL_MIN", 2)
    started = []
    real = reports._start_helper

    def start(args, ks, tmp, pdf_path, each=False):
        started.append((ks, pdf_path, each))
        if helper == "fails":
            return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
        return real(args, ks, tmp, pdf_path, each)
    monkeypatch.setattr(reports, "_start_helper", start)
    export(doc, ls, fps, pdf=tmp_path / "two.pdf", per_project=tmp_path / "two")
    assert started == [(range((n + 1) // 2, n), None, False), (range((n + 1) // 2, n), None, True)]

    def images(path):
        return [hashlib.sha256(im.data).hexdigest() for page in PdfReader(path).pages for im in page.images]
    one = images(tmp_path / "one.pdf")
    assert len(one) == n and images(tmp_path / "two.pdf") == one
    each = [images(tmp_path / "one" / f"{i} 筛查报告.pdf") for i in ids]
    assert all(len(x) == 1 for x in each) and [images(tmp_path / "two" / f"{i} 筛查报告.pdf") for i in ids] == each
    assert each[0] != one[0]                    # the per-project map carries its own report's 图号


@pytest.mark.parametrize("what", ["report", "atlas"])
def test_a_cancel_while_the_helper_draws_stops_at_once_and_ends_the_helper(screened, tmp_path, monkeypatch, what):
    """Cancel (the app's export) while the helper process draws its half: the export stops within moments, not when
    the helper is done; the helper is ended and nothing is written."""
    import sys
    import time

    import gis_screening.reports as reports
    from gis_screening.errors import Cancelled
    doc, ls, fps = screened
    doc = {**doc, "results": doc["results"][:4]}
    monkeypatch.setattr(reports, "REPORT_PARALLEL_MIN", 2)
    monkeypatch.setattr(reports, "PARALLEL_MIN", 2)
    helpers = []

    def start(*_args, **_kw):       # a helper that would take ten minutes
        helpers.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]))
        return helpers[-1]
    monkeypatch.setattr(reports, "_start_helper", start)
    asked = []

    def cancel():                   # after this process has drawn its own two maps
        asked.append(1)
        return len(asked) > 2
    out = {"pdf": tmp_path / "r.pdf"} if what == "report" else {"map": tmp_path / "m.pdf"}
    t = time.monotonic()
    with pytest.raises(Cancelled):
        export(doc, ls, fps, cancel=cancel, **out)
    assert time.monotonic() - t < 120 and len(helpers) == 1 and helpers[0].poll() is not None
    assert not any(p.exists() for p in out.values())


def test_per_project_reports_each_with_own_number_and_only_its_project(screened, tmp_path):
    """`--per-project DIR`: one PDF and one DOCX per project, named by the id, each with its own report number on
    the cover, naming no other project."""
    import subprocess

    from docx import Document
    doc, ls, fps = screened
    export(doc, ls, fps, per_project=tmp_path / "each")
    ids = [r["project"]["id"] for r in doc["results"]]
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == sorted(
        f"{i} 筛查报告.{ext}" for i in ids for ext in ("pdf", "docx"))
    numbers = set()
    for pid in ids:
        text = subprocess.run(["pdftotext", str(tmp_path / "each" / f"{pid} 筛查报告.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        number = text.split("报告编号")[1].split()[0].lstrip("：:")
        numbers.add(number)
        assert pid in text and not any(other in text for other in ids if other != pid)
        body = "\n".join(p.text for p in Document(tmp_path / "each" / f"{pid} 筛查报告.docx").paragraphs)
        assert pid in body and not any(other in body for other in ids if other != pid)
    assert len(numbers) == len(ids)


def test_atlas_helper_job_is_data_only_and_draws_its_pages(screened, tmp_path):
    """The helper's job is JSON + GeoParquet (no pickle); read back it equals what was written, and the helper
    process draws its pages from it."""
    import subprocess
    import sys

    from gis_screening.reports import MapExtras
    from gis_screening.reports.pages import read_job, write_job
    from gis_screening.reports.profile import Profile
    from gis_screening.tiles import TileSource
    doc, ls, fps = screened
    extras = MapExtras(None, ls.layers[0], "name", TileSource("http://127.0.0.1:9/{z}/{x}/{y}.png", "K",
                                                              cache_dir=tmp_path / "tiles"))
    args = (doc, ls, fps, "A4", False, 10000, tmp_path, Profile(编制单位="测试单位"), extras)
    job = write_job(tmp_path / "job", args, range(1, 3), tmp_path / "part.pdf")
    assert sorted(p.suffix for p in job.iterdir()) == [".json"] + [".parquet"] * (len(ls.layers) + 1)
    back = read_job(job)
    assert back[0] == doc and back[3:7] == ("A4", False, 10000, tmp_path) and back[7].编制单位 == "测试单位"
    assert all(back[2][k].equals_exact(g, 0) for k, g in fps.items())
    assert [(x.role, x.name, len(x.gdf)) for x in back[1].layers] == [(x.role, x.name, len(x.gdf)) for x in ls.layers]
    assert back[8].labels.name == ls.layers[0].name and back[8].tiles.cache == extras.tiles.cache
    assert back[9] == range(1, 3) and back[10] == tmp_path / "part.pdf" and back[11] is False
    res = subprocess.run([sys.executable, "-m", "gis_screening.reports.pages", str(job)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(PdfReader(tmp_path / "part.pdf").pages) == 2 and (tmp_path / "1.jpg").exists()


def test_import_problems_read_in_chinese_in_the_report(tmp_path):
    """An official's report says in Chinese what the import did to a footprint (skipped, repaired, parcels merged,
    建设性质 not read), naming the feature and the field by its Chinese title; the CLI and the JSON keep the
    reader's words."""
    import geopandas as gpd
    from shapely.geometry import Polygon
    src = gpd.read_file(SAMPLE / "projects" / "projects.gpkg").set_index("项目编号").geometry
    c = src["P2026-006"].centroid
    bow = Polygon([(c.x - 1e-3, c.y - 1e-3), (c.x + 1e-3, c.y + 1e-3), (c.x + 1e-3, c.y - 1e-3),
                   (c.x - 1e-3, c.y + 1e-3)])
    rows = [{"项目编号": "A", "建设性质": "迁扩", "geometry": src["P2026-006"]},
            {"项目编号": "B", "geometry": bow},
            {"项目编号": "C", "geometry": None},
            {"项目编号": "D", "geometry": src["P2026-005"]}, {"项目编号": "D", "geometry": src["P2026-004"]}]
    gpd.GeoDataFrame(rows, crs=4490).to_file(tmp_path / "p.gpkg")
    projects = load_projects(tmp_path / "p.gpkg")
    ls = load_layerset(SAMPLE / "layerset.yaml")
    doc = screen(projects, ls, load_rules()).to_json()
    english = {r["project"]["id"]: r["project"]["import_problems"] for r in doc["results"]}
    assert any("not recognised" in s for s in english["A"]) and any("make_valid" in s for s in english["B"])
    export(doc, ls, {p.id: p.geometry for p in projects}, docx=tmp_path / "r.docx")
    rows_zh = {}
    for t in Document(str(tmp_path / "r.docx")).tables:
        cells = [[c.text for c in row.cells] for row in t.rows]
        ids = [r[1] for r in cells if r[0] == "项目编号"]
        notes = [r[1] for r in cells if r[0] == "导入问题"]
        if ids and notes:
            rows_zh[ids[0]] = notes[0]
    assert "注意：建设性质“迁扩”无法识别，按未填写处理（字段 建设性质）" in rows_zh["A"]
    assert "错误：该要素没有几何，未筛查（同一文件中的另一要素 C）" in rows_zh["A"]
    assert "注意：几何无效（自相交，位于 " in rows_zh["B"] and "已自动修复" in rows_zh["B"]
    assert "注意：2 个要素的项目编号同为 D，作为同一项目的 2 个地块合并筛查" in rows_zh["D"]
    for text in rows_zh.values():
        assert not re.search(r"[A-Za-z]{4,}", text), text


def test_pictures_in_a_word_report_are_hashed_once_each_and_still_shared(tmp_path):
    """python-docx hashes every picture already in the document for each picture it adds (quadratic: a 400-map
    report spent 17 s there); gis_screening.reports.docx keeps each picture's hash.  A picture added twice is still
    stored once, different pictures each once."""
    import functools
    import hashlib

    from docx.parts.image import ImagePart
    from PIL import Image

    import gis_screening.reports.docx  # noqa: F401 - keeps the hashes
    paths = []
    for k, colour in enumerate(("red", "green", "blue")):
        paths.append(tmp_path / f"{k}.png")
        Image.new("RGB", (8, 8), colour).save(paths[-1])
    d = Document()
    for p in (*paths, paths[0]):
        d.add_picture(str(p))
    parts = list(d.part.package.image_parts)
    assert isinstance(ImagePart.__dict__["sha1"], functools.cached_property) and "sha1" in vars(parts[0])   # kept
    assert len(parts) == 3 and [part.sha1 for part in parts] == [hashlib.sha1(p.read_bytes()).hexdigest()
                                                                 for p in paths]
    d.save(tmp_path / "d.docx")
    assert len(Document(tmp_path / "d.docx").inline_shapes) == 4


def test_a_word_report_holds_its_blocks_in_order_with_pictures_numbered_as_python_docx_numbers_them(tmp_path):
    """write_docx adds blocks through a scratch body (python-docx looked for the body's end among all its children
    for each block, and numbered each picture after the largest id in the whole document: a 400-project report took
    34 s).  The document must be what python-docx's own calls give: the blocks in order before the one section
    properties element, each picture numbered one past the largest id before it, a picture added twice stored once,
    tables as wide as the text block, bold only where asked."""
    from docx.shared import Cm
    from PIL import Image

    from gis_screening.reports.content import Block, Table
    from gis_screening.reports.docx import write_docx
    pictures = []
    for k, colour in enumerate(("red", "blue")):
        pictures.append(str(tmp_path / f"{k}.png"))
        Image.new("RGB", (40, 30), colour).save(pictures[-1])
    blocks = [Block("h1", "一、汇总"), Block("p", "正文", data={"bold": True}), Block("p", "普通"),
              Block("table", table=Table(["项目编号", "结论"], [["P1", "不符合"], ["P2", "符合"]])),
              Block("figure", "附图 1", data={"image": pictures[0]}), Block("pagebreak"),
              Block("verdict", "不符合", data={"verdict": "non_compliant"}),
              Block("figure", "附图 2", data={"image": pictures[1]}), Block("image", pictures[0])]
    d = Document(write_docx(blocks, tmp_path / "r.docx"))
    body = d.element.body
    tags = [el.tag.rsplit("}", 1)[1] for el in body.iterchildren()]
    assert tags == ["p"] * 3 + ["tbl"] + ["p"] * 8 + ["sectPr"]
    texts = [p.text for p in d.paragraphs]
    assert texts == ["一、汇总", "正文", "普通", "", "附图 1", "", "", "不符合", "附图 2", "", ""]
    assert [p.style.name for p in d.paragraphs][:3] == ["Heading 1", "Normal", "Normal"]
    assert [[r.bold for r in p.runs] for p in d.paragraphs[:3]] == [[True], [True], [None]]
    assert "w:br" in body.xml and 'w:type="page"' in body.xml
    table = d.tables[0]
    assert [[c.text for c in row.cells] for row in table.rows] == [["项目编号", "结论"], ["P1", "不符合"], ["P2", "符合"]]
    assert [r.bold for r in table.rows[0].cells[0].paragraphs[0].runs] == [True]
    assert [r.bold for r in table.rows[1].cells[0].paragraphs[0].runs] == [None]
    assert abs(sum(col.width for col in table.columns) - Cm(17)) < Cm(0.01)   # A4 less its margins (add_table)
    shapes = d.inline_shapes
    assert [s._inline.docPr.id for s in shapes] == [1, 2, 3] and all(s.width == Cm(17) for s in shapes)
    assert len(list(d.part.package.image_parts)) == 2                # the first picture, added twice, stored once
    rel_ids = [s._inline.graphic.graphicData.pic.blipFill.blip.embed for s in shapes]
    assert rel_ids[0] == rel_ids[2] != rel_ids[1]


def test_an_overlong_name_is_cut_in_the_workbook_and_whole_in_the_word_report(screened, tmp_path):
    """Excel opens a cell of at most 32,767 characters (a longer one makes it "repair" the workbook): the summary
    cuts such a text and says so with “…”; the Word report keeps it whole."""
    import copy

    from gis_screening.reports.xlsx import write_xlsx
    doc, ls, fps = screened
    doc = copy.deepcopy(doc)
    doc["results"][0]["project"]["name"] = "名" * 40_000
    wb = load_workbook(write_xlsx(doc, tmp_path / "s.xlsx"))
    name = wb["汇总"]["B2"].value
    assert len(name) == 32_767 and name == "名" * 32_766 + "…"
    export(doc, ls, fps, docx=tmp_path / "r.docx")
    assert any(p.text.startswith("名" * 40_000) for p in Document(tmp_path / "r.docx").paragraphs)


def test_per_project_reports_of_ids_that_make_the_same_file_name_are_all_kept(screened, tmp_path):
    """Ids that differ only in characters a file name cannot hold (A/1, A:1) or in case (a/1: the same file on
    Windows) made one per-project report overwrite the other; each project keeps its own (`` (2)``, `` (3)``)."""
    import copy
    import subprocess
    doc, ls, fps = screened
    doc = copy.deepcopy(doc)
    ids = ["A/1", "A:1", "a/1"]
    for r, new in zip(doc["results"], ids):
        fps = {**fps, new: fps[r["project"]["id"]]}
        r["project"]["id"] = new
    export(doc, ls, fps, per_project=tmp_path / "each")
    stems = ["A_1 筛查报告", "A_1 筛查报告 (2)", "a_1 筛查报告 (3)"]
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == sorted(f"{s}.{e}" for s in stems for e in ("pdf", "docx"))
    for pid, stem in zip(ids, stems):
        text = subprocess.run(["pdftotext", str(tmp_path / "each" / f"{stem}.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert pid in text and not any(other in text for other in ids if other != pid)
