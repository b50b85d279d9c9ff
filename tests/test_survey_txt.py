"""勘测定界 TXT: every variant reads to the right place; bad files give one-line errors; round trip to 1 mm."""
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from gis_screening.errors import InputError
from gis_screening.io import read_layer
from gis_screening.io.survey_txt import write_survey_txt

DATA = Path(__file__).parent / "data" / "survey"
TO_GK = Transformer.from_crs(4490, 4528, always_xy=True)
CHECK_N, CHECK_E = 2885885.750, 40429964.059   # Fuzhou lon 119.30, lat 26.08 in EPSG:4528


def _first_vertex_gk(lyr):
    x, y = lyr.gdf.geometry.iloc[0].exterior.coords[0]
    return TO_GK.transform(x, y)


@pytest.mark.parametrize("name,encoding,pid", [
    ("utf8_closed", "UTF-8", "P2026-001"),
    ("gbk_open", "GBK/GB18030", "P2026-002"),
    ("swapped", "UTF-8", "S-1"),
])
def test_variants_land_on_the_check_point(name, encoding, pid):
    lyr = read_layer(DATA / f"{name}.txt", "projects")
    assert lyr.encoding == encoding and lyr.gdf["id"].iloc[0] == pid
    e, n = _first_vertex_gk(lyr)
    assert (round(n, 3), round(e, 3)) == (CHECK_N, CHECK_E)
    assert lyr.gdf.to_crs(4549).area.iloc[0] == pytest.approx(20_000, abs=0.01)


def test_check_value_lonlat():
    lyr = read_layer(DATA / "utf8_closed.txt", "projects")
    x, y = lyr.gdf.geometry.iloc[0].exterior.coords[0]
    assert x == pytest.approx(119.30, abs=1e-8) and y == pytest.approx(26.08, abs=1e-8)


def test_gbk_name_and_unclosed_ring_reported():
    lyr = read_layer(DATA / "gbk_open.txt", "projects")
    assert lyr.gdf["name"].iloc[0] == "示范平板玻璃项目"
    assert any("not closed" in p.message and p.feature == "P2026-002" for p in lyr.problems)


def test_two_parcels_and_hole():
    lyr = read_layer(DATA / "two_parcels_hole.txt", "projects")
    assert lyr.gdf["id"].tolist() == ["A-1", "A-2"]
    a2 = lyr.gdf.to_crs(4549).geometry.iloc[1]
    assert len(a2.interiors) == 1 and a2.area == pytest.approx(80_000, abs=0.01)


def test_a_hole_listed_under_its_parcels_ring_number_is_a_hole(tmp_path):
    """The hole of A-2 written with 圈号 1, as some drawing software exports it (back to its first point, then the
    hole's points): the same parcel as with 圈号 2, not one ring bridging shell and hole."""
    text = (DATA / "two_parcels_hole.txt").read_text(encoding="utf-8")
    (tmp_path / "one_ring_no.txt").write_text(text.replace(",2,", ",1,"), encoding="utf-8")
    lyr = read_layer(tmp_path / "one_ring_no.txt", "projects")
    a2 = lyr.gdf.to_crs(4549).geometry.iloc[1]
    assert a2.is_valid and len(a2.interiors) == 1 and a2.area == pytest.approx(80_000, abs=0.01)


def test_swapped_columns_warned():
    lyr = read_layer(DATA / "swapped.txt", "projects")
    assert any("swapped" in p.message for p in lyr.problems)


@pytest.mark.parametrize("name,needle,where", [
    ("no_section", "no [地块坐标] section", None),
    ("non_numeric", "'28858O5.750' is not a number", "line 16"),
    ("two_points", "needs at least 3", "parcel B-2"),
    ("mixed_zones", "mixed zone prefixes 40 and 39", "line 16"),
])
def test_bad_files(name, needle, where):
    with pytest.raises(InputError) as exc:
        read_layer(DATA / f"{name}.txt", "projects")
    text = str(exc.value)
    assert needle in text and f"{name}.txt" in text and "\n" not in text
    if where:
        assert where in text


def test_unprefixed_needs_zone(tmp_path):
    src = (DATA / "utf8_closed.txt").read_text(encoding="utf-8").replace("带号=40", "带号=").replace(",404", ",4")
    path = tmp_path / "noprefix.txt"
    path.write_text(src, encoding="utf-8")
    with pytest.raises(InputError, match="zone cannot be inferred"):
        read_layer(path, "projects")
    lyr = read_layer(path, "projects", zone=40)
    e, n = _first_vertex_gk(lyr)
    assert (round(n, 3), round(e, 3)) == (CHECK_N, CHECK_E)


