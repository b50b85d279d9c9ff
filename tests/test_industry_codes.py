"""GB/T 4754-2017 code table: structure, 两高 cross-check, code parsing and the rules that use it."""
import csv
from collections import Counter
from pathlib import Path

import pytest

from gis_screening.engine.conditions import industry_in, matching_codes
from gis_screening.engine.sectors import classify, industry_path, two_high_table
from gis_screening.industry import code_text, gbt4754, normalise_code
from gis_screening.resources import data_dir

ROOT = Path(__file__).resolve().parents[1]


def test_table_structure_matches_the_standard():
    table = gbt4754()
    levels = Counter(e.level for e in table.values())
    assert (levels["门类"], levels["大类"], levels["中类"]) == (20, 97, 473)
    assert 1380 <= levels["小类"] <= 1382
    for code, e in table.items():          # every entry hangs under an existing parent
        assert e.parent is None or e.parent in table, code
    with open(data_dir("rules") / "reference" / "gbt4754_2017.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["check"] in ("1", "2", "3") for r in rows)
    assert not any("(" in r["name"] or ")" in r["name"] or r["name"] != r["name"].strip() for r in rows)


def test_two_high_classes_agree_with_the_table():
    for code, row in two_high_table().items():
        assert gbt4754()[code.rstrip("?")].name == row["class_name"], code


def test_path_and_names():
    assert [e.code for e in industry_path("3011")] == ["C", "30", "301", "3011"]
    assert gbt4754()["3011"].name == "水泥制造"
    assert gbt4754()["87"].name == "广播、电视、电影和录音制作业"      # 2017 name, not the 2011 one
    assert [e.code for e in industry_path("0610")] == ["B", "06", "061", "0610"]
    assert industry_path("C3011")[-1].code == "3011"
    assert industry_path("3019") == []       # not a class


def test_code_text_and_lost_leading_zero():
    assert code_text("3011") == ("3011", None)
    assert code_text(3011) == ("3011", None)
    assert code_text(3011.0) == ("3011", None)
    assert code_text(311) == ("311", "0311")         # 311 is a 中类, but 0311 (牛的饲养) also exists
    assert code_text("311") == ("311", None)         # text is never re-padded
    assert code_text(None) == (None, None)
    assert normalise_code(" c3011 ") == "3011"


def test_admission_lists_match_prefixes_letters_and_names():
    assert industry_in("3011", "30") and industry_in("3011", "C30") and industry_in("3011", "C")
    assert industry_in("3011", "水泥制造") and industry_in("3011", "非金属矿物制品业")
    assert not industry_in("3021", "水泥制造") and not industry_in("3011", "D")
    assert matching_codes("2614", "25;C26、水泥制造") == ["C26"]
    assert classify("C3011").two_high


@pytest.fixture(scope="module")
def sample():
    from gis_screening.layerset import load_layerset
    from gis_screening.screening import load_rules
    return load_layerset(ROOT / "sample_data" / "layerset.yaml"), load_rules()


def _findings(sample, code, **attrs):
    from gis_screening.io.projects import load_projects
    from gis_screening.model import Project
    from gis_screening.screening import screen
    ls, rules = sample
    geom = load_projects(ROOT / "sample_data" / "projects" / "projects.gpkg")[0].geometry
    p = Project(id="T1", geometry=geom, industry_code=code, construction_type="新建", attributes=attrs, source="test")
    res = screen([p], ls, rules).results[0]
    return res, {f.rule_id: f for f in res.findings}


def test_unknown_coarse_and_numeric_codes_need_review(sample):
    res, f = _findings(sample, "3019")
    assert f["unit.industry_code_unknown"].level == "needs_review" and "3019" in f["unit.industry_code_unknown"].message
    res, f = _findings(sample, "30")
    assert "unit.industry_code_coarse" in f and "非金属矿物制品业" in f["unit.industry_code_coarse"].message
    assert res.to_json()["project"]["industry_level"] == "大类"
    res, f = _findings(sample, "3011")
    assert not {"unit.industry_code_unknown", "unit.industry_code_coarse"} & set(f)
    assert res.to_json()["project"]["industry_name"] == "水泥制造"
    res, f = _findings(sample, "311", industry_code_alt="0311")
    assert "0311（牛的饲养）" in f["unit.industry_code_leading_zero"].message


def test_a_code_written_with_its_name_is_read_as_the_eia_forms_write_it():
    """国民经济行业类别 as the EIA forms write it (the code with its name, either order, with or without the 门类
    letter) or a GB/T name alone is read as its code; a name contradicting the code, a wrong 门类 letter, or two
    codes in one cell stay unread (the rules then say the code is unknown: 需人工核实)."""
    for cell in ("C3011 水泥制造", "C3011水泥熟料制造", "3011-水泥制造", "水泥制造（3011）", "水泥制造(C3011)", "c 3011 水泥制造",
                 "水泥制造"):
        assert code_text(cell) == ("3011", None), cell
    assert code_text("卷烟制造") == ("1620", None)        # 中类 162 and 小类 1620 share the name: the deepest
    assert code_text("非金属矿物制品业") == ("30", None)    # a 大类: read, and the rules then ask for the 小类
    for cell in ("C3011 平板玻璃制造", "B3011 水泥制造", "3011,3021", "2511/2521", "3O11", "水泥"):
        code, _ = code_text(cell)
        assert code not in gbt4754(), cell


def test_admission_list_entries_written_with_names_are_read():
    """A 禁止类/限制类 entry written as code and name (C3011水泥制造；C3041平板玻璃制造) covers that code; it is no
    longer an unreadable mention (which made a prohibited project only 需人工核实)."""
    from gis_screening.engine.conditions import unreadable_mentions
    listed = "C3011水泥制造；C3041平板玻璃制造"
    assert matching_codes("3011", listed) == ["C3011水泥制造"] and industry_in("3041", listed)
    assert not industry_in("3021", listed) and unreadable_mentions(listed, "3011") == ""
    assert matching_codes("3011", "3011（水泥制造）、3041") == ["3011（水泥制造）"]
    assert not industry_in("3011", "B3011水泥制造") and unreadable_mentions("B3011水泥制造", "3011") == "B3011水泥制造"


def test_projects_of_different_codes_on_one_unit_each_get_their_own_reading_of_its_lists(sample):
    """A feature's context (what its lists say about the project's code) is built once per feature and code in a
    screening and reused by the later projects with that code: each project's findings are those it gets when
    screened alone, whatever codes the projects before it had."""
    from gis_screening.io.projects import load_projects
    from gis_screening.model import Project
    from gis_screening.screening import screen
    ls, rules = sample
    geom = load_projects(ROOT / "sample_data" / "projects" / "projects.gpkg")[0].geometry
    codes = ["3011", "2614", "3399", "3011", "30", None, "3041"]      # the units restrict 2614;3011;3041
    projects = [Project(id=f"T{k}", geometry=geom, industry_code=c, construction_type="新建", source="test")
                for k, c in enumerate(codes)]
    together = [r.to_json() for r in screen(projects, ls, rules).results]
    alone = [screen([p], ls, rules).results[0].to_json() for p in projects]
    assert together == alone
    restricted = {c: [f["message"] for f in r["findings"] if f["rule_id"] == "unit.restricted_industry"]
                  for c, r in zip(codes, together)}
    for code in ("3011", "2614", "3041"):       # the entry of the list that covers the code, as each message names it
        assert restricted[code] and all(f"限制类（{code}）" in m for m in restricted[code]), restricted[code]
    assert restricted["3399"] == []


def test_codes_typed_in_full_width_read_as_the_code(sample, tmp_path):
    """A code typed with a Chinese IME in full-width mode (３０１１, Ｃ３０１１, a 禁止类 entry ３０) is the code: it was
    kept as written, no 两高 class was found for it, and the cement plant was screened as an unknown industry."""
    for cell in ("３０１１", "Ｃ３０１１", "３０１１水泥制造", "水泥制造（Ｃ３０１１）", "30１1"):
        assert code_text(cell) == ("3011", None), cell
    assert normalise_code("ｃ３０１１") == "3011" and industry_in("3011", "２５；３０")
    import geopandas as gpd

    from gis_screening.io.projects import load_projects
    from gis_screening.screening import screen
    src = gpd.read_file(ROOT / "sample_data" / "projects" / "projects.gpkg").head(1)
    src["行业代码"] = "３０１１"
    src.to_file(tmp_path / "p.gpkg")
    ls, rules = sample
    res = screen(load_projects(tmp_path / "p.gpkg"), ls, rules).results[0].to_json()
    assert res["project"]["industry_code"] == "3011" and res["project"]["two_high"] is True
    assert "unit.industry_code_unknown" not in {f["rule_id"] for f in res["findings"]}



def test_a_cell_naming_several_codes_is_said_and_screened_as_unknown(tmp_path):
    """A cement plant with its own power plant written 3011、4411: no code is picked for it (the rules say the
    code is unknown: 需人工核实), and the import says why and what to do, in the result and the report."""
    import geopandas as gpd

    from gis_screening.io.projects import load_projects
    from gis_screening.reports.import_notes import import_note_zh
    src = gpd.read_file(ROOT / "sample_data" / "projects" / "projects.gpkg").head(2)
    src["行业代码"] = ["3011、4411", "C3011 水泥制造"]
    src.to_file(tmp_path / "p.gpkg")
    several, one = load_projects(tmp_path / "p.gpkg")
    assert several.industry_code == "3011、4411" and one.industry_code == "3011"
    (note,) = [n for n in several.problems if "several codes" in n]
    assert import_note_zh(note, several.id).startswith("注意：行业代码“3011、4411”含多个代码，按未知行业筛查")
    assert not [n for n in one.problems if "several codes" in n]


def test_yes_no_typed_in_full_width_is_read():
    """A yes/no typed with a Chinese IME in full-width mode (１, ０, ＹＥＳ) reads as typed in ASCII, as codes do."""
    import pytest

    from gis_screening.normalise import yes_no
    assert [yes_no(v) for v in ("１", "０", "ＹＥＳ", "Ｎｏ", " 是 ")] == [True, False, True, False, True]
    with pytest.raises(ValueError):
        yes_no("２")
