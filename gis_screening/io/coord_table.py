"""Coordinate tables (CSV / XLSX): point number, X/Y in a GK zone or lon/lat (decimal or 度分秒).

Optional 地块编号 / 圈号 columns split the points into parcels and rings (ring 1 outer, later rings holes when
inside).  X is the northing, as in Chinese survey tables; swapped columns are detected from magnitudes.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS
from shapely.geometry import Point

from ..catalog import fold, without_note
from ..crs import infer_crs, odd_row
from ..encoding import read_text
from ..errors import InputError, Problem, ZoneRequired
from ..geometry import closed_rings, nest_rings
from ..normalise import parse_number
from .survey_txt import check_declared_areas
from .tables import Merged, NoSuchSheet, text_dialect, workbook_sheets
from .vector import RawRead

COLUMNS = {
    "point": ["点号", "点名", "界址点号", "序号", "point", "pointno", "no", "pt"],
    "x": ["x", "x坐标", "北坐标", "纵坐标", "n", "northing", "x(m)", "x（m）", "x(北)"],
    "y": ["y", "y坐标", "东坐标", "横坐标", "e", "easting", "y(m)", "y（m）", "y(东)"],
    "lon": ["经度", "lon", "lng", "longitude", "东经"],
    "lat": ["纬度", "lat", "latitude", "北纬"],
    "parcel": ["地块编号", "地块号", "地块", "宗地号", "parcel", "id", "项目编号"],
    "ring": ["圈号", "环号", "ring"],
    "name": ["地块名称", "名称", "项目名称", "name"],
}
#: the hemisphere written before or after an angle: E119°18′, 东经119°18′, 119°18′E, 26°04′北纬
_HEMISPHERE = r"(东经|西经|北纬|南纬|[NSEW东西南北])"
_DMS = re.compile(rf"^\s*{_HEMISPHERE}?\s*([+-]?\d+(?:\.\d+)?)\s*(?:(?:°|度|:|\s)\s*(\d+(?:\.\d+)?)?\s*"
                  rf"(?:′|'|分|:|\s)?\s*(\d+(?:\.\d+)?)?\s*(?:″|\"|''|′′|秒)?)?\s*{_HEMISPHERE}?\s*$", re.IGNORECASE)


_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.(\d*))?[eE]([+-]?\d+)$")


def coarse_scientific(raw: object, value: float) -> str | None:
    """Why the coordinate ``raw`` (as written; ``value`` read from it) cannot be used, when it is text in scientific
    notation that keeps coarser steps than 1 m (or 0.00001°): Excel saves a narrow column's numbers into a CSV as
    displayed, ``4.04081E+07`` for 40408050.123 — 100 m steps, which read as a plausible place.  None otherwise."""
    m = _SCIENTIFIC.match(unicodedata.normalize("NFKC", raw).strip()) if isinstance(raw, str) else None
    if not m:
        return None
    step = 10.0 ** (int(m.group(2)) - len(m.group(1) or ""))
    degrees = abs(value) <= 180
    if step <= (1e-5 if degrees else 1.0):
        return None
    return (f"value {raw!r} is in scientific notation and keeps steps of {step:g} {'°' if degrees else 'm'} only "
            "(as Excel saves a narrow column's numbers into a CSV): save the table with the numbers written in full")


#: What a GK coordinate cell may carry around its number: its letter before it (X=…, Y：…) and its unit after it.
_METRES = re.compile(r"^\s*(?:[XYxy]\s*[=:：]\s*)?(.*?)\s*(?:m|米)?\s*$")


def parse_metres(text: str) -> float:
    """Metres from a GK coordinate cell: a number (:func:`~gis_screening.normalise.parse_number`: 2,885,885.750,
    full-width digits), with or without its letter before it and its unit after it (``X=2885885.750``,
    ``2885885.750m``, ``2885885.750米``); ValueError otherwise."""
    m = _METRES.match(unicodedata.normalize("NFKC", str(text)))
    return parse_number(m.group(1) if m else text)


def parse_angle(text: str) -> float:
    """Degrees from ``119.3``, ``119°18'00.5"``, ``119度18分0.5秒`` or ``119:18:00.5``, the hemisphere written before
    or after it or not at all (``E119°18′``, ``东经119.3``, ``26°04′48″N``; S, W, 南, 西: negative); ValueError
    otherwise."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    try:
        return float(s)
    except ValueError:
        pass
    m = _DMS.match(s)
    if not m:
        raise ValueError(s)
    before, deg, mins, secs, after = m.groups()
    if before and after:
        raise ValueError(s)
    value = abs(float(deg)) + float(mins or 0) / 60 + float(secs or 0) / 3600
    if (mins and float(mins) >= 60) or (secs and float(secs) >= 60):
        raise ValueError(s)
    hemi = (before or after or "").upper()[:1]
    return -value if deg.startswith("-") or hemi in ("S", "W", "南", "西") else value


