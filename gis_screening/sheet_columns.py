"""What reviewers call the project-sheet fields (contracts/project-sheet.md): the labels the app's form shows and
the Chinese column headers a sheet table (XLSX/CSV, one project per row) may use instead of the dotted keys —
``原煤(t)`` for ``energy.raw_coal_t``, ``用地范围文件`` for ``footprint``, ``是否燃煤自备电厂`` for
``captive_coal_power``.  Qt-free: the form, the table reader and the sheet validator share it."""
from __future__ import annotations

import re

from .catalog import Catalog, fold

#: annual energy use: key under ``energy`` → label (with the unit the value is in)
ENERGY_LABELS = {"raw_coal_t": "原煤 t", "bituminous_coal_t": "烟煤 t", "anthracite_t": "无烟煤 t", "lignite_t": "褐煤 t",
                 "washed_coal_t": "洗精煤 t", "coke_t": "焦炭 t", "crude_oil_t": "原油 t", "fuel_oil_t": "燃料油 t",
                 "gasoline_t": "汽油 t", "diesel_t": "柴油 t", "kerosene_t": "煤油 t", "lng_t": "液化天然气 t",
                 "lpg_t": "液化石油气 t", "refinery_gas_t": "炼厂干气 t", "natural_gas_10k_nm3": "天然气 万Nm³",
                 "electricity_mwh": "外购电力 MWh", "heat_gj": "外购热力 GJ"}
#: new annual emissions: key under ``emissions_t`` → label
EMISSION_LABELS = {"so2": "二氧化硫 t/a", "nox": "氮氧化物 t/a", "pm": "颗粒物 t/a", "vocs": "挥发性有机物 t/a"}
#: 工业炉窑燃料: the sheet's value → label, and the words a table may use for it
KILN_FUELS = {"coal": "燃煤", "gas": "天然气", "electricity": "电", "biomass": "生物质", "oil": "燃油", "none": "无"}
KILN_WORDS = {"煤": "coal", "燃煤": "coal", "煤炭": "coal", "天然气": "gas", "燃气": "gas", "电": "electricity",
              "电力": "electricity", "电能": "electricity", "生物质": "biomass", "燃油": "oil", "油": "oil",
              "重油": "oil", "无": "none", "不涉及": "none", "无炉窑": "none"}
#: other top-level keys → their Chinese column headers
OTHER_HEADERS = {"footprint": ("用地范围", "用地范围文件", "项目范围", "项目范围文件", "红线范围", "红线坐标文件",
                               "范围文件", "坐标文件"),
                 "captive_coal_power": ("燃煤自备电厂", "是否燃煤自备电厂", "含燃煤自备电厂"),
                 "kiln_fuel": ("工业炉窑燃料", "炉窑燃料", "窑炉燃料"),
                 # one product a row: its name as the benchmark table gives it (水泥熟料, 平板玻璃（>800 t/d）) or any
                 # other product's name; capacity and unit energy in the benchmark's units
                 "products.0.benchmark": ("产品", "产品名称", "主要产品", "产品（能效标杆）"),
                 "products.0.capacity": ("年产能", "设计产能", "产能"),
                 "products.0.unit_energy": ("单位产品能耗", "单位产品综合能耗")}

#: the units a quantity column may be given in, as factors to the sheet's unit (the label's)
UNITS: dict[str, dict[str, float]] = {
    "t": {"t": 1, "吨": 1, "t/a": 1, "吨/年": 1, "万t": 1e4, "万吨": 1e4, "万t/a": 1e4, "万吨/年": 1e4},
    "万Nm³": {"万nm³": 1, "万nm3": 1, "万m³": 1, "万m3": 1, "万立方米": 1, "万标立方米": 1, "万标方": 1,
              "nm³": 1e-4, "nm3": 1e-4, "m³": 1e-4, "m3": 1e-4, "立方米": 1e-4, "标立方米": 1e-4},
    "MWh": {"mwh": 1, "兆瓦时": 1, "万kwh": 10, "万千瓦时": 10, "万度": 10, "kwh": 1e-3, "千瓦时": 1e-3, "度": 1e-3},
    "GJ": {"gj": 1, "吉焦": 1, "万gj": 1e4, "mj": 1e-3, "兆焦": 1e-3},
}
UNITS["t/a"] = UNITS["t"]
#: a product's annual output: in its benchmark's unit (t, m², 重量箱), 万 of it ×10,000
PRODUCT_UNIT = "产品单位（t、m² 或 重量箱）"
UNITS[PRODUCT_UNIT] = {f"{wan}{unit}": 1e4 if wan else 1
                       for wan in ("", "万") for unit in ("t", "吨", "m²", "m2", "平方米", "重量箱")}
