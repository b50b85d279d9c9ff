"""Safe rule conditions and message templates (simpleeval; never ``eval``).

Names available in conditions: ``project``, ``feature``, ``overlap`` (attribute access on dicts, missing keys
are ``None``), plus helper functions: ``industry_in(code, list_text)`` (GB/T 4754 codes, prefixes, 门类 letters or
class names separated by ``; , 、`` or spaces), ``contains(text, word)``, ``startswith(text, prefix)``, ``any_of(value, 'a;b')``.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from .sectors import industry_path, normalize_code

_SPLIT = re.compile(r"[;,，；、\s]+")


class Ctx(dict):
    """A dict whose keys read as attributes (``project.industry_code``); missing keys are ``None``."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)


def split_codes(text) -> list[str]:
    """GB/T 4754 codes or prefixes from a list text like ``'25;26、3011'``."""
    if text is None:
        return []
    return [c for c in _SPLIT.split(str(text)) if c]


def _covers(code: str, entry: str, names: set[str]) -> bool:
    e = normalize_code(entry)
    if e.isalpha():                      # a 门类 letter (C) or a class name (水泥制造)
        return e in names or entry in names
    return code.startswith(e)


def matching_codes(code, list_text) -> list[str]:
    """The entries of ``list_text`` that cover ``code``: code prefixes ("30", "C30"), 门类 letters or names of the
    code's class or any enclosing group in GB/T 4754-2017 ("水泥制造")."""
    c = normalize_code(code)
    if not c:
        return []
    names = {x for e in industry_path(c) for x in (e.code, e.name)}
    return [e for e in split_codes(list_text) if _covers(c, e, names)]


def industry_in(code, list_text) -> bool:
    """True when ``code`` falls under any entry of ``list_text`` (see :func:`matching_codes`)."""
    return bool(matching_codes(code, list_text))


FUNCTIONS = {
    "industry_in": industry_in,
    "contains": lambda text, word: bool(text) and str(word) in str(text),
    "startswith": lambda text, prefix: bool(text) and str(text).startswith(str(prefix)),
    "any_of": lambda value, options: value is not None and str(value) in split_codes(options),
    "len": len,
}


@lru_cache(maxsize=512)
def _parsed(expr: str):
    evaluator = EvalWithCompoundTypes(functions=FUNCTIONS)
    return evaluator.parse(expr)


def check_expression(expr: str) -> str | None:
    """Return an error text when ``expr`` does not parse or uses names outside the allowed set."""
    try:
        _parsed(expr)
    except (SyntaxError, InvalidExpression) as exc:
        return f"{type(exc).__name__}: {exc}"
    probe = Ctx(project=Ctx(), feature=Ctx(), overlap=Ctx())
    try:
        evaluate(expr, probe)
    except InvalidExpression as exc:
        return str(exc)
    except Exception:  # type errors on None probes are fine at check time
        pass
    return None


_local = threading.local()


def evaluate(expr: str | None, names: dict) -> bool:
    """Evaluate a condition (parsed once per expression, one evaluator per thread); ``None``/empty is true."""
    if not expr:
        return True
    evaluator = getattr(_local, "evaluator", None)
    if evaluator is None:
        evaluator = _local.evaluator = EvalWithCompoundTypes(functions=FUNCTIONS)
    evaluator.names = names
    try:
        return bool(evaluator.eval(expr, previously_parsed=_parsed(expr)))
    finally:
        evaluator.names = {}


_FIELD = re.compile(r"\{([A-Za-z][\w.]*)(?::([^{}]*))?\}")


def render(template: str, names: dict) -> str:
    """Fill ``{project.name}``, ``{overlap.overlap_area_m2:,.1f}``… from ``names``; unknown → 未知."""
    def repl(m):
        obj = names
        for part in m.group(1).split("."):
            obj = obj.get(part) if isinstance(obj, dict) else None
            if obj is None:
                return "未知"
        fmt = m.group(2)
        if fmt:
            try:
                return format(obj, fmt)
            except (ValueError, TypeError):
                return str(obj)
        return str(obj)
    return _FIELD.sub(repl, template)