class NoCoordinateColumns(InputError):
    """A table without a header row naming coordinate columns."""


def _rows_from_csv(path: Path, encoding: str | None):
    text, guess = read_text(path, encoding)
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""), text_dialect(text))], \
            guess
    except csv.Error as exc:
        raise InputError(f"not a readable CSV table: {exc}", file=path) from None


def _a1(m: Merged) -> str:
    """A merged range as Excel names it (``A1:D1``)."""
    from openpyxl.utils import get_column_letter
    return f"{get_column_letter(m[1] + 1)}{m[0] + 1}:{get_column_letter(m[3] + 1)}{m[2] + 1}"


def _workbook_sheets(path: Path, sheet: str | None) -> list[tuple[list[list[str]], list[Merged], str]]:
    """(cell texts, merged ranges, title) of the named sheet, or of every sheet (a workbook may give one parcel a
    sheet); a merged cell's text on every cell it spans (a merged 地块编号 is that parcel's on every row)."""
    try:
        sheets = workbook_sheets(path, "workbook", sheet)
    except NoSuchSheet:         # a --layer meant for another file of a folder: see the caller
        sheets = workbook_sheets(path, "workbook")
    return [([[_cell_text(v) for v in row] for row in s.rows], s.merged, s.title) for s in sheets]


def _in_header(m: Merged, rows: list[list[str]], h: int) -> bool:
    """Does merged range ``m`` blur the header in row ``h`` (0-based)?  It does when it reaches that row, or when
    it groups some of the table's columns in the rows above (坐标 over X and Y); a title row merged across the
    whole table (the columns of the header and the rows below it) does not."""
    used = sorted({c for row in rows[h:h + 6] for c, v in enumerate(row) if v})
    title = bool(used) and m[1] <= used[0] and m[3] >= used[-1]
    return m[0] <= h <= m[2] or (m[2] < h and not title)


def _cell_text(v: object) -> str:
    return "" if v is None else str(v).strip()


