"""两高 sector identification from GB/T 4754-2017 industry codes (table: rules/reference/two_high_sectors.csv)."""
from __future__ import annotations

import csv
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
def two_high_table() -> dict[str, dict]:
    """``{class_code: row}`` from the reference table."""
    with open(data_dir("rules") / "reference" / "two_high_sectors.csv", encoding="utf-8") as fh:
        return {row["industry_code"].strip(): row for row in csv.DictReader(fh)}


def classify(code: str | None) -> SectorMatch:
    """Is ``code`` a 两高 class?  Exact 4-digit classes match; 2–3 digit prefixes covering listed classes → None."""
    if not code:
        return SectorMatch(None, None, None)
    c = str(code).strip()
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


@lru_cache(maxsize=1)
def gbt4754_divisions() -> dict[str, str]:
    """GB/T 4754-2017 大类 (two-digit divisions) → name, from rules/reference/gbt4754_divisions.csv."""
    with open(data_dir("rules") / "reference" / "gbt4754_divisions.csv", encoding="utf-8") as fh:
        return {row["division"]: row["name"] for row in csv.DictReader(fh)}
