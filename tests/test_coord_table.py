"""Coordinate tables (CSV / XLSX): GK X/Y and lon/lat in decimal or 度分秒; bad tables named precisely."""
import pytest
from openpyxl import Workbook
from pyproj import Transformer

from gis_screening.errors import InputError
from gis_screening.io import read_layer
from gis_screening.io.coord_table import parse_angle

N, E = 2885885.750, 40429964.059
SQ = [(N, E), (N, E + 200), (N - 100, E + 200), (N - 100, E)]


def test_parse_angle_forms():
    assert parse_angle("119.3") == 119.3
    assert parse_angle("119°18'00.0\"") == pytest.approx(119.3)
    assert parse_angle("119度18分0秒") == pytest.approx(119.3)
    assert parse_angle("26:04:48") == pytest.approx(26.08)
    with pytest.raises(ValueError):
        parse_angle("119°75'")
    # the hemisphere before the angle, as 测绘 reports write it (refused before: "not a coordinate in degrees")
    for text in ("E119°18'00\"", "东经119°18′00″", "东经 119.3", "E119.3", "119.3E", "119°18′00″东"):
        assert parse_angle(text) == pytest.approx(119.3), text
    assert parse_angle("北纬26°04′48″") == pytest.approx(26.08) and parse_angle("S26 30") == pytest.approx(-26.5)
    with pytest.raises(ValueError):
        parse_angle("E119°18′N")                # two hemispheres


def test_csv_gk_gbk(tmp_path):
    path = tmp_path / "界址点.csv"
    body = "点号,X坐标,Y坐标\n" + "".join(f"J{i + 1},{n:.3f},{e:.3f}\n" for i, (n, e) in enumerate(SQ))
    path.write_bytes(body.encode("gbk"))
    lyr = read_layer(path, "projects")
    assert lyr.source_crs == "EPSG:4528"
    assert lyr.gdf.to_crs(4549).area.iloc[0] == pytest.approx(20_000, abs=0.01)
    x, y = lyr.gdf.geometry.iloc[0].exterior.coords[0]
    assert (x, y) == pytest.approx((119.30, 26.08), abs=1e-8)


def test_xlsx_lonlat_dms_with_title_row_and_parcels(tmp_path):
    to_ll = Transformer.from_crs(4528, 4490, always_xy=True)
    wb = Workbook()
    ws = wb.active
    ws.append(["某项目用地范围拐点坐标表"])
    ws.append(["地块编号", "点号", "经度", "纬度"])
    for pid, dn in (("A", 0), ("B", -500)):
        for i, (n, e) in enumerate(SQ):
            lon, lat = to_ll.transform(e, n + dn)
            def dms(v):
                d = int(v); m = int((v - d) * 60); s = (v - d - m / 60) * 3600
                return f"{d}°{m}'{s:.6f}\""
            ws.append([pid, f"J{i + 1}", dms(lon), dms(lat)])
    path = tmp_path / "坐标.xlsx"
    wb.save(path)
    lyr = read_layer(path, "projects")
    assert lyr.gdf["id"].tolist() == ["A", "B"]
    assert lyr.gdf.to_crs(4549).area.tolist() == pytest.approx([20_000, 20_000], abs=0.05)


def test_xlsx_merged_header_named(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["点号", "坐标", None])
    ws.merge_cells("B1:C1")
    ws.append([None, "X", "Y"])
    ws.append(["J1", N, E])
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as exc:
        read_layer(path, "projects")
    assert "merged header cells B1:C1" in str(exc.value) and "merged.xlsx" in str(exc.value)