def _points(rows: list[list[str]], h: int, cols: dict[str, int], geo: bool, path: Path, sheet: str | None,
            block: int = 1) -> tuple[list[tuple[int, str, int, str, float, float]], list[tuple[int, str]]]:
    """(row, parcel, ring, name, a, b) of every coordinate row below the header ``h``; a parcel without a
    地块编号 is named by ``sheet`` (when the workbook gives several) or the file.  Without a 圈号 column, a row
    between points that holds none starts another ring (two parcels, or a parcel and its hole, listed one block
    after the other, each without its first point repeated: joined into one ring they made a self-crossing
    outline): a blank row, the header repeated over the next block, or a block's title alone in its row
    (``地块二``, ``宗地2``).  Also the rows that are notes, not points (:func:`_note_row`: 面积：…, 合计, 制表人 …),
    as (row, text): a row without coordinates, or with what is no coordinate, is otherwise refused."""
    a_col, b_col = (cols["lon"], cols["lat"]) if geo else (cols["x"], cols["y"])
    a_name, b_name = (rows[h][a_col], rows[h][b_col])
    at = f"sheet {sheet} " if sheet else ""
    header = _folded(rows[h])
    points: list[tuple[int, str, int, str, float, float]] = []
    notes: list[tuple[int, str]] = []
    blank = False
    for i, row in enumerate(rows[h + 1:], start=h + 2):
        note = None
        if not any(row) or _folded(row) == header or _block_title(row) or (note := _note_row(row, cols, a_col, b_col, geo)):
            if note:
                notes.append((i, note))
            blank = bool(points)
            continue
        a_raw = row[a_col] if a_col < len(row) else ""
        b_raw = row[b_col] if b_col < len(row) else ""
        if not a_raw and not b_raw:
            if any(v for j, v in enumerate(row) if j not in (a_col, b_col)):
                raise InputError("the row has a point but no coordinates (a formula without a saved value? open "
                                 "and save the file in Excel/WPS, or type the values)", file=path,
                                 where=f"{at}row {i}", field=f"{a_name}/{b_name}")
            continue
        vals = []
        for raw, name in ((a_raw, a_name), (b_raw, b_name)):
            try:
                vals.append(parse_angle(raw) if geo else parse_metres(raw))
            except ValueError:
                raise InputError(f"value {raw!r} is not a {'coordinate in degrees' if geo else 'number'}",
                                 file=path, where=f"{at}row {i}", field=name) from None
            coarse = coarse_scientific(raw, vals[-1])
            if coarse:
                raise InputError(coarse, file=path, where=f"{at}row {i}", field=name)
        parcel = row[cols["parcel"]] if "parcel" in cols and cols["parcel"] < len(row) else ""
        ring = row[cols["ring"]] if "ring" in cols and cols["ring"] < len(row) else ""
        name = row[cols["name"]] if "name" in cols and cols["name"] < len(row) else ""
        if blank and "ring" not in cols:
            block += 1
        blank = False
        try:
            ring_no = int(float(ring)) if ring else block
        except ValueError:
            raise InputError(f"圈号 {ring!r} is not a number", file=path, where=f"{at}row {i}", field="圈号") from None
        points.append((i, parcel or sheet or path.stem, ring_no, name, vals[0], vals[1]))
    return points, notes


#: What marks a row of a coordinate table as a note on it (its area, a total, who drew it up), not a point.
_NOTE = re.compile(r"面积|合计|总计|小计|共\s*[0-9０-９一二三四五六七八九十百]+\s*个|制表|填表|审核|校核|日期|备注|说明|"
                   r"^\s*S\s*[=＝]|单位\s*[:：]", re.IGNORECASE)


def _note_row(row: list[str], cols: dict[str, int], a_col: int, b_col: int, geo: bool) -> str | None:
    """The text of ``row`` when it is a note (:data:`_NOTE`) without a point's two coordinates and without a point
    name (its 点号 cell empty, or the note's own words), else None: a named point whose coordinate is mistyped is
    refused, not passed over."""
    text = " ".join(c.strip() for c in row if c.strip())
    named = row[cols["point"]].strip() if "point" in cols and cols["point"] < len(row) else ""
    if not _NOTE.search(text) or (named and not _NOTE.search(named)):
        return None
    try:
        for col in (a_col, b_col):
            (parse_angle if geo else parse_metres)(row[col] if col < len(row) else "")
    except ValueError:
        return text
    return None         # a point that carries a remark (备注) is a point


#: Units a stated area is written in, and their square metres (the longest spellings first: hm² before m²).
_AREA_UNITS = (("平方公里", 1e6), ("km²", 1e6), ("km2", 1e6), ("公顷", 1e4), ("hm²", 1e4), ("hm2", 1e4), ("ha", 1e4),
               ("平方米", 1.0), ("㎡", 1.0), ("m²", 1.0), ("m2", 1.0), ("亩", 1e4 / 15))
_STATED_AREA = re.compile(r"(?:面积|^\s*S\s*[=＝])\D*?([0-9]+(?:\.[0-9]+)?)")


def _stated_area_m2(note: str) -> float | None:
    """The area a note states (面积：4.0000公顷, 合计面积(㎡) 40000, S=40000.00m²), in m²; None without a number and
    a unit."""
    m = _STATED_AREA.search(note)
    unit = next((f for u, f in _AREA_UNITS if u in note.lower()), None)
    return float(m.group(1)) * unit if m and unit else None


