"""勘测定界 TXT (建设用地报批坐标交换格式): read and write.

Layout: a ``[属性描述]`` section of ``key=value`` lines (坐标系, 几度分带, 投影类型, 计量单位, 带号, 精度, 转换参数),
then ``[地块坐标]`` with, per parcel, a parcel line
``界址点数,地块面积(公顷),地块编号,地块名称,图形属性(面/线/点),图幅号,地块用途,地类编码,@`` (some writers add a field
before ``@``) followed by point lines ``点号,圈号,X,Y`` — X is the northing, Y the easting, often prefixed with the
2-digit zone.  Rings are closed by repeating the first point; 圈号 numbers the rings (1 = outer; a later ring inside an
earlier one is a hole, outside it another part).
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS
from shapely.geometry import LineString, MultiPoint, Point

from ..crs import gk3_epsg, gk3_zone_for_lon, infer_crs, odd_row
from ..encoding import EncodingGuess, normalise_encoding_name, read_text
from ..errors import InputError, Problem, ZoneRequired
from ..geometry import closed_rings, nest_rings
from ..model import is_missing
from .vector import RawRead

_NUM = re.compile(r"^[+-]?\d+(\.\d*)?$")
PARCEL_COLUMNS = ["界址点数", "地块面积(公顷)", "地块编号", "地块名称", "图形属性", "图幅号", "地块用途", "地类编码"]


class NotSurveyText(InputError):
    """A text file without the 勘测定界 format's [地块坐标] section (perhaps a table of points saved as text)."""


def _split(line: str) -> list[str]:
    return [f.strip() for f in line.replace("，", ",").split(",")]


#: the values of 图形属性
KINDS = ("面", "线", "点")


def _name_across_commas(vals: list[str]) -> list[str]:
    """A parcel line's fields (without its ``@``) with a 地块名称 that holds commas (other writers' files, and ours
    before: a full-width comma, which readers split on as well) joined again: when the field after the name is no
    图形属性 but a later one is, the fields between are the name's.  Otherwise as they are."""
    if len(vals) > 8 and vals[4] not in KINDS:
        k = next((i for i in range(5, len(vals)) if vals[i] in KINDS), None)
        if k is not None:
            return [*vals[:3], "，".join(vals[3:k]), *vals[k:]]
    return vals


def _is_parcel_line(fields: list[str]) -> bool:
    return len(fields) >= 4 and fields[-1] == "@" or (len(fields) >= 8 and fields[-1].endswith("@"))


def read_survey_txt(path: str | Path, encoding: str | None = None, zone: int | None = None) -> RawRead:
    """Read a 勘测定界 TXT into one feature per parcel, in GK (x = easting, y = northing) or lon/lat."""
    path = Path(path)
    text, guess = read_text(path, encoding)
    lines = text.splitlines()
    header: dict[str, str] = {}
    section = None
    parcels: list[dict] = []
    current: dict | None = None
    for no, text_line in enumerate(lines, start=1):
        line = text_line.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "属性描述" or (section is None and "=" in line):
            if "=" in line:
                k, v = line.split("=", 1)
                header[k.strip()] = v.strip()
            continue
        if section != "地块坐标":
            continue
        fields = _split(line)
        if _is_parcel_line(fields):
            vals = _name_across_commas([f for f in fields[:-1]])
            vals[-1] = vals[-1].rstrip("@") if vals and vals[-1].endswith("@") else vals[-1]
            current = {"line": no, "attrs": dict(zip(PARCEL_COLUMNS, (vals + [""] * 8)[:8])), "points": []}
            if len(vals) > 8:
                current["attrs"]["备注"] = ",".join(vals[8:])
            parcels.append(current)
            continue
        if current is None:
            raise InputError("point line before any parcel line (界址点数,地块面积,…,@)", file=path, where=f"line {no}")
        if len(fields) < 4:
            raise InputError(f"point line has {len(fields)} fields; expected 点号,圈号,X,Y", file=path,
                             where=f"line {no}")
        pt = fields[0]
        ring, xs, ys = (unicodedata.normalize("NFKC", f).strip() for f in fields[1:4])   # full-width digits as typed
        for name, val in (("X", xs), ("Y", ys)):
            if not _NUM.match(val):
                raise InputError(f"coordinate {val!r} is not a number", file=path, where=f"line {no}", field=name)
        if ring and not _NUM.match(ring):
            raise InputError(f"圈号 {ring!r} is not a number", file=path, where=f"line {no}", field="圈号")
        current["points"].append((no, pt, int(float(ring)) if ring else 1, float(xs), float(ys)))
    if "地块坐标" not in {s for s in _sections(lines)}:
        raise NotSurveyText("no [地块坐标] section: not a 勘测定界 coordinate file", file=path)
    if not parcels:
        raise InputError("the [地块坐标] section holds no parcel", file=path)
    problems: list[Problem] = []
    if header:
        problems.append(Problem("info", "TXT header: " + ", ".join(f"{k}={v}" for k, v in header.items() if v)))
    # CRS from magnitudes (X northing / Y easting), with header zone as hint
    all_pts = np.array([(p[3], p[4]) for pc in parcels for p in pc["points"]], dtype=float)
    if not len(all_pts):
        raise InputError("no coordinates in [地块坐标]", file=path)
    hz = _header_zone(header)
    width = 6 if header.get("几度分带", "").strip().startswith("6") else 3
    if zone is None:
        zone = hz
    _check_prefix_mix(parcels, path)
    try:
        guess_crs = infer_crs(all_pts[:, 0].min(), all_pts[:, 1].min(), all_pts[:, 0].max(), all_pts[:, 1].max(),
                              zone=zone, zone_width=width, xy_is_northing_easting=True)
    except ZoneRequired as exc:
        raise exc.at(path) from None
    except ValueError as exc:
        odd = odd_row([(no, x, y) for pc in parcels for no, _pt, _ring, x, y in pc["points"]])
        if odd:
            raise InputError(odd[1], file=path, where=f"line {odd[0]}") from None
        raise InputError(str(exc), file=path) from None
    if guess_crs.swapped:
        problems.append(Problem("warning", "X and Y columns are swapped (X should be the northing); corrected"))
    geoms, rows = [], []
    for pc in parcels:
        geom, ps = _parcel_geometry(pc, path, lonlat=guess_crs.epsg == 4490, swapped=guess_crs.swapped)
        problems += ps
        geoms.append(geom)
        rows.append(pc["attrs"])
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=None)
    if guess_crs.epsg != 4490:
        problems += check_declared_areas(gdf, guess_crs.epsg)
    raw = RawRead(gdf, CRS.from_epsg(guess_crs.epsg), "TXT header and coordinates", guess, problems)
    raw.inferred = guess_crs
    raw.zone_hint = hz
    return raw


