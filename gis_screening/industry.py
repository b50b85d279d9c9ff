"""GB/T 4754-2017 国民经济行业分类: the code table and how industry-code cells are read (a leading 门类 letter, a
leading 0 lost by a spreadsheet).  Used by the readers (project loading) and by the engine (两高 sectors, rules)."""
from __future__ import annotations

import csv
import numbers
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
    """Strip blanks and a leading 门类 letter written before digits ("C3011" → "3011")."""
    c = str(code or "").strip().upper()
    if len(c) > 1 and c[0].isalpha() and c[1:].isdigit():
        c = c[1:]
    return c


def code_text(value) -> tuple[str | None, str | None]:
    """An industry code cell as text, plus the code it was if a spreadsheet or numeric field dropped a leading 0.

    ``3011`` → ("3011", None); ``301`` read from a number → ("301", "0301") because 0301 (牛的饲养) is also a class;
    text cells are never re-padded.  Returns (None, None) for empty cells.
    """
    if value is None or (isinstance(value, float) and value != value):
        return None, None
    if isinstance(value, str) or isinstance(value, bool) or not isinstance(value, numbers.Real):
        c = normalise_code(value)
        return c or None, None
    if float(value) != int(float(value)):
        return str(value), None
    c = str(int(float(value)))
    alt = "0" + c if len(c) in (1, 3) and "0" + c in gbt4754() else None
    return c, alt