_BLOCK_TITLE = re.compile(r"^(第?[0-9０-９一二三四五六七八九十百]+[号块宗]?)?(地块|宗地|图斑)(编?号|名称)?[:：]?\s*\S{0,30}$")


def _folded(row: list[str]) -> list[str]:
    """The cells of ``row`` folded (:func:`~gis_screening.catalog.fold`), without its trailing blank cells."""
    cells = [fold(c) for c in row]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _block_title(row: list[str]) -> bool:
    """Is ``row`` a block's title alone (``地块二``, ``宗地2``, ``1号地块``): one cell, no coordinates?"""
    cells = [c for c in row if c]
    return len(cells) == 1 and bool(_BLOCK_TITLE.match(cells[0].strip()))


#: A GK coordinate's header as survey tables write it: the axis word and its letter together (纵坐标X, Y横坐标,
#: 北坐标X, 坐标Y).
_AXIS_HEADER = re.compile(r"^(纵坐标|北坐标|横坐标|东坐标|坐标)?([xy])(纵坐标|北坐标|横坐标|东坐标|坐标)?$")
_AXIS_WORD = {"纵坐标": "x", "北坐标": "x", "横坐标": "y", "东坐标": "y", "坐标": None}
#: A unit written after a header's name without brackets: X/m, 经度/°, 经度°.
_UNIT_AFTER = re.compile(r"(?:/(?:m|米|°|度)|°)$")
#: Longitude and latitude headers with their hemisphere letter attached: 经度E, E经度, 纬度N.
_ANGLE_HEADER = re.compile(r"^[en]?(经度|东经|纬度|北纬)[en]?$")


def _kinds(cell: str) -> set[str]:
    """The column kinds (:data:`~.COLUMNS`: x, y, lon, lat, name …) a header cell names; a name may carry a unit in
    brackets (X坐标（m）, 经度(°)), and an axis word its letter (纵坐标X; 横坐标X, the two at odds, names none)."""
    keys = {fold(cell), fold(without_note(cell))}
    keys |= {_UNIT_AFTER.sub("", k) for k in keys}
    found = {kind for kind, names in COLUMNS.items() if keys & {fold(n) for n in names}}
    for key in keys:
        if not found and (m := _AXIS_HEADER.match(key)):
            words = {_AXIS_WORD[w] for w in (m.group(1), m.group(3)) if w} - {None}
            if words <= {m.group(2)}:
                found.add(m.group(2))
        if not found and (m := _ANGLE_HEADER.match(key)):
            found.add("lon" if m.group(1) in ("经度", "东经") else "lat")
    return found


def _has_points(found: dict[str, int]) -> bool:
    return ("x" in found and "y" in found) or ("lon" in found and "lat" in found)


def _find_header(rows) -> tuple[int, dict[str, int]]:
    """(row, {column kind: index}) of the first of 30 rows naming X and Y or 经度 and 纬度."""
    for i, row in enumerate(rows[:30]):
        found: dict[str, int] = {}
        for j, cell in enumerate(row):
            for kind in _kinds(cell):
                found.setdefault(kind, j)
        if _has_points(found):
            return i, found
    return -1, {}


