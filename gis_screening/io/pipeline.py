"""``read_layer``: any supported file → :class:`Layer` in EPSG:4490 with canonical fields and problems.

Steps: format reader → CRS (file, user override, or inferred from magnitudes; Xian 1980 / Beijing 1954
refused without parameters; .prj checked against the coordinates) → declared web-map offset removed →
geometry checks → field normalisation for the role.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from ..catalog import Catalog, default_catalog
from ..crs import (
    CHINA_LAT,
    CHINA_LON,
    STORAGE_EPSG,
    classify_datum,
    gk3_zone_of_epsg,
    infer_crs,
    needs_datum_parameters,
    parse_crs,
)
from ..encoding import normalise_encoding_name
from ..errors import InputError, Problem, ZoneRequired
from ..geometry import check_geometries
from ..limits import not_found
from ..model import Layer, is_missing, layer_uid_for
from ..normalise import normalise_fields, unlisted_problems
from ..offsets import remove_offset
from .formats import (
    ARCHIVE_SUFFIXES,
    CAD_SUFFIXES,
    POINT_TABLE_SUFFIXES,
    SUPPORTED_SUFFIXES,
    TEXT_SUFFIXES,
    UNREADABLE,
    VECTOR_SUFFIXES,
)
from .vector import RawRead, read_vector


def read_raw(path: str | Path, *, layer: str | None = None, encoding: str | None = None,
             zone: int | None = None, crs: str | int | None = None) -> RawRead:
    """Dispatch on the file extension (or a ``postgresql://`` address) to the format reader.  ``zone`` (or the
    zone of a CGCS2000 3° GK ``crs``) tells a coordinate table or TXT the zone of unprefixed eastings."""
    from .postgis import is_postgres
    if is_postgres(path):
        from .postgis import read_table
        return read_table(str(path))
    p = Path(path)
    if p.parent.suffix.lower() == ".gdb" and p.is_file():     # a file picked inside a File Geodatabase folder
        p = p.parent
    suffix = p.suffix.lower()
    if not p.exists():
        raise InputError(not_found(p), file=p)
    if encoding:
        try:
            normalise_encoding_name(encoding)
        except ValueError as exc:
            raise InputError(f"{exc} (try gbk, utf-8, gb18030)", file=p) from None
    if zone is None and crs is not None:
        try:
            zone = gk3_zone_of_epsg(parse_crs(crs).to_epsg() or 0)
        except ValueError as exc:
            raise InputError(str(exc), file=p) from None
    if suffix in ARCHIVE_SUFFIXES:
        import tempfile

        from .safezip import extract_zip
        from .vector import find_in_zip
        with tempfile.TemporaryDirectory(prefix="gis-screening-zip-") as tmp:
            inner = find_in_zip(extract_zip(p, tmp), p)
            raw = read_raw(inner, layer=layer, encoding=encoding, zone=zone, crs=crs)
        raw.problems.insert(0, Problem("info", f"read {inner.name} from the zip archive"))
        return raw
    if suffix in TEXT_SUFFIXES:
        from .survey_txt import NotSurveyText, read_survey_txt
        try:
            return read_survey_txt(p, encoding=encoding, zone=zone)
        except NotSurveyText as exc:    # a table of points saved as text (Excel/WPS 文本文件(制表符分隔), Unicode 文本)
            from .coord_table import NoCoordinateColumns, read_coord_table
            try:
                return read_coord_table(p, encoding=encoding, zone=zone)
            except NoCoordinateColumns:
                raise InputError(f"{exc.message}, nor a table of points (no header row with X and Y or 经度 and 纬度)",
                                 file=p) from None
    if suffix in POINT_TABLE_SUFFIXES:
        from .coord_table import read_coord_table
        return read_coord_table(p, encoding=encoding, zone=zone, sheet=layer)
    if suffix in VECTOR_SUFFIXES:
        return read_vector(p, layer=layer, encoding=encoding)
    if suffix in CAD_SUFFIXES:
        from .cad import read_dxf
        return read_dxf(p, layer=layer, crs_given=crs is not None)
    if suffix in UNREADABLE:
        raise InputError(UNREADABLE[suffix], file=p)
    raise InputError(f"unsupported file type {suffix or '(none)'}; supported: "
                     f"{', '.join(sorted(SUPPORTED_SUFFIXES))}", file=p)


def _swap_xy(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.geometry = shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1])
    return out


def _bounds(gdf: gpd.GeoDataFrame):
    b = shapely.bounds(gdf.geometry.values)
    ok = np.isfinite(b).all(axis=1)
    if not ok.any():
        return None
    b = b[ok]
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def resolve_crs(raw: RawRead, path: str | Path, *, crs: str | int | None = None, zone: int | None = None,
                towgs84: str | None = None) -> tuple[gpd.GeoDataFrame, str, str, list[Problem]]:
    """Put the raw features into EPSG:4490.  Returns (gdf, source CRS label, reason, problems)."""
    gdf = raw.gdf
    problems: list[Problem] = []
    bounds = _bounds(gdf)
    if bounds is None:
        raise InputError("no feature has usable coordinates", file=path)
    hint_zone = zone if zone is not None else raw.zone_hint

    def _infer():
        try:
            return infer_crs(*bounds, zone=hint_zone, xy_is_northing_easting=raw.xy_is_northing_easting)
        except ZoneRequired as exc:
            raise exc.at(path) from None
        except ValueError as exc:
            hint = ("; a drawing in local (独立/城建) coordinates or in millimetres must be put into CGCS2000 metres "
                    "in CAD first") if Path(str(path)).suffix.lower() in CAD_SUFFIXES else ""
            raise InputError(f"{exc}{hint}", file=path) from None

    if crs is not None:
        try:
            src = parse_crs(crs)
        except ValueError as exc:
            raise InputError(str(exc), file=path) from None
        reason = f"given by the user ({crs})"
        if raw.xy_is_northing_easting and not src.is_geographic:
            gdf = _swap_xy(gdf)  # survey X (northing) / Y (easting) → x=easting
            bounds = _bounds(gdf)
    elif raw.inferred is not None:
        guess = raw.inferred
        src, reason = CRS.from_epsg(guess.epsg), guess.reason
    elif raw.crs is not None and not raw.crs.is_engineering:
        src = raw.crs
        reason = f"from the file ({raw.crs_source or 'metadata'})"
    else:
        if raw.crs is not None:         # a local (engineering, "Nonearth") system names no datum: as no CRS
            problems.append(Problem("warning", f"the file's coordinate system {raw.crs.name!r} is a local one "
                                    "without a datum: read as if it had none"))
        guess = _infer()
        src, reason = CRS.from_epsg(guess.epsg), guess.reason
        # make x the easting/longitude: lon/lat swaps only when reported swapped; GK swaps when the stored order
        # differs from easting-first (survey files store northing first unless their columns were swapped)
        natural_n_first = raw.xy_is_northing_easting and guess.epsg != STORAGE_EPSG
        if guess.swapped != natural_n_first:
            gdf = _swap_xy(gdf)
            bounds = _bounds(gdf)
        problems.append(Problem("warning" if not guess.sure else "info", f"CRS inferred: {reason}"))
    if needs_datum_parameters(src):
        datum = {"xian80": "Xian 1980", "beijing54": "Beijing 1954"}[classify_datum(src)]
        if not towgs84:
            raise InputError(f"coordinates are in {datum} ({src.name}); converting to CGCS2000 needs the "
                             "7-parameter (or 3-parameter) transformation for your area — supply it with "
                             "--towgs84 dx,dy,dz[,rx,ry,rz,s] (manifest key towgs84); they are not treated "
                             "as CGCS2000", file=path)
        declared = f"EPSG:{src.to_epsg()}" if src.to_epsg() else src.name
        src = CRS.from_proj4(src.to_proj4() + f" +towgs84={towgs84}")
        problems.append(Problem("warning", f"{datum} converted with user parameters +towgs84={towgs84}"))
    else:
        declared = None
    # Does the CRS fit the coordinates?  It does when most features land in China; the few that do not are named
    # feature by feature after field mapping (check_in_china), instead of blaming the CRS.
    if _share_in_china(gdf, src) < 0.5:
        try:
            alt = infer_crs(*bounds, zone=hint_zone, xy_is_northing_easting=raw.xy_is_northing_easting)
            hint = f"; the coordinates look like {alt.reason}"
        except ValueError:
            hint = "; the coordinates are outside China in every CGCS2000 reading"
        where = "the user's CRS" if crs is not None else f"the CRS {reason}"
        raise InputError(f"{where} ({src.name}) puts the data outside China "
                         f"(x {bounds[0]:.6g}…{bounds[2]:.6g}, y {bounds[1]:.6g}…{bounds[3]:.6g}){hint}; "
                         "fix the .prj or pass --crs", file=path)
    epsg = src.to_epsg()
    label = f"{declared} +towgs84" if declared else f"EPSG:{epsg}" if epsg else src.name
    if classify_datum(src) == "wgs84" and not declared:
        problems.append(Problem("info", "WGS84 coordinates taken as CGCS2000 (difference well under 1 m)"))
    out = gdf.set_crs(src, allow_override=True).to_crs(STORAGE_EPSG)
    return out, label, reason, problems


def _share_in_china(gdf: gpd.GeoDataFrame, src: CRS) -> float:
    """Share of features whose bounding-box centre, read in ``src``, lies within China's extent."""
    from pyproj import Transformer
    b = shapely.bounds(gdf.geometry.values)
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return 0.0
    try:
        lon, lat = Transformer.from_crs(src, STORAGE_EPSG, always_xy=True).transform((b[:, 0] + b[:, 2]) / 2,
                                                                                  (b[:, 1] + b[:, 3]) / 2)
    except Exception:   # a CRS PROJ cannot transform from: it does not fit
        return 0.0
    lon, lat = np.asarray(lon), np.asarray(lat)
    inside = (CHINA_LON[0] <= lon) & (lon <= CHINA_LON[1]) & (CHINA_LAT[0] <= lat) & (lat <= CHINA_LAT[1])
    return float(inside.mean())


