"""Rule packs: validation errors name file, rule and field; overrides are explicit; as-of picks packs."""
import datetime as dt
import subprocess
import sys

import pytest

from gis_screening.engine.conditions import Ctx, evaluate, industry_in, render
from gis_screening.errors import InputError
from gis_screening.screening import load_rules

BASE = """id: {id}
title: 测试包
version: "1"
level: {level}
effective: {effective}
rules:
{rules}
"""
RULE = """  - id: {rid}
    title: 测试规则
    layer: eco_redline
    level: {level}
    message: 测试
    basis: [测试依据]
{extra}"""


def _pack(tmp_path, name, rid="t.rule", level="non_compliant", extra="", pack_level="national",
          effective="2020-01-01", pid=None):
    path = tmp_path / f"{name}.yaml"
    path.write_text(BASE.format(id=pid or name, level=pack_level, effective=effective,
                                rules=RULE.format(rid=rid, level=level, extra=extra)), encoding="utf-8")
    return path


def test_shipped_packs_are_valid():
    stack = load_rules()
    ids = [r.id for r, _ in stack.rules]
    assert "national.redline.construction" in ids and "unit.prohibited_industry" in ids
    assert all(r.basis for r, _ in stack.rules)
    assert [(p.id, p.level) for p, _ in stack.packs] == [("national", "national"), ("fujian", "provincial"),
                                                          ("fujian-carbon", "provincial"), ("unit-admission", "unit")]
    assert len(ids) == len(set(ids)) >= 30
    # every rule that forbids (不符合) cites its basis, and no citation is an internal id
    assert all(b and not b.startswith(("national.", "fujian.", "unit.")) for r, _ in stack.rules for b in r.basis)


def test_bad_level_names_file_rule_and_field(tmp_path):
    path = _pack(tmp_path, "bad", rid="x.level", level="forbidden")
    with pytest.raises(InputError) as exc:
        load_rules([path])
    text = str(exc.value)
    assert "bad.yaml" in text and "rule x.level" in text and "field 'level'" in text


def test_a_level_written_as_reports_show_it_is_that_level(tmp_path):
    """A city's pack written in Chinese (level: 需人工核实, 不符合 …) means the levels reports show under those
    labels, for rules and carbon checks alike; any other text is still refused."""
    from gis_screening.carbon.checks import Check
    from gis_screening.engine.model import LEVEL_LABELS
    for level, label in LEVEL_LABELS.items():
        (rule, _), = load_rules([_pack(tmp_path, f"p{level}", level=f" {label}")]).rules
        assert rule.level == level
        assert Check.model_validate({"level": label, "basis": ["x"], "title": "t"}).level == level
    with pytest.raises(InputError, match="field 'level'"):
        load_rules([_pack(tmp_path, "bad", level="需要核实")])


def test_bad_condition_is_rejected(tmp_path):
    path = _pack(tmp_path, "cond", rid="x.cond", extra="    when: \"project.__class__\"\n")
    with pytest.raises(InputError, match="x.cond"):
        load_rules([path])
    path2 = _pack(tmp_path, "cond2", rid="x.cond2", extra="    when: \"project.a ==\"\n")
    with pytest.raises(InputError, match="condition does not parse"):
        load_rules([path2])


def test_override_must_be_explicit(tmp_path):
    a = _pack(tmp_path, "a", rid="same")
    b = _pack(tmp_path, "b", rid="same", level="info", pack_level="provincial")
    with pytest.raises(InputError, match="override: true"):
        load_rules([a, b])
    b = _pack(tmp_path, "b", rid="same", level="info", pack_level="provincial", extra="    override: true\n")
    stack = load_rules([a, b])
    assert [(r.id, r.level, p.id) for r, p in stack.rules] == [("same", "info", "b")]


def test_as_of_picks_packs_in_force(tmp_path):
    old = _pack(tmp_path, "old", rid="r.old", effective="2020-01-01")
    new = _pack(tmp_path, "new", rid="r.new", effective="2025-01-01")
    assert [r.id for r, _ in load_rules([old, new], as_of=dt.date(2024, 6, 1)).rules] == ["r.old"]
    assert sorted(r.id for r, _ in load_rules([old, new], as_of=dt.date(2025, 6, 1)).rules) == ["r.new", "r.old"]