def _sections(lines):
    for line in lines:
        s = line.strip().lstrip("\ufeff")
        if s.startswith("[") and s.endswith("]"):
            yield s[1:-1].strip()


def _header_zone(header: dict[str, str]) -> int | None:
    for key in ("带号", "投影带号", "带  号"):
        v = header.get(key, "").strip()
        if v and re.match(r"^\d+$", v):
            return int(v)
    return None


def _check_prefix_mix(parcels, path) -> None:
    """Eastings that carry different zone prefixes in one file cannot be one footprint."""
    prefixes: dict[int, int] = {}
    for pc in parcels:
        for no, _pt, _ring, x, y in pc["points"]:
            for v in (x, y):
                if v >= 10_000_000:
                    prefixes.setdefault(int(v // 1_000_000), no)
    if len(prefixes) > 1:
        (z1, l1), (z2, l2) = sorted(prefixes.items(), key=lambda kv: kv[1])[:2]
        raise InputError(f"mixed zone prefixes {z1} and {z2} (first at lines {l1} and {l2}); a file must use one zone",
                         file=path, where=f"line {l2}", field="Y")


def _parcel_geometry(pc, path, lonlat: bool, swapped: bool):
    """Build the parcel's geometry as (easting, northing) or (lon, lat)."""
    problems: list[Problem] = []
    kind = pc["attrs"].get("图形属性", "") or "面"
    rings: dict[int, list] = {}
    for no, _pt, ring, x, y in pc["points"]:
        a, b = (x, y) if swapped else (y, x)   # natural order: X northing, Y easting → (E, N)
        if lonlat:
            a, b = (x, y) if not swapped else (y, x)
            if a < b:  # lon > lat always in China
                a, b = b, a
        rings.setdefault(ring, []).append((no, a, b))
    pid = pc["attrs"].get("地块编号") or f"line {pc['line']}"
    if kind.startswith("点"):
        pts = [Point(a, b) for r in rings.values() for _n, a, b in r]
        return (pts[0] if len(pts) == 1 else MultiPoint(pts)), problems
    if kind.startswith("线"):
        coords = [(a, b) for r in rings.values() for _n, a, b in r]
        if len(coords) < 2:
            raise InputError("a line needs at least 2 points", file=path, where=f"parcel {pid} (line {pc['line']})")
        return LineString(coords), problems
    closed = []
    for ring_no, pts in sorted(rings.items()):
        coords = [(a, b) for _n, a, b in pts]
        if len(coords) >= 2 and coords[0] != coords[-1]:
            problems.append(Problem("info", f"ring {ring_no} was not closed; closing point added", feature=pid))
        for ring in closed_rings(coords):
            distinct = len(set(ring))
            if distinct < 3:
                raise InputError(f"ring {ring_no} has {distinct} distinct points; a polygon ring needs at least 3",
                                 file=path, where=f"parcel {pid}, line {pts[0][0]}", field="圈号")
            closed.append(ring)
    geom = nest_rings(closed)
    return geom, problems


def check_declared_areas(gdf, epsg: int) -> list[Problem]:
    """Each parcel's declared area (its ``地块面积(公顷)``, in hectares) against the area its coordinates (``epsg``)
    enclose in their 3° GK zone: a warning beyond 1 % (a mistyped coordinate, a point left out)."""
    problems = []
    metric = gdf.set_crs(epsg).to_crs(gk3_epsg(_zone_of(gdf.set_crs(epsg))))
    for i, (declared, geom) in enumerate(zip(gdf["地块面积(公顷)"], metric.geometry)):
        try:
            d = float(declared)
        except (TypeError, ValueError):
            continue
        if d > 0 and geom.area > 0 and abs(geom.area / 10_000 - d) / d > 0.01:
            pid = gdf["地块编号"].iloc[i] or f"#{i + 1}"
            problems.append(Problem("warning", f"declared parcel area {d:.4f} ha differs from the computed "
                                    f"{geom.area / 10_000:.4f} ha (GK zone)", feature=pid, field="地块面积(公顷)"))
    return problems


def _zone_of(gdf) -> int:
    lon = float(gdf.to_crs(4490).geometry.union_all().centroid.x)
    return gk3_zone_for_lon(lon)


def write_survey_txt(gdf: gpd.GeoDataFrame, path: str | Path, *, zone: int | None = None,
                     encoding: str = "utf-8", prefixed: bool = True) -> str:
    """Write features (any CRS; polygons, lines or points) as a 勘测定界 TXT in a 3° GK zone.

    One parcel per feature; coordinates in metres with 3 decimals, X northing / Y easting (with zone prefix
    unless ``prefixed`` is False); rings closed, points numbered J1…, 圈号 per ring; the parcel area in
    hectares (4 decimals) computed in the GK zone.  Returns a short description.
    """
    path = Path(path)
    src = gdf if gdf.crs is not None else gdf.set_crs(4490)
    if zone is None:
        zone = gk3_zone_for_lon(float(src.to_crs(4490).geometry.union_all().centroid.x))
    epsg = gk3_epsg(zone, prefixed=prefixed)
    area_epsg = gk3_epsg(zone)
    proj = src.to_crs(epsg)
    areas = src.to_crs(area_epsg).geometry.area
    enc = normalise_encoding_name(encoding)
    out = ["[属性描述]", "格式版本号=1.01版本", "数据产生单位=gis-screening", "坐标系=2000国家大地坐标系",
           "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.001", "转换参数=,,,,,,",
           "[地块坐标]"]
    from ..catalog import default_catalog
    mapping = {v: k for k, v in default_catalog().match_fields("projects", gdf.columns).items()}
    for i, geom in enumerate(proj.geometry):
        row = gdf.iloc[i]
        pid = _cell(row, "地块编号") or _cell(row, mapping.get("id")) or f"{i + 1}"
        name = _cell(row, "地块名称") or _cell(row, mapping.get("name")) or pid
        rings = _rings(geom)
        kind = "面" if geom.geom_type in ("Polygon", "MultiPolygon") else "线" if "Line" in geom.geom_type else "点"
        npts = sum(len(r) for r in rings)
        out.append(",".join([str(npts), f"{areas.iloc[i] / 10_000:.4f}", pid, name, kind,
                             _cell(row, "图幅号") or "", _cell(row, "地块用途") or "", _cell(row, "地类编码") or "", "@"]))
        j = 0
        for ring_no, ring in enumerate(rings, start=1):
            first = j + 1
            for k, point in enumerate(ring):
                e, n = point[0], point[1]                    # a Z (KML altitude) is not written
                closing = kind == "面" and k == len(ring) - 1
                label = f"J{first}" if closing else f"J{j + 1}"
                if not closing:
                    j += 1
                out.append(f"{label},{ring_no},{n:.3f},{e:.3f}")
    path.write_text("\r\n".join(out) + "\r\n", encoding="gb18030" if enc == "gb18030" else enc)
    return f"勘测定界 TXT, EPSG:{epsg} (3° zone {zone}{', prefixed' if prefixed else ''}), " \
           f"{'GBK' if enc == 'gb18030' else enc.upper()}"


#: what a field of a parcel line cannot hold, and what is written instead: its separators (readers take the full-width
#: comma for one too, as a Chinese IME types it) become 、, and a line break or other control character a space
_FIELD_TEXT = str.maketrans({",": "、", "，": "、", **{chr(c): " " for c in range(32)}, "\x7f": " "})


def _cell(row, col):
    """A parcel line's field from ``row[col]``: one line, with no field separator in it; None when empty."""
    if not col or col not in row.index:
        return None
    v = row[col]
    if is_missing(v):
        return None
    return " ".join(str(v).translate(_FIELD_TEXT).split()) or None


def _rings(geom) -> list[list[tuple[float, ...]]]:
    """Coordinate rings of a geometry in write order (exterior then holes, part by part); (x, y) or (x, y, z)."""
    if geom.geom_type == "Polygon":
        return [list(geom.exterior.coords)] + [list(r.coords) for r in geom.interiors]
    if geom.geom_type.startswith("Multi") or geom.geom_type == "GeometryCollection":
        return [r for part in geom.geoms for r in _rings(part)]
    return [list(geom.coords)]


__all__ = ["read_survey_txt", "write_survey_txt", "EncodingGuess"]
