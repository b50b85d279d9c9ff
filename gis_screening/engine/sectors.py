"""两高 sector identification from GB/T 4754-2017 industry codes (table: rules/reference/two_high_sectors.csv)."""
from __future__ import annotations

import csv
import numbers
from dataclasses import dataclass
from functools import lru_cache

from ..resources import data_dir


@dataclass(frozen=True)
class SectorMatch:
    two_high: bool | None        # None: the code is a group/major prefix that may or may not be 两高
    sector: str | None
    class_name: str | None
    candidates: tuple[str, ...] = ()
    source: str = "环环评〔2021〕45号; GB/T 4754-2017"


@lru_cache(maxsize=1)
def serious_water_polluters() -> dict[str, dict]:
    """``{code or prefix: row}`` of industries that seriously pollute water (《水污染防治法》第六十七条 准保护区),
    from rules/reference/water_serious_polluters.csv (compiled for screening, marked 未核对)."""
    with open(data_dir("rules") / "reference" / "water_serious_polluters.csv", encoding="utf-8") as fh:
        return {row["industry_code"].strip(): row for row in csv.DictReader(fh)}


def serious_water_polluter(code: str | None) -> str | None:
    """The table entry (code and name) that covers ``code``, or None."""
    c = normalize_code(code)
    if not c:
        return None
    for k, row in serious_water_polluters().items():
        if c.startswith(k):
            return f"{k} {row['name']}"
    return None


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, list[str]]:
    with open(data_dir("rules") / "reference" / "industry_synonyms.csv", encoding="utf-8") as fh:
        return {r["industry_code"].strip(): [k for k in r["keywords"].split(";") if k]
                for r in csv.DictReader(fh)}


def industry_terms(code: str | None) -> list[str]:
    """Words a 准入清单 text may use for the industry of ``code``: the names of its 小类/中类/大类 in GB/T 4754-2017
    (also without a trailing 制造/业) and the keywords of rules/reference/industry_synonyms.csv (reviewed list)."""
    c = normalize_code(code)
    if not c:
        return []
    terms: list[str] = []
    for e in industry_path(c):
        if e.level in ("门类",):
            continue
        name = e.name
        terms += [name, name.removesuffix("业"), name.removesuffix("制造业"), name.removesuffix("制造")]
    for prefix, words in _synonyms().items():
        if c.startswith(prefix):
            terms += words
    return sorted({t for t in terms if len(t) >= 2}, key=len, reverse=True)


@lru_cache(maxsize=1)
def two_high_table() -> dict[str, dict]:
    """``{class_code: row}`` from the reference table."""
    with open(data_dir("rules") / "reference" / "two_high_sectors.csv", encoding="utf-8") as fh:
        return {row["industry_code"].strip(): row for row in csv.DictReader(fh)}


def classify(code: str | None) -> SectorMatch:
    """Is ``code`` a 两高 class?  Exact 4-digit classes match; 2–3 digit prefixes covering listed classes → None."""
    c = normalize_code(code)
    if not c:
        return SectorMatch(None, None, None)
    table = two_high_table()
    if c in table:
        row = table[c]
        return SectorMatch(True, row["two_high_sector"], row["class_name"])
    if len(c) < 4:
        cands = tuple(k for k in table if k.startswith(c))
        if cands:
            sectors = sorted({table[k]["two_high_sector"] for k in cands})
            return SectorMatch(None, "/".join(sectors), None, cands)
    return SectorMatch(False, None, None)


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


def industry_path(code: str | None) -> list[IndustryClass]:
    """``code`` and its ancestors, 门类 first; empty when the code is not in GB/T 4754-2017."""
    table = gbt4754()
    c: str | None = normalize_code(code)
    out: list[IndustryClass] = []
    while c and c in table:
        out.insert(0, table[c])
        c = table[c].parent
    return out


def path_text(path: list[IndustryClass]) -> str:
    """“C 制造业 › 30 非金属矿物制品业 › 301 … › 3011 水泥制造”."""
    return " › ".join(f"{e.code} {e.name}" for e in path)


def normalize_code(code) -> str:
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
        c = normalize_code(value)
        return c or None, None
    if float(value) != int(float(value)):
        return str(value), None
    c = str(int(float(value)))
    alt = "0" + c if len(c) in (1, 3) and "0" + c in gbt4754() else None
    return c, alt
