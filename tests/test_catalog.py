"""The layer catalog: validation, aliases incl. dBASE-truncated names, domains, role guessing."""
import pytest

from gis_screening.catalog import default_catalog, load_catalog
from gis_screening.errors import InputError


def test_catalog_validates_and_has_every_role():
    cat = default_catalog()
    assert set(cat.roles) == {"control_units", "eco_redline", "protected_areas", "water_sources",
                              "industrial_parks", "air_quality", "other", "projects"}
    assert cat.style("control_units").for_value("优先保护单元").fill.startswith("#4caf50")


def test_truncated_chinese_field_names_match():
    cat = default_catalog()
    # 环境综合管控单元编码 cut to 10 bytes: 5 characters in GBK, 3 in UTF-8
    assert cat.match_fields("control_units", ["环境综合管", "名称", "类别"]) == {
        "环境综合管": "code", "名称": "name", "类别": "category"}


def test_broken_catalog_names_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles:\n  control_units:\n    geometry: hexagon\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_catalog([bad])
    assert "roles.control_units.geometry" in str(exc.value)


@pytest.mark.parametrize("columns,name,role", [
    (["HJZHGKDYBM", "HJZHGKDYMC", "ZHGKDYFL"], "units.shp", "control_units"),
    (["BSM", "HXMC"], "STBHHX_2023.shp", "eco_redline"),
    (["地块编号", "地块名称"], "红线坐标.txt", "projects"),
    (["SYDMC", "BHQJB", "BM"], "饮用水水源保护区.gpkg", "water_sources"),
    (["BHDMC", "GNFQ"], "layer.shp", "protected_areas"),
])
def test_guess_role(columns, name, role):
    assert default_catalog().guess_role(columns, name)[0][0] == role


@pytest.mark.parametrize("columns,name", [
    (["name", "adcode", "level", "citycode"], "fujian_counties.shp"),      # shared/testdata: county boundaries
    (["name", "code"], "layer.geojson"),
    (["OBJECTID", "Shape_Area"], "新建图层.shp"),
])
def test_no_role_is_guessed_from_fields_every_role_has(columns, name):
    """A name, a code and a level say nothing of what the features are: no role is offered first for them."""
    assert default_catalog().guess_role(columns, name) == []


@pytest.mark.parametrize("domain,value,canon", [
    ("water_grade", "一级保护区（陆域）", "一级保护区"), ("water_grade", "二级水域", "二级保护区"),
    ("water_grade", "准保护区(陆域)", "准保护区"), ("water_grade", "三级保护区", None),
    ("construction_type", "新建（迁建）", "新建"), ("construction_type", "迁建", "新建"),
    ("construction_type", "技改", "技术改造"), ("construction_type", "改扩建", "改扩建"),
    ("construction_type", "扩建工程", "扩建"), ("construction_type", "技改项目", "技术改造"),
    ("construction_type", "迁扩", None), ("construction_type", "续建", None),
])
def test_spellings_of_the_values_rules_read(domain, value, canon):
    """The spellings data and forms use for the values rules decide on; an unknown one stays unknown (a rule then
    says it cannot read it)."""
    assert default_catalog().normalise_value(domain, value) == canon


@pytest.mark.parametrize("domain,value,canon", [
    ("unit_category", "重点管控单元（工业园区类）", "重点管控单元"), ("unit_category", "海域优先保护单元", "优先保护单元"),
    ("unit_category", "优先保护单元、重点管控单元", None), ("water_grade", "地表水一级保护区", "一级保护区"),
    ("water_grade", "Ⅱ级保护区", "二级保护区"), ("water_grade", "一级、二级保护区", None),
    ("pa_zone", "一般控制区（实验区）", "一般控制区"), ("pa_zone", "核心区（含缓冲区）", "核心保护区"), ("pa_zone", "核心景区", None),
])
def test_a_value_with_a_qualifier_is_read_by_the_words_of_one_value(domain, value, canon):
    """A spelling the domains do not list reads as the one canonical value whose words it contains; the words of two
    values, or of none, leave it unread."""
    cat = default_catalog()
    assert cat.normalise_value(domain, value) is None
    found = cat.value_by_terms(domain, value)
    assert (found[0] if found else None) == canon


def test_a_column_with_a_bracketed_note_answers_to_its_name():
    """行业代码（GB/T 4754-2017） and 建设性质(新建/改建/扩建) are the industry code and 建设性质; an exact name wins
    over a bracketed one."""
    cat = default_catalog()
    assert cat.match_fields("projects", ["项目编号", "行业代码（GB/T 4754-2017）", "建设性质(新建/改建/扩建)"]) == {
        "项目编号": "id", "行业代码（GB/T 4754-2017）": "industry_code", "建设性质(新建/改建/扩建)": "construction_type"}
    assert cat.match_fields("projects", ["行业代码（旧）", "行业代码"])["行业代码"] == "industry_code"


def test_the_default_catalog_is_loaded_once_when_two_threads_ask_at_once(monkeypatch):
    """The CLI reads the layer set and the projects in two threads, and both ask for the shipped catalog: the second
    waits for the first's instead of loading (and validating) it again."""
    import threading
    import time

    import gis_screening.catalog as catalog
    loads = []

    def slow_load(paths=None):
        loads.append(threading.get_ident())
        time.sleep(0.2)
        return object()
    catalog._default_catalog.cache_clear()
    monkeypatch.setattr(catalog, "load_catalog", slow_load)
    got = []
    threads = [threading.Thread(target=lambda: got.append(catalog.default_catalog())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    catalog._default_catalog.cache_clear()
    assert len(loads) == 1 and len(got) == 2 and got[0] is got[1]