def _column_groups(header: list[str], path: Path) -> list[tuple[int, int | None, dict[str, int]]]:
    """Column spans of the groups of points a table prints side by side (点号 X Y 点号 X Y: a 界址点坐标表 laid out in
    two columns to fit a page, read down the first, then down the next), from its header, each with its columns
    (:func:`_find_header`, within the span): one span (all columns) for one group.  Coordinates named twice without
    a 点号 column of their own (X, Y, X, Y; or 西安80 X/Y beside CGCS2000 X/Y) are refused: which pair is the
    footprint is not for the reader to guess."""
    coords = [(j, kinds) for j, cell in enumerate(header) if (kinds := _kinds(cell) & {"x", "y", "lon", "lat"})]
    groups: list[list[int]] = [[]]
    seen: set[str] = set()
    for j, kinds in coords:
        if kinds & seen:
            groups.append([])
            seen = set()
        groups[-1].append(j)
        seen |= kinds
    if len(groups) < 2:
        return [(0, None, _find_header([header])[1])]
    ends = [g[-1] + 1 for g in groups]
    spans = []
    for lo, hi in zip([0, *ends[:-1]], [*ends[:-1], None]):
        h, cols = _find_header([header[lo:hi]])
        if h != 0 or "point" not in cols:
            named = "; ".join(", ".join(repr(header[j]) for j in g) for g in groups)
            raise InputError(f"the header names the coordinates more than once ({named}) without a 点号 column for "
                             "each: keep the pair of columns that is the footprint's", file=path,
                             field=header[groups[1][0]])
        spans.append((lo, hi, cols))
    return spans


