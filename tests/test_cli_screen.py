"""`gis-screening screen` end to end on the sample data: exit codes, schema-valid JSON, batch and sheets."""
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gis_screening.engine.result import validate

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CLI = [sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(SAMPLE / "layerset.yaml")]


def test_batch_screen_writes_valid_json(tmp_path):
    out = tmp_path / "r.json"
    res = subprocess.run(CLI + ["--project", str(SAMPLE / "projects" / "projects.gpkg"), "--json", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    verdicts = {r["project"]["id"]: r["verdict_label"] for r in doc["results"]}
    assert len(verdicts) == 25
    assert verdicts["P2026-002"] == "不符合" and verdicts["P2026-006"] == "符合"
    assert "P2026-002\t不符合" in res.stdout
    # the process ends without the interpreter's teardown (cli.hard_exit): every table line and the summary
    # still reach the pipes, in order
    lines = res.stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [[r["project"]["id"], r["verdict_label"]] for r in doc["results"]]
    assert res.stderr.startswith("screened 25 project(s)") and str(out) in res.stderr
    units = [o for r in doc["results"] if r["project"]["id"] == "P2026-011" for o in r["overlaps"]
             if o["layer"] == "环境管控单元" and o["overlap_area_m2"] > 0]
    assert len(units) == 2 and sum(o["overlap_ratio"] for o in units) == pytest.approx(1.0, abs=1e-6)


def test_sheet_with_txt_footprint_and_merge(tmp_path):
    out = tmp_path / "r.json"
    res = subprocess.run(CLI + ["--project", str(SAMPLE / "projects" / "projects.gpkg"), "--project",
                                str(SAMPLE / "sheets" / "P2026-001.yaml"), "--json", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "project sheet" in res.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    p1 = next(r for r in doc["results"] if r["project"]["id"] == "P2026-001")
    assert p1["project"]["source"].endswith("P2026-001.yaml")
    assert p1["project"]["area_m2"] == pytest.approx(240_000, rel=1e-4)


@pytest.mark.parametrize("args,needle", [
    (["--project", "missing.gpkg"], "missing.gpkg"),
    (["--project", "{sample}/projects/projects.gpkg", "--as-of", "yesterday"], "--as-of"),
    (["--project", "{sample}/projects/projects.gpkg", "--as-of", "2000-01-01"], "no rule pack is in force on 2000-01-01"),
    (["--project", "{sample}/projects/projects.gpkg", "--as-of", "2000年1月1日"], "no rule pack is in force on 2000-01-01"),
    (["--project", "{sample}/projects/projects.gpkg", "--as-of", "2026/2/30"], "--as-of '2026/2/30' is not a date"),
    (["--project", "{sample}/projects/projects.gpkg", "--rules", "{tmp}/none.yaml"], "none.yaml"),
])
def test_bad_input_exit_2(tmp_path, args, needle):
    args = [a.format(sample=SAMPLE, tmp=tmp_path) for a in args]
    res = subprocess.run(CLI + args + ["--json", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert res.returncode == 2
    assert needle in res.stderr and "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    assert not (tmp_path / "r.json").exists()


def test_as_of_dates_as_typed_in_china():
    """--as-of reads a date as a reviewer types it (Windows' 2026/11/29, 2026年11月29日, full width), the same day."""
    import datetime as dt

    from gis_screening.cli import parse_day
    for text in ("2026-11-29", "2026/11/29", "2026.11.29", "20261129", "2026年11月29日", "２０２６年１１月２９日",
                 " 2026 / 11 / 29 ", "2026-11-29"):
        assert parse_day(text) == dt.date(2026, 11, 29), text
    assert parse_day("2026/1/5") == dt.date(2026, 1, 5) and parse_day(None) is None


def test_a_bad_layer_set_is_said_before_a_bad_project_file(tmp_path):
    """The project files are read while the layers load; when both are bad, the layer set's error is the one said,
    as when they were read one after the other."""
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(tmp_path / "none.yaml"),
                          "--project", str(tmp_path / "missing.gpkg"), "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "none.yaml" in res.stderr and "missing.gpkg" not in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1


def test_warm_runs_equal_the_cold_run(tmp_path):
    """The second and third runs read layers, prepared pieces and records lazily from the caches the first run
    wrote: their whole result documents equal the first one's (apart from the time and the per-process layer ids)."""
    import os
    import re
    env = {**os.environ, "GIS_SCREENING_CACHE": str(tmp_path / "cache")}
    docs = []
    for k in range(3):
        out = tmp_path / f"r{k}.json"
        res = subprocess.run(CLI + ["--project", str(SAMPLE / "projects" / "projects.gpkg"), "--json", str(out)],
                             capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        doc = json.loads(out.read_text(encoding="utf-8"))
        doc.pop("generated_at")
        docs.append(re.sub(r'"L[0-9a-f]+-\d+"', '"L"', json.dumps(doc, ensure_ascii=False)))
    assert len(list((tmp_path / "cache" / "prepared").glob("*.npz"))) >= 7      # every layer, prepared once
    assert len(list((tmp_path / "cache" / "layers").glob("*.arrow"))) >= 6    # every file layer, loaded once
    assert docs[0] == docs[1] == docs[2]
    assert '"overlap_area_m2"' in docs[0] and "不符合" in docs[0]


def test_a_large_batch_screened_on_two_cores_writes_what_one_process_writes(tmp_path):
    """2,250 projects: the first run prepares the layers in one process; the next runs find them prepared and give
    a share of the projects to a forked copy (gis_screening.forked), whose results reach a --json document as the
    JSON the copy sent and a --jsonl file decoded.  The documents are byte for byte the first run's (apart from the
    time and the per-process layer ids), the lines of the --jsonl file are its results, and the summary counts
    them."""
    import os
    import re
    from collections import Counter

    import geopandas as gpd
    import pandas as pd
    base = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    many = pd.concat([base.assign(项目编号=base["项目编号"] + f"-{k}") for k in range(90)], ignore_index=True)
    many.to_file(tmp_path / "many.gpkg", driver="GPKG")
    env = {**os.environ, "GIS_SCREENING_CACHE": str(tmp_path / "cache")}

    def run(*outputs: str) -> tuple[str, str]:
        res = subprocess.run(CLI + ["--project", str(tmp_path / "many.gpkg"), *outputs], capture_output=True,
                             text=True, env=env)
        assert res.returncode == 0, res.stderr
        return res.stdout, res.stderr

    def same_run(path: Path) -> str:          # the document without what differs between processes
        text = path.read_text(encoding="utf-8")
        return re.sub(r'"L[0-9a-f]+-(\d+)"', r'"L-\1"', re.sub(r'"generated_at": "[^"]+"', "", text))
    run("--json", str(tmp_path / "one.json"))
    _, said = run("--json", str(tmp_path / "two.json"))
    run("--json", str(tmp_path / "three.json"), "--jsonl", str(tmp_path / "three.jsonl"))
    one = same_run(tmp_path / "one.json")
    assert same_run(tmp_path / "two.json") == one and same_run(tmp_path / "three.json") == one
    doc = json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))
    validate(doc)
    lines = (tmp_path / "three.jsonl").read_text(encoding="utf-8").splitlines()
    results = [json.loads(line) for line in lines[1:]]
    assert json.loads(re.sub(r'"L[0-9a-f]+-(\d+)"', r'"L-\1"', json.dumps(results, ensure_ascii=False))) == \
        json.loads(re.sub(r'"L[0-9a-f]+-(\d+)"', r'"L-\1"', json.dumps(doc["results"], ensure_ascii=False)))
    counts = Counter(r["verdict_label"] for r in doc["results"])
    first = {r["project"]["id"]: r["verdict"] for r in doc["results"][:25]}          # the 25 with suffix -0
    assert len(doc["results"]) == 2250 and counts["不符合"] > 0 and counts["符合"] > 0
    assert all(r["verdict"] == first[r["project"]["id"].rsplit("-", 1)[0] + "-0"] for r in doc["results"])
    assert said.startswith("screened 2250 project(s): " + "，".join(
        f"{k} {counts[k]}" for k in ("不符合", "需人工核实", "有条件符合", "符合")) + ";"), said


def test_the_layers_read_are_cached_even_when_a_project_file_is_bad(tmp_path):
    """The layer-cache entries the CLI leaves to the screening are still written when it stops at a bad project
    file before screening: the corrected run reads the layers from them."""
    import os
    env = {**os.environ, "GIS_SCREENING_CACHE": str(tmp_path / "cache")}
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n", encoding="utf-8")
    res = subprocess.run(CLI + ["--project", str(bad), "--json", str(tmp_path / "r.json")], capture_output=True,
                         text=True, env=env)
    assert res.returncode == 2 and "bad.csv" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert len(list((tmp_path / "cache" / "layers").glob("*.arrow"))) >= 6
    assert len(list((tmp_path / "cache" / "layers").glob("*.json"))) >= 6


def test_cancel_returns_only_the_projects_screened():
    """A cancelled screening holds exactly the projects it overlaid (with the same verdicts as a full run), is
    marked partial in its document, and never gives a verdict for a project it did not screen."""
    import dataclasses

    import shapely

    from gis_screening.io.projects import load_projects
    from gis_screening.layerset import load_layerset
    from gis_screening.screening import CHUNK, load_rules, screen
    base = load_projects(SAMPLE / "projects" / "projects.gpkg")
    # enough projects for three steps, across two GK zones (copies moved 0.8° west fall in zone 39)
    projects = [dataclasses.replace(p, id=f"{p.id}-{k}", geometry=shapely.transform(p.geometry, lambda c, k=k: c - [0.8 * (k % 2), 0]))
                for k in range(2 * CHUNK // len(base) + 2) for p in base]
    ls, rules = load_layerset(SAMPLE / "layerset.yaml"), load_rules()
    full = {r["project"]["id"]: r["verdict"] for r in screen(projects, ls, rules).to_json()["results"]}
    asked = []

    def cancel() -> bool:
        asked.append(1)
        return len(asked) > 1          # stop before the second step
    part = screen(projects, ls, rules, cancel=cancel)
    doc = part.to_json()
    got = {r["project"]["id"]: r["verdict"] for r in doc["results"]}
    assert part.partial and doc["partial"] is True and doc["projects_requested"] == len(projects)
    assert len(got) == CHUNK and all(full[pid] == v for pid, v in got.items())
    assert [r.project.id for r in part.results] == [p.id for p in projects if p.id in got]   # input order kept
    validate(doc)


def test_a_layer_set_without_layers_the_rules_need_says_so_everywhere(tmp_path, units_only_layerset):
    """A layer set with only the control units (no red lines, protected areas, water sources, parks…): the rules on
    the missing layers cannot be checked, so the project gets a 需人工核实 finding per missing layer naming its rules
    (never 符合 read from the missing layers) — the command says so in one line, the result document lists them
    (role, title, how many rules), every project's report conclusion says so, and the summary workbook opens on a
    sheet 说明 saying so.  Declared `absent:` in the manifest, they are not missing: the verdict is the one the rules
    on the loaded layers give.  The full sample set lists nothing."""
    from docx import Document
    manifest = units_only_layerset
    out, report, xlsx = tmp_path / "r.json", tmp_path / "r.docx", tmp_path / "r.xlsx"
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(manifest), "--project",
                          str(SAMPLE / "sheets" / "P2026-001.yaml"), "--json", str(out), "--docx", str(report),
                          "--xlsx", str(xlsx)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    titles = ["生态保护红线", "自然保护地", "饮用水水源保护区", "永久基本农田", "产业园区", "大气环境质量达标区"]
    assert f"note: the layer set has no layer for {'、'.join(titles)}: the rules that need them cannot be checked" \
        in res.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    (res1,) = doc["results"]
    assert res1["verdict_label"] == "需人工核实"
    undecided = [f for f in res1["findings"] if f["title"].startswith("未加载")]
    assert [f["title"] for f in undecided] == [f"未加载“{t}”图层，相关规则未能核对" for t in titles]
    assert all(f["level"] == "needs_review" and f["basis"] for f in undecided)
    assert "“生态保护红线内禁止开发性、生产性建设活动”" in undecided[0]["message"]
    assert [(m["role"], m["title"]) for m in doc["layers_missing"]] == list(zip(
        ["eco_redline", "protected_areas", "water_sources", "other:永久基本农田", "industrial_parks", "air_quality"], titles))
    assert all(m["rules"] >= 1 for m in doc["layers_missing"])
    body = "\n".join(p.text for p in Document(report).paragraphs)
    sentence = "本次筛查未加载" + "、".join(f"“{t}”" for t in titles) + "图层，依赖这些图层的规则未能核对；可能适用于项目的，已列为需人工核实事项"
    assert sentence in body
    # section 三 never says "no red line nearby" when no red-line layer was looked at
    assert "搜索半径内无生态保护红线" not in body
    assert "本次筛查未加载“生态保护红线”、“自然保护地”、“饮用水水源保护区”、“永久基本农田”、“产业园区”图层，搜索半径内是否有" \
           "此类敏感区未能判断。" in body
    from openpyxl import load_workbook
    wb = load_workbook(xlsx)
    assert wb.sheetnames[0] == "说明" and wb.active.title == "说明"       # what the workbook opens on
    rows = [[c for c in r if c is not None] for r in wb["说明"].iter_rows(values_only=True)]
    assert rows[0][0].startswith(sentence) and rows[2] == ["未加载的图层", "类型", "涉及规则数"]
    assert [r[0] for r in rows[3:]] == titles
    assert [(ws.page_setup.orientation, ws.print_options.gridLines) for ws in wb] == [("landscape", True)] * 3
    full = tmp_path / "full.json"
    res = subprocess.run(CLI + ["--project", str(SAMPLE / "sheets" / "P2026-001.yaml"), "--json", str(full)],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "has no layer" not in res.stderr
    assert "layers_missing" not in json.loads(full.read_text(encoding="utf-8"))
    declared = tmp_path / "declared.yaml"
    declared.write_text(manifest.read_text(encoding="utf-8") + "absent: [eco_redline, protected_areas, water_sources, "
                        "industrial_parks, air_quality, 'other:永久基本农田']\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(declared),
                          "--project", str(SAMPLE / "sheets" / "P2026-001.yaml"), "--json", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "has no layer" not in res.stderr, res.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "layers_missing" not in doc
    assert not [f for f in doc["results"][0]["findings"] if f["title"].startswith("未加载")]
    from gis_screening.reports.xlsx import write_xlsx
    assert load_workbook(write_xlsx(json.loads(full.read_text(encoding="utf-8")), tmp_path / "f.xlsx")).sheetnames == [
        "汇总", "发现"]


def test_a_search_radius_below_a_rules_distance_is_raised_and_said(tmp_path):
    """`--search-radius 100` with a rule that looks 500 m out (protected-area core zones): the command says it raised
    the radius, naming the rule, and the result records the radius used; the default radius says nothing."""
    out = tmp_path / "r.json"
    res = subprocess.run(CLI + ["--project", str(SAMPLE / "projects" / "projects.gpkg"), "--search-radius", "100",
                                "--json", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "note: search radius 100 m raised to 500 m: the rule “项目邻近自然保护地核心保护区” " \
           "(national.pa.core_proximity) looks 500 m out" in res.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["search_radius_m"] == 500
    res = subprocess.run(CLI + ["--project", str(SAMPLE / "projects" / "projects.gpkg"), "--json", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "raised" not in res.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["search_radius_m"] == 1000


def test_a_folder_of_project_files_is_every_file_in_it(tmp_path):
    """`--project FOLDER` screens the project files directly in it (sorted by name; an Office lock file and other
    files left out), the same results as naming each file; a folder with no project file is a one-line error."""
    folder = tmp_path / "送审项目"
    folder.mkdir()
    txts = sorted((SAMPLE / "projects" / "txt").glob("*.txt"))[:3]
    for f in txts:
        (folder / f.name).write_bytes(f.read_bytes())
    sheet = SAMPLE / "sheets" / "P2026-001.yaml"
    (folder / "说明.docx").write_bytes(b"not a project")
    (folder / "~$说明.xlsx").write_bytes(b"lock")

    def verdicts(*args):
        res = subprocess.run(CLI + [a for p in args for a in ("--project", str(p))] + ["--json", str(tmp_path / "r.json")],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        return [(r["project"]["id"], r["verdict"], [f["rule_id"] for f in r["findings"]])
                for r in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]]
    assert verdicts(folder, sheet) == verdicts(*txts, sheet)
    assert [v[0] for v in verdicts(folder)] == [f.stem for f in txts]
    import geopandas as gpd  # a File Geodatabase in the folder is one of its project files
    gdf = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    gdf[gdf["项目编号"] == "P2026-009"].to_file(folder / "项目.gdb", driver="OpenFileGDB", layer="XM",
                                                 promote_to_multi=True)
    assert [v[0] for v in verdicts(folder)] == [f.stem for f in txts] + ["P2026-009"]
    (tmp_path / "空").mkdir()
    res = subprocess.run(CLI + ["--project", str(tmp_path / "空"), "--json", str(tmp_path / "e.json")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "空: folder holds no project file" in res.stderr


def test_construction_type_as_the_eia_forms_spell_it(tmp_path):
    """建设性质 as the EIA forms' boxes spell it is read (新建（迁建） → 新建, 技改 → 技术改造) in a footprint file and in a
    sheet alike; a value that is none of them is kept, warned about, and makes the rules that need it 需人工核实
    naming it — never read as "not 新建、扩建"."""
    import geopandas as gpd
    gdf = gpd.read_file(SAMPLE / "projects" / "projects.gpkg").iloc[:3].copy()
    gdf["建设性质"] = ["新建（迁建）", "技改", "迁扩"]
    gdf["行业代码"] = "3011"
    gdf.to_file(tmp_path / "p.gpkg", driver="GPKG")
    sheet = (SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8")
    (tmp_path / "s.yaml").write_text(sheet.replace("construction_type: 新建", "construction_type: 新建(迁建)").replace(
        "id: P2026-001", "id: S1").replace("../projects/", str(SAMPLE / "projects") + "/"), encoding="utf-8")
    res = subprocess.run(CLI + ["--project", str(tmp_path / "p.gpkg"), "--project", str(tmp_path / "s.yaml"),
                                "--json", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    by_id = {r["project"]["id"]: r for r in doc["results"]}
    ids = gdf["项目编号"].tolist()
    assert [by_id[i]["project"]["construction_type"] for i in ids] + [by_id["S1"]["project"]["construction_type"]] == \
        ["新建", "技术改造", "迁扩", "新建"]
    assert any("'迁扩' not recognised" in p for p in by_id[ids[2]]["project"]["import_problems"])
    unknown = [f for f in by_id[ids[2]]["findings"] if "建设性质“迁扩”不是" in f["message"]]
    assert unknown and {f["level"] for f in unknown} == {"needs_review"}
    assert not any("建设性质" in f["message"] and f["level"] == "needs_review" and "missing_fields" in f["metrics"]
                   for i in (ids[0], ids[1], "S1") for f in by_id[i]["findings"])


def test_yes_no_flags_are_read_as_reviewers_write_them(tmp_path):
    """A sheet's limited_activity written 否 (or 无, 0, false) is a no: a project in a red line is 不符合 by the red-line
    rule; 是 is a yes (the exception is for a person to check: 需人工核实); a text that is no yes/no is a one-line
    error naming file and field — it used to be read as yes, since a non-empty text is true."""
    footprint = SAMPLE / "projects" / "txt" / "P2026-002.txt"           # inside a red line

    def run(value):
        sheet = tmp_path / "s.yaml"
        sheet.write_text(f"id: F1\nindustry_code: '7869'\nconstruction_type: 新建\nlimited_activity: {value}\n"
                         f"footprint: {footprint.as_posix()}\n", encoding="utf-8")
        res = subprocess.run(CLI + ["--project", str(sheet), "--json", str(tmp_path / "r.json")],
                             capture_output=True, text=True)
        if res.returncode:
            return res
        (r,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
        return r["verdict"], sorted({f["rule_id"] for f in r["findings"] if "redline" in f["rule_id"]})
    for no in ("否", "无", "0", "false"):
        assert run(no) == ("non_compliant", ["national.redline.construction", "national.redline.escape_routes"]), no
    assert run("是") == ("needs_review", ["national.redline.escape_routes"])
    bad = run("待定")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "s.yaml, field 'limited_activity': '待定' is not a yes/no value" in bad.stderr


def test_yes_no_flags_under_chinese_column_names_in_a_footprint_file(tmp_path):
    """A footprint table whose reviewer wrote the flags as Chinese columns (是否有限人为活动 = 否) is read through the
    catalog's aliases and the one yes/no reader."""
    import geopandas as gpd
    gdf = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    gdf = gdf[gdf["项目编号"] == "P2026-002"].copy()              # inside a red line
    gdf["行业代码"] = "7869"
    for value, verdict in (("否", "non_compliant"), ("是", "needs_review")):
        gdf["是否有限人为活动"] = value
        gdf.to_file(tmp_path / "p.gpkg", driver="GPKG")
        res = subprocess.run(CLI + ["--project", str(tmp_path / "p.gpkg"), "--json", str(tmp_path / "r.json")],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        (r,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
        assert r["verdict"] == verdict and ("national.redline.construction" in {f["rule_id"] for f in r["findings"]}) \
            == (value == "否"), value


def test_industry_column_as_the_eia_forms_name_and_write_it_and_skipped_footprints_said(tmp_path):
    """A footprint file whose industry column is 国民经济行业分类 holding ``C3011 水泥制造`` is read as 3011 (the
    two-high rules fire as for ``3011``); footprints without geometry are said on stderr (not only inside each
    result); features sharing an id are one project of several parcels, said as a warning, never a traceback."""
    import geopandas as gpd
    src = gpd.read_file(SAMPLE / "projects" / "projects.gpkg").set_index("项目编号").geometry
    cells = {"P2026-001": "C3011 水泥制造", "P2026-007": "水泥熟料制造（3011）", "P2026-002": "C3011 平板玻璃制造"}
    rows = [{"项目编号": k, "国民经济行业分类": v, "建设性质": "新建", "geometry": src[k]} for k, v in cells.items()]
    rows += [{"项目编号": "N1", "geometry": None}, {"项目编号": "D1", "geometry": src["P2026-005"]},
             {"项目编号": "D1", "geometry": src["P2026-006"]}]
    gpd.GeoDataFrame(rows, crs=src.crs).to_file(tmp_path / "p.gpkg", driver="GPKG")
    res = subprocess.run(CLI + ["--project", str(tmp_path / "p.gpkg"), "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "p.gpkg: [error] feature has no geometry; skipped (feature N1)" in res.stderr
    assert "p.gpkg: [warning] 2 features share the id D1: screened as one project of 2 parcels" in res.stderr
    by_id = {r["project"]["id"]: r for r in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]}
    assert sorted(by_id) == ["D1", "P2026-001", "P2026-002", "P2026-007"]
    assert [by_id[i]["project"]["industry_code"] for i in ("P2026-001", "P2026-007")] == ["3011", "3011"]
    assert by_id["P2026-001"]["project"]["two_high"] and by_id["P2026-007"]["project"]["sector"] == "建材"
    rules = {i: {f["rule_id"] for f in r["findings"]} for i, r in by_id.items()}
    assert "fujian.two_high.priority_unit" in rules["P2026-007"] and by_id["P2026-007"]["verdict"] == "non_compliant"
    assert "unit.industry_code_unknown" in rules["P2026-002"] and "unit.industry_code_unknown" not in rules["P2026-001"]
    assert by_id["D1"]["project"]["area_m2"] > max(by_id[i]["project"]["area_m2"] for i in cells) / 100


def test_footprints_without_a_zone_prefix_are_screened_with_zone_or_crs(tmp_path):
    """A coordinate table in GK metres without the zone prefix cannot say its zone: `screen` says to give it, and
    `--zone 40` or `--crs EPSG:4549` (the zone's CGCS2000 code) screen it at the same place; the same table with
    the prefix needs neither.  A wrong encoding name is one line, not a traceback."""
    rows = [(2886000.0, 410000.0), (2886000.0, 410300.0), (2885700.0, 410300.0), (2885700.0, 410000.0)]
    plain, prefixed = tmp_path / "plain.csv", tmp_path / "prefixed.csv"
    plain.write_text("点号,X,Y\n" + "".join(f"J{i},{x},{y}\n" for i, (x, y) in enumerate(rows, 1)), encoding="utf-8")
    prefixed.write_text("点号,X,Y\n" + "".join(f"J{i},{x},{y + 40e6}\n" for i, (x, y) in enumerate(rows, 1)),
                        encoding="utf-8")

    def run(path, *extra):
        res = subprocess.run(CLI + ["--project", str(path), *extra, "--json", str(tmp_path / "r.json")],
                             capture_output=True, text=True)
        if res.returncode:
            return res.returncode, res.stderr.strip()
        (r,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
        return r["project"]["area_m2"], r["project"]["centroid_lonlat"], r["project"]["metric_crs"]
    code, message = run(plain)
    assert code == 2 and "without a zone prefix" in message and "--zone N or --crs EPSG:N" in message
    expected = run(prefixed)
    assert expected[0] == 90000.0 and expected[2] == "EPSG:4549"
    assert run(plain, "--zone", "40") == expected == run(plain, "--crs", "EPSG:4549")
    code, message = run(prefixed, "--encoding", "nosuch")
    assert code == 2 and message == f"error: {prefixed}: unknown encoding 'nosuch' (try gbk, utf-8, gb18030)"


def test_a_footprint_with_altitudes_is_reported_and_converted(tmp_path):
    """KML from Google Earth or a CAD export carries a Z on every vertex: the report's 界址点 list and the 勘测定界
    TXT list X/Y only (both failed unpacking three values), and the areas are those of the flat footprint."""
    import geopandas as gpd
    import shapely
    gdf = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    gdf = gdf[gdf["项目编号"] == "P2026-005"].copy()
    ring = " ".join(f"{x},{y},35" for x, y in gdf.geometry.iloc[0].exterior.coords)
    kml = tmp_path / "p.kml"
    kml.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                   '<Placemark><name>K1</name><Polygon><outerBoundaryIs><LinearRing><coordinates>' + ring +
                   '</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>',
                   encoding="utf-8")
    res = subprocess.run(CLI + ["--project", str(kml), "--json", str(tmp_path / "r.json"), "--docx",
                                str(tmp_path / "r.docx")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    (r,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
    flat = gpd.GeoSeries([shapely.force_2d(gdf.geometry.iloc[0])], crs=4490).to_crs(r["project"]["metric_crs"])
    assert abs(r["project"]["area_m2"] - flat.area.iloc[0]) < 0.01
    import docx
    cells = [c.text for t in docx.Document(str(tmp_path / "r.docx")).tables for row in t.rows for c in row.cells]
    assert "J1" in cells
    conv = subprocess.run([sys.executable, "-m", "gis_screening.cli", "convert", str(kml), str(tmp_path / "p.txt")],
                          capture_output=True, text=True)
    assert conv.returncode == 0, conv.stderr
    lines = (tmp_path / "p.txt").read_text(encoding="utf-8").splitlines()
    assert lines[lines.index("[地块坐标]") + 2].startswith("J1,1,") and lines[-1].count(",") == 3


def _screen_table(tmp_path, name: str, *rows: list) -> subprocess.CompletedProcess:
    """``screen`` of a workbook ``name`` holding ``rows`` (r.json)."""
    from openpyxl import Workbook
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(tmp_path / name)
    return subprocess.run(CLI + ["--project", str(tmp_path / name), "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True)


def test_a_sheet_table_with_the_chinese_headers_reviewers_write(tmp_path):
    """A 建设项目信息表 table as a reviewer fills it in WPS: a title row, Chinese column headers with their units
    (原煤（万吨）, 外购电力（万kWh）), the product by its name (水泥熟料), 是/否 and 燃煤 as written, saved as XLSX or as a
    GBK CSV; read as the English-keyed sample sheet
    is (quantities converted to the sheet's units), so the carbon block is the same.  A quantity in a unit that
    cannot be converted, or two columns for one field, is one line naming the column."""
    import yaml
    from openpyxl import Workbook
    sheet = yaml.safe_load((SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8"))
    footprint = str(SAMPLE / "projects" / "txt" / "P2026-001.txt")
    header = ["序号", "项目编号", "项目名称", "国民经济行业分类", "建设性质", "用地范围文件", "原煤（万吨）", "柴油(t)",
              "外购电力（万kWh）", "是否燃煤自备电厂", "工业炉窑燃料", "二氧化硫（t/a）", "氮氧化物（吨/年）", "颗粒物",
              "挥发性有机物", "产品", "年产能", "单位产品能耗（kgce/t）", "备注", "联系人"]
    e, em, p = sheet["energy"], sheet["emissions_t"], sheet["products"][0]
    row = ["1", "P2026-001", sheet["name"], "C3011 水泥制造", sheet["construction_type"], footprint,
           e["raw_coal_t"] / 10_000, e["diesel_t"], e["electricity_mwh"] / 10, "否", "燃煤", em["so2"], em["nox"],
           em["pm"], em["vocs"], "水泥熟料", p["capacity"], p["unit_energy"], "", "张三"]
    wb = Workbook()
    wb.active.append(["建设项目信息表（两高项目）"])          # a title row above the header, as WPS users add one
    wb.active.append(header)
    wb.active.append(row)
    wb.save(tmp_path / "信息表.xlsx")
    import csv
    with open(tmp_path / "信息表.csv", "w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows([header, row])
    # saved as Excel/WPS "Unicode 文本" (UTF-16, tab-separated .txt), and a tab-separated .csv
    with open(tmp_path / "信息表.txt", "w", encoding="utf-16", newline="") as fh:
        csv.writer(fh, dialect="excel-tab").writerows([header, row])
    with open(tmp_path / "制表符.csv", "w", encoding="gbk", newline="") as fh:
        csv.writer(fh, dialect="excel-tab").writerows([header, row])

    def carbon_of(path):
        res = subprocess.run(CLI + ["--project", str(path), "--json", str(tmp_path / "r.json")],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        (r,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
        return r, res.stderr
    expected, _ = carbon_of(SAMPLE / "sheets" / "P2026-001.yaml")
    for name in ("信息表.xlsx", "信息表.csv", "信息表.txt", "制表符.csv"):
        got, stderr = carbon_of(tmp_path / name)
        assert got["carbon"] == expected["carbon"] and got["verdict"] == expected["verdict"], name
        assert f"columns of {name} that are no project-sheet field, not read: 联系人" in stderr
    header[6] = "原煤（kg）"
    res = _screen_table(tmp_path, "坏表.xlsx", header, row)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "field '原煤（kg）': column '原煤（kg）': unit 'kg' is not one energy.raw_coal_t can be given in" in res.stderr
    header[6], row[6], row[9] = "原煤（t）", 150000, "待定"
    res = _screen_table(tmp_path, "坏表.xlsx", ["建设项目信息表"], header, row)
    assert res.returncode == 2 and "坏表.xlsx, row 3, field '是否燃煤自备电厂': '待定' is not a yes/no value" in res.stderr


def test_a_sheet_table_with_a_two_level_header_reads_the_labels_under_the_group(tmp_path):
    """A 信息表 table whose header has two rows, as forms group their columns: 能源消耗 merged over 原煤（t）、柴油(t)、
    外购电力（万kWh）, 污染物排放量 over 二氧化硫…, the other labels merged down over both rows (or left blank below).
    Refused before ("columns '能源消耗' and '能源消耗' both give 能源消耗"); read as the one-row header it stands for:
    the same carbon block as the plain table, the first project on the third row."""
    from openpyxl import Workbook
    footprint = str(SAMPLE / "projects" / "txt" / "P2026-001.txt")
    own = ["项目编号", "项目名称", "行业代码", "用地范围文件"]
    energy, emissions = ["原煤（t）", "柴油(t)", "外购电力（万kWh）"], ["二氧化硫（t/a）", "氮氧化物（吨/年）"]
    row = ["P1", "一期", "3011", footprint, 150000, 500, 12000, 120, 600]
    results = {}
    for name in ("plain", "merged", "blank"):
        wb = Workbook()
        ws = wb.active
        if name == "plain":
            ws.append(own + energy + emissions)
        else:
            ws.append(own + ["能源消耗", None, None, "污染物排放量", None])
            ws.append(([None] * 4) + energy + emissions)
            if name == "merged":
                ws.merge_cells("E1:G1")
                ws.merge_cells("H1:I1")
                for col in "ABCD":
                    ws.merge_cells(f"{col}1:{col}2")
        ws.append(row)
        wb.save(tmp_path / f"{name}.xlsx")
        res = subprocess.run(CLI + ["--project", str(tmp_path / f"{name}.xlsx"), "--json", str(tmp_path / "r.json")],
                             capture_output=True, text=True)
        assert res.returncode == 0, (name, res.stderr)
        (results[name],) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
    assert results["plain"]["carbon"]["energy_tce"] > 0
    for name in ("merged", "blank"):
        assert results[name]["carbon"] == results["plain"]["carbon"], name
        assert results[name]["project"]["source"] == f"{tmp_path / (name + '.xlsx')} row 3"


def test_a_sheet_laid_out_as_a_form_is_read_as_the_table_row_it_holds(tmp_path):
    """The 建设项目信息表 of one project as offices send it: a form, each label with its value beside it, two pairs to a
    row, a title merged over the top, a label left blank, a contact nobody screens.  It was taken for a table
    whose header is the row with 用地范围文件 ("footprint file '原煤（吨）' not found"); it is read as the one-row
    table it holds: the same project, carbon block and verdict as the YAML sheet, its source the footprint's row."""
    import yaml
    from openpyxl import Workbook
    sheet = yaml.safe_load((SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8"))
    e, em, p = sheet["energy"], sheet["emissions_t"], sheet["products"][0]
    pairs = [("项目编号", "P2026-001"), ("项目名称", sheet["name"]), ("国民经济行业分类", "C3011 水泥制造"),
             ("建设性质", sheet["construction_type"]), ("用地范围文件", str(SAMPLE / "projects" / "txt" / "P2026-001.txt")),
             ("建设单位", "某某建材有限公司"), ("原煤（万吨）", e["raw_coal_t"] / 10_000), ("柴油(t)", e["diesel_t"]),
             ("外购电力（万kWh）", e["electricity_mwh"] / 10), ("是否燃煤自备电厂", "否"), ("工业炉窑燃料", "燃煤"),
             ("二氧化硫（t/a）", em["so2"]), ("氮氧化物（吨/年）", em["nox"]), ("颗粒物", em["pm"]),
             ("挥发性有机物", em["vocs"]), ("产品", "水泥熟料"), ("年产能", p["capacity"]),
             ("单位产品能耗（kgce/t）", p["unit_energy"]), ("备注", None), ("联系人", "张三")]
    wb = Workbook()
    ws = wb.active
    ws.append(["建设项目信息表（两高项目）"])
    ws.merge_cells("A1:D1")
    for (k1, v1), (k2, v2) in zip(pairs[::2], pairs[1::2]):
        ws.append([k1, v1, k2, v2])
    wb.save(tmp_path / "表单.xlsx")
    results = {}
    for name, path in (("yaml", SAMPLE / "sheets" / "P2026-001.yaml"), ("form", tmp_path / "表单.xlsx")):
        res = subprocess.run(CLI + ["--project", str(path), "--json", str(tmp_path / f"{name}.json")],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        (results[name],) = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["results"]
    want, got = results["yaml"], results["form"]
    assert got["carbon"] == want["carbon"] and got["verdict"] == want["verdict"]
    assert [f["rule_id"] for f in got["findings"]] == [f["rule_id"] for f in want["findings"]]
    assert (got["project"]["id"], got["project"]["name"], got["project"]["source"]) == \
        ("P2026-001", sheet["name"], f"{tmp_path / '表单.xlsx'} row 4")


def test_a_sheet_table_as_offices_fill_it_blank_and_totals_rows_units_and_written_numbers(tmp_path):
    """The same table as offices fill it: a blank row between projects and a 合计 row under them (passed over, the
    合计 row said), numbers typed as text with thousands separators or in full width, 无 for a fuel not used and
    ／ for a figure not given, 年产能 in 万吨 and 单位产品能耗 in tce/t (converted to the benchmark's kgce/t and
    checked against it: a 1000× misreading would pass a plant that misses the baseline).  A unit energy in a unit
    of another kind than its benchmark's is one line naming the row."""
    import yaml
    sheet = yaml.safe_load((SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8"))
    footprint = str(SAMPLE / "projects" / "txt" / "P2026-001.txt")
    e, em, p = sheet["energy"], sheet["emissions_t"], sheet["products"][0]
    header = ["项目编号", "项目名称", "国民经济行业分类", "建设性质", "用地范围文件", "原煤（t）", "柴油(t)", "外购电力（MWh）",
              "外购热力（GJ）", "是否燃煤自备电厂", "工业炉窑燃料", "二氧化硫（t/a）", "氮氧化物（吨/年）", "颗粒物",
              "挥发性有机物", "产品", "年产能（万吨）", "单位产品能耗（tce/t）"]
    first = ["P2026-001", sheet["name"] + " ", "3011", sheet["construction_type"], footprint, f"{e['raw_coal_t']:,}",
             "５００", f"{e['electricity_mwh']:,}", "无", "否", "燃煤", em["so2"], em["nox"], em["pm"], em["vocs"],
             "水泥熟料", p["capacity"] / 10_000, p["unit_energy"] / 1000]
    second = ["P2", "第二条线", "3011", "新建", footprint, 1, 1, 1, "／", "否", "燃煤", 1, 1, 1, 1, "水泥熟料", 100,
              0.125]          # 125 kgce/t: worse than the clinker baseline (117)
    res = _screen_table(tmp_path, "信息表.xlsx", ["建设项目信息表"], header, first, [None] * len(header), second,
                        ["合计", None, None, None, None, e["raw_coal_t"] + 1])
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("信息表.xlsx row 6: a totals row (合计), not read as a project") == 1
    got = {r["project"]["id"]: r for r in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]}
    assert sorted(got) == ["P2", "P2026-001"]
    assert got["P2026-001"]["project"]["name"] == sheet["name"]
    subprocess.run(CLI + ["--project", str(SAMPLE / "sheets" / "P2026-001.yaml"), "--json", str(tmp_path / "e.json")],
                   check=True, capture_output=True)
    expected = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))["results"][0]
    assert got["P2026-001"]["carbon"] == expected["carbon"]
    (bench,) = got["P2"]["carbon"]["benchmarks"]
    assert (bench["value"], bench["unit"], bench["status"]) == (125.0, "kgce/t", "below_baseline")
    header[-1] = "单位产品能耗（kgce/m²）"
    res = _screen_table(tmp_path, "坏表.xlsx", header, first)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "坏表.xlsx row 2" in res.stderr and "the benchmark of 水泥熟料 is in kgce/t" in res.stderr
    header[-1], first[-2] = "单位产品能耗（kgce/t）", "150万吨"
    res = _screen_table(tmp_path, "坏表.xlsx", header, first)
    assert res.returncode == 2 and "row 2, field '年产能（万吨）': '150万吨' is not a number" in res.stderr


def test_a_project_file_that_gives_no_project_is_named_not_dropped(tmp_path):
    """A table whose only row is its 合计, a table with its header alone, an empty list of sheets: each is one line
    naming the file and why, also beside a good project file (they were dropped without a word, or said as "no
    project found in the given files" without naming one)."""
    import pytest

    from gis_screening.errors import InputError
    from gis_screening.io.projects import load_projects
    header = "项目编号,项目名称,行业代码,用地范围文件\n"
    cases = {"合计.csv": (header + "合计,,,\n,,,\n小计,,,\n", "row 2, 4 are totals rows (合计) and no other row below "
                                                                "the header holds one"),
             "表头.csv": (header, "no row below the header holds one"),
             "空.yaml": ("[]\n", "its list of project sheets is empty")}
    for name, (text, why) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as err:
            load_projects(tmp_path / name)
        assert str(err.value).startswith(f"{tmp_path / name}: no project in the") and why in str(err.value), err.value
    res = subprocess.run(CLI + ["--project", str(SAMPLE / "projects" / "projects.gpkg"), "--project",
                                str(tmp_path / "合计.csv"), "--json", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "合计.csv: no project in the table" in res.stderr
    assert not (tmp_path / "r.json").exists()


def test_a_sheet_table_on_a_workbooks_second_sheet(tmp_path):
    """A 信息表 workbook whose first sheet is 填表说明 (how to fill it in) and whose projects are on the second: read
    from the sheet with the footprint column (it was taken for a coordinate table: "no coordinate columns")."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["1. 每行填写一个项目；2. 用地范围文件填写坐标文件的路径。"])
    table = wb.create_sheet("项目表")
    table.append(["项目编号", "项目名称", "行业代码", "用地范围文件"])
    table.append(["P1", "一期", "3011", str(SAMPLE / "projects" / "txt" / "P2026-001.txt")])
    wb.save(tmp_path / "表.xlsx")
    res = subprocess.run(CLI + ["--project", str(tmp_path / "表.xlsx"), "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    (r,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
    assert (r["project"]["id"], r["project"]["name"], r["project"]["source"]) == ("P1", "一期", f"{tmp_path / '表.xlsx'} row 2")


def test_footprints_given_in_the_sheet_itself(tmp_path):
    """A footprint given in the sheet, not as a file: GeoJSON (a YAML mapping, or its text in a table cell) or WKT
    (a GIS export's geometry column), read as a file is — the same footprint as the file it was taken from, and
    GK metres given as if they were lon/lat refused naming the field (they were screened as a place 40 million
    degrees east: "not in any loaded unit"), read with --crs."""
    import shapely.ops
    import yaml
    from pyproj import Transformer

    from gis_screening.io.projects import load_projects
    (fp,) = load_projects(SAMPLE / "projects" / "txt" / "P2026-001.txt")
    geojson = shapely.geometry.mapping(fp.geometry)
    rows = [["项目编号", "项目名称", "行业代码", "用地范围"], ["G", "GeoJSON", "3011", json.dumps(geojson)],
            ["W", "WKT", "3011", fp.geometry.wkt]]
    res = _screen_table(tmp_path, "inline.xlsx", *rows)
    assert res.returncode == 0, res.stderr
    got = {r["project"]["id"]: r for r in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]}
    (tmp_path / "f.yaml").write_text(yaml.safe_dump({"id": "F", "industry_code": "3011", "footprint": str(
        SAMPLE / "projects" / "txt" / "P2026-001.txt")}), encoding="utf-8")
    subprocess.run(CLI + ["--project", str(tmp_path / "f.yaml"), "--json", str(tmp_path / "f.json")], check=True,
                   capture_output=True)
    (want,) = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))["results"]
    for r in got.values():
        assert r["project"]["area_m2"] == pytest.approx(want["project"]["area_m2"], abs=0.01)
        assert [f["rule_id"] for f in r["findings"]] == [f["rule_id"] for f in want["findings"]]
    gk = shapely.ops.transform(Transformer.from_crs(4490, 4528, always_xy=True).transform, fp.geometry)
    (tmp_path / "gk.yaml").write_text(yaml.safe_dump({"id": "K", "industry_code": "3011",
                                                      "footprint": shapely.geometry.mapping(gk)}), encoding="utf-8")
    res = subprocess.run(CLI + ["--project", str(tmp_path / "gk.yaml"), "--json", str(tmp_path / "k.json")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "gk.yaml, field 'footprint': inline footprint:" in res.stderr and "EPSG:4528" in res.stderr
    res = subprocess.run(CLI + ["--project", str(tmp_path / "gk.yaml"), "--crs", "EPSG:4528", "--json",
                                str(tmp_path / "k.json")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    (k,) = json.loads((tmp_path / "k.json").read_text(encoding="utf-8"))["results"]
    assert k["project"]["area_m2"] == pytest.approx(want["project"]["area_m2"], abs=0.01)
    # a sheet without an id: the project is named by the sheet's file, as with a footprint file (not by the
    # temporary file the geometry is read through)
    (tmp_path / "无编号.yaml").write_text(yaml.safe_dump({"industry_code": "3011", "footprint": fp.geometry.wkt},
                                                      allow_unicode=True), encoding="utf-8")
    subprocess.run(CLI + ["--project", str(tmp_path / "无编号.yaml"), "--json", str(tmp_path / "n.json")], check=True,
                   capture_output=True)
    (n,) = json.loads((tmp_path / "n.json").read_text(encoding="utf-8"))["results"]
    assert (n["project"]["id"], n["project"]["import_problems"]) == ("无编号", [])
    # a file whose name reads like WKT's start (a browser's second download) is still that file
    (tmp_path / "Polygon (1).txt").write_bytes((SAMPLE / "projects" / "txt" / "P2026-001.txt").read_bytes())
    (tmp_path / "d.yaml").write_text(yaml.safe_dump({"id": "D", "industry_code": "3011", "footprint":
                                                     "Polygon (1).txt"}), encoding="utf-8")
    subprocess.run(CLI + ["--project", str(tmp_path / "d.yaml"), "--json", str(tmp_path / "d.json")], check=True,
                   capture_output=True)
    (d,) = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))["results"]
    assert d["project"]["area_m2"] == pytest.approx(want["project"]["area_m2"], abs=0.01)


def test_results_on_standard_output_for_a_pipe(tmp_path):
    """``--json -`` and ``--jsonl -`` write the result to standard output (for ``| jq``), byte for byte what the
    file would hold, with no project table mixed in; a reader that stops early (``| head -1``) ends the stream,
    not the run (its other outputs are written, no traceback); two outputs to standard output are refused."""
    project = str(SAMPLE / "projects" / "projects.gpkg")
    import re
    res = subprocess.run(CLI + ["--project", project, "--json", "-"], capture_output=True)
    assert res.returncode == 0, res.stderr
    subprocess.run(CLI + ["--project", project, "--json", str(tmp_path / "r.json")], check=True, capture_output=True)

    def same(doc: bytes) -> bytes:      # but for the time and the layer ids, which each process makes its own
        return re.sub(rb'"[LP][0-9a-f]+-[0-9]+"', b'"id"', re.sub(rb'"generated_at": "[^"]*"', b"", doc))
    assert same(res.stdout) == same((tmp_path / "r.json").read_bytes())
    assert len(json.loads(res.stdout)["results"]) == 25
    head = subprocess.run(f"{' '.join(map(shlex.quote, CLI))} --project {shlex.quote(project)} --jsonl - "
                          f"--xlsx {tmp_path / 's.xlsx'} | head -1", shell=True, capture_output=True, text=True)
    assert json.loads(head.stdout)["type"] == "header" and "Traceback" not in head.stderr, head.stderr
    assert (tmp_path / "s.xlsx").stat().st_size > 0
    res = subprocess.run(CLI + ["--project", project, "--json", "-", "--jsonl", "-"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip() == (
        "error: --json and --jsonl would both write to standard output; give one of them a file")
    assert not (Path.cwd() / "-").exists()
    res = subprocess.run(CLI + ["--project", project, "--json", "-", "--jsonl", project], capture_output=True,
                         text=True)     # the other output is still checked
    assert res.returncode == 2 and "--jsonl" in res.stderr and "is a project file" in res.stderr


def test_an_other_layer_under_another_name_is_pointed_out(tmp_path):
    """Rules find an `other` layer by its manifest name (永久基本农田): loaded as 基本农田保护区, the farmland rules
    cannot be checked (需人工核实, never a 符合 read from it), and the note names the set's other layers and the fix."""
    shutil_copy_sample(tmp_path)
    text = (tmp_path / "layerset.yaml").read_text(encoding="utf-8").replace("name: 永久基本农田", "name: 基本农田保护区")
    (tmp_path / "layerset.yaml").write_text(text, encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset",
                          str(tmp_path / "layerset.yaml"), "--project", str(SAMPLE / "projects" / "projects.gpkg"),
                          "--json", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "rules find an `other` layer by its name, and this set's are named 基本农田保护区 (give the layer that " \
           "name with `name:` in the manifest)" in res.stderr
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [m["title"] for m in doc["layers_missing"]] == ["永久基本农田"]


def shutil_copy_sample(tmp_path):
    """The sample layer set (manifest, zones, 准入清单) copied into ``tmp_path``."""
    import shutil
    shutil.copytree(SAMPLE / "zones", tmp_path / "zones")
    shutil.copy(SAMPLE / "layerset.yaml", tmp_path / "layerset.yaml")
    shutil.copy(SAMPLE / "准入清单.xlsx", tmp_path / "准入清单.xlsx")


def test_footprints_in_xian_1980_need_and_take_the_parameters(tmp_path):
    """A footprint file in Xian 1980 GK is refused with the option that supplies the datum parameters, and screened
    with them (--towgs84, as `convert` takes them)."""
    import geopandas as gpd
    gpd.read_file(SAMPLE / "projects" / "projects.gpkg").head(2).to_crs(2383).to_file(tmp_path / "xian.gpkg")
    cmd = CLI + ["--project", str(tmp_path / "xian.gpkg"), "--json", str(tmp_path / "r.json")]
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 2 and "supply it with --towgs84" in bad.stderr
    ok = subprocess.run(cmd + ["--towgs84", "0,0,0"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert [r["project"]["id"] for r in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]] == \
        ["P2026-001", "P2026-002"]


def test_a_sheet_saved_by_notepad_in_gbk_says_how_to_save_it(tmp_path):
    """A project sheet typed in Windows Notepad (ANSI = GBK on Chinese Windows): one line saying so and how to save
    it as UTF-8; bytes that are no GBK either get the plain message."""
    text = (SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8")
    sheet = tmp_path / "P2026-001.yaml"
    sheet.write_bytes(text.encode("gbk"))
    res = subprocess.run(CLI + ["--project", str(sheet), "--json", str(tmp_path / "r.json")], capture_output=True,
                         text=True)
    assert res.returncode == 2
    assert res.stderr.strip() == (f"error: {sheet}: not UTF-8 text (byte 22); it reads as GBK (ANSI), as Windows "
                                  "Notepad and older editors save: save it as UTF-8 (记事本: 另存为 → 编码 UTF-8)")
    sheet.write_bytes(b"id: P1\nname: \x80\xff\n")
    res = subprocess.run(CLI + ["--project", str(sheet), "--json", str(tmp_path / "r.json")], capture_output=True,
                         text=True)
    assert res.stderr.strip() == f"error: {sheet}: not UTF-8 text (byte 13); save the file as UTF-8"


@pytest.mark.parametrize("option,name,endings", [
    ("--pdf", "报告.docx", ".pdf"),                                # --pdf typed for --docx: a PDF named .docx
    ("--html", "地图.pdf", ".html, .htm"),
    ("--xlsx", "汇总.xls", ".xlsx"),                               # an XLSX Excel warns about as .xls
    ("--map", "筛查图.doc", ".pdf, .png, .svg, .jpg, .jpeg, .tif, .tiff"),    # was a ValueError traceback
    ("--map", "筛查图", ".pdf, .png, .svg, .jpg, .jpeg, .tif, .tiff"),        # no ending: likewise
    ("--gpkg", "结论.shp", ".gpkg")])                               # was said only after the screening
def test_an_output_file_of_the_wrong_kind_is_refused_before_any_work(tmp_path, option, name, endings):
    what = {"--pdf": "the report PDF", "--html": "the HTML map", "--xlsx": "the summary workbook",
            "--map": "the screening map", "--gpkg": "the verdict layer"}[option]
    out = tmp_path / name
    res = subprocess.run(CLI + ["--project", str(SAMPLE / "projects" / "txt" / "P2026-001.txt"), "--json",
                                str(tmp_path / "r.json"), option, str(out)], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr == f"error: {option} {out}: {what} is written to a file whose name ends in {endings}\n"
    assert not out.exists() and not (tmp_path / "r.json").exists()


def test_a_feature_renamed_in_its_source_is_quoted_by_its_new_name_on_the_next_run(tmp_path):
    """The loaded-layer and prepared-layer caches key on the source's files: after a red line is renamed (and
    cut back) in its GeoPackage, the next run with the same cache folder quotes the new name and measures the new
    shape, exactly as a run with no cache does."""
    import os
    import time

    import geopandas as gpd
    import shapely
    shutil_copy_sample(tmp_path)
    env = {**os.environ, "GIS_SCREENING_CACHE": str(tmp_path / "cache")}
    cli = [sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(tmp_path / "layerset.yaml"),
           "--project", str(SAMPLE / "projects" / "projects.gpkg")]

    def run(out, *more):
        res = subprocess.run(cli + ["--json", str(out), *more], capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        return json.loads(out.read_text(encoding="utf-8"))

    def red_lines(doc):
        return sorted((r["project"]["id"], o.get("feature_name"), o["overlap_area_m2"]) for r in doc["results"]
                      for o in r["overlaps"] if o["role"] == "eco_redline" and o["distance_m"] == 0)
    before = red_lines(run(tmp_path / "a.json"))
    name = before[0][1]
    path = tmp_path / "zones" / "STBHHX.gpkg"
    gdf = gpd.read_file(path, layer="生态保护红线")
    row = gdf.index[gdf["HXMC"] == name][0]
    gdf.loc[row, "HXMC"] = "改过名字的红线"
    projects = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    x0, y0, x1, y1 = projects.geometry[projects["项目编号"] == before[0][0]].iloc[0].bounds
    gdf.loc[row, "geometry"] = gdf.geometry[row].difference(shapely.box(x0 - 1, y0 - 1, (x0 + x1) / 2, y1 + 1))
    time.sleep(0.01)
    gdf.to_file(path, layer="生态保护红线", driver="GPKG")
    after = red_lines(run(tmp_path / "b.json"))
    assert after == red_lines(run(tmp_path / "c.json", "--no-cache"))
    assert name not in {n for _, n, _ in after} and "改过名字的红线" in {n for _, n, _ in after}
    assert 0 < after[0][2] < 0.6 * before[0][2]           # the west half of the project is out of it now


def test_names_holding_control_characters_reach_every_report_shown_not_refused(tmp_path):
    """A project name or a feature name may hold a control character (a damaged DBF, text pasted from Word): XML
    cannot hold it, and the Word and Excel writers refused the whole report with a traceback.  Every output is
    written; the reports show U+FFFD where the character was (gis_screening.xmltext), the JSON keeps the text as
    read.  A name beginning with "=" is text in the workbooks, not a formula (=HYPERLINK(…) was a live link)."""
    import shutil

    import geopandas as gpd
    from docx import Document
    from openpyxl import load_workbook
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data, ignore=shutil.ignore_patterns("projects", "sheets"))
    areas = json.loads((data / "zones" / "自然保护地.geojson").read_text(encoding="utf-8"))
    for f in areas["features"]:
        f["properties"]["BHDMC"] += "\x02"
    (data / "zones" / "自然保护地.geojson").write_text(json.dumps(areas, ensure_ascii=False), encoding="utf-8")
    projects = gpd.read_file(SAMPLE / "projects" / "projects.gpkg")
    projects["项目名称"] = projects["项目名称"] + "\x01号"
    projects.loc[0, "项目名称"] = '=HYPERLINK("http://example.invalid","点此")' + projects.loc[0, "项目名称"]
    projects.to_file(tmp_path / "p.gpkg")
    out = {k: tmp_path / f"r.{k}" for k in ("json", "pdf", "docx", "xlsx")}
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(data / "layerset.yaml"),
                          "--project", str(tmp_path / "p.gpkg"), "--per-project", str(tmp_path / "each"),
                          *(x for k, path in out.items() for x in (f"--{k}", str(path)))],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    doc = json.loads(out["json"].read_text(encoding="utf-8"))
    names = [r["project"]["name"] for r in doc["results"]]
    assert len(names) == 25 and all(n.endswith("\x01号") for n in names)
    inside = [o["feature_name"] for r in doc["results"] for o in r["overlaps"] if o["layer"] == "自然保护地"]
    assert inside and all(n.endswith("\x02") for n in inside)
    body = "\n".join(p.text for p in Document(out["docx"]).paragraphs)
    cells = [c.text for t in Document(out["docx"]).tables for row in t.rows for c in row.cells]
    assert all(f"{n[:-2]}\ufffd号" in body for n in names) and "\x01" not in body and "\x02" not in "".join(cells)
    assert any(n[:-1] + "\ufffd" in c for n in inside for c in cells)          # the feature names, in the tables
    sheet = load_workbook(out["xlsx"])["汇总"]
    assert [c.value for c in sheet["B"][1:]] == [n[:-2] + "\ufffd号" for n in names]
    assert all(c.data_type == "s" for c in sheet["B"][1:])      # =HYPERLINK(…) stays text, never a live formula
    pdf = subprocess.run(["pdftotext", str(out["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    assert f"{names[0][:-2]}\ufffd号" in pdf
    assert len(list((tmp_path / "each").glob("*.docx"))) == 25
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "batch", "--layerset", str(data / "layerset.yaml"),
                          "--projects", str(tmp_path / "p.gpkg"), "--out", str(tmp_path / "run"), "--workers", "1"],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    summary = load_workbook(tmp_path / "run" / "summary.xlsx")["汇总"]
    assert sorted(c.value for c in summary["B"][1:]) == sorted(n[:-2] + "\ufffd号" for n in names)
    assert all(c.data_type == "s" for c in summary["B"][1:])


def test_two_outputs_naming_one_file_are_refused_before_any_work(tmp_path):
    """`--pdf r.pdf --map ./r.pdf` wrote the map over the report (and said it wrote both): refused at once, naming
    the two options; the same for a link to the file and for names differing in case (one file on Windows).
    Outputs of their own are written."""
    (tmp_path / "link").symlink_to(tmp_path)
    cases = [(["--pdf", "r.pdf", "--map", str(tmp_path / "r.pdf")], "--pdf and --map"),
             (["--json", "r.json", "--jsonl", str(tmp_path / "link" / "r.json")], "--json and --jsonl"),
             (["--pdf", "R.pdf", "--map", "r.PDF"], "--pdf and --map"),
             (["--xlsx", "s.xlsx", "--docx", "x.docx"], None)]
    for args, refused in cases:
        res = subprocess.run(CLI + ["--project", str(SAMPLE / "sheets" / "P2026-001.yaml"), *args],
                             capture_output=True, text=True, cwd=tmp_path)
        if refused is None:
            assert res.returncode == 0, res.stderr
            continue
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.startswith(f"error: {refused} both name ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "s.xlsx", "x.docx"]


def test_an_output_naming_a_file_the_run_reads_is_refused_and_the_file_kept(tmp_path):
    """`--gpkg` naming the project file replaced the user's footprints with the verdict layer; `--xlsx` naming the
    layer set's 准入清单, `convert` onto its input, `layers push --manifest-out` onto the manifest likewise destroyed
    what the run read.  Each is refused before any work, naming the option and what the file is; the file is left
    as it was."""
    import hashlib
    import shutil
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    from openpyxl import Workbook
    wb = Workbook()             # a coordinate table a project sheet names as its footprint
    for row in (["点号", "X", "Y"], ["J1", 2886050.0, 40408050.0], ["J2", 2886450.0, 40408050.0],
                ["J3", 2886450.0, 40407450.0]):
        wb.active.append(row)
    wb.save(data / "projects" / "坐标.xlsx")
    (data / "projects" / "s.yaml").write_text("id: S1\nindustry_code: '3011'\nfootprint: 坐标.xlsx\n", encoding="utf-8")
    files = [data / "projects" / "projects.gpkg", data / "准入清单.xlsx", data / "layerset.yaml",
             data / "projects" / "projects_gbk.dbf", data / "zones" / "自然保护地.geojson", data / "projects" / "坐标.xlsx"]
    before = {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    screen = [sys.executable, "-m", "gis_screening.cli", "screen", "--layerset", str(data / "layerset.yaml")]
    cases = [(screen + ["--project", str(data / "projects" / "projects.gpkg"), "--gpkg", "projects/projects.gpkg"],
              "--gpkg projects/projects.gpkg is a project file"),
             (screen + ["--project", str(data / "projects"), "--json", "projects/projects_gbk.dbf"],
              "is a project file"),                                     # a part of a shapefile found in a folder
             (screen + ["--project", str(data / "projects" / "projects.gpkg"), "--xlsx", "准入清单.xlsx"],
              "--xlsx 准入清单.xlsx is a file of the layer set"),
             (screen + ["--project", str(data / "projects" / "projects.gpkg"), "--json", "zones/自然保护地.geojson"],
              "is a file of the layer set"),
             (screen + ["--project", str(data / "projects" / "s.yaml"), "--xlsx", "projects/坐标.xlsx"],
              "--xlsx projects/坐标.xlsx is a footprint file a project sheet names"),
             ([sys.executable, "-m", "gis_screening.cli", "convert", str(data / "projects" / "projects.gpkg"),
               "projects/PROJECTS.gpkg"], "OUTPUT projects/PROJECTS.gpkg is the INPUT"),
             ([sys.executable, "-m", "gis_screening.cli", "layers", "push", "layerset.yaml",
               "postgresql://nobody@localhost:1/none", "--manifest-out", "layerset.yaml"],
              "--manifest-out layerset.yaml is a file of the layer set")]
    for argv, said in cases:
        res = subprocess.run(argv, capture_output=True, text=True, cwd=data)
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.startswith("error: ") and said in res.stderr and "which this run reads" in res.stderr
    assert {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files} == before


def test_files_a_shell_pattern_gives_after_project_are_all_screened(tmp_path):
    """``--project sheets/*.yaml``: the shell gives several files after one --project; all are screened, as with
    --project before each (before: "Got unexpected extra argument(s)")."""
    sheets = sorted(str(p) for p in (SAMPLE / "sheets").glob("*.yaml"))
    runs = {}
    for name, args in (("pattern", ["--project", *sheets]), ("repeated", [a for s in sheets for a in ("--project", s)])):
        res = subprocess.run(CLI + args + ["--json", str(tmp_path / f"{name}.json")], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        runs[name] = [(r["project"]["id"], r["verdict"]) for r in
                      json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["results"]]
    assert len(runs["pattern"]) == len(sheets) == 5 and runs["pattern"] == runs["repeated"]
