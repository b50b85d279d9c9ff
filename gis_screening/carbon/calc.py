"""Energy (tce, 当量值) and CO2 (t/a) from a project's annual consumption.

Fuel CO2 = quantity × NCV × carbon content × oxidation × 44/12 (t × GJ/t × tC/TJ / 1000 → tC).
Fuel energy = quantity × 折标煤 coefficient; where the table has none, NCV / 29.3076 GJ/tce (said in notes).
Electricity 0.1229 tce/MWh (当量值) and the chosen grid factor; heat 0.03412 tce/GJ and the heat factor.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .reference import fuel_factors, grid_factors
from .sheet import Energy

GJ_PER_TCE = 29.3076
ELEC_TCE_PER_MWH = 0.1229
HEAT_TCE_PER_GJ = 0.03412


@dataclass
class EnergyCarbon:
    energy_tce: float
    co2_t: float
    breakdown_t: dict[str, float] = field(default_factory=dict)
    energy_breakdown_tce: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def fuel_co2_t(key: str, quantity: float) -> float:
    """Combustion CO2 of ``quantity`` of fuel ``key`` (t, or 万Nm³ for natural gas)."""
    f = fuel_factors()[key]
    return quantity * float(f["ncv"]) * float(f["carbon_content_tC_per_TJ"]) * float(f["oxidation"]) * 44 / 12 / 1000


def energy_and_co2(energy: Energy, grid_key: str, heat_key: str = "heat_default") -> EnergyCarbon:
    """Annual energy (tce) and CO2 (t) with a breakdown by source."""
    out = EnergyCarbon(0.0, 0.0)
    factors = fuel_factors()
    for key, qty in energy.model_dump().items():
        if not qty or key in ("electricity_mwh", "heat_gj"):
            continue
        f = factors[key]
        co2 = fuel_co2_t(key, qty)
        if f.get("coal_equivalent_kgce_per_unit"):
            tce = qty * float(f["coal_equivalent_kgce_per_unit"]) / 1000
        else:
            tce = qty * float(f["ncv"]) / GJ_PER_TCE
            out.notes.append(f"{f['fuel']}: no 折标煤 coefficient in the table; energy from NCV / 29.3076 GJ/tce")
        out.breakdown_t[key] = round(co2, 3)
        out.energy_breakdown_tce[key] = round(tce, 3)
    if energy.electricity_mwh:
        gf = float(grid_factors()[grid_key]["value_tCO2_per_MWh"])
        out.breakdown_t["electricity_mwh"] = round(energy.electricity_mwh * gf, 3)
        out.energy_breakdown_tce["electricity_mwh"] = round(energy.electricity_mwh * ELEC_TCE_PER_MWH, 3)
    if energy.heat_gj:
        hf = float(grid_factors()[heat_key]["value_tCO2_per_MWh"])  # the heat row's value is tCO2/GJ
        out.breakdown_t["heat_gj"] = round(energy.heat_gj * hf, 3)
        out.energy_breakdown_tce["heat_gj"] = round(energy.heat_gj * HEAT_TCE_PER_GJ, 3)
    out.co2_t = round(sum(out.breakdown_t.values()), 3)
    out.energy_tce = round(sum(out.energy_breakdown_tce.values()), 3)
    return out


def benchmark_status(value: float, benchmark: float, baseline: float) -> str:
    """Lower is better: ≤ 标杆 → reaches_benchmark; ≤ 基准 → between; else below_baseline."""
    if value <= benchmark:
        return "reaches_benchmark"
    if value <= baseline:
        return "between"
    return "below_baseline"