def check_in_china(gdf: gpd.GeoDataFrame, ids: list[str], path) -> None:
    """Raise naming the first feature whose coordinates (EPSG:4490) fall outside China's extent."""
    b = shapely.bounds(gdf.geometry.values)
    bad = ~((b[:, 0] >= CHINA_LON[0]) & (b[:, 2] <= CHINA_LON[1]) & (b[:, 1] >= CHINA_LAT[0]) & (b[:, 3] <= CHINA_LAT[1]))
    bad &= np.isfinite(b).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"coordinates outside China (lon {b[i, 0]:.4f}…{b[i, 2]:.4f}, lat {b[i, 1]:.4f}…"
                         f"{b[i, 3]:.4f}); {int(bad.sum())} feature(s) affected", file=path,
                         where=f"feature {ids[i]}")


def read_storage(path: str | Path, *, layer: str | None = None, encoding: str | None = None,
                 crs: str | int | None = None, zone: int | None = None, offset: str | None = None,
                 towgs84: str | None = None) -> tuple[RawRead, gpd.GeoDataFrame, str, str, list[Problem]]:
    """The source's features with their own field names, in EPSG:4490 (CRS resolved, web-map offset removed):
    ``(raw, gdf, source CRS label, CRS reason, problems)``.  What ``read_layer`` checks and normalises, and
    what ``layers push`` publishes."""
    raw = read_raw(path, layer=layer, encoding=encoding, zone=zone, crs=crs)
    problems = list(raw.problems)
    if len(raw.gdf) == 0:
        raise InputError("layer is empty: it holds no features", file=path)
    gdf, src_label, reason, crs_problems = resolve_crs(raw, path, crs=crs, zone=zone, towgs84=towgs84)
    problems += crs_problems
    if offset:
        try:
            g = gdf.geometry.values
            gdf = gdf.copy()
            gdf.geometry = shapely.transform(g, lambda c: np.column_stack(remove_offset(c[:, 0], c[:, 1], offset)))
        except ValueError as exc:
            raise InputError(str(exc), file=path) from None
        problems.append(Problem("info", f"web-map offset {offset} removed (iterative inverse, < 1 mm)"))
    return raw, gdf, src_label, reason, problems


