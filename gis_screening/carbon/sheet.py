"""建设项目信息表 (contracts/project-sheet.md) as a pydantic model; errors name the file, row and key.

Missing fields are not errors (checks that need them yield 需人工核实); wrong types, negative quantities and
unknown benchmark ids are.  Keys outside the contract (e.g. ``discharges_pollutants`` read by rules) are kept.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..errors import validated
from ..normalise import number_or_given

#: A number, also as a spreadsheet's text gives it (``1,500,000``, full width); other text is refused, named.
Number = Annotated[float, BeforeValidator(number_or_given)]
#: A physical quantity: a finite number (inf, NaN and 1e400 are refused with the key named).
Quantity = Annotated[Number, Field(allow_inf_nan=False)] | None


class Product(BaseModel):
    """One product: ``benchmark`` is the id of its row in the energy-benchmark table; a product that has no row
    (e.g. 丙烯酸) is named with ``name`` and no ``benchmark`` — that is not missing data."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    benchmark: str | None = None
    name: str | None = None
    capacity: Number | None = Field(None, ge=0)
    unit_energy: Number | None = None   # may be negative (e.g. BOF steel)
    #: the unit ``unit_energy`` is given in where not the benchmark's (a table header's: 单位产品能耗（tce/t）)
    unit_energy_unit: str | None = None

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
        if self.unit_energy_unit is not None and self.benchmark is not None:
            if self.unit_energy is not None:
                self.unit_energy = round(self.unit_energy * _unit_factor(self.unit_energy_unit, self.benchmark), 9)
            self.unit_energy_unit = None        # in the benchmark's unit now
        return self


#: energy units a value may be given in for a benchmark in the other: (given, benchmark's) → factor
_MASS_PREFIXES = {("tce", "kgce"): 1000.0, ("toe", "kgoe"): 1000.0, ("kgce", "tce"): 0.001, ("kgoe", "toe"): 0.001}


def _unit_factor(given: str, benchmark: str) -> float:
    """The factor from a unit energy given in ``given`` to the unit of the benchmark row ``benchmark``: 1 for the
    same unit (blanks, width and 吨/t aside), 1000 for tce/t where the row is in kgce/t; ValueError otherwise."""
    import unicodedata

    from .reference import benchmarks, product_label
    row = benchmarks()[benchmark]

    def norm(unit: str) -> tuple[str, str]:
        text = "".join(unicodedata.normalize("NFKC", unit).split()).replace("吨", "t").replace("m2", "m²")
        head, _, per = text.partition("/")
        return head.lower().replace("kwh", "kWh"), per
    (g, g_per), (b, b_per) = norm(given), norm(row["unit"])
    if g_per == b_per and (g == b or (g, b) in _MASS_PREFIXES):
        return 1.0 if g == b else _MASS_PREFIXES[(g, b)]
    raise ValueError(f"unit energy given in {given}; the benchmark of {product_label(row)} is in {row['unit']}: "
                     f"give the value in {row['unit']}")


def _same(a: str, b: str) -> bool:
    """Two product labels equal but for blanks and the width of brackets."""
    def norm(t: str) -> str:
        return "".join(t.split()).replace("(", "（").replace(")", "）")
    return norm(a) == norm(b)


class Energy(BaseModel):
    """Annual physical consumption; fuels in t (natural gas in 万Nm³), electricity MWh, heat GJ."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
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
    model_config = ConfigDict(extra="forbid", defer_build=True)
    so2: Quantity = Field(None, ge=0)
    nox: Quantity = Field(None, ge=0)
    pm: Quantity = Field(None, ge=0)
    vocs: Quantity = Field(None, ge=0)


class ProjectSheet(BaseModel):
    """What the carbon checks read about a project (a plain schema object; the app shows it as a form)."""

    model_config = ConfigDict(extra="allow", defer_build=True)
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