def read_coord_table(path: str | Path, encoding: str | None = None, zone: int | None = None,
                     sheet: str | None = None) -> RawRead:
    """Read a coordinate table into one feature per parcel (polygon; a single point stays a point).  A workbook
    is read sheet by sheet: every sheet with a coordinate header counts (a sheet's parcels are named by its
    地块编号 column, else by the sheet), sheets without one (说明 …) are left out; ``sheet`` reads that one only."""
    path = Path(path)
    guess = None
    if path.suffix.lower() in (".csv", ".txt"):      # .txt: a table saved as text (tab- or comma-separated)
        rows, guess = _rows_from_csv(path, encoding)
        sheets: list[tuple[list[list[str]], list[Merged], str | None]] = [(rows, [], None)]
    else:
        sheets = list(_workbook_sheets(path, sheet))
    tables = []
    for rows, merged, title in sheets:
        h, cols = _find_header(rows)
        if merged and h >= 0:       # (a sheet without a coordinate header is no coordinate table, merged or not)
            header_merges = [_a1(m) for m in merged if _in_header(m, rows, h)]
            if header_merges:
                raise InputError(f"merged header cells {', '.join(header_merges[:3])}: unmerge them so each column "
                                 "has its own header (点号, X, Y or 经度, 纬度)", file=path, where=f"sheet {title}")
        if h >= 0:
            tables.append((rows, title, h, cols))
    if not tables:
        raise NoCoordinateColumns("no coordinate columns found: need a header row with X and Y (北坐标/东坐标) or "
                                  "经度 and 纬度", file=path)
    kinds = {"lon" in cols and "lat" in cols and not ("x" in cols and "y" in cols) for _, _, _, cols in tables}
    if len(kinds) > 1:
        raise InputError("some sheets give lon/lat and others GK X/Y; give one kind, or pick a sheet", file=path)
    geo = kinds.pop()
    several = len(tables) > 1
    points = []
    notes: list[tuple[int, str]] = []
    side_by_side = 0
    for rows, title, h, _ in tables:
        groups, block = _column_groups(rows[h], path), 1
        side_by_side = max(side_by_side, len(groups) if len(groups) > 1 else 0)
        for lo, hi, cols in groups:     # a group's points go on from the last block of the one before
            sub = [r[lo:hi] for r in rows] if len(groups) > 1 else rows
            got, said = _points(sub, h, cols, geo, path, title if several else None, block)
            block = max((p[2] for p in got), default=block)
            points += got
            notes += said
    _, _, first_h, first_cols = tables[0]
    a_col, b_col = (first_cols["lon"], first_cols["lat"]) if geo else (first_cols["x"], first_cols["y"])
    a_name, b_name = tables[0][0][first_h][a_col], tables[0][0][first_h][b_col]
    if not points:
        raise InputError("the table has a header but no coordinate rows", file=path)
    arr = np.array([(p[4], p[5]) for p in points])
    try:
        crs_guess = infer_crs(arr[:, 0].min(), arr[:, 1].min(), arr[:, 0].max(), arr[:, 1].max(), zone=zone,
                              xy_is_northing_easting=not geo)
    except ZoneRequired as exc:
        raise exc.at(path) from None
    except ValueError as exc:
        odd = None if geo else odd_row([(p[0], p[4], p[5]) for p in points], a_name, b_name)
        if odd:
            raise InputError(odd[1], file=path, where=f"row {odd[0]}") from None
        raise InputError(str(exc), file=path) from None
    problems = [Problem("info", f"coordinate columns: {a_name!r}, {b_name!r} ({'lon/lat' if geo else 'GK X/Y'})")]
    if side_by_side:
        problems.append(Problem("info", f"points in {side_by_side} groups of columns side by side: read down the "
                                "first, then down the next"))
    if sheet is not None and sheet not in (titles := [title for _, _, title in sheets]):
        if len(tables) > 1:             # several parcels: which one was meant is the user's to say
            raise InputError(f"no sheet {sheet!r}; its sheets are: {', '.join(str(t) for t in titles)}", file=path)
        problems.append(Problem("warning", f"no sheet {sheet!r} here: its only sheet with coordinates read"))
    if several:
        problems.append(Problem("info", f"parcels read from {len(tables)} sheets: "
                                + ", ".join(str(t) for _, t, _, _ in tables)))
    if crs_guess.swapped:
        problems.append(Problem("warning", "coordinate columns are swapped relative to the usual order; corrected"))
    lonlat = crs_guess.epsg == 4490
    by_ring_column = any("ring" in cols for *_, cols in tables)
    blocks = len({(p[1], p[2]) for p in points}) - len({p[1] for p in points})
    if blocks and not by_ring_column:
        problems.append(Problem("info", f"rows without points between them (blank, a repeated header, a block's "
                                f"title) start {blocks} more ring(s): each block of points read as an outline of its "
                                "own (a second parcel, or a hole)"))
    parcels: dict[str, dict[int, list]] = {}
    names: dict[str, str] = {}
    for row_no, parcel, ring, name, a, b in points:
        if lonlat:
            e, n = (a, b) if not crs_guess.swapped else (b, a)
        else:
            e, n = (b, a) if not crs_guess.swapped else (a, b)   # X northing, Y easting
        parcels.setdefault(parcel, {}).setdefault(ring, []).append((row_no, e, n))
        if name:
            names.setdefault(parcel, name)
    geoms, ids = [], []
    for pid, rings in parcels.items():
        if sum(len(r) for r in rings.values()) == 1:
            (_, e, n), = [p for r in rings.values() for p in r]
            geoms.append(Point(e, n))
        else:
            closed = []
            for ring_no, pts in sorted(rings.items()):
                for coords in closed_rings([(e, n) for _r, e, n in pts]):
                    if len(set(coords)) < 3:
                        told = "" if by_ring_column else " (rings are the blocks of points between rows without any: " \
                                                         "blank, a repeated header, a block's title)"
                        raise InputError(f"parcel {pid} ring {ring_no} (rows {pts[0][0]}–{pts[-1][0]}) has fewer "
                                         f"than 3 distinct points{told}", file=path, where=f"row {pts[0][0]}",
                                         field="圈号" if by_ring_column else f"{a_name}/{b_name}")
                    closed.append(coords)
            geoms.append(nest_rings(closed))
        ids.append(pid)
    gdf = gpd.GeoDataFrame({"地块编号": ids, "地块名称": [names.get(i) for i in ids]}, geometry=geoms)
    if notes:
        problems.append(Problem("info", "rows read as notes, not points: " + "; ".join(
            f"row {i} “{text[:40]}”" for i, text in notes[:5]) + (" …" if len(notes) > 5 else "")))
        areas = [m2 for _, text in notes if (m2 := _stated_area_m2(text)) is not None]
        if len(areas) == 1 and len(gdf) == 1:       # the parcel's area, as the table states it: checked
            gdf["地块面积(公顷)"] = areas[0] / 1e4
            problems += check_declared_areas(gdf, crs_guess.epsg)
    raw = RawRead(gdf, CRS.from_epsg(crs_guess.epsg), "coordinate magnitudes", guess, problems)
    raw.inferred = crs_guess
    return raw