def test_non_numeric_cell_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("点号,X,Y\nJ1,2885885.750,40429964.059\nJ2,2885885.75O,40430164.059\nJ3,2885785.750,40430164.059\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_layer(path, "projects")
    assert "row 3" in str(exc.value) and "field 'X'" in str(exc.value)


def test_no_coordinate_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("名称,面积\n甲,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no coordinate columns"):
        read_layer(path, "projects")
    wb = Workbook()                     # a workbook of another kind (a 准入清单 under its merged title): the same,
    ws = wb.active                      # not "unmerge the merged header cells A1:C1"
    ws.append(["示范县生态环境准入清单"])
    ws.merge_cells("A1:C1")
    ws.append(["环境管控单元编码", "空间布局约束", "污染物排放管控"])
    ws.append(["ZH35019920001", "禁止新建化工项目。", "VOCs 倍量替代。"])
    wb.save(path := tmp_path / "准入清单.xlsx")
    with pytest.raises(InputError) as err:
        read_layer(path, "projects")
    assert str(err.value) == (f"{path}: no coordinate columns found: need a header row with X and Y (北坐标/东坐标) or "
                              "经度 and 纬度")


def test_outside_china(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("点号,经度,纬度\n1,2.35,48.85\n2,2.36,48.85\n3,2.36,48.86\n", encoding="utf-8")
    with pytest.raises(InputError, match="neither lon/lat in China"):
        read_layer(path, "projects")


def test_xlsx_formula_without_value_and_merged_parcel_cells(tmp_path):
    """A formula cell without a saved value must not silently drop a vertex; merged 地块编号 cells mean the same
    parcel on every row they span."""
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["点号", "X", "Y"])
    ws.append(["J1", 2885000, 40430000])
    ws.append(["J2", "=B2+100", "=C2"])            # openpyxl writes no cached value
    ws.append(["J3", 2885100, 40430100])
    ws.append(["J4", 2885000, 40430100])
    path = tmp_path / "formula.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as err:
        read_layer(path, "projects")
    assert "row 3" in str(err.value) and "formula" in str(err.value)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["地块编号", "点号", "X", "Y"])
    for k, (x, y) in enumerate([(2885000, 40430000), (2885000, 40430100), (2885100, 40430100)]):
        ws.append(["A" if k == 0 else None, f"J{k}", x, y])
    for k, (x, y) in enumerate([(2886000, 40431000), (2886000, 40431100), (2886100, 40431100)]):
        ws.append(["B" if k == 0 else None, f"K{k}", x, y])
    ws.merge_cells("A2:A4")
    ws.merge_cells("A5:A7")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    gdf = read_layer(path, "projects").gdf.to_crs(4549)
    assert len(gdf) == 2 and gdf.area.round(1).tolist() == [5000.0, 5000.0]


def test_a_workbook_with_one_parcel_a_sheet(tmp_path):
    """A 界址点 workbook giving each parcel its own sheet (地块1, 地块2) and a 说明 sheet: every sheet with a
    coordinate header is read, its parcel named by the sheet, the 说明 sheet left out (it was: only the first
    sheet read, silently); as a footprint file it is one project of two parcels.  A sheet named that the workbook
    lacks is one line listing its sheets."""
    from gis_screening.io.projects import load_projects
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为示例项目两个地块的界址点坐标，CGCS2000，3° 带，带号 40。"])
    for k, shift in ((1, 0), (2, 1000)):
        ws = wb.create_sheet(f"地块{k}")
        ws.append(["点号", "X坐标", "Y坐标"])
        for i, (n, e) in enumerate(SQ):
            ws.append([f"J{i + 1}", n - shift, e])
    path = tmp_path / "界址点.xlsx"
    wb.save(path)
    lyr = read_layer(path, "projects")
    assert sorted(lyr.gdf["id"]) == ["地块1", "地块2"]
    assert lyr.gdf.to_crs(4549).area.tolist() == pytest.approx([20_000, 20_000], abs=0.01)
    assert any("parcels read from 2 sheets: 地块1, 地块2" in str(p) for p in lyr.problems)
    (project,) = load_projects(path)
    assert project.geometry.geom_type == "MultiPolygon" and len(project.geometry.geoms) == 2
    assert read_layer(path, "projects", layer="地块2").feature_count == 1
    with pytest.raises(InputError, match="no sheet '地块3'; its sheets are: 说明, 地块1, 地块2"):
        read_layer(path, "projects", layer="地块3")


