"""GB/T 4754-2017 国民经济行业分类: the code table and how industry-code cells are read (a leading 门类 letter, a
leading 0 lost by a spreadsheet).  Used by the readers (project loading) and by the engine (两高 sectors, rules)."""
from __future__ import annotations

import csv
import numbers
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .resources import data_dir

# 门类 → the 大类 (two-digit divisions) it spans, GB/T 4754-2017 表1.
SECTIONS = {"A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60),
            "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79),
            "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97)}
LEVELS = {1: "门类", 2: "大类", 3: "中类", 4: "小类"}


@dataclass(frozen=True)
class IndustryClass:
    """One entry of GB/T 4754-2017: code (letter, 2, 3 or 4 digits), name, level (门类/大类/中类/小类), parent code."""
    code: str
    name: str
    level: str
    parent: str | None


def parent_code(code: str) -> str | None:
    """The enclosing entry's code: 3011 → 301 → 30 → C; a 门类 has none."""
    if len(code) == 1:
        return None
    if len(code) == 2:
        n = int(code)
        return next((k for k, (lo, hi) in SECTIONS.items() if lo <= n <= hi), None)
    return code[:-1]


@lru_cache(maxsize=1)
def gbt4754() -> dict[str, IndustryClass]:
    """The whole GB/T 4754-2017 code table (rules/reference/gbt4754_2017.csv), in the standard's order."""
    with open(data_dir("rules") / "reference" / "gbt4754_2017.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {r["code"]: IndustryClass(r["code"], r["name"], LEVELS[len(r["code"])], parent_code(r["code"]))
            for r in rows}


def normalise_code(code) -> str:
    """Strip blanks and a leading 门类 letter written before digits ("C3011" → "3011"); full-width letters and
    digits, as typed with a Chinese IME, read as the ASCII ones ("Ｃ３０１１" → "3011")."""
    c = unicodedata.normalize("NFKC", str(code or "")).strip().upper()
    if len(c) > 1 and c[0].isalpha() and c[1:].isdigit():
        c = c[1:]
    return c


def code_text(value) -> tuple[str | None, str | None]:
    """An industry code cell as text, plus the code it was if a spreadsheet or numeric field dropped a leading 0.

    ``3011`` → ("3011", None); ``301`` read from a number → ("301", "0301") because 0301 (牛的饲养) is also a class;
    text cells are never re-padded.  A code written with its name as the EIA forms do (``C3011 水泥制造``,
    ``3011水泥制造``, ``水泥制造（3011）``) or a GB/T 4754-2017 name alone (``水泥制造``) is read as its code
    (:func:`code_in_text`); any other text is kept as written (the rules name it an unknown code).  Returns
    (None, None) for empty cells.
    """
    if value is None or (isinstance(value, float) and value != value):
        return None, None
    if isinstance(value, str) or isinstance(value, bool) or not isinstance(value, numbers.Real):
        c = normalise_code(value)
        return (code_in_text(c) or c) or None, None
    if float(value) != int(float(value)):
        return str(value), None
    c = str(int(float(value)))
    alt = "0" + c if len(c) in (1, 3) and "0" + c in gbt4754() else None
    return c, alt


_CODE_THEN_NAME = re.compile(r"([A-T])?\s*(\d{2,4})\s*[、,，:：\-—_\s]*([^\d]*?)")
_NAME_THEN_CODE = re.compile(r"([^\d]*?)\s*[（(]\s*([A-T])?\s*(\d{2,4})\s*[)）]")


def code_in_text(text: str) -> str | None:
    """The GB/T 4754-2017 code a cell names with words around it, or None.  ``C3011 水泥制造`` / ``水泥制造（3011）``
    → 3011 when 3011 is in the standard, its 门类 letter (if written) is C, and the name is not the standard's name
    of another entry (a descriptive name such as 水泥熟料制造 is fine); a name alone → its code when the standard
    gives that name to one entry (or one chain, such as 中类 161 and 小类 1610 卷烟制造: the deepest).  Text
    naming two codes, or a code and a contradicting name, is no code (None)."""
    t = text.strip().upper()
    m = _CODE_THEN_NAME.fullmatch(t)
    letter, code, name = (m.group(1), m.group(2), m.group(3)) if m else (None, None, None)
    if m is None and (m2 := _NAME_THEN_CODE.fullmatch(t)):
        name, letter, code = m2.group(1), m2.group(2), m2.group(3)
    table = gbt4754()
    if code is None:
        return _code_by_name().get(text.strip())
    if code not in table:
        return None
    chain = set()
    c: str | None = code
    while c is not None:
        chain.add(c)
        c = parent_code(c)
    if letter and letter not in chain:
        return None
    named = _code_by_name().get((name or "").strip())
    if named is not None and named not in chain and not named.startswith(code):
        return None
    return code


@lru_cache(maxsize=1)
def _code_by_name() -> dict[str, str]:
    """GB/T 4754-2017 name → code, for names the standard gives to one entry or to one chain of entries (the
    deepest code); names given to unrelated entries are left out."""
    codes: dict[str, list[str]] = {}
    for code, entry in gbt4754().items():
        codes.setdefault(entry.name, []).append(code)
    out = {}
    for name, found in codes.items():
        deepest = max(found, key=len)
        if all(deepest.startswith(c) for c in found):
            out[name] = deepest
    return out