_NAME_UNIT = re.compile(r"(?P<name>.*?)\s*(?:[（(](?P<paren>[^）)]*)[）)]|\s(?P<word>\S+))?")


def kiln_fuel(value: object) -> object:
    """A 工业炉窑燃料 cell as the sheet's value: 燃煤 → coal, 天然气 → gas …; anything else as given (the sheet's
    validation names a value that is none of them)."""
    if isinstance(value, str):
        return KILN_WORDS.get(value.strip(), value.strip())
    return value


def sheet_column(header: str, catalog: Catalog) -> tuple[str, float] | None:
    """(dotted sheet key, factor to the sheet's unit) of a table column header, or None when it names no sheet
    field: a Chinese label with or without its unit (``原煤``, ``原煤(t)``, ``原煤（万吨）`` → ×10,000,
    ``外购电力（万kWh）`` → ×10, ``二氧化硫 t/a``), or a projects-role field title or alias of the catalog (项目编号,
    行业代码, 建设性质, 是否有限人为活动 …).  ValueError for a quantity in a unit it cannot be converted from."""
    text = str(header).strip()
    known = _headers(catalog)
    if fold(text) in known:
        return known[fold(text)], 1.0
    m = _NAME_UNIT.fullmatch(text)
    if m is None or fold(m["name"]) not in known:
        return None
    key = known[fold(m["name"])]
    unit = header_unit(text)
    base = _UNIT_OF.get(key)
    if base is None:
        return key, 1.0
    units = UNITS[base]
    factor = units.get(fold(unit or ""))
    if factor is None and base == PRODUCT_UNIT:       # an annual output: 万吨/年 as 万吨
        factor = units.get(fold(unit or "").removesuffix("/a").removesuffix("/年"))
    if factor is None:
        raise ValueError(f"column {text!r}: unit {unit!r} is not one {key} can be given in "
                         f"({' / '.join(units)}); the sheet's unit is {base}")
    return key, float(factor)


def header_unit(header: str) -> str | None:
    """The unit a column header gives after the name (``单位产品能耗（tce/t）``, ``原煤 t`` → ``tce/t``, ``t``), or None."""
    m = _NAME_UNIT.fullmatch(str(header).strip())
    return None if m is None else m["paren"] if m["paren"] is not None else m["word"]


_HEADERS: dict[int, tuple[Catalog, dict[str, str]]] = {}
_UNIT_OF = {**{f"energy.{k}": v.split()[1] for k, v in ENERGY_LABELS.items()},
            **{f"emissions_t.{k}": v.split()[1] for k, v in EMISSION_LABELS.items()},
            "products.0.capacity": PRODUCT_UNIT}


def _headers(catalog: Catalog) -> dict[str, str]:
    """Folded header → sheet key, worked out once per catalog."""
    hit = _HEADERS.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    out: dict[str, str] = {}
    for key, label in ENERGY_LABELS.items():
        out[fold(label.split()[0])] = f"energy.{key}"
    for key, label in EMISSION_LABELS.items():
        out[fold(label.split()[0])] = f"emissions_t.{key}"
    for key, names in OTHER_HEADERS.items():
        out.update({fold(n): key for n in names})
    for key, spec in catalog.role("projects").fields.items():
        out.update({fold(n): key for n in (spec.title, *spec.aliases) if not n.isascii() or n == key})
    _HEADERS[id(catalog)] = (catalog, out)
    return out
