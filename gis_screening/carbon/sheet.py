"""建设项目信息表 (contracts/project-sheet.md) as a pydantic model; errors name the file, row and key.

Missing fields are not errors (checks that need them yield 需人工核实); wrong types, negative quantities and
unknown benchmark ids are.  Keys outside the contract (e.g. ``discharges_pollutants`` read by rules) are kept.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import validated

#: A physical quantity: a finite number (inf, NaN and 1e400 are refused with the key named).
Quantity = Annotated[float, Field(allow_inf_nan=False)] | None


class Product(BaseModel):
    """One product: ``benchmark`` is the id of its row in the energy-benchmark table; a product that has no row
    (e.g. 丙烯酸) is named with ``name`` and no ``benchmark`` — that is not missing data."""

    model_config = ConfigDict(extra="forbid")
    benchmark: str | None = None
    name: str | None = None
    capacity: float | None = Field(None, ge=0)
    unit_energy: float | None = None   # may be negative (e.g. BOF steel)

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, data):
        """A product named in Chinese, as a table or form may give it: the benchmark row of that name (水泥熟料,
        平板玻璃（>800 t/d）) becomes ``benchmark``; a name of no row is the product's ``name`` (a product without a
        benchmark); a name of several rows is an error listing them.  An unknown ASCII id stays an error."""
        if not isinstance(data, dict) or not isinstance(data.get("benchmark"), str) or data["benchmark"].isascii():
            return data
        from .reference import benchmark_ids, benchmarks, product_label
        text = data["benchmark"].strip()
        if text in benchmark_ids():
            return data
        rows = benchmarks()
        label = {bid: product_label(r) for bid, r in rows.items()}
        exact = [bid for bid, lab in label.items() if _same(lab, text)]
        named = exact or [bid for bid, r in rows.items() if _same(r["product"], text)]
        if len(named) == 1:
            return {**data, "benchmark": named[0]}
        if named:
            raise ValueError(f"product {text!r} has several benchmark rows: {'、'.join(label[b] for b in named)}; "
                             "give one of them")
        return {**{k: v for k, v in data.items() if k != "benchmark"}, "name": data.get("name") or text}

    @field_validator("benchmark")
    @classmethod
    def _known(cls, v):
        from .reference import benchmark_ids
        if v is not None and v not in benchmark_ids():
            raise ValueError(f"unknown benchmark id {v!r}; see rules/reference/energy_benchmarks.csv "
                             "(a product without a benchmark row is given by `name` only)")
        return v

    @model_validator(mode="after")
    def _named(self):
        if self.benchmark is None and not self.name:
            raise ValueError("a product needs `benchmark` (an id of the benchmark table) or `name`")
        return self


def _same(a: str, b: str) -> bool:
    """Two product labels equal but for blanks and the width of brackets."""
    def norm(t: str) -> str:
        return "".join(t.split()).replace("(", "（").replace(")", "）")
    return norm(a) == norm(b)


class Energy(BaseModel):
    """Annual physical consumption; fuels in t (natural gas in 万Nm³), electricity MWh, heat GJ."""

    model_config = ConfigDict(extra="forbid")
    raw_coal_t: Quantity = Field(None, ge=0)
    bituminous_coal_t: Quantity = Field(None, ge=0)
    anthracite_t: Quantity = Field(None, ge=0)
    lignite_t: Quantity = Field(None, ge=0)
    washed_coal_t: Quantity = Field(None, ge=0)
    coke_t: Quantity = Field(None, ge=0)
    crude_oil_t: Quantity = Field(None, ge=0)
    fuel_oil_t: Quantity = Field(None, ge=0)
    gasoline_t: Quantity = Field(None, ge=0)
    diesel_t: Quantity = Field(None, ge=0)
    kerosene_t: Quantity = Field(None, ge=0)
    lng_t: Quantity = Field(None, ge=0)
    lpg_t: Quantity = Field(None, ge=0)
    refinery_gas_t: Quantity = Field(None, ge=0)
    natural_gas_10k_nm3: Quantity = Field(None, ge=0)
    electricity_mwh: Quantity = Field(None, ge=0)
    heat_gj: Quantity = Field(None, ge=0)


class Emissions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    so2: Quantity = Field(None, ge=0)
    nox: Quantity = Field(None, ge=0)
    pm: Quantity = Field(None, ge=0)
    vocs: Quantity = Field(None, ge=0)


class ProjectSheet(BaseModel):
    """What the carbon checks read about a project (a plain schema object; the app shows it as a form)."""

    model_config = ConfigDict(extra="allow")
    id: str | None = None
    name: str | None = None
    industry_code: str | None = None
    construction_type: Literal["新建", "改建", "扩建", "改扩建", "技术改造"] | None = None
    footprint: str | dict | None = None
    products: list[Product] = Field(default_factory=list)
    energy: Energy | None = None
    captive_coal_power: bool | None = None
    kiln_fuel: Literal["coal", "gas", "electricity", "biomass", "oil", "none"] | None = None
    emissions_t: Emissions | None = None

    @field_validator("captive_coal_power", mode="before")
    @classmethod
    def _yes_no(cls, v):
        from ..normalise import yes_no
        return yes_no(v)          # 是/否, 有/无, true/false, 1/0 (ValueError for any other text, named)

    @field_validator("kiln_fuel", mode="before")
    @classmethod
    def _fuel(cls, v):
        from ..sheet_columns import kiln_fuel
        return kiln_fuel(v)       # 燃煤 → coal, 天然气 → gas … as a table or form may say it

    @field_validator("industry_code", "id", mode="before")
    @classmethod
    def _as_text(cls, v):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return None if v is None else str(v).strip()


def validate_sheet(data: dict, where: str) -> ProjectSheet:
    """Validate a sheet mapping; the first error names ``where`` and the dotted key."""
    return validated(ProjectSheet, data, file=where, show_input=True)
