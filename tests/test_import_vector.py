"""Vector import: encodings, CRS inference and checks, zips, geometry repair, field mapping, bad input."""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from gis_screening.catalog import default_catalog
from gis_screening.encoding import detect_dbf_encoding
from gis_screening.errors import InputError
from gis_screening.io import read_layer

FUZHOU_LON, FUZHOU_LAT = 119.30, 26.08


def _units(n=3, x0=FUZHOU_LON, y0=FUZHOU_LAT, d=0.01):
    geoms = [box(x0 + i * d, y0, x0 + (i + 1) * d, y0 + d) for i in range(n)]
    return gpd.GeoDataFrame({
        "HJZHGKDYBM": [f"ZH3501022000{i + 1}" for i in range(n)],
        "管控单元名称": [f"鼓楼区重点管控单元{i + 1}" for i in range(n)],
        "ZHGKDYFL": ["2"] * n,
        "KJBJYS": ["禁止新建化工项目。"] * n,
    }, geometry=geoms, crs=4490)


def _write_shp(gdf, path: Path, encoding: str, prj=True, cpg: str | None = None):
    gdf.to_file(path, driver="ESRI Shapefile", encoding=encoding)
    for ext in (".cpg", ".CPG"):
        path.with_suffix(ext).unlink(missing_ok=True)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    if not prj:
        path.with_suffix(".prj").unlink()
    # real Chinese shapefiles often carry LDID 0
    with open(path.with_suffix(".dbf"), "r+b") as fh:
        fh.seek(29)
        fh.write(b"\x00")
    return path


def test_real_counties_utf8_without_cpg_and_prj(fujian_counties):
    lyr = read_layer(fujian_counties, offset="gcj02")
    names = set(lyr.gdf["name"])
    assert {"寿宁县", "鼓楼区"} <= names
    assert len(lyr.gdf) == 85
    assert lyr.encoding == "UTF-8"
    assert lyr.gdf.crs.to_epsg() == 4490
    assert any("no .prj" in str(p) for p in lyr.problems)
    assert any("gcj02" in str(p) for p in lyr.problems)


def test_gcj02_correction_moves_counties_by_hundreds_of_metres(fujian_counties):
    raw = read_layer(fujian_counties)
    fixed = read_layer(fujian_counties, offset="gcj02")
    a = raw.gdf.to_crs(4549).geometry.iloc[0].centroid
    b = fixed.gdf.to_crs(4549).geometry.iloc[0].centroid
    assert 100 < a.distance(b) < 1000


def test_gbk_shapefile_without_cpg_is_detected(tmp_path):
    path = _write_shp(_units(), tmp_path / "units.shp", "gbk", cpg=None)
    assert detect_dbf_encoding(path).encoding == "gb18030"
    lyr = read_layer(path, "control_units")
    assert lyr.gdf["name"].iloc[0] == "鼓楼区重点管控单元1"
    assert lyr.gdf["category"].iloc[0] == "重点管控单元"
    assert lyr.encoding == "GBK/GB18030"


def test_gbk_dbf_with_wrong_cpg_is_reported_and_read_as_gbk(tmp_path):
    path = _write_shp(_units(), tmp_path / "units.shp", "gbk", cpg="UTF-8")
    lyr = read_layer(path, "control_units")
    assert lyr.gdf["name"].iloc[0] == "鼓楼区重点管控单元1"
    msg = " ".join(map(str, lyr.problems))
    assert ".cpg declares 'UTF-8'" in msg and "record 1" in msg


def test_user_encoding_override(tmp_path):
    path = _write_shp(_units(), tmp_path / "units.shp", "gbk")
    lyr = read_layer(path, encoding="latin-1")  # the user asked for it: no guessing over their choice
    assert "鼓楼区重点管控单元1" not in set(lyr.gdf.iloc[0].astype(str))
    assert lyr.encoding == "iso8859-1" and lyr.encoding_reason == "given by the user"


def test_prefixed_gk_without_prj_inferred(tmp_path):
    gdf = _units().to_crs(4528)  # zone 40 with prefix
    path = _write_shp(gdf, tmp_path / "gk.shp", "utf-8", prj=False)
    lyr = read_layer(path, "control_units")
    assert "zone prefix 40" in lyr.crs_reason
    assert np.allclose(lyr.gdf.total_bounds, _units().total_bounds, atol=1e-8)


