"""Builds hostile inputs across every CLI entry point, by class (output paths, non-regular inputs, structured
text, values, text that reaches renderers).  Each case is ``(name, argv, workdir)``; every one must exit 2 with a
short one-line reason, no traceback, within the time limit, creating nothing outside its output folder."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
TXT = SAMPLE / "projects" / "txt" / "P2026-002.txt"
LAYERSET = SAMPLE / "layerset.yaml"


def _footprint(path: Path, name: str, count: int = 1) -> Path:
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "项目编号": f"H{k}", "项目名称": name, "行业代码": "3399", "建设性质": "新建"},
        "geometry": {"type": "Polygon", "coordinates": [[[119.01 + d, 26.09], [119.012 + d, 26.09], [119.012 + d, 26.092],
                                                         [119.01 + d, 26.092], [119.01 + d, 26.09]]]}}
        for k, d in ((k, k * 0.01) for k in range(count))]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def build(base: Path) -> list[tuple[str, list[str], Path]]:
    """Create the hostile files under ``base`` and return the cases (argv after ``gis-screening``)."""
    cases: list[tuple[str, list[str], Path]] = []
    out = base / "out"
    out.mkdir(parents=True)
    screen = ["screen", "--layerset", str(LAYERSET), "--project", str(TXT)]

    def add(name, argv):
        cases.append((name, [str(a) for a in argv], out))

    # ---- output paths ----------------------------------------------------------------------------------
    (out / "a_dir").mkdir()
    (out / "a_file").write_text("x")
    fifo = out / "fifo"
    os.mkfifo(fifo)
    for flag in ("--json", "--jsonl", "--gpkg", "--pdf", "--docx", "--xlsx", "--html", "--map"):
        suffix = {"--json": ".json", "--jsonl": ".jsonl", "--gpkg": ".gpkg", "--pdf": ".pdf", "--docx": ".docx",
                  "--xlsx": ".xlsx", "--html": ".html", "--map": ".pdf"}[flag]
        add(f"output {flag} is a folder", [*screen, flag, out / "a_dir"])
        add(f"output {flag} parent is a file", [*screen, flag, out / "a_file" / f"r{suffix}"])
    add("output is a FIFO", [*screen, "--json", fifo])
    add("output is /dev/full", [*screen, "--json", "/dev/full"])
    add("output is /dev/null", [*screen, "--json", "/dev/null"])
    add("--cache-dir is a file", [*screen, "--json", out / "r.json", "--cache-dir", out / "a_file"])
    add("--cache-dir under a file", [*screen, "--json", out / "r.json", "--cache-dir", out / "a_file" / "c"])
    add("batch --cache-dir is a file", ["batch", "--layerset", LAYERSET, "--projects", TXT, "--out", out / "run",
                                        "--cache-dir", out / "a_file"])
    add("output under /proc", [*screen, "--json", "/proc/version"])
    add("convert output is a folder", ["convert", TXT, out / "a_dir"])
    add("convert output FIFO", ["convert", TXT, fifo])
    add("convert output parent is a file", ["convert", TXT, out / "a_file" / "x.gpkg"])
    add("convert unknown output suffix", ["convert", TXT, out / "x.dwg"])
    add("zones diff json to folder", ["zones", "diff", SAMPLE / "zones" / "STBHHX.gpkg", SAMPLE / "zones" / "STBHHX.gpkg",
                                      "--json", out / "a_dir"])
    # ---- inputs that are not regular files ---------------------------------------------------------------
    for label, path in (("folder", out / "a_dir"), ("FIFO", fifo), ("/dev/zero", "/dev/zero"),
                        ("missing", out / "missing.yaml"), ("empty", _empty(out / "empty.yaml"))):
        add(f"--layerset is {label}", ["screen", "--layerset", path, "--project", TXT, "--json", out / "r.json"])
        add(f"--project is {label}", ["screen", "--layerset", LAYERSET, "--project", path, "--json", out / "r.json"])
        add(f"rules check {label}", ["rules", "check", path])
        add(f"layers check {label}", ["layers", "check", path])
        add(f"convert input {label}", ["convert", path, out / "c.gpkg"])
    # ---- structured text --------------------------------------------------------------------------------
    laughs = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(9))
    deep_yaml = "x: " + "[" * 5000 + "]" * 5000 + "\n"
    deep_json = "[" * 100000 + "]" * 100000
    texts = {"laughs.yaml": laughs, "deep.yaml": deep_yaml, "deep.json": deep_json,
             "scalar.yaml": "just a string\n", "list.yaml": "- 1\n- 2\n",
             "gbk.yaml": None, "dates.yaml": "id: 2024-01-01\nname: 2024-13-45\nindustry_code: 3011\nfootprint: x.txt\n"}
    for name, text in texts.items():
        p = out / name
        if text is None:
            p.write_bytes("name: 示范\nlayers: []\n".encode("gbk"))
        else:
            p.write_text(text, encoding="utf-8")
        add(f"manifest {name}", ["screen", "--layerset", p, "--project", TXT, "--json", out / "r.json"])
        add(f"sheet {name}", ["screen", "--layerset", LAYERSET, "--project", p, "--json", out / "r.json"])
        add(f"pack {name}", ["rules", "check", p])
    packs = out / "packs"
    shutil.copytree(ROOT / "rules", packs)
    carbon = packs / "fujian" / "carbon.yaml"
    carbon.write_text(carbon.read_text(encoding="utf-8").replace("level: conditional", "level: conditonal", 1),
                      encoding="utf-8")
    add("carbon pack misspelled level (rules check)", ["rules", "check", packs])
    add("carbon pack misspelled level (screen)", [*screen, "--rules", packs, "--json", out / "r.json"])
    bad_date = out / "bad_date_pack.yaml"
    bad_date.write_text("id: x\ntitle: x\nversion: '1'\nlevel: city\neffective: 2024-02-30\nrules: []\n", encoding="utf-8")
    add("pack with an invalid date", ["rules", "check", bad_date])
    add("bad --as-of", [*screen, "--json", out / "r.json", "--as-of", "2024-02-30"])
    # ---- values -----------------------------------------------------------------------------------------
    for name, energy in (("inf", ".inf"), ("1e400", "1e400"), ("negative", "-5"), ("text", "很多")):
        p = out / f"sheet_{name}.yaml"
        p.write_text(f"id: V1\nindustry_code: '3011'\nconstruction_type: 新建\nfootprint: {TXT}\n"
                     f"energy:\n  raw_coal_t: {energy}\n", encoding="utf-8")
        add(f"sheet energy {name}", ["screen", "--layerset", LAYERSET, "--project", p, "--json", out / "r.json"])
    for radius in ("inf", "nan", "-1"):
        add(f"--search-radius {radius}", [*screen, "--json", out / "r.json", "--search-radius", radius])
    for scale in ("0", "-5"):
        add(f"--scale {scale}", [*screen, "--map", out / "m.pdf", "--scale", scale])
    add("--paper A5", [*screen, "--map", out / "m.pdf", "--paper", "A5"])
    add("no output at all", screen)
    nogeom = out / "nogeom.geojson"
    nogeom.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"项目编号": "N1"}, "geometry": None}]}), encoding="utf-8")
    add("footprint without geometry", ["screen", "--layerset", LAYERSET, "--project", nogeom, "--json", out / "r.json"])
    # ---- footprints given in a sheet table's cell (GeoJSON or WKT text, or no file name at all) -------------
    from openpyxl import Workbook
    cells = {"deep GeoJSON": '{"a":' * 50000 + "1" + "}" * 50000, "cut GeoJSON": '{"type": "Polygon", "coordinates": [',
             "empty GeoJSON": "{}", "GeoJSON of no geometry": '{"type": "Feature", "geometry": null}',
             "cut WKT": "POLYGON ((1 2, 3 4)", "WKT 1e400": "POINT (1e400 1)", "WKT in GK metres":
             "POLYGON ((40430000 2885000, 40430200 2885000, 40430200 2885200, 40430000 2885000))",
             "a name too long for a file": "地块" * 200}
    for label, cell in cells.items():
        table = out / f"inline_{len(cases)}.xlsx"
        wb = Workbook()
        wb.active.append(["项目编号", "用地范围"])
        wb.active.append(["X1", cell])
        wb.save(table)
        add(f"footprint cell: {label}", ["screen", "--layerset", LAYERSET, "--project", table, "--json", out / "r.json"])
    # ---- containers that expand without end --------------------------------------------------------------
    bomb = _workbook_bomb(out / "bomb.xlsx")
    add("XLSX shared-strings bomb as footprint table", ["screen", "--layerset", LAYERSET, "--project", bomb,
                                                        "--json", out / "r.json"])
    add("XLSX shared-strings bomb as 准入清单", ["screen", "--layerset", _manifest_with_admission(out, bomb),
                                                "--project", TXT, "--json", out / "r.json"])
    view = _endless_view(out / "view.gpkg")
    add("GeoPackage layer that is an endless view (footprint)", ["screen", "--layerset", LAYERSET, "--project", view,
                                                                 "--json", out / "r.json"])
    add("GeoPackage endless view (convert)", ["convert", view, out / "v.geojson"])
    return cases


def _workbook_bomb(path: Path, mib: int = 300) -> Path:
    """A real XLSX whose shared-strings part unpacks to ``mib`` MiB of one repeated string (a few hundred KiB)."""
    import zipfile

    from openpyxl import Workbook
    wb = Workbook()
    wb.active["A1"], wb.active["B1"] = "X", "Y"
    wb.active["A2"] = "bomb"
    plain = path.with_name("plain.xlsx")
    wb.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                dst.writestr(info, src.read(info))
        with dst.open("xl/sharedStrings.xml", "w") as fh:
            fh.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                     b"<si><t>")
            block = b"A" * (1 << 20)
            for _ in range(mib):
                fh.write(block)
            fh.write(b"</t></si></sst>")
    return path


def _manifest_with_admission(out: Path, table: Path) -> Path:
    p = out / "with_admission.yaml"
    p.write_text(f"name: x\nlayers:\n- role: control_units\n  source: {SAMPLE / 'zones' / '环境管控单元.shp'}\n"
                 f"admission_lists:\n- source: {table}\n", encoding="utf-8")
    return p


def _endless_view(path: Path) -> Path:
    """A GeoPackage whose only feature layer is a recursive view that never ends."""
    import sqlite3
    shutil.copy(SAMPLE / "zones" / "STBHHX.gpkg", path)
    with sqlite3.connect(path) as conn:
        for (table,) in conn.execute("SELECT table_name FROM gpkg_contents").fetchall():
            conn.execute("DELETE FROM gpkg_contents WHERE table_name=?", (table,))
            conn.execute("DELETE FROM gpkg_geometry_columns WHERE table_name=?", (table,))
        conn.execute("CREATE VIEW endless AS WITH RECURSIVE c(fid) AS (SELECT 1 UNION ALL SELECT fid + 1 FROM c) "
                     "SELECT fid, NULL AS geom FROM c")
        conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                     "VALUES ('endless', 'features', 'endless', 4490)")
        conn.execute("INSERT INTO gpkg_geometry_columns VALUES ('endless', 'geom', 'GEOMETRY', 4490, 0, 0)")
    return path


def _empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def renderer_cases(base: Path) -> list[tuple[str, list[str], Path]]:
    """Text that reaches renderers must be escaped and wrapped: these must *succeed* (exit 0)."""
    out = base / "render"
    out.mkdir(parents=True)
    cases = []
    for label, name, count in (("mathtext", "项目$\\frac{a}{b}$与$x^2$", 1), ("control chars", "项目\x00\x07\x1b[31m红", 1),
                               ("control chars, no NUL (which ends the text read)", "项目\x07\x1b[31m红\x0b行", 1),
                               ("2000 chars", "很长的项目名称" * 300, 1), ("2000 chars, batch", "很长的项目名称" * 300, 2),
                               ("markup", "<b>项目</b>&amp;{x}%s\\n", 1)):
        fp = _footprint(out / f"{len(cases)}.geojson", name, count)
        cases.append((f"renderer: {label}", ["screen", "--layerset", str(LAYERSET), "--project", str(fp),
                                             "--pdf", str(out / f"{len(cases)}.pdf"), "--map", str(out / f"m{len(cases)}.pdf"),
                                             "--docx", str(out / f"{len(cases)}.docx"), "--html", str(out / f"{len(cases)}.html"),
                                             "--xlsx", str(out / f"{len(cases)}.xlsx")],
                      out))
    return cases
