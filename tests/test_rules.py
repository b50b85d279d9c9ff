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
