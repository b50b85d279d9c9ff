"""Rule conditions are compiled once into Python functions; they must agree with simpleeval on every input."""
import ast
import random

import pytest

from gis_screening.engine.conditions import Ctx, _simpleeval, check_expression, compiled

EXPRS = [
    "feature.grade == '二级保护区' and project.discharges_pollutants == None and not project.two_high",
    "project.two_high and project.sector and ('化工' in project.sector or '石化' in project.sector) "
    "and not project.in_chemical_park and project.new_or_expanded",
    "industry_in(project.industry_code, feature.prohibited_industries)",
    "project.area_m2 > 5000 * 2", "project.x in ['a', 'b']", "any_of(project.ct, '新建;扩建')",
    "project.area_m2 >= 10 or feature.grade != '一级保护区'", "-project.area_m2 < -100",
]
VALUES = [None, True, False, "化工", "二级保护区", "一级保护区", "3011", "25;30", 6000, 20000, 3, "a", "新建"]
KEYS = ["discharges_pollutants", "two_high", "sector", "in_chemical_park", "new_or_expanded", "industry_code",
        "area_m2", "x", "ct"]


def _outcome(fn):
    try:
        return "ok", bool(fn())
    except Exception as exc:  # noqa: BLE001 - compared between the two evaluators
        return "error", type(exc).__name__


def _agreed(expr: str, names: dict) -> tuple:
    """The compiled condition's outcome on ``names``, checked equal to simpleeval's (an error type counts)."""
    a = _outcome(lambda: compiled(expr)(names))
    b = _outcome(lambda: _simpleeval(expr, names))
    assert a[0] == b[0] and (a[0] == "error" or a == b), (expr, names, a, b)
    return a


@pytest.mark.parametrize("expr", EXPRS)
def test_compiled_conditions_agree_with_simpleeval(expr):
    rng = random.Random(7)
    assert check_expression(expr) is None
    seen = set()
    for _ in range(1500):
        names = {"project": Ctx({k: rng.choice(VALUES) for k in KEYS}),
                 "feature": Ctx({k: rng.choice(VALUES) for k in ("grade", "prohibited_industries")}),
                 "overlap": Ctx()}
        seen.add(_agreed(expr, names))
    assert ("ok", True) in seen and ("ok", False) in seen   # the inputs exercise both outcomes