def read_layer(path: str | Path, role: str | None = None, *, name: str | None = None,
               layer: str | None = None, encoding: str | None = None, crs: str | int | None = None,
               zone: int | None = None, offset: str | None = None, fields: dict[str, str] | None = None,
               towgs84: str | None = None, catalog: Catalog | None = None) -> Layer:
    """Read any supported file into a :class:`Layer` (EPSG:4490, canonical fields when ``role`` is given).

    ``crs`` overrides the file's CRS; ``zone`` supplies the GK zone for unprefixed eastings;
    ``offset`` (``gcj02``/``bd09``) declares web-map coordinates to be corrected; ``fields`` maps
    canonical names to source columns; ``towgs84`` supplies Xian 1980 / Beijing 1954 parameters.
    """
    catalog = catalog or default_catalog()
    raw, gdf, src_label, reason, problems = read_storage(path, layer=layer, encoding=encoding, crs=crs, zone=zone,
                                                         offset=offset, towgs84=towgs84)
    expected = catalog.role(role).geometry if role else "any"
    pre_ids = _pre_ids(gdf, role, catalog)
    rows = np.arange(len(gdf))
    gdf, geom_problems = check_geometries(gdf.assign(**{ROW: rows}), pre_ids, expected)
    problems += geom_problems
    if len(gdf) == 0:
        raise InputError("no usable features left after geometry checks: "
                         + "; ".join(str(p) for p in geom_problems[:3]), file=path)
    if role:
        gdf, field_problems = normalise_fields(gdf, role, catalog, source=path, explicit=fields)
        problems += field_problems
    if role == "projects":      # footprints given ids only now (by name, by file): their notes name them so
        named = dict(zip((pre_ids[r] for r in gdf[ROW]), _pre_ids(gdf, role, catalog)))
        problems = [replace(p, feature=named.get(p.feature, p.feature)) for p in problems]
    gdf = gdf.drop(columns=ROW)
    if role == "control_units":
        problems += unlisted_problems(gdf)
    ids = _pre_ids(gdf, role, catalog)
    check_in_china(gdf, ids, path)
    title = catalog.role(role).title if role else Path(path).stem
    return Layer(role=role or "other", name=name or title, source=str(path), gdf=gdf, problems=problems,
                 uid=layer_uid_for(role),
                 source_crs=src_label, crs_reason=reason,
                 encoding=raw.encoding.label if raw.encoding else None,
                 encoding_reason=raw.encoding.reason if raw.encoding else None, catalog=catalog)


#: a column holding each feature's row in the file while it is read (dropped before the layer is made)
ROW = "__row__"


def _pre_ids(gdf, role, catalog) -> list[str]:
    """Best-effort feature ids before/after normalisation, for messages."""
    if role:
        spec = catalog.role(role)
        mapping = catalog.match_fields(role, gdf.columns)
        for src, canon in mapping.items():
            if canon == spec.id_field:
                return [f"#{i + 1}" if is_missing(v) else str(v) for i, v in enumerate(gdf[src].tolist())]
    return [f"#{i + 1}" for i in range(len(gdf))]