def test_unprefixed_gk_needs_zone(tmp_path):
    gdf = _units().to_crs(4549)
    path = _write_shp(gdf, tmp_path / "gk.shp", "utf-8", prj=False)
    with pytest.raises(InputError, match="zone cannot be inferred"):
        read_layer(path, "control_units")
    lyr = read_layer(path, "control_units", zone=40)
    assert np.allclose(lyr.gdf.total_bounds, _units().total_bounds, atol=1e-8)


def test_prj_contradicting_coordinates(tmp_path):
    gdf = _units().to_crs(4528)
    path = _write_shp(gdf.set_crs(4490, allow_override=True), tmp_path / "bad.shp", "utf-8")
    with pytest.raises(InputError) as exc:
        read_layer(path, "control_units")
    text = str(exc.value)
    assert "bad.shp" in text and "outside China" in text and "zone prefix 40" in text
    assert "\n" not in text


def test_xian80_is_not_silently_cgcs2000(tmp_path):
    gdf = _units().to_crs(4549).set_crs(2383, allow_override=True)  # Xian 1980 / 3-degree GK CM 120E
    path = _write_shp(gdf, tmp_path / "xian.shp", "utf-8")
    with pytest.raises(InputError, match="Xian 1980.*towgs84"):
        read_layer(path, "control_units")
    lyr = read_layer(path, "control_units", towgs84="0,0,0")
    assert any("Xian 1980" in str(p) for p in lyr.problems)


def test_zip_shapefile_and_traversal_and_bomb(tmp_path):
    shp = _write_shp(_units(), tmp_path / "units.shp", "gbk")
    good = tmp_path / "units.zip"
    with zipfile.ZipFile(good, "w") as z:
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            z.write(shp.with_suffix(ext), f"成果/units{ext}")
    assert read_layer(good, "control_units").gdf["name"].iloc[1] == "鼓楼区重点管控单元2"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../escape.shp", b"x")
    with pytest.raises(InputError, match="path traversal"):
        read_layer(evil, "control_units")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.dbf", b"\0" * (50 << 20))
    with pytest.raises(InputError, match="zip bomb"):
        read_layer(bomb, "control_units")


def test_truncated_shp(tmp_path):
    shp = _write_shp(_units(), tmp_path / "units.shp", "utf-8")
    data = shp.read_bytes()
    shp.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as exc:
        read_layer(shp, "control_units")
    assert "units.shp" in str(exc.value) and "truncated" in str(exc.value)


def test_missing_required_field_names_field(tmp_path):
    gdf = _units().drop(columns=["ZHGKDYFL"])
    path = tmp_path / "u.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError) as exc:
        read_layer(path, "control_units")
    assert "category" in str(exc.value) and "u.gpkg" in str(exc.value)