def test_coordinate_headers_with_their_units_in_brackets(tmp_path):
    """X坐标（m） / Y坐标（m） and 经度(°) / 纬度(°) are the coordinate columns (were 'no coordinate columns found')."""
    gk = tmp_path / "gk.csv"
    gk.write_text("点号,X坐标（m）,Y坐标（m）\n" + "".join(f"J{i + 1},{n:.3f},{e:.3f}\n" for i, (n, e) in enumerate(SQ)),
                  encoding="utf-8")
    assert read_layer(gk, "projects").gdf.to_crs(4549).area.iloc[0] == pytest.approx(20_000, abs=0.01)
    ll = tmp_path / "ll.csv"
    ll.write_text("点号,经度(°),纬度(°)\nJ1,119.07,26.08\nJ2,119.08,26.08\nJ3,119.08,26.09\n", encoding="utf-8")
    assert read_layer(ll, "projects").gdf.geometry.iloc[0].geom_type == "Polygon"


def test_coordinates_as_spreadsheets_format_and_chinese_ime_types_them(tmp_path):
    """Thousands separators (a CSV saved from Excel with 千位分隔符 formatting) and full-width digits and marks
    (typed with a Chinese IME: ２８８５８８５．７５０, １１９°１８′００″) read as the numbers they are; a separator in the
    wrong place stays an error naming the cell."""
    from gis_screening.normalise import parse_number
    assert parse_number("2,885,885.750") == N and parse_number("２８８５８８５．７５０") == N
    assert parse_angle("１１９°１８′００．０″") == pytest.approx(119.3)
    full = str.maketrans("0123456789.", "０１２３４５６７８９．")
    path = tmp_path / "界址点.csv"
    path.write_text("点号,X坐标,Y坐标\n" + "".join(f'J{i + 1},"{n:,.3f}",{f"{e:.3f}".translate(full)}\n'
                                                for i, (n, e) in enumerate(SQ)), encoding="utf-8")
    lyr = read_layer(path, "projects")
    assert lyr.gdf.to_crs(4549).area.iloc[0] == pytest.approx(20_000, abs=0.01)
    path.write_text("点号,X坐标,Y坐标\nJ1,\"2,88,5885.750\",40429964.059\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_layer(path, "projects")
    assert str(info.value) == f"{path}, row 2, field 'X坐标': value '2,88,5885.750' is not a number"


def test_a_workbook_with_ranges_merged_over_whole_rows_and_columns(tmp_path):
    """A title merged across the whole first row (selecting row 1 and merging) and a 备注 column merged down the whole
    sheet: the table is read as its cells are (the ranges filled only over the cells the sheet uses); the workbook
    reader that expanded such ranges cell by cell ran out of memory on it."""
    import re
    import zipfile
    wb = Workbook()
    ws = wb.active
    ws.append(["某项目用地范围拐点坐标表"])
    ws.append(["点号", "X坐标", "Y坐标", "备注"])
    for i, (n, e) in enumerate(SQ):
        ws.append([f"J{i + 1}", n, e, "实测" if i == 0 else None])
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    path = tmp_path / "整行整列合并.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                merges = b'<mergeCells count="2"><mergeCell ref="A1:XFD1"/><mergeCell ref="D3:D1048576"/></mergeCells>'
                data = re.sub(rb"(</sheetData>)", rb"\1" + merges, data)
            out.writestr(item, data)
    lyr = read_layer(path, "projects")
    assert lyr.source_crs == "EPSG:4528"
    assert lyr.gdf.to_crs(4549).area.tolist() == pytest.approx([20_000], abs=0.01)


@pytest.mark.parametrize("encoding,sep", [("utf-16", "\t"), ("gbk", "\t"), ("gbk", ",")])
def test_a_table_of_points_saved_as_text_reads_as_the_csv(tmp_path, encoding, sep):
    """Excel/WPS save a coordinate table as text — 「Unicode 文本」 (UTF-16, tab-separated) or 「文本文件(制表符分隔)」
    (GBK): a .txt without the 勘测定界 [地块坐标] section whose header names X and Y is that table (it was refused
    as "not a 勘测定界 coordinate file"); a text that is neither says both."""
    rows = ["点号,X坐标,Y坐标"] + [f"J{i + 1},{n:.3f},{e:.3f}" for i, (n, e) in enumerate(SQ)]
    csv_path, txt = tmp_path / "界址点.csv", tmp_path / "界址点.txt"
    csv_path.write_bytes("\n".join(rows).encode("gbk"))
    txt.write_bytes("\r\n".join(r.replace(",", sep) for r in rows).encode(encoding))
    a, b = (read_layer(p, "projects") for p in (csv_path, txt))
    assert b.source_crs == a.source_crs == "EPSG:4528"
    assert b.gdf.geometry.iloc[0].equals_exact(a.gdf.geometry.iloc[0], 1e-12)
    note = tmp_path / "说明.txt"
    note.write_text("项目说明\n用地面积 2 公顷\n", encoding="gbk")
    with pytest.raises(InputError) as err:
        read_layer(note, "projects")
    assert str(err.value) == (f"{note}: no [地块坐标] section: not a 勘测定界 coordinate file, nor a table of points "
                              "(no header row with X and Y or 经度 and 纬度)")


def test_coordinates_excel_saved_in_scientific_notation_are_refused_where_they_lose_precision(tmp_path):
    """Excel saves a narrow column's numbers into a CSV as displayed: 4.04300E+07 for 40429964.059 is 100 m steps,
    a plausible place 50 m off.  Refused naming row and field; scientific notation that keeps the precision (1 m,
    0.00001°) is read as the number it is."""
    coarse = tmp_path / "coarse.csv"
    coarse.write_text("点号,X,Y\n" + "".join(f"J{i + 1},{n:.3f},{e:.5E}\n" for i, (n, e) in enumerate(SQ)),
                      encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_layer(coarse, "projects")
    said = str(exc.value)
    assert "row 2" in said and "field 'Y'" in said and "'4.04300E+07'" in said and "steps of 100 m" in said
    fine = tmp_path / "fine.csv"                     # 2.885885750E+06: steps of 1 mm; 1.19300000E+02°: 1e-8°
    fine.write_text("点号,X,Y\n" + "".join(f"J{i + 1},{n:.9E},{e:.3f}\n" for i, (n, e) in enumerate(SQ)),
                    encoding="utf-8")
    assert read_layer(fine, "projects").gdf.to_crs(4549).area.iloc[0] == pytest.approx(20_000, abs=0.01)
    lonlat = tmp_path / "lonlat.csv"
    lonlat.write_text("点号,经度,纬度\nJ1,1.1930E+02,26.08\nJ2,119.302,26.08\nJ3,119.302,26.079\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2.*'经度'.*steps of 0\.01 °"):
        read_layer(lonlat, "projects")


def test_a_row_with_x_and_y_swapped_or_a_prefix_left_out_is_named(tmp_path):
    """One row typed with X and Y swapped, or with the zone prefix where the others have none, makes the table
    neither GK metres nor lon/lat; the error names that row (it used to name only the file and suggest a CRS)."""
    (n0, e0), (n1, e1), (n2, e2), (n3, e3) = SQ
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(f"点号,X,Y\nJ1,{n0},{e0}\nJ2,{e1},{n1}\nJ3,{n2},{e2}\nJ4,{n3},{e3}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"swapped\.csv, row 3: X 40430164\.059 and Y 2885885\.750 look swapped"):
        read_layer(swapped, "projects")
    mixed = tmp_path / "mixed.csv"                              # without the zone prefix 40, but in row 4
    mixed.write_text(f"点号,X,Y\nJ1,{n0},{e0 - 4e7:.3f}\nJ2,{n1},{e1 - 4e7:.3f}\nJ3,{n2},{e2}\nJ4,{n3},{e3 - 4e7:.3f}\n",
                     encoding="utf-8")
    with pytest.raises(InputError, match=r"mixed\.csv, row 4: X 2885785\.750 / Y 40430164\.059 have 7 / 8 digits"):
        read_layer(mixed, "projects")


def _square(n0: float, e0: float, size: float, closed: bool) -> list:
    ring = [(n0, e0), (n0 + size, e0), (n0 + size, e0 + size), (n0, e0 + size)]
    return ring + ring[:1] if closed else ring


def _read_parcels_hole_and_neighbour(tmp_path, closed: bool, between: str) -> list:
    """Two parcels, a parcel with a hole, and both, each a table listing its rings one after another (``closed``:
    back to their first point) with ``between`` between rings; each checked as read: valid, with the parts and
    area (m²) the rings make.  The layers read."""
    a, hole = _square(2_885_000, 40_430_000, 200, closed), _square(2_885_050, 40_430_050, 50, closed)
    b = _square(2_885_000, 40_430_500, 100, closed)
    read = []
    for name, rings, parts, area in (("两块.csv", (a, b), 2, 50_000), ("带洞.csv", (a, hole), 1, 37_500),
                                     ("洞和另一块.csv", (a, hole, b), 2, 47_500)):
        path = tmp_path / name
        blocks = ["\n".join(f"J{i},{n},{e}" for i, (n, e) in enumerate(ring, 1)) for ring in rings]
        path.write_text("点号,X,Y\n" + between.join(blocks) + "\n", encoding="utf-8")
        lyr = read_layer(path, "projects")
        (geom,) = lyr.gdf.geometry
        assert geom.is_valid and not [p for p in lyr.problems if "invalid" in p.message], name
        assert len(getattr(geom, "geoms", [geom])) == parts, name
        assert lyr.gdf.to_crs(4528).area.iloc[0] == pytest.approx(area, abs=0.01), name
        read.append((len(rings), lyr))
    return read


def test_parcels_and_holes_listed_one_after_another_without_parcel_numbers(tmp_path):
    """A 界址点坐标表 without 地块编号 or 圈号 that lists a parcel, back to its first point, then the next (a hole
    inside it, a second parcel beside it): each is a ring of its own — the hole a hole, the other parcel a second
    polygon — never one ring bridging them (a self-intersection repaired into a geometry with a line across)."""
    _read_parcels_hole_and_neighbour(tmp_path, closed=True, between="\n")


def test_parcels_and_holes_listed_in_blocks_between_blank_rows_without_closing_points(tmp_path):
    """The same table as WPS users often lay it out: each parcel (or hole) a block of points, not back to its
    first point, a blank row between blocks.  The blocks were joined into one ring (J4 → K1), a self-crossing
    outline "repaired" into three slivers of the wrong area; each block is now a ring of its own, said in an info
    line; likewise where the header is repeated over each block, or each block has its title (地块二) in a row of
    its own (before, "value 'X' is not a number" or "a point but no coordinates").  A stray blank row inside a
    parcel leaves a block of two points: refused, naming its rows.  A row naming a point without coordinates is
    still refused (a formula without its saved value)."""
    for between in ("\n,,\n", "\n点号,X,Y\n", "\n地块二\n\n点号, X ,Y,\n", "\n第2宗地：城东片区,,\n"):
        for rings, lyr in _read_parcels_hole_and_neighbour(tmp_path, closed=False, between=between):
            assert any(f"start {rings - 1} more ring(s)" in p.message for p in lyr.problems), between
    a, b = _square(2_885_000, 40_430_000, 200, False), _square(2_885_000, 40_430_500, 100, False)
    stray = tmp_path / "空行.csv"
    stray.write_text("点号,X,Y\n" + "\n".join(f"J{i},{n},{e}" for i, (n, e) in enumerate(a[:2], 1)) + "\n\n"
                     + "\n".join(f"J{i},{n},{e}" for i, (n, e) in enumerate(a[2:] + b, 3)) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"ring 1 \(rows 2–3\) has fewer than 3 distinct points \(rings are the "
                                         r"blocks of points between rows without any: blank, a repeated header"):
        read_layer(stray, "projects")
    numbered = tmp_path / "圈号.csv"                # with a 圈号 column the rings are as numbered, blank rows or not
    numbered.write_text("点号,圈号,X,Y\n" + "\n".join(f"J{i},1,{n},{e}" for i, (n, e) in enumerate(a[:2], 1))
                        + "\n\n" + "\n".join(f"J{i},1,{n},{e}" for i, (n, e) in enumerate(a[2:], 3)) + "\n",
                        encoding="utf-8")
    (geom,) = read_layer(numbered, "projects").gdf.geometry
    assert geom.geom_type == "Polygon"
    point_without = tmp_path / "无坐标.csv"
    point_without.write_text("点号,X,Y\n" + "\n".join(f"J{i},{n},{e}" for i, (n, e) in enumerate(a, 1)) + "\nJ5,,\n",
                             encoding="utf-8")
    with pytest.raises(InputError, match="row 6.*the row has a point but no coordinates"):
        read_layer(point_without, "projects")


def test_a_table_printed_in_two_columns_of_points_is_read_down_each(tmp_path):
    """A 界址点坐标表 laid out in two columns to fit a page (点号 X Y | 点号 X Y, read down the left, then down the
    right), as a WPS copy of the report keeps it: the right half was left out without a word (an eight-point
    parcel read as its first four points); now every point is read in that order, and said.  A header naming the
    coordinates twice without a 点号 for each (西安80 X/Y beside CGCS2000 X/Y) is refused, naming the columns: the
    first pair was read as the footprint, whichever datum it was in."""
    ring = [(N, E), (N, E + 100), (N, E + 200), (N - 100, E + 200), (N - 200, E + 200), (N - 200, E + 100),
            (N - 200, E), (N - 100, E)]
    for name, head, row in (("双栏.csv", "点号,X坐标,Y坐标,点号,X坐标,Y坐标", "J{k},{n},{e},J{j},{n2},{e2}"),
                            ("双栏序号.csv", "序号,点号,X,Y,,序号,点号,X,Y", "{k},J{k},{n},{e},,{j},J{j},{n2},{e2}")):
        rows = [row.format(k=k + 1, j=k + 5, n=ring[k][0], e=ring[k][1], n2=ring[k + 4][0], e2=ring[k + 4][1])
                for k in range(4)]
        path = tmp_path / name
        path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        lyr = read_layer(path, "projects")
        (geom,) = lyr.gdf.to_crs(4528).geometry
        assert geom.area == pytest.approx(40_000, abs=0.01) and len(geom.exterior.coords) == 9, name
        assert any("2 groups of columns side by side" in p.message for p in lyr.problems), name
    both = tmp_path / "两套坐标.csv"
    both.write_text("点号,X(西安80),Y(西安80),X,Y\n" + "\n".join(
        f"J{k + 1},{n - 50},{e - 80},{n},{e}" for k, (n, e) in enumerate(ring)) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"field 'X'.*names the coordinates more than once \('X\(西安80\)', "
                                         r"'Y\(西安80\)'; 'X', 'Y'\) without a 点号 column for each"):
        read_layer(both, "projects")


def test_a_tables_notes_are_passed_over_and_its_stated_area_checked(tmp_path):
    """The lines a 界址点坐标表 ends with — its area (面积：40000平方米, 合计面积(㎡) 40000, S=4.0000公顷, 60亩), the
    number of points, who drew it up — were refused as points without coordinates ("a formula without a saved
    value?") or as coordinates that are no number.  They are notes: said, passed over, and a stated area is
    checked against what the points enclose (a point mistyped by 10 m in a 200 m square: warned).  A named point
    with a mistyped coordinate and a remark is still refused."""
    ring = [(N, E), (N, E + 200), (N - 200, E + 200), (N - 200, E)]
    body = "点号,X,Y,备注\n" + "".join(f"J{i},{n},{e},\n" for i, (n, e) in enumerate(ring, 1))
    for name, tail, warned in (("面积.csv", "面积：40000平方米,,,\n", False), ("合计.csv", "\n合计面积(㎡),40000,,\n", False),
                               ("公顷.csv", "S=4.0000公顷,,,\n制表人：张三,,,审核人：李四\n", False),
                               ("亩.csv", "共4个界址点,,,\n面积：60亩,,,\n", False),
                               ("不符.csv", "面积：41000平方米,,,\n", True)):
        path = tmp_path / name
        path.write_text(body + tail, encoding="utf-8")
        lyr = read_layer(path, "projects")
        (geom,) = lyr.gdf.to_crs(4528).geometry
        assert geom.area == pytest.approx(40_000, abs=0.01), name
        said = [p.message for p in lyr.problems]
        assert any(m.startswith("rows read as notes, not points: row") for m in said), (name, said)
        assert any("declared parcel area 4.1000 ha differs from the computed 4.0000 ha" in m for m in said) is warned
    typo = tmp_path / "笔误.csv"
    typo.write_text(body.replace(f"J4,{N - 200},{E},", f"J4,28856a5.75,{E},备注：拐点"), encoding="utf-8")
    with pytest.raises(InputError, match=r"row 5.*value '28856a5.75' is not a number"):
        read_layer(typo, "projects")


@pytest.mark.parametrize("x, y", [("纵坐标X", "横坐标Y"), ("北坐标X", "东坐标Y"), ("坐标X", "坐标Y"), ("X/m", "Y/m"),
                                  ("X纵坐标(m)", "Y横坐标(m)")])
def test_axis_words_written_with_their_letter_name_the_columns(tmp_path, x, y):
    """Survey tables head their columns 纵坐标X / 横坐标Y (the axis word and its letter together), or X/m: they were
    "no coordinate columns found"; read as X and Y.  A word at odds with its letter (横坐标X) names no column."""
    path = tmp_path / "表.csv"
    path.write_text(f"点号,{x},{y}\n" + "".join(f"J{i},{n:.3f},{e:.3f}\n" for i, (n, e) in enumerate(SQ, 1)),
                    encoding="utf-8")
    lyr = read_layer(path, "projects")
    assert lyr.gdf.to_crs(4549).area.iloc[0] == pytest.approx(20_000, abs=0.01)
    path.write_text(path.read_text(encoding="utf-8").replace(f"{x},{y}", "横坐标X,纵坐标Y"), encoding="utf-8")
    with pytest.raises(InputError, match="no coordinate columns found"):
        read_layer(path, "projects")


@pytest.mark.parametrize("lon, lat", [("经度E", "纬度N"), ("E经度", "N纬度"), ("经度/°", "纬度/°"), ("东经°", "北纬°")])
def test_longitude_and_latitude_headers_with_their_letter_or_unit_attached(tmp_path, lon, lat):
    """经度E / 纬度N, 经度/° (the hemisphere letter or the unit written onto the name, no brackets) name the columns."""
    path = tmp_path / "经纬度.csv"
    path.write_text(f"点号,{lon},{lat}\n" + "".join(f"J{i},{e},{n}\n" for i, (e, n) in enumerate(
        [(119.30, 26.08), (119.302, 26.08), (119.302, 26.082), (119.30, 26.082)], 1)), encoding="utf-8")
    (geom,) = read_layer(path, "projects").gdf.geometry
    assert geom.bounds == pytest.approx((119.30, 26.08, 119.302, 26.082))


def test_gk_cells_with_their_letter_or_unit_written_in_them(tmp_path):
    """Cells as CAD exports and typed tables write them — X=2885885.750, 40429964.059m, 2885785.750米 — were "not a
    number"; the letter and the unit are the column's own and are read past.  Other text is still refused."""
    path = tmp_path / "带单位.csv"
    path.write_text("点号,X,Y\n" + "".join(f"J{i},X={n:.3f},{e:.3f}{'m' if i % 2 else '米'}\n"
                                           for i, (n, e) in enumerate(SQ, 1)), encoding="utf-8")
    assert read_layer(path, "projects").gdf.to_crs(4549).area.iloc[0] == pytest.approx(20_000, abs=0.01)
    path.write_text(path.read_text(encoding="utf-8").replace("X=", "Z=", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2.*value 'Z=2885885.750' is not a number"):
        read_layer(path, "projects")