def test_a_date_no_pack_covers_is_refused_and_packs_not_in_force_are_named(tmp_path):
    """With no pack in force every project would come out 符合 (no rule to break): refused, naming the date and
    when the packs are in force.  Packs found but not in force are named (their rules are not applied)."""
    old = _pack(tmp_path, "old", rid="r.old", effective="2020-01-01")
    new = _pack(tmp_path, "new", rid="r.new", effective="2025-01-01")
    with pytest.raises(InputError, match=r"no rule pack is in force on 2019-06-01 \(old from 2020-01-01; new from "
                                         r"2025-01-01\)"):
        load_rules([old, new], as_of=dt.date(2019, 6, 1))
    stack = load_rules([old, new], as_of=dt.date(2024, 6, 1))
    assert [p.id for p, _ in stack.not_in_force] == ["new"]
    assert stack.not_in_force_note(dt.date(2024, 6, 1)) == ("note: rule packs not in force on 2024-06-01, their "
                                                            "rules not applied: new (in force from 2025-01-01)")
    assert load_rules([old, new], as_of=dt.date(2025, 6, 1)).not_in_force_note(None) is None


def test_conditions_are_safe_and_useful():
    names = {"project": Ctx(industry_code="3011", two_high=True), "feature": Ctx(prohibited_industries="25;26、30")}
    assert evaluate("industry_in(project.industry_code, feature.prohibited_industries)", names)
    assert not evaluate("project.missing", names)
    assert industry_in("2614", "26") and not industry_in("3120", "25;26") and not industry_in(None, "25")
    from simpleeval import InvalidExpression
    with pytest.raises(InvalidExpression):
        evaluate("__import__('os').system('true')", names)
    assert render("{project.industry_code} {overlap.area:,.1f} {feature.x}", {"project": names["project"],
                                                                             "overlap": {"area": 1234.5}}) == "3011 1,234.5 未知"


