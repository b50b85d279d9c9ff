"""Carbon-peaking admission: hand-computed energy/CO2, benchmark status, policy checks, sheet validation."""
from pathlib import Path

import pytest
import shapely
import yaml

from gis_screening.carbon.calc import energy_and_co2
from gis_screening.carbon.reference import benchmarks
from gis_screening.carbon.sheet import Energy, validate_sheet
from gis_screening.errors import InputError
from gis_screening.io.projects import load_projects
from gis_screening.layerset import load_layerset
from gis_screening.model import Project
from gis_screening.screening import load_rules, screen

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = yaml.safe_load((Path(__file__).parent / "data" / "sheets" / "golden_carbon.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_energy_and_co2(case):
    ec = energy_and_co2(Energy(**case["energy"]), "fujian_2022")
    assert ec.co2_t == pytest.approx(case["co2_t"], abs=0.1)
    assert ec.energy_tce == pytest.approx(case["energy_tce"], abs=0.01)


@pytest.mark.parametrize("row", GOLDEN["benchmarks"], ids=lambda r: f"{r['benchmark']}={r['value']}")
def test_benchmark_status(row):
    from gis_screening.carbon.calc import benchmark_status
    b = benchmarks("2021")[row["benchmark"]]
    assert benchmark_status(row["value"], float(b["benchmark"]), float(b["baseline"])) == row["status"]


@pytest.fixture(scope="module")
def sample():
    return load_layerset(ROOT / "sample_data" / "layerset.yaml"), load_rules()


def _screen(sample, sheet):
    ls, rules = sample
    geom = load_projects(ROOT / "sample_data" / "projects" / "projects.gpkg")[0].geometry  # P2026-001, in a park
    p = Project(id=sheet.get("id", "C1"), geometry=geom, industry_code=sheet.get("industry_code"),
                construction_type=sheet.get("construction_type"), sheet=sheet, source="test")
    res = screen([p], ls, rules).results[0]
    return res, {f.rule_id: f for f in res.findings}


@pytest.mark.parametrize("value,rule,level", [(98, "carbon.benchmark_reaches", "info"),
                                              (110, "carbon.benchmark_between", "conditional"),
                                              (120, "carbon.benchmark_below_baseline", "non_compliant")])
def test_clinker_line(sample, value, rule, level):
    sheet = {"id": "C1", "industry_code": "3011", "construction_type": "新建", "kiln_fuel": "gas",
             "captive_coal_power": False, "products": [{"benchmark": "clinker", "capacity": 1e6, "unit_energy": value}],
             "energy": {"natural_gas_10k_nm3": 100}, "emissions_t": {"so2": 10}}
    res, f = _screen(sample, sheet)
    assert f[rule].level == level and "标杆 100" in f[rule].message
    assert res.carbon["benchmarks"][0]["status"] == {98: "reaches_benchmark", 110: "between", 120: "below_baseline"}[value]
    assert "carbon.capacity_swap" in f and "carbon.two_high" in f


def test_captive_coal_and_coal_kiln(sample):
    res, f = _screen(sample, {"id": "C2", "industry_code": "4411", "construction_type": "新建", "captive_coal_power": True,
                              "kiln_fuel": "coal", "energy": {"bituminous_coal_t": 1000}})
    assert f["carbon.captive_coal_power"].level == "non_compliant"     # 新（扩）建燃煤自备电厂: prohibited
    assert f["carbon.coal_kiln"].level == "conditional"                # 炉窑采用清洁低碳能源: a directive
    assert res.verdict == "non_compliant"
    assert res.carbon["co2_t"] == pytest.approx(1741.8, abs=0.1)
    assert "fujian_2022" in res.carbon["factor_set"]


def test_offsets_vocs_multiple_in_fuzhou_and_non_attainment(sample):
    res, f = _screen(sample, {"id": "C3", "industry_code": "2614", "construction_type": "新建",
                              "emissions_t": {"vocs": 10, "so2": 5}})
    rows = {r["pollutant"]: r for r in res.carbon["offsets"]}
    assert rows["vocs"]["offset_t"] == 20  # 福州 3501: VOCs 倍量 (×2)
    assert "carbon.missing_data" in f and "年能源消费量" in f["carbon.missing_data"].message


def test_two_high_without_sheet_needs_review(sample):
    ls, rules = sample
    p = load_projects(ROOT / "sample_data" / "projects" / "projects.gpkg")[0]
    res = screen([p], ls, rules).results[0]
    f = {x.rule_id: x for x in res.findings}
    assert f["carbon.missing_data"].level == "needs_review" and res.carbon["two_high"] is True


@pytest.mark.parametrize("sheet,key", [
    ({"energy": {"raw_coal_t": -5}}, "energy.raw_coal_t"),
    ({"energy": {"raw_coal_t": "很多"}}, "energy.raw_coal_t"),
    ({"products": [{"benchmark": "unobtainium", "unit_energy": 1}]}, "products.0.benchmark"),
    ({"kiln_fuel": "peat"}, "kiln_fuel"),
])
def test_sheet_errors_name_key(sheet, key):
    with pytest.raises(InputError) as exc:
        validate_sheet(sheet, "sheet.yaml")
    assert f"field '{key}'" in str(exc.value) and "sheet.yaml" in str(exc.value)


def test_sample_sheets_xlsx_and_yaml_agree():
    x = {p.id: p for p in load_projects(ROOT / "sample_data" / "sheets" / "projects.xlsx")}
    y = load_projects(ROOT / "sample_data" / "sheets" / "P2026-001.yaml")[0]
    assert validate_sheet(x["P2026-001"].sheet, "x") .model_dump() == validate_sheet(y.sheet, "y").model_dump()
    assert shapely.equals_exact(x["P2026-001"].geometry, y.geometry, tolerance=1e-9)


def test_a_yaml_sheet_typed_by_hand_reads_as_the_sample(tmp_path):
    """One product written as a mapping (not a list of one), quantities with thousands separators: the same sheet."""
    y = load_projects(ROOT / "sample_data" / "sheets" / "P2026-001.yaml")[0]
    doc = yaml.safe_load((ROOT / "sample_data" / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8"))
    doc["products"] = doc["products"][0]
    doc["energy"] = {k: f"{v:,}" for k, v in doc["energy"].items()}
    doc["footprint"] = str(ROOT / "sample_data" / "sheets" / doc["footprint"])
    (tmp_path / "hand.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    (h,) = load_projects(tmp_path / "hand.yaml")
    assert validate_sheet(h.sheet, "h").model_dump(exclude={"footprint"}) == \
        validate_sheet(y.sheet, "y").model_dump(exclude={"footprint"})


def test_sheet_from_footprint_attributes(tmp_path, sample):
    import geopandas as gpd
    src = gpd.read_file(ROOT / "sample_data" / "projects" / "projects.gpkg").iloc[[0]].copy()
    src["energy.bituminous_coal_t"] = 1000.0
    src["captive_coal_power"] = 1
    src["kiln_fuel"] = "gas"
    path = tmp_path / "with_sheet.gpkg"
    src.to_file(path)
    p = load_projects(path)[0]
    assert p.sheet["energy"] == {"bituminous_coal_t": 1000.0} and p.sheet["industry_code"] == "3011"
    ls, rules = sample
    res = screen([p], ls, rules).results[0]
    assert res.carbon["co2_t"] == pytest.approx(1741.8, abs=0.1)
    assert any(f.rule_id == "carbon.captive_coal_power" for f in res.findings)


def test_carbon_levels_follow_the_text(sample):
    """新（扩）建燃煤自备电厂 does not cover 改建 and needs 建设性质; 新改扩建炉窑 covers oil too; gas-fired power is
    not 煤电."""
    _res, f = _screen(sample, {"id": "C5", "industry_code": "4411", "construction_type": "改建", "captive_coal_power": True,
                               "energy": {"bituminous_coal_t": 1000}})
    assert "carbon.captive_coal_power" not in f
    _res, f = _screen(sample, {"id": "C6", "industry_code": "4411", "captive_coal_power": True,
                               "energy": {"bituminous_coal_t": 1000}})
    assert f["carbon.captive_coal_power"].level == "needs_review" and "未填写建设性质" in f["carbon.captive_coal_power"].message \
        and f["carbon.captive_coal_power"].metrics["missing_fields"] == ["construction_type"]
    _res, f = _screen(sample, {"id": "C6b", "industry_code": "3011"})        # 产能置换 is for 新建、扩建: undecided
    assert f["carbon.capacity_swap"].level == "needs_review" and "未填写建设性质" in f["carbon.capacity_swap"].message \
        and f["carbon.capacity_swap"].metrics["missing_fields"] == ["construction_type"]
    _res, f = _screen(sample, {"id": "C7", "industry_code": "3011", "construction_type": "改建", "kiln_fuel": "oil"})
    assert f["carbon.coal_kiln"].level == "conditional" and "以油为燃料" in f["carbon.coal_kiln"].message
    res, f = _screen(sample, {"id": "C8", "industry_code": "4411", "construction_type": "新建",
                              "energy": {"natural_gas_10k_nm3": 5000, "electricity_mwh": 10}})
    assert res.context["two_high"] is False and "carbon.two_high" not in f


def test_offsets_double_only_related_pollutants_and_products_without_benchmark(sample):
    """环发〔2014〕197号: in a non-attainment area the multiple applies to the pollutants related to the failing
    parameter; a product without a benchmark row is not missing data."""
    import geopandas as gpd
    from shapely.geometry import box

    from gis_screening.model import Layer, LayerSet
    ls, rules = sample
    p = load_projects(ROOT / "sample_data" / "projects" / "projects.gpkg")[0]
    air = Layer(role="air_quality", name="大气环境质量达标区", source="mem", gdf=gpd.GeoDataFrame(
        {"admin_code": ["350199"], "attainment": ["不达标"], "failing_pollutants": ["O3"], "name": ["示范县"]},
        geometry=[box(*p.geometry.buffer(0.05).bounds)], crs=4490))
    units = ls.first("control_units")
    ls2 = LayerSet(name="t", layers=[units, air])
    p.sheet = {"id": p.id, "industry_code": "2614", "construction_type": "新建",
               "products": [{"name": "丙烯酸", "capacity": 80000}],
               "emissions_t": {"so2": 10, "nox": 10, "vocs": 10, "pm": 10},
               "energy": {"electricity_mwh": 100}, "captive_coal_power": False}
    p.industry_code = "2614"
    res = screen([p], ls2, rules).results[0]
    rows = {r["pollutant"]: r for r in res.carbon["offsets"]}
    assert rows["nox"]["ratio"] == 2 and rows["vocs"]["ratio"] == 2      # O3 precursors
    assert rows["so2"]["ratio"] == 1 and rows["pm"]["ratio"] == 1         # not related to O3
    f = {x.rule_id: x for x in res.findings}
    assert "carbon.missing_data" not in f or "产品单位能耗" not in f["carbon.missing_data"].message
    assert "丙烯酸" in f["carbon.benchmark_none"].message


def test_a_product_named_in_chinese_finds_its_benchmark_row():
    """A sheet (or table) may name the product as the benchmark table does: 水泥熟料 → clinker, 平板玻璃(>800 t/d)
    → flat_glass_gt800 (brackets of either width); 平板玻璃 alone has two rows and is an error listing them; a name
    of no row is a product without a benchmark (its name); an unknown id stays an error."""
    from gis_screening.carbon.sheet import Product
    from gis_screening.errors import InputError, validated
    assert Product.model_validate({"benchmark": "水泥熟料"}).benchmark == "clinker"
    assert Product.model_validate({"benchmark": "平板玻璃(>800 t/d)"}).benchmark == "flat_glass_gt800"
    assert Product.model_validate({"benchmark": "丙烯酸"}).model_dump(exclude_none=True) == {"name": "丙烯酸"}
    with pytest.raises(InputError, match="has several benchmark rows: 平板玻璃（>800 t/d）、平板玻璃（500–800 t/d）"):
        validated(Product, {"benchmark": "平板玻璃"}, file="s.yaml")
    with pytest.raises(InputError, match="unknown benchmark id 'clinkr'"):
        validated(Product, {"benchmark": "clinkr"}, file="s.yaml")


def test_a_unit_energy_given_in_another_unit_is_converted_to_its_benchmarks_or_refused():
    """``unit_energy_unit`` (a table header's unit): the benchmark's unit as written another way (吨 for t, blanks,
    full width) is 1; tonnes for kilograms of coal or oil equivalent ×1000; any other unit, or text in a quantity
    that is no number as a spreadsheet writes one, is refused."""
    import pydantic

    from gis_screening.carbon.sheet import Product
    def value(unit, v=0.1, bench="clinker"):
        return Product.model_validate({"benchmark": bench, "unit_energy": v, "unit_energy_unit": unit}).unit_energy
    assert value("kgce / 吨", 98) == 98 and value("ｋｇｃｅ／ｔ", 98) == 98 and value("tce/t", 0.098) == 98
    with pytest.raises(pydantic.ValidationError, match="the benchmark of 水泥熟料 is in kgce/t"):
        value("kgce/m²")
    with pytest.raises(pydantic.ValidationError, match="is in kgce/t"):
        value("kgoe/t")
    assert Product.model_validate({"benchmark": "clinker", "capacity": "1,500,000"}).capacity == 1_500_000
    with pytest.raises(pydantic.ValidationError):
        Product.model_validate({"benchmark": "clinker", "capacity": "1,5"})
    # no benchmark to check it against: kept as given, with its unit
    named = Product.model_validate({"name": "丙烯酸", "unit_energy": 0.5, "unit_energy_unit": "tce/t"})
    assert (named.unit_energy, named.unit_energy_unit) == (0.5, "tce/t")


def test_an_air_quality_area_that_only_touches_the_footprint_does_not_cover_it_for_rules_or_offsets(sample):
    """The offsets' 不达标区 and the rules' (fujian.air.*) read "the area covers the project" alike
    (engine.overlay.meets): a 不达标 area meeting a polygon footprint at one corner is outside for both — the
    offsets are not doubled, and neither says the project is in it — while the same area moved over the footprint
    is inside for both."""
    import geopandas as gpd
    from shapely.geometry import Polygon, box

    from gis_screening.model import Layer, LayerSet
    ls, rules = sample
    p = load_projects(ROOT / "sample_data" / "projects" / "projects.gpkg")[0]
    x, y = max(shapely.get_coordinates(p.geometry).tolist())          # the footprint's easternmost corner
    corner = Polygon([(x, y), (x + 0.05, y - 0.01), (x + 0.05, y + 0.01)])
    p.sheet = {"id": p.id, "industry_code": "2614", "construction_type": "新建", "emissions_t": {"nox": 10},
               "energy": {"electricity_mwh": 100}, "captive_coal_power": False}
    p.industry_code = "2614"

    def screened(area):
        air = Layer(role="air_quality", name="大气环境质量达标区", source="mem", gdf=gpd.GeoDataFrame(
            {"admin_code": ["350199"], "attainment": ["不达标"], "failing_pollutants": ["O3"], "name": ["示范县"]},
            geometry=[area], crs=4490))
        res = screen([p], LayerSet(name="t", layers=[ls.first("control_units"), air]), rules).results[0]
        nox, = res.carbon["offsets"]
        return nox, {f.rule_id for f in res.findings}, res.overlaps

    nox, rules_fired, overlaps = screened(corner)
    air, = [o for o in overlaps if o.role == "air_quality"]
    assert air.distance_m == 0 and air.overlap_area_m2 == 0                 # it touches: the case in question
    assert nox["ratio"] == 1 and "不达标则须倍量削减" in nox["reason"]        # not read as in the 不达标区
    assert "fujian.air.non_attainment" not in rules_fired
    nox, rules_fired, _ = screened(box(*p.geometry.buffer(0.01).bounds))
    assert nox["ratio"] == 2 and "O3不达标" in nox["reason"] and "fujian.air.non_attainment" in rules_fired
