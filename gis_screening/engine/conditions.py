"""Safe rule conditions and message templates (simpleeval; never ``eval``).

Names available in conditions: ``project``, ``feature``, ``overlap`` (attribute access on dicts, missing keys
are ``None``), plus helper functions: ``industry_in(code, list_text)`` (GB/T 4754 codes, prefixes, 门类 letters or
class names separated by ``; , 、`` or spaces), ``contains(text, word)``, ``startswith(text, prefix)``, ``any_of(value, 'a;b')``.
"""
from __future__ import annotations

import ast
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from ..industry import code_in_text, normalise_code
from .sectors import industry_path

_SPLIT = re.compile(r"[;,，；、\s]+")


class Ctx(dict[str, Any]):
    """A dict whose keys read as attributes (``project.industry_code``); missing keys are ``None``."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)


def split_codes(text: object) -> list[str]:
    """GB/T 4754 codes or prefixes from a list text like ``'25;26、3011'``."""
    if text is None:
        return []
    return [c for c in _SPLIT.split(str(text)) if c]


def _options(text: object) -> frozenset[str] | list[str]:
    """The entries of an option list text (:func:`split_codes`), split once per text."""
    try:
        return _options_of(text)
    except TypeError:       # an unhashable value
        return split_codes(text)


@lru_cache(maxsize=4096, typed=True)     # 1 and 1.0 are different texts
def _options_of(text: object) -> frozenset[str]:
    return frozenset(split_codes(text))


def _covers(code: str, entry: str, names: set[str]) -> bool:
    e = normalise_code(entry)
    if e.isalpha():                      # a 门类 letter (C) or a class name (水泥制造)
        return e in names or entry in names
    if e.isdigit():
        return code.startswith(e)
    read = code_in_text(entry)           # a code written with its name: C3011水泥制造, 水泥制造（3011）
    return read is not None and (read in names if read.isalpha() else code.startswith(read))


def matching_codes(code: object, list_text: object) -> list[str]:
    """The entries of ``list_text`` that cover ``code`` (see :func:`_matching_codes`)."""
    return list(_matching_codes(None if code is None else str(code), None if list_text is None else str(list_text)))


@lru_cache(maxsize=65536)
def _matching_codes(code: object, list_text: object) -> tuple[str, ...]:
    """The entries of ``list_text`` that cover ``code``: code prefixes ("30", "C30"), 门类 letters or names of the
    code's class or any enclosing group in GB/T 4754-2017 ("水泥制造")."""
    c = normalise_code(code)
    if not c:
        return ()
    names = {x for e in industry_path(c) for x in (e.code, e.name)}
    return tuple(e for e in split_codes(list_text) if _covers(c, e, names))


@lru_cache(maxsize=1)
def _gbt_words() -> frozenset[str]:
    """Every GB/T 4754-2017 code and class name: what a 禁止类/限制类 entry may be (besides a code prefix)."""
    from ..industry import gbt4754
    return frozenset(w for c in gbt4754().values() for w in (c.code, c.name))


@lru_cache(maxsize=65536)
def unreadable_mentions(list_text: object, code: object) -> str:
    """The entries of a 禁止类/限制类 list that are no GB/T 4754 code, 门类 letter or class name (say 水泥, 化工项目)
    but name the industry of ``code`` (see :func:`~gis_screening.engine.sectors.industry_terms`), joined with 、;
    "" when there are none.  :func:`industry_in` cannot read such an entry, so whether it covers the project is a
    question for a person."""
    from .sectors import industry_terms
    if not list_text or not code:
        return ""
    words = _gbt_words()
    terms = industry_terms(str(code))
    return "、".join(e for e in split_codes(list_text) if normalise_code(e) not in words and e not in words
                    and code_in_text(e) is None and any(t in e for t in terms))


_SENTENCE = re.compile(r"[^。；;！!\n]+")


@lru_cache(maxsize=65536)
def prohibition_sentence(text: object, code: object) -> str | None:
    """The first sentence of a 准入清单 text that prohibits (禁止 / 不得新建 / 严禁) and names the industry of
    ``code`` (see :func:`~gis_screening.engine.sectors.industry_terms`), or None."""
    from .sectors import industry_terms
    if not text or not code:
        return None
    terms = industry_terms(str(code))
    for sentence in _SENTENCE.findall(str(text)):
        if any(w in sentence for w in ("禁止", "严禁", "不得新建", "不得建设")) and any(t in sentence for t in terms):
            return str(sentence).strip()
    return None


def industry_in(code: object, list_text: object) -> bool:
    """True when ``code`` falls under any entry of ``list_text`` (see :func:`matching_codes`)."""
    return bool(matching_codes(code, list_text))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "industry_in": industry_in,
    "contains": lambda text, word: bool(text) and str(word) in str(text),
    "startswith": lambda text, prefix: bool(text) and str(text).startswith(str(prefix)),
    "any_of": lambda value, options: value is not None and str(value) in _options(options),
    "len": len,
}


