"""Reference tables in rules/reference/ (each row keeps its source and check status)."""
from __future__ import annotations

import csv
from functools import cache, lru_cache

from ..resources import data_dir


def _rows(name: str) -> list[dict]:
    with open(data_dir("rules") / "reference" / name, encoding="utf-8") as fh:
        return [{k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()} for row in csv.DictReader(fh)]


@cache
def benchmarks(edition: str = "2021") -> dict[str, dict]:
    """能效标杆/基准 rows of one edition, by id."""
    return {r["id"]: r for r in _rows("energy_benchmarks.csv") if r["edition"] == edition}


@lru_cache(maxsize=4096)
def products_of(edition: str, code: str) -> tuple[dict, ...]:
    """The benchmark rows of ``edition`` for the products of industry ``code`` (a GB/T 4754 小类; none for "")."""
    return tuple(b for b in benchmarks(edition).values() if code and b["industry_code"].rstrip("?") == code)


def product_label(row: dict) -> str:
    """A benchmark row's product as officials name it: 水泥熟料, or 平板玻璃（>800 t/d） with its route."""
    return f"{row['product']}（{row['route']}）" if row["route"] else row["product"]


@lru_cache(maxsize=1)
def related_pollutants() -> dict[str, set[str]]:
    """Failing air-quality parameter (PM2.5, PM10, O3, NO2, SO2) → related pollutant keys (环发〔2014〕197号)."""
    return {r["failing_parameter"].strip().upper(): set(r["related_pollutants"].split(";"))
            for r in _rows("related_pollutants.csv")}


@lru_cache(maxsize=1)
def benchmark_ids() -> frozenset[str]:
    return frozenset(r["id"] for r in _rows("energy_benchmarks.csv"))


@lru_cache(maxsize=1)
def fuel_factors() -> dict[str, dict]:
    """Fuel rows by sheet key (``bituminous_coal_t`` …)."""
    return {r["key"]: r for r in _rows("emission_factors.csv")}


@lru_cache(maxsize=1)
def grid_factors() -> dict[str, dict]:
    return {r["key"]: r for r in _rows("grid_factors.csv")}