def test_empty_layer(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type":"FeatureCollection","features":[]}')
    with pytest.raises(InputError, match="empty"):
        read_layer(path, "control_units")


def test_duplicate_unit_codes_reported(tmp_path):
    gdf = _units()
    gdf.loc[2, "HJZHGKDYBM"] = gdf.loc[0, "HJZHGKDYBM"]
    path = tmp_path / "u.gpkg"
    gdf.to_file(path)
    lyr = read_layer(path, "control_units")
    errs = [p for p in lyr.problems if p.level == "error"]
    assert errs and "duplicate code" in errs[0].message and "rows 1, 3" in errs[0].message


def test_outside_china_names_feature(tmp_path):
    gdf = _units()
    gdf.loc[1, "geometry"] = box(10, 50, 10.01, 50.01)  # Europe
    path = tmp_path / "u.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError) as exc:
        read_layer(path, "control_units")
    assert "outside China" in str(exc.value) and "feature ZH35010220002" in str(exc.value)


def test_invalid_geometry_repaired_and_reported(tmp_path):
    gdf = _units()
    bowtie = Polygon([(119.30, 26.08), (119.31, 26.09), (119.31, 26.08), (119.30, 26.09), (119.30, 26.08)])
    gdf.loc[0, "geometry"] = bowtie
    path = tmp_path / "u.gpkg"
    gdf.to_file(path)
    lyr = read_layer(path, "control_units")
    assert lyr.gdf.geometry.is_valid.all()
    rep = [p for p in lyr.problems if "make_valid" in p.message]
    assert rep and rep[0].feature == "ZH35010220001"
    assert shapely.area(lyr.gdf.geometry.iloc[0]) > 0


def test_field_names_with_whitespace_and_newlines(tmp_path):
    gdf = _units().rename(columns={"管控单元名称": "管控单元\n名称 "})
    path = tmp_path / "u.gpkg"
    gdf.to_file(path)
    assert read_layer(path, "control_units").gdf["name"].iloc[0] == "鼓楼区重点管控单元1"


def test_legacy_reserve_zones_normalised(tmp_path):
    gdf = gpd.GeoDataFrame({"BHDBM": ["A", "B", "C"], "BHDMC": ["某保护区"] * 3, "GNFQ": ["核心区", "缓冲区", "实验区"]},
                           geometry=[box(119.3, 26.0 + i / 100, 119.31, 26.01 + i / 100) for i in range(3)], crs=4490)
    path = tmp_path / "pa.geojson"
    gdf.to_file(path)
    lyr = read_layer(path, "protected_areas")
    assert list(lyr.gdf["zone"]) == ["核心保护区", "核心保护区", "一般控制区"]   # 缓冲区 → 核心保护区 (issue 18)
    assert any("缓冲区" in str(p) for p in lyr.problems)


def test_kml_kmz_fgb_parquet_roundtrip(tmp_path):
    gdf = _units()
    for name in ("u.kml", "u.fgb", "u.parquet"):
        path = tmp_path / name
        if name.endswith("parquet"):
            gdf.to_parquet(path)
        else:
            gdf.to_file(path, driver="KML" if name.endswith("kml") else "FlatGeobuf")
        lyr = read_layer(path) if name.endswith("kml") else read_layer(path, "control_units")
        assert len(lyr.gdf) == 3
        assert np.allclose(lyr.gdf.total_bounds, gdf.total_bounds, atol=1e-7)
    kmz = tmp_path / "u.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.write(tmp_path / "u.kml", "doc.kml")
    assert len(read_layer(kmz).gdf) == 3


def test_catalog_extra_aliases(tmp_path):
    from gis_screening.catalog import load_catalog
    extra = tmp_path / "city.yaml"
    extra.write_text("roles:\n  control_units:\n    title: 环境管控单元\n    geometry: polygon\n    id_field: code\n"
                     "    name_field: name\n    fields:\n      code: {title: 单元编码, required: true, aliases: [DY_CODE]}\n",
                     encoding="utf-8")
    cat = load_catalog([extra])
    assert cat.match_fields("control_units", ["DY_CODE", "名称"]) == {"DY_CODE": "code", "名称": "name"}
    assert "name" in cat.roles["control_units"].fields  # merged, not replaced
    assert default_catalog().normalise_value("unit_category", "1") == "优先保护单元"


def test_per_value_memo_works_each_value_out_once_and_never_keeps_missing_or_unhashable_cells():
    """Field normalisation reads each distinct (type, value) once; missing cells become None (never "<NA>"); NaN
    cells (each equal to nothing), NA and unhashable cells (lists, arrays from list fields) are worked out each
    time and not kept, so a column of a million NaNs does not grow the memo."""
    import numpy as np
    import pandas as pd

    from gis_screening.normalise import _as_text, per_value
    seen: list = []

    def text(v):
        seen.append(v)
        return _as_text(v)
    once = per_value(text)
    cells = [3011, 3011, 3011.0, True, " 化工 ", " 化工 ", float("nan"), float("nan"), pd.NA, None, [1, 2],
             np.array([1, 2])]
    assert [once(c) for c in cells] == ["3011", "3011", "3011", "True", "化工", "化工", None, None, None, None,
                                        "[1, 2]", "[1 2]"]
    assert len(seen) == 10                         # 3011, 3011.0, True, " 化工 ", then the six never kept
    assert once(3011) == "3011" and len(seen) == 10


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("ab化工 \t\n\u3000\xa0\u2003\r,")),
                                             max_size=6)), min_size=1, max_size=30),
       st.sampled_from(["pyarrow", "python"]))