def test_rules_check_cli(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "gis_screening.cli", "rules", "check"], capture_output=True, text=True)
    assert ok.returncode == 0 and "all valid" in ok.stdout
    bad = _pack(tmp_path, "bad", rid="x.level", level="forbidden")
    res = subprocess.run([sys.executable, "-m", "gis_screening.cli", "rules", "check", str(bad)],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "x.level" in res.stderr and "Traceback" not in res.stderr


def test_missing_construction_type_decided_like_trying_every_value():
    """A rule needing 建设性质 on a project without it: one trial that never read the fact stands for all three
    values; otherwise each is tried.  Checked against trying all three on every shipped rule that needs it."""
    import random

    from gis_screening.engine.screen import CONSTRUCTION_TYPES, _decide, _plan, with_construction_type
    steps = [s for s in _plan(load_rules()) if s.rule.requires and s.rule.when]
    assert steps and sum(s.pre is not None for s in steps) >= len(steps) // 2
    rng = random.Random(3)
    values = {"two_high": [True, False, None], "sector": [None, "化工", "钢铁"], "in_park": [True, False],
              "in_chemical_park": [True, False], "industry_code": ["2614", "3011", "4411", None],
              "industry_section": ["B", "C", "D", None]}
    feature_values = {"category": ["优先保护单元", "重点管控单元"], "grade": ["一级保护区", "准保护区"]}
    decided = undecided = 0
    for _ in range(400):
        pctx = with_construction_type(Ctx({k: rng.choice(v) for k, v in values.items()}), None)
        names = {"project": pctx, "feature": Ctx({k: rng.choice(v) for k, v in feature_values.items()}),
                 "overlap": Ctx()}
        variants = [with_construction_type(pctx, v) for v in CONSTRUCTION_TYPES]
        for step in steps:
            outcomes = {bool(step.test({**names, "project": v})) for v in variants}
            expected = (outcomes.pop(), []) if len(outcomes) == 1 else (False, ["construction_type"])
            assert _decide(step, names, lambda v=variants: v) == expected, (step.rule.id, pctx)
            decided += not expected[1]
            undecided += bool(expected[1])
    assert decided and undecided


def test_conditions_and_messages_read_the_overlap_whether_or_not_an_earlier_rule_did(tmp_path):
    """The overlap's figures are built for the conditions that read them and for the findings made
    (engine.screen._finding), not for every rule: a condition on ``overlap.share_pct`` decides by the share, and a
    message quoting ``overlap.overlap_area_m2`` of a rule whose condition reads only the feature quotes it — first
    in the stack or after a rule that built them."""
    from pathlib import Path

    from gis_screening.io.projects import load_projects
    from gis_screening.layerset import load_layerset
    from gis_screening.screening import screen
    root = Path(__file__).resolve().parents[1]
    rules = "".join(f"""  - id: t.{rid}
    title: 测试{rid}
    layer: control_units
    level: info
    when: "{when}"
    message: "{message}"
    basis: ["依据 {{feature.code}}"]
""" for rid, when, message in [
        ("area_first", "feature.code", "重叠 {overlap.overlap_area_m2:,.1f} m²"),
        ("share_big", "overlap.share_pct is not None and overlap.share_pct >= 50", "占比 {overlap.share_pct}%"),
        ("share_small", "overlap.share_pct is not None and overlap.share_pct < 50", "小 {overlap.share_pct}%"),
        ("area_after", "feature.code", "之后 {overlap.overlap_area_m2:,.1f} m²")])
    path = tmp_path / "p.yaml"
    path.write_text(BASE.format(id="p", level="national", effective="2020-01-01", rules=rules), encoding="utf-8")
    ls = load_layerset(root / "sample_data" / "layerset.yaml")
    projects = load_projects(root / "sample_data" / "projects" / "projects.gpkg")
    results = screen(projects, ls, load_rules([path])).results
    seen = set()
    for res in results:
        units = [o for o in res.overlaps if o.role == "control_units" and o.overlap_area_m2 > 0.01]
        mine = {(f.rule_id, f.feature_id): f for f in res.findings}
        for o in units:
            share = round(100 * o.overlap_ratio, 2) if o.overlap_ratio is not None else None
            if share is None:
                continue
            area = f"{round(o.overlap_area_m2, 2):,.1f}"
            assert mine[("t.area_first", o.feature_id)].message == f"重叠 {area} m²"
            assert mine[("t.area_after", o.feature_id)].message == f"之后 {area} m²"
            big = share >= 50
            assert (("t.share_big", o.feature_id) in mine, ("t.share_small", o.feature_id) in mine) == (big, not big)
            seen.add(big)
    assert seen == {True, False}        # both sides of the share seen on the sample projects


@pytest.mark.parametrize("when,fallback", [("feature.area_ha > 1", False), ("len(feature.nothing) > 1", False),
                                           ("feature.x // 0", True)])
def test_a_condition_that_cannot_be_evaluated_for_a_project_is_one_line_naming_pack_rule_project_and_feature(
        tmp_path, when, fallback):
    """A condition that passes ``rules check`` but cannot be evaluated on a project's values (a missing value
    compared, measured or divided) is an input error naming the pack file, the rule, the project and the feature —
    from the compiled conditions and from simpleeval's alike — and the CLI says it in one line (exit 2), never a
    traceback."""
    from pathlib import Path

    from gis_screening.engine.conditions import compiled
    from gis_screening.io.projects import load_projects
    from gis_screening.layerset import load_layerset
    from gis_screening.screening import screen
    root = Path(__file__).resolve().parents[1]
    path = _pack(tmp_path, "cond", rid="t.bad", level="non_compliant",
                 extra=f'    when: "{when}"\n').read_text(encoding="utf-8").replace("eco_redline", "control_units")
    (tmp_path / "cond.yaml").write_text(path, encoding="utf-8")
    assert (type(compiled(when)).__name__ == "_ViaSimpleeval") == fallback
    stack = load_rules([tmp_path / "cond.yaml"])          # passes the checks made when a pack is loaded
    ls = load_layerset(root / "sample_data" / "layerset.yaml")
    projects = load_projects(root / "sample_data" / "projects" / "projects.gpkg")
    with pytest.raises(InputError) as err:
        screen(projects, ls, stack)
    text = str(err.value)
    head = f"{tmp_path / 'cond.yaml'}, rule t.bad, field 'when': condition {when!r} cannot be evaluated for project "
    assert text.startswith(head) and " of 环境管控单元 (" in text
    project, _, feature = text[len(head):].partition(", feature ")
    assert project in {p.id for p in projects} and feature.split(" of ")[0] in set(ls.first("control_units").gdf["code"])
    cli = subprocess.run([sys.executable, "-m", "gis_screening.cli", "screen", "--layerset",
                          str(root / "sample_data" / "layerset.yaml"), "--project",
                          str(root / "sample_data" / "projects" / "projects.gpkg"), "--rules", str(tmp_path / "cond.yaml"),
                          "--json", str(tmp_path / "out.json")], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr and not (tmp_path / "out.json").exists()
    assert [line for line in cli.stderr.splitlines() if line.strip()] == [f"error: {text}"]
