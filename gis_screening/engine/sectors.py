"""两高 sector identification from GB/T 4754-2017 industry codes (table: rules/reference/two_high_sectors.csv)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from ..industry import IndustryClass, gbt4754, normalise_code
from ..resources import data_dir


@dataclass(frozen=True)
class SectorMatch:
    two_high: bool | None        # None: the code is a group/major prefix that may or may not be 两高
    sector: str | None
    class_name: str | None
    candidates: tuple[str, ...] = ()
    source: str = "环环评〔2021〕45号; GB/T 4754-2017"


@lru_cache(maxsize=1)
def serious_water_polluters() -> dict[str, dict[str, str]]:
    """``{code or prefix: row}`` of industries that seriously pollute water (《水污染防治法》第六十七条 准保护区),
    from rules/reference/water_serious_polluters.csv (compiled for screening, marked 未核对)."""
    with open(data_dir("rules") / "reference" / "water_serious_polluters.csv", encoding="utf-8") as fh:
        return {row["industry_code"].strip(): row for row in csv.DictReader(fh)}


def serious_water_polluter(code: str | None) -> str | None:
    """The table entry (code and name) that covers ``code``, or None."""
    c = normalise_code(code)
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
    c = normalise_code(code)
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
def two_high_table() -> dict[str, dict[str, str]]:
    """``{class_code: row}`` from the reference table."""
    with open(data_dir("rules") / "reference" / "two_high_sectors.csv", encoding="utf-8") as fh:
        return {row["industry_code"].strip(): row for row in csv.DictReader(fh)}


def classify(code: str | None) -> SectorMatch:
    """Is ``code`` a 两高 class?  Exact 4-digit classes match; 2–3 digit prefixes covering listed classes → None."""
    c = normalise_code(code)
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


def industry_path(code: str | None) -> list[IndustryClass]:
    """``code`` and its ancestors, 门类 first; empty when the code is not in GB/T 4754-2017."""
    table = gbt4754()
    c: str | None = normalise_code(code)
    out: list[IndustryClass] = []
    while c and c in table:
        out.insert(0, table[c])
        c = table[c].parent
    return out


def path_text(path: list[IndustryClass]) -> str:
    """“C 制造业 › 30 非金属矿物制品业 › 301 … › 3011 水泥制造”."""
    return " › ".join(f"{e.code} {e.name}" for e in path)