def test_a_text_column_is_cleaned_as_each_cell_would_be(cells, storage):
    """The column-at-once path (only cells with whitespace, blanks and missing ones one by one) gives what
    ``_as_text`` gives each cell: Unicode whitespace (U+3000, NBSP, em space) trimmed and collapsed like ASCII."""
    import pandas as pd

    from gis_screening.normalise import _as_text, text_column
    column = pd.Series(cells, dtype=pd.StringDtype(storage, na_value=float("nan")))
    assert text_column(column) == [_as_text(c) for c in cells]
    assert text_column(pd.Series(cells, dtype=object)) == [_as_text(c) for c in cells]


def test_a_category_with_a_qualifier_is_read_by_its_words_and_said(tmp_path):
    """重点管控单元（工业园区类） is stored as 重点管控单元 with a warning naming the value and the words read; two
    categories in one cell stay as written, warned as not recognised."""
    gdf = _units()
    gdf["ZHGKDYFL"] = ["重点管控单元（工业园区类）", "优先保护单元、重点管控单元", "重点管控单元（工业园区类）"]
    path = tmp_path / "u.gpkg"
    gdf.to_file(path)
    lyr = read_layer(path, "control_units")
    assert lyr.gdf["category"].tolist() == ["重点管控单元", "优先保护单元、重点管控单元", "重点管控单元"]
    said = [p.message for p in lyr.problems if p.level == "warning"]
    assert "category: '重点管控单元（工业园区类）' read as 重点管控单元 by the words '重点管控' it contains (2 features); " \
        "add the spelling to the catalog's domains if that is wrong" in said
    assert any("'优先保护单元、重点管控单元' not recognised" in m for m in said)


def test_an_esri_file_geodatabase_is_read_by_layer(tmp_path):
    """三线一单 results often come as a File Geodatabase (a ``.gdb`` folder, often zipped): it is read like a
    GeoPackage; one of several layers must be named (never the first taken silently), a file picked inside the
    folder stands for the folder, and attribute-only tables (QGIS ``layer_styles``) do not count as layers."""
    import shutil

    import pandas as pd
    import pyogrio
    gdf = _units()
    gdb = tmp_path / "成果.gdb"
    gdf.to_file(gdb, driver="OpenFileGDB", layer="HJGKDY", promote_to_multi=True)
    gdf.iloc[:1].to_file(gdb, driver="OpenFileGDB", layer="STBHHX", promote_to_multi=True)
    with pytest.raises(InputError, match=r"holds 2 layers \(HJGKDY \d+ features, STBHHX 1 features\); name the one to read"):
        read_layer(gdb, "control_units")
    with pytest.raises(InputError, match="no layer 'HJGKDY1'; its layers are: HJGKDY, STBHHX"):
        read_layer(gdb, "control_units", layer="HJGKDY1")
    lyr = read_layer(gdb, "control_units", layer="HJGKDY")
    assert lyr.gdf["code"].tolist() == gdf["HJZHGKDYBM"].tolist() and lyr.feature_count == 3
    inside = next(p for p in gdb.iterdir() if p.name == "gdb")
    assert read_layer(inside, "control_units", layer="HJGKDY").gdf["code"].tolist() == lyr.gdf["code"].tolist()
    shutil.make_archive(str(tmp_path / "成果"), "zip", tmp_path, gdb.name)
    zipped = read_layer(tmp_path / "成果.zip", "control_units", layer="STBHHX")
    assert zipped.gdf["code"].tolist() == gdf["HJZHGKDYBM"].tolist()[:1]
    gpkg = tmp_path / "u.gpkg"
    gdf.to_file(gpkg, layer="units")
    pyogrio.write_dataframe(pd.DataFrame({"styleName": ["x"]}), gpkg, layer="layer_styles")
    assert read_layer(gpkg, "control_units").feature_count == 3