def test_every_shipped_condition_agrees_with_simpleeval():
    """Each shipped rule's condition, on random values of exactly the fields it reads."""
    from gis_screening.screening import load_rules
    rng = random.Random(11)
    conditions = {r.when for r, _ in load_rules().rules if r.when}
    assert len(conditions) >= 25
    for expr in sorted(conditions):
        reads: dict[str, set[str]] = {"project": set(), "feature": set(), "overlap": set()}
        values = [None, True, False, "2511", "4411", "C", 0]     # plus the expression's constants
        for node in ast.walk(ast.parse(expr)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                reads[node.value.id].add(node.attr)
            elif isinstance(node, ast.Constant):
                values.append(node.value)
        outcomes = set()
        for _ in range(1000):
            names = {k: Ctx({f: rng.choice(values) for f in sorted(fields)}) for k, fields in sorted(reads.items())}
            outcomes.add(_agreed(expr, names))
        assert ("ok", True) in outcomes or len(reads["project"] | reads["feature"]) == 0, expr


def test_unknown_names_and_functions_are_refused_at_load():
    assert "unknown" in (check_expression("projet.two_high") or "").lower() or check_expression("projet.two_high")
    assert check_expression("open('x')")
    assert check_expression("project.__class__")


def test_a_condition_outside_the_compiled_subset_is_left_to_simpleeval():
    """A condition simpleeval alone understands (here a conditional expression) is evaluated by it, and works."""
    from gis_screening.engine.conditions import _ViaSimpleeval
    assert not isinstance(compiled("project.sector == '钢铁' and not project.in_park"), _ViaSimpleeval)
    inline_if = "(1 if project.in_park else 2) == 2"
    assert check_expression(inline_if) is None and isinstance(compiled(inline_if), _ViaSimpleeval)
    assert compiled(inline_if)({"project": Ctx(in_park=False)}) is True
    assert compiled(inline_if)({"project": Ctx(in_park=True)}) is False


def test_the_leading_terms_of_a_condition_that_read_none_of_some_facts():
    """What a rule may test before trying each 建设性质: the leading ``and`` terms that read none of the facts."""
    from gis_screening.engine.conditions import leading_part
    facts = frozenset({"new_or_expanded", "construction_type"})
    assert leading_part("project.two_high and feature.x == 1 and project.new_or_expanded and project.in_park",
                        facts) == "(project.two_high) and (feature.x == 1)"
    assert leading_part("project.new_or_expanded and project.two_high", facts) is None
    assert leading_part("project.two_high or project.new_or_expanded", facts) is None      # one term, reads it
    assert leading_part("project.two_high", facts) == "(project.two_high)"
    assert leading_part("len(project) > 0 and project.two_high", facts) is None          # the project as a whole


def _render_by_walking(template: str, names: dict) -> str:
    """The meaning of a message template, walked field by field (what the compiled templates must equal)."""
    import re
    out, pos = [], 0
    for m in re.finditer(r"\{([A-Za-z][\w.]*)(?::([^{}|]*))?(?:\|([^{}]*))?\}", template):
        out.append(template[pos:m.start()])
        obj = names
        for part in m.group(1).split("."):
            obj = obj.get(part) if isinstance(obj, dict) else None
            if obj is None:
                break
        if obj is None:
            out.append("未知" if m.group(3) is None else m.group(3))
        elif m.group(2):
            try:
                out.append(format(obj, m.group(2)))
            except (ValueError, TypeError):
                out.append(str(obj))
        else:
            out.append(str(obj))
        pos = m.end()
    return "".join(out) + template[pos:]


def test_every_shipped_message_renders_as_walking_its_fields_would():
    """Messages and bases are compiled once per template; for every template of the shipped packs and random
    contexts (missing levels, None, numbers that a format fits or not, text, nested mappings) the text is the one
    the field-by-field reading gives."""
    from gis_screening.engine.conditions import render
    from gis_screening.screening import load_rules
    stack = load_rules()
    templates = {t for rule, _ in stack.rules for t in (rule.message, *rule.basis) if t}
    templates |= {"{a}", "x{a.b.c:,.1f}y{a}", "{a:>5}{b:.2%}", "无字段", "{a.b}{a.b}", "{a.b|（未载入）}{a.c:.1f|无}"}
    rng = random.Random(4)
    values = [None, 0, 1234.5678, -3, True, "文字", "", [1, 2], {"k": 1}, float("nan")]

    def ctx(depth=0):
        keys = ["name", "code", "industry_code", "overlap_area_m2", "distance_m", "a", "b", "c", "sector",
                "spatial_constraints", "share_pct", "matched_codes", "unit_outside", "attainment"]
        return Ctx({k: (ctx(depth + 1) if depth < 1 and rng.random() < 0.2 else rng.choice(values))
                    for k in rng.sample(keys, rng.randint(0, len(keys)))})
    assert len(templates) > 40
    for _ in range(300):
        names = {k: ctx() for k in ("project", "feature", "overlap") if rng.random() < 0.9} | {"a": ctx(), "b": 7}
        for t in templates:
            assert render(t, names) == _render_by_walking(t, names), t


def test_any_of_reads_each_option_text_as_written():
    """``any_of`` splits each option text once; texts that compare equal but read differently (1 and 1.0) stay
    apart, and an option list that is no text still works."""
    from gis_screening.engine.conditions import evaluate
    one = {"project": Ctx(v="1"), "feature": Ctx(opts=1), "overlap": Ctx()}
    one_point_o = {"project": Ctx(v="1"), "feature": Ctx(opts=1.0), "overlap": Ctx()}
    assert evaluate("any_of(project.v, feature.opts)", one)
    assert not evaluate("any_of(project.v, feature.opts)", one_point_o)
    assert evaluate("any_of(project.v, feature.opts)", {**one, "feature": Ctx(opts="3;1、2")})
    assert evaluate("any_of(project.v, feature.opts)", {**one, "feature": Ctx(opts=["1"])}) is False   # its text