@lru_cache(maxsize=512)
def _parsed(expr: str) -> Any:
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
        _simpleeval(expr, probe)   # simpleeval names unknown names and functions
    except InvalidExpression as exc:
        return str(exc)
    except Exception:  # type errors on None probes are fine at check time
        pass
    return None


_local = threading.local()

_CMP_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Is: "is",
           ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_BIN_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_CONST = {"True": True, "False": False, "None": None}
Compiled = Callable[[dict[str, Any]], Any]
#: The file name of the code a compiled condition runs (tracebacks name it).
CONDITION_SOURCE = "<rule condition>"


class _NotCompilable(Exception):
    pass


class _Source:
    """Python source for the safe subset of expressions (names, attribute reads on dicts, constants, comparisons,
    and/or/not, arithmetic, calls of :data:`FUNCTIONS`), same meaning as simpleeval's.  The source holds only
    tokens written here, temporaries ``_tN`` and references ``_kN`` to values of the expression (constants, keys,
    functions) kept in :attr:`values`: no text of the expression itself ever reaches the compiler."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.temps = 0

    def value(self, v: Any) -> str:
        name = f"_k{len(self.values)}"
        self.values[name] = v
        return name

    def of(self, node: ast.AST) -> str:
        if isinstance(node, ast.Expr):
            return self.of(node.value)
        if isinstance(node, ast.Constant):
            return self.value(node.value)
        if isinstance(node, ast.Name):
            return self.value(_CONST[node.id]) if node.id in _CONST else f"names.get({self.value(node.id)})"
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise _NotCompilable(node.attr)
            inner, t = self.of(node.value), f"_t{self.temps}"
            self.temps += 1
            return f"({t}.get({self.value(node.attr)}) if isinstance({t} := {inner}, dict) else None)"
        if isinstance(node, ast.BoolOp):
            joint = " and " if isinstance(node.op, ast.And) else " or "
            return "(" + joint.join(self.of(v) for v in node.values) + ")"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            return f"({'not ' if isinstance(node.op, ast.Not) else '-'}{self.of(node.operand)})"
        if isinstance(node, ast.Compare) and all(type(op) in _CMP_OPS for op in node.ops):
            parts = [self.of(node.left)]
            for cmp, right in zip(node.ops, node.comparators):
                parts += [_CMP_OPS[type(cmp)], self.of(right)]
            return "(" + " ".join(parts) + ")"
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN_OPS:
            return f"({self.of(node.left)} {_BIN_OPS[type(node.op)]} {self.of(node.right)})"
        if isinstance(node, (ast.List, ast.Tuple)):
            return "[" + "".join(f"{self.of(e)}, " for e in node.elts) + "]"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS \
                and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args):
            fn = self.value(FUNCTIONS[node.func.id])
            return f"{fn}(" + ", ".join(self.of(a) for a in node.args) + ")"
        raise _NotCompilable(type(node).__name__)


def _compile(node: ast.AST) -> Compiled:
    """One Python function for the safe subset (:class:`_Source`); anything else is left to simpleeval.
    A condition runs as one call instead of a tree of closures (about three times faster)."""
    src = _Source()
    body = src.of(node)
    fn: Compiled = eval(compile(f"lambda names: {body}", CONDITION_SOURCE, "eval"),   # noqa: S307 - see _Source
                        {"__builtins__": {}, "isinstance": isinstance, "dict": dict, **src.values})
    return fn


class _ViaSimpleeval:
    """A condition outside the compiled subset, evaluated by simpleeval each time."""

    def __init__(self, expr: str) -> None:
        self.expr = expr

    def __call__(self, names: dict[str, Any]) -> Any:
        return _simpleeval(self.expr, names)


@lru_cache(maxsize=1024)
def compiled(expr: str) -> Compiled:
    """The condition ``expr`` compiled once: one Python function for the safe subset, else a simpleeval call."""
    try:
        return _compile(_parsed(expr))
    except _NotCompilable:
        return _ViaSimpleeval(expr)


@lru_cache(maxsize=1024)
def project_fields(expr: str) -> frozenset[str] | None:
    """The ``project.<field>`` names ``expr`` reads, or None when it uses ``project`` in another way (as a whole)."""
    tree = _parsed(expr)
    fields = set()
    whole = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "project":
            fields.add(node.attr)
            whole -= 1          # this Name node is read through an attribute
        elif isinstance(node, ast.Name) and node.id == "project":
            whole += 1
    return None if whole > 0 else frozenset(fields)


@lru_cache(maxsize=1024)
def names_read(expr: str) -> frozenset[str]:
    """The names (``project``, ``feature``, ``overlap``…) ``expr`` reads."""
    return frozenset(n.id for n in ast.walk(_parsed(expr)) if isinstance(n, ast.Name))


@lru_cache(maxsize=1024)
def project_part(expr: str) -> str | None:
    """The part of ``expr`` that reads the project alone: its top-level ``and`` terms that read neither ``feature``
    nor ``overlap`` (all of ``expr`` when it reads neither), or None when no term does.  A rule on a layer the layer
    set lacks could fire only for a project for which this part holds."""
    tree = _parsed(expr)
    node = tree.value if isinstance(tree, ast.Expr) else tree
    terms = node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
    kept = [t for t in terms if not {n.id for n in ast.walk(t) if isinstance(n, ast.Name)} & {"feature", "overlap"}]
    return " and ".join(f"({ast.unparse(t)})" for t in kept) or None


@lru_cache(maxsize=1024)
def leading_part(expr: str, fields: frozenset[str]) -> str | None:
    """The leading top-level ``and`` terms of ``expr`` that read none of the ``project.<field>`` names ``fields``
    (nor ``project`` as a whole), or None when the first term reads one.  Where this part is false, so is ``expr``,
    whatever those fields are."""
    tree = _parsed(expr)
    node = tree.value if isinstance(tree, ast.Expr) else tree
    terms = node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
    kept = []
    for t in terms:
        reads = project_fields(ast.unparse(t))
        if reads is None or reads & fields:
            break
        kept.append(t)
    return " and ".join(f"({ast.unparse(t)})" for t in kept) or None


def _simpleeval(expr: str, names: dict[str, Any]) -> Any:
    evaluator = getattr(_local, "evaluator", None)
    if evaluator is None:
        evaluator = _local.evaluator = EvalWithCompoundTypes(functions=FUNCTIONS)
    evaluator.names = names
    try:
        return evaluator.eval(expr, previously_parsed=_parsed(expr))
    finally:
        evaluator.names = {}


def evaluate(expr: str | None, names: dict[str, Any]) -> bool:
    """Evaluate a condition (validated by :func:`check_expression` at load, compiled once); empty is true."""
    if not expr:
        return True
    return bool(compiled(expr)(names))


_FIELD = re.compile(r"\{([A-Za-z][\w.]*)(?::([^{}|]*))?(?:\|([^{}]*))?\}")


def render(template: str, names: dict[str, Any]) -> str:
    """Fill ``{project.name}``, ``{overlap.overlap_area_m2:,.1f}``… from ``names``; unknown → 未知, or the text after
    ``|`` (``{feature.spatial_constraints|未载入}``).  Each template is compiled once into one expression
    (:func:`_renderer`): ~87,000 messages for 10,000 projects."""
    return _renderer(template)(names)


def _formatted(value: Any, fmt: str, unknown: str = "未知") -> str:
    """``value`` in ``fmt`` (its plain text when the format does not fit it); ``unknown`` for None."""
    if value is None:
        return unknown
    try:
        return format(value, fmt)
    except (ValueError, TypeError):
        return str(value)


@lru_cache(maxsize=1024)
def _renderer(template: str) -> Callable[[dict[str, Any]], str]:
    """``template`` as one generated expression: each ``{a.b}`` is ``names["a"]["b"]`` read with ``get`` (None, and
    so 未知, where a level is missing or not a mapping), formatted as its ``:format`` says."""
    parts = _template(template)
    if len(parts) == 1:
        return lambda names: template
    items = [repr(parts[0])]
    for k in range(1, len(parts), 4):
        path, fmt, unknown, text = parts[k:k + 4]
        value = "names"
        for part in path:
            value = f"(_t.get({part!r}) if isinstance(_t := {value}, dict) else None)"
        items.append(f"_formatted({value}, {fmt!r}, {unknown!r})" if fmt else
                     f"({unknown!r} if (_v := {value}) is None else str(_v))")
        items.append(repr(text))
    code = compile(f"lambda names: ''.join(({', '.join(items)},))", "<message template>", "eval")
    fn: Callable[[dict[str, Any]], str] = eval(code, {"_formatted": _formatted})   # noqa: S307 - our own source
    return fn


@lru_cache(maxsize=1024)
def _template(template: str) -> tuple[Any, ...]:
    """``template`` split once: literal, then (field path, format, text for unknown, literal) for each
    ``{field:format|unknown}``."""
    parts: list[Any] = []
    pos = 0
    for m in _FIELD.finditer(template):
        parts += [template[pos:m.start()], tuple(m.group(1).split(".")), m.group(2),
                  "未知" if m.group(3) is None else m.group(3)]
        pos = m.end()
    parts.append(template[pos:])
    return tuple(parts)