def test_kml_placemarks_without_ids_are_named_by_their_names(tmp_path):
    """Placemarks from Google Earth carry a name and no id: each name (all given, none twice) is the project's id,
    said as a warning; names given twice fall back to row numbers (never two projects merged by a shared name)."""
    from gis_screening.io.projects import load_projects

    def kml(names):
        marks = "".join(f"<Placemark><name>{n}</name><Point><coordinates>{119.01 + k / 100},26.09,0</coordinates>"
                        "</Point></Placemark>" for k, n in enumerate(names))
        path = tmp_path / "marks.kml"
        path.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
                        f"<Document>{marks}</Document></kml>", encoding="utf-8")
        return load_projects(path)
    projects = kml(["东区地块", "西区地块"])
    assert [p.id for p in projects] == ["东区地块", "西区地块"]
    assert "[warning] no project id field; each feature's name is its id (field 'id')" in projects[0].problems
    assert len(kml(["地块", "地块"])) == 2


def test_footprints_without_id_or_name_fields_are_named_by_the_file(tmp_path):
    """Several footprints with neither an id nor a name field (a GeoJSON of bare parcels) take ids from the file
    name (a traceback since the names-as-ids change)."""
    from gis_screening.io.projects import load_projects
    path = tmp_path / "地块.geojson"
    bowtie = Polygon([(119.33, 26.08), (119.335, 26.085), (119.335, 26.08), (119.33, 26.085)])
    gpd.GeoDataFrame({"note": ["a", "b", "c"]}, crs=4490,
                     geometry=[shapely.box(119.3 + k / 100, 26.08, 119.305 + k / 100, 26.085) for k in range(2)]
                     + [bowtie]).to_file(path)
    projects = load_projects(path)
    assert [p.id for p in projects] == ["地块-1", "地块-2", "地块-3"]
    assert "[warning] no project id field; ids generated from the file name (地块…) (field 'id')" in projects[0].problems
    # the bow-tie's repair is said on its own project, under the id it was given (it was "#3", on all three)
    repaired = [[n for n in p.problems if "make_valid" in n] for p in projects]
    assert repaired[:2] == [[], []] and repaired[2][0].endswith("(feature 地块-3)")
    # a project sheet naming that file screens its parcels as one footprint and keeps the file's import notes
    # (the repaired bow-tie), but not how the file's ids were made up: the sheet names the project
    sheet = tmp_path / "P9.yaml"
    sheet.write_text("id: P9\nindustry_code: '3011'\nfootprint: 地块.geojson\n", encoding="utf-8")
    (project,) = load_projects(sheet)
    assert project.geometry.geom_type == "MultiPolygon" and len(project.geometry.geoms) == 4
    assert [n.split(" (")[0] for n in project.problems] == ["[warning] invalid geometry"]
    assert "repaired with make_valid" in project.problems[0] and project.problems[0].endswith("(feature 地块-3)")


def test_a_sheet_names_the_layer_of_its_footprint_source(tmp_path):
    """``footprint: 成果.gpkg#二期`` reads that layer of a GeoPackage holding several (its parcels one footprint);
    a name that is neither a layer nor given with --layer is the one-line question listing the layers."""
    from gis_screening.errors import LayerRequired
    from gis_screening.io.projects import load_projects
    sample = Path(__file__).resolve().parents[1] / "sample_data" / "projects" / "projects.gpkg"
    gdf = gpd.read_file(sample)
    both = tmp_path / "成果.gpkg"
    gdf.iloc[:2].to_file(both, layer="一期")
    gdf.iloc[2:4].to_file(both, layer="二期")
    sheet = tmp_path / "P9.yaml"
    sheet.write_text("id: P9\nindustry_code: '3011'\nfootprint: 成果.gpkg#二期\n", encoding="utf-8")
    (project,) = load_projects(sheet)
    assert project.geometry.equals(shapely.union_all(gdf.geometry.iloc[2:4].values))
    sheet.write_text("id: P9\nindustry_code: '3011'\nfootprint: 成果.gpkg#三期\n", encoding="utf-8")
    with pytest.raises(LayerRequired, match=r"holds 2 layers \(一期 2 features, 二期 2 features\)") as asked:
        load_projects(sheet)
    assert (asked.value.layers, asked.value.counts, asked.value.unit) == (["一期", "二期"], {"一期": 2, "二期": 2},
                                                                          "features")