def test_round_trip_txt_gpkg_txt_to_the_millimetre(tmp_path):
    cli = [sys.executable, "-m", "gis_screening.cli", "convert"]
    src = DATA / "two_parcels_hole.txt"
    gpkg, back = tmp_path / "a.gpkg", tmp_path / "back.txt"
    assert subprocess.run(cli + [str(src), str(gpkg)], capture_output=True).returncode == 0
    res = subprocess.run(cli + [str(gpkg), str(back)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    def coords(path):
        pts = []
        for line in path.read_text(encoding="utf-8").splitlines():
            f = line.split(",")
            if len(f) == 4 and f[0].startswith("J"):
                pts.append((float(f[2]), float(f[3])))
        return np.array(pts)
    a, b = coords(src), coords(back)
    assert a.shape == b.shape and np.abs(a - b).max() < 0.001
    assert "带号=40" in back.read_text(encoding="utf-8")


def test_writer_gbk_and_lines_points(tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["L1", "D1"], "name": ["输水管线", "取水井"]},
                           geometry=[shapely.LineString([(119.30, 26.08), (119.31, 26.09)]),
                                     shapely.Point(119.30, 26.08)], crs=4490)
    out = tmp_path / "mixed.txt"
    desc = write_survey_txt(gdf, out, encoding="gbk")
    assert "GBK" in desc and "EPSG:4528" in desc
    text = out.read_bytes().decode("gbk")
    assert "输水管线,线" in text and "取水井,点" in text
    lyr = read_layer(out, "projects")
    assert lyr.gdf.geometry.geom_type.tolist() == ["LineString", "Point"]
    assert lyr.gdf.geometry.iloc[1].x == pytest.approx(119.30, abs=1e-8)


def test_point_lines_typed_with_a_chinese_ime(tmp_path):
    """A TXT whose point lines were typed by hand with a Chinese IME (full-width commas, digits and points) reads
    as the machine-written file."""
    from gis_screening.io.projects import load_projects
    src = Path(__file__).resolve().parents[1] / "sample_data" / "projects" / "txt" / "P2026-001.txt"
    from gis_screening.encoding import read_text
    text, _ = read_text(src)
    full = str.maketrans("0123456789.,", "０１２３４５６７８９．，")
    lines = [ln.translate(full) if ln.startswith("J") else ln for ln in text.splitlines()]
    typed = tmp_path / "手工录入.txt"
    typed.write_bytes("\r\n".join(lines).encode("gbk"))
    assert "２８" in typed.read_bytes().decode("gbk")
    (a,), (b,) = load_projects(typed), load_projects(src)
    assert a.geometry.equals_exact(b.geometry, 1e-12)


def test_names_with_separators_and_line_breaks_are_written_as_one_field_and_read_back(tmp_path):
    """A parcel line is one line of comma-separated fields (a Chinese IME's full-width comma counts as one): a name
    holding a comma or a line break made the writer emit a file no reader (ours included) could read.  Written as
    one field — separators as 、, line breaks and other control characters as spaces — it reads back."""
    names = ["一期，二期,三期", "第一行\r\n第二行\t尾", "含@符号=等号", "  前后空白  "]
    gdf = gpd.GeoDataFrame({"id": [f"P{k}" for k in range(4)], "name": names},
                           geometry=[shapely.box(119.30 + k / 100, 26.08, 119.305 + k / 100, 26.085) for k in range(4)],
                           crs=4490)
    write_survey_txt(gdf, tmp_path / "out.txt")
    lyr = read_layer(tmp_path / "out.txt", "projects")
    assert lyr.feature_ids() == ["P0", "P1", "P2", "P3"]
    assert lyr.feature_names() == ["一期、二期、三期", "第一行 第二行 尾", "含@符号=等号", "前后空白"]
    assert [round(g.area, 10) for g in lyr.gdf.geometry] == [round(g.area, 10) for g in gdf.geometry]


def test_a_parcel_name_holding_a_comma_is_read_whole_and_its_kind_kept(tmp_path):
    """Files whose 地块名称 holds a comma (written by other tools, or by ours before with a full-width comma, which
    readers split on too) shifted the fields: the name was cut at the comma and a line parcel became a polygon (its
    图形属性 read from the name).  The fields between the name and the first 面/线/点 are the name's."""
    text = ("[属性描述]\r\n坐标系=2000国家大地坐标系\r\n几度分带=3\r\n带号=40\r\n[地块坐标]\r\n"
            "3,0.0000,L1,输水管线，一期,二标段,线,,,,@\r\n"
            "J1,1,2886050.000,40408050.000\r\nJ2,1,2886450.000,40408050.000\r\nJ3,1,2886450.000,40408450.000\r\n"
            "5,16.0000,D1,取水口,面,,,,@\r\n"
            "J1,1,2886050.000,40407050.000\r\nJ2,1,2886450.000,40407050.000\r\nJ3,1,2886450.000,40407450.000\r\n"
            "J4,1,2886050.000,40407450.000\r\nJ1,1,2886050.000,40407050.000\r\n")
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    lyr = read_layer(tmp_path / "t.txt", "projects")
    assert lyr.feature_ids() == ["L1", "D1"] and lyr.feature_names() == ["输水管线，一期，二标段", "取水口"]
    assert lyr.gdf.geometry.geom_type.tolist() == ["LineString", "Polygon"]


def test_a_point_line_with_x_and_y_swapped_is_named(tmp_path):
    """One point line typed with X and Y swapped makes the file neither GK metres nor lon/lat: the error names the
    line (it used to name only the file and suggest giving a CRS)."""
    (tmp_path / "t.txt").write_text(
        "[属性描述]\r\n带号=40\r\n[地块坐标]\r\n5,2.0000,D1,取水口,面,,,,@\r\nJ1,1,2885885.750,40429964.059\r\n"
        "J2,1,40430164.059,2885885.750\r\nJ3,1,2885785.750,40430164.059\r\nJ4,1,2885785.750,40429964.059\r\n"
        "J1,1,2885885.750,40429964.059\r\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t\.txt, line 6: X 40430164\.059 and Y 2885885\.750 look swapped"):
        read_layer(tmp_path / "t.txt", "projects")
