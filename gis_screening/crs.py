"""Coordinate reference systems: CGCS2000 codes, Gauss-Krüger zones, and inference from magnitudes.

Storage CRS is CGCS2000 geographic, EPSG:4490.  Metric work uses the CGCS2000 3-degree Gauss-Krüger
zone of the data without zone prefix (EPSG:4534 + zone − 25; Fujian: 4548 for zone 39, 4549 for zone 40).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import shapely

from .errors import ZoneRequired

# pyproj is imported where a CRS is read or a transformation made: a warm screening, whose footprints come projected
# from the cache, never loads PROJ
if TYPE_CHECKING:
    from pyproj import CRS, Transformer

STORAGE_EPSG = 4490
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


@lru_cache(maxsize=32)
def transformer(src: int, dst: int) -> Transformer:
    """The pyproj transformation from EPSG ``src`` to EPSG ``dst`` in x/y (lon/lat, easting/northing) order, made once
    a process (PROJ is loaded on first use)."""
    from pyproj import CRS, Transformer
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def reproject(geoms: np.ndarray, src: int, dst: int,
              move: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """``geoms`` (shapely objects in EPSG ``src``) in EPSG ``dst``: coordinate for coordinate what geopandas'
    ``to_crs`` gives (the same pyproj transformation, x/y order, z kept), without making a GeoSeries — the warm
    screening path imports neither pandas nor geopandas.  ``move(coords)``: the coordinates (an ``(n, 2)`` or
    ``(n, 3)`` array) moved to ``dst``, when the caller has them (default :func:`transform_coords`)."""
    out = np.empty_like(geoms)
    has_z = shapely.has_z(geoms)
    for rows, z in ((~has_z, False), (has_z, True)):
        if rows.any():
            coords = shapely.get_coordinates(geoms[rows], include_z=z)
            moved = transform_coords(coords, src, dst) if move is None else move(coords)
            out[rows] = shapely.set_coordinates(geoms[rows].copy(), moved)
    return out


def transform_coords(coords: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Coordinates (``(n, 2)`` or ``(n, 3)``, x/y order) from EPSG ``src`` to EPSG ``dst``, as an array of the same
    shape."""
    move = transformer(src, dst).transform
    x, y = coords[:, 0], coords[:, 1]
    moved = move(x, y, coords[:, 2]) if coords.shape[1] == 3 else move(x, y)
    return np.array(moved).T


def gk3_zone_for_lon(lon: float) -> int:
    """3-degree GK zone number (25–45 in China) whose central meridian is nearest ``lon``."""
    return int(_nearest_gk3_zones(lon))


def _nearest_gk3_zones(lon):
    """The number of the 3° zone whose central meridian is nearest ``lon`` (a number or an array), as floats."""
    return np.floor(lon / 3.0 + 0.5)


def gk3_epsg(zone: int, prefixed: bool = False) -> int:
    """EPSG code of the CGCS2000 3° GK zone ``zone`` (25–45); ``prefixed`` → easting carries the zone."""
    if not 25 <= zone <= 45:
        raise ValueError(f"3-degree zone {zone} is outside China (25–45)")
    return (4513 if prefixed else 4534) + zone - 25


def gk3_zone_of_epsg(epsg: int) -> int | None:
    """The 3° zone (25–45) of a CGCS2000 3° GK code, with zone prefix (4513–4533) or without (4534–4554); None for
    any other code."""
    for first in (4513, 4534):
        if first <= epsg <= first + 20:
            return epsg - first + 25
    return None


def gk6_epsg(zone: int, prefixed: bool = False) -> int:
    """EPSG code of the CGCS2000 6° GK zone ``zone`` (13–23)."""
    if not 13 <= zone <= 23:
        raise ValueError(f"6-degree zone {zone} is outside China (13–23)")
    return (4491 if prefixed else 4502) + zone - 13


def gk3_band(epsg: int) -> tuple[float, float] | None:
    """Longitudes (west, east) of the 3° band of a CGCS2000 3° GK code without zone prefix (4534–4554); None for
    any other code."""
    if not 4534 <= epsg <= 4554:
        return None
    cm = 3.0 * (epsg - 4534 + 25)
    return cm - 1.5, cm + 1.5


def metric_epsg_for_lon(lon: float) -> int:
    """The CGCS2000 3° GK EPSG code (no prefix) used for metrics at longitude ``lon``."""
    return gk3_epsg(min(45, max(25, gk3_zone_for_lon(lon))))


def metric_epsgs_for_lons(lons: np.ndarray) -> np.ndarray:
    """:func:`metric_epsg_for_lon` of each of ``lons`` (an array), computed as arrays."""
    if not np.isfinite(lons).all():         # a longitude that is no number: as the one-by-one function says it
        return np.array([metric_epsg_for_lon(x) for x in lons.tolist()], dtype=np.int64)
    return gk3_epsg(25) - 25 + np.clip(_nearest_gk3_zones(lons), 25, 45).astype(np.int64)


def metric_epsg_for_bounds(bounds) -> int:
    """The 3° GK EPSG code for lon/lat ``bounds`` (x0, y0, x1, y1): the zone of their centre longitude."""
    return metric_epsg_for_lon((float(bounds[0]) + float(bounds[2])) / 2)


def zone_from_cm(cm: float, width: int = 3) -> int:
    """Zone number from a central meridian (degrees)."""
    return int(round(cm / 3.0)) if width == 3 else int(round((cm + 3) / 6.0))


@dataclass(frozen=True)
class CrsGuess:
    """The CRS of a coordinate set, how it was decided, and whether x/y were swapped."""

    epsg: int
    reason: str
    swapped: bool = False
    sure: bool = True


def classify_datum(crs: CRS) -> str:
    """``"cgcs2000"``, ``"wgs84"``, ``"xian80"``, ``"beijing54"`` or ``"other"`` for a pyproj CRS."""
    geod = crs.geodetic_crs
    name = (geod.name if geod else crs.name).lower().replace(" ", "").replace("_", "")
    datum = (geod.datum.name if geod and geod.datum else "").lower().replace(" ", "").replace("_", "")
    text = name + "|" + datum
    if "xian" in text or "xi'an" in text or "1980" in text and "xian" in text:
        return "xian80"
    if "beijing" in text or "1954" in text:
        return "beijing54"
    if "cgcs" in text or "china2000" in text or "chinageodeticcoordinatesystem2000" in text:
        return "cgcs2000"
    if "wgs84" in text or "worldgeodeticsystem1984" in text or "wgs1984" in text:
        return "wgs84"
    return "other"


def _in_china_lonlat(xmin, ymin, xmax, ymax) -> bool:
    return (CHINA_LON[0] <= xmin <= xmax <= CHINA_LON[1]) and (CHINA_LAT[0] <= ymin <= ymax <= CHINA_LAT[1])


def _is_northing(lo, hi) -> bool:
    return 300_000 <= lo <= hi <= 6_100_000


def _prefixed_zone(lo, hi) -> tuple[int, int] | None:
    """(zone, width) if eastings carry a 2-digit zone prefix (3°: 25–45, 6°: 13–23)."""
    z_lo, z_hi = int(lo // 1_000_000), int(hi // 1_000_000)
    if z_lo != z_hi:
        return None
    inner_lo, inner_hi = lo - z_lo * 1_000_000, hi - z_hi * 1_000_000
    if not (100_000 <= inner_lo <= inner_hi <= 900_000):
        return None
    if 25 <= z_lo <= 45:
        return z_lo, 3
    if 13 <= z_lo <= 23:
        return z_lo, 6
    return None


def _plain_easting(lo, hi) -> bool:
    return 100_000 <= lo <= hi <= 900_000


def odd_row(rows: list[tuple[int, float, float]], x_name: str = "X", y_name: str = "Y") -> tuple[int, str] | None:
    """The first of GK ``(row, X, Y)`` whose numbers have other digit counts than most rows' (X and Y swapped in that
    row, or a zone prefix added or left out): ``(row, what to say)``; None when no row stands out.  For a reader to
    name the row to mend when its points as a whole are neither GK metres nor lon/lat (:func:`infer_crs`)."""
    from collections import Counter
    digits = [(len(str(int(abs(x)))), len(str(int(abs(y))))) for _, x, y in rows]
    (usual, count), = Counter(digits).most_common(1)
    if count < 2 * len(rows) / 3:
        return None
    for (row, x, y), d in zip(rows, digits):
        if d == usual:
            continue
        if d == usual[::-1]:
            return row, (f"{x_name} {x:.3f} and {y_name} {y:.3f} look swapped: in the other points {x_name} has "
                         f"{usual[0]} digits before the point and {y_name} {usual[1]}")
        return row, (f"{x_name} {x:.3f} / {y_name} {y:.3f} have {d[0]} / {d[1]} digits before the point, the other "
                     f"points {usual[0]} / {usual[1]} (a zone prefix added or left out, a digit lost?)")
    return None


def infer_crs(xmin: float, ymin: float, xmax: float, ymax: float, *, zone: int | None = None,
              zone_width: int = 3, xy_is_northing_easting: bool = False) -> CrsGuess:
    """Infer a CGCS2000 CRS from coordinate magnitudes.

    ``x``/``y`` are the first/second coordinate as stored.  With ``xy_is_northing_easting`` (survey TXT,
    where X is northing) the natural order is N,E and a file with E,N is reported as swapped.
    Raises ``ValueError`` with a user-facing reason when no CRS fits or the zone is ambiguous.
    """
    if _in_china_lonlat(xmin, ymin, xmax, ymax):
        return CrsGuess(STORAGE_EPSG, "coordinates are longitude/latitude degrees within China; "
                        "taken as CGCS2000 (EPSG:4490)")
    if _in_china_lonlat(ymin, xmin, ymax, xmax):
        return CrsGuess(STORAGE_EPSG, "coordinates are latitude/longitude (swapped) within China; "
                        "taken as CGCS2000 (EPSG:4490)", swapped=True)
    # Which axis is the easting?
    options: list[tuple[bool, tuple[int, int] | None, bool]] = []
    for e_lo, e_hi, n_lo, n_hi, easting_first in ((xmin, xmax, ymin, ymax, True), (ymin, ymax, xmin, xmax, False)):
        if not _is_northing(n_lo, n_hi):
            continue
        pz = _prefixed_zone(e_lo, e_hi)
        if pz:
            options.append((easting_first, pz, True))
        elif _plain_easting(e_lo, e_hi):
            options.append((easting_first, None, False))
    if not options:
        raise ValueError(f"coordinates ({xmin:.3f}, {ymin:.3f}) – ({xmax:.3f}, {ymax:.3f}) are neither "
                         "lon/lat in China nor Gauss-Krüger metres; give the CRS explicitly")
    # Prefer the reading with a zone prefix (unambiguous), then the file's natural axis order.
    natural_easting_first = not xy_is_northing_easting
    options.sort(key=lambda o: (not o[2], o[0] != natural_easting_first))
    easting_first, pz, prefixed = options[0]
    swapped = easting_first != natural_easting_first
    order = "" if not swapped else " (X and Y columns swapped relative to the usual order; corrected)"
    if prefixed and pz is not None:
        z, width = pz
        epsg = gk3_epsg(z, prefixed=True) if width == 3 else gk6_epsg(z, prefixed=True)
        return CrsGuess(epsg, f"eastings carry the {width}° zone prefix {z}: CGCS2000 GK zone {z} "
                        f"(EPSG:{epsg}){order}", swapped=swapped)
    if zone is None:
        raise ZoneRequired("coordinates are Gauss-Krüger metres without a zone prefix; the zone cannot be "
                           "inferred — give it (TXT 带号, --zone N or --crs EPSG:N)")
    epsg = gk3_epsg(zone) if zone_width == 3 else gk6_epsg(zone)
    return CrsGuess(epsg, f"Gauss-Krüger metres without prefix, zone {zone} as given: EPSG:{epsg}{order}",
                    swapped=swapped)


def parse_crs(text: str | int) -> CRS:
    """Parse ``EPSG:4549``, ``4549`` or any PROJ/WKT string into a pyproj CRS (ValueError if unknown)."""
    from pyproj import CRS
    s = str(text).strip()
    if s.isdigit():
        s = f"EPSG:{s}"
    try:
        return CRS.from_user_input(s)
    except Exception as exc:  # pyproj raises CRSError
        raise ValueError(f"unknown CRS {text!r}: {exc}") from None


def needs_datum_parameters(crs: CRS) -> bool:
    """True for Xian 1980 / Beijing 1954 CRSs, which need user-supplied transformation parameters."""
    return classify_datum(crs) in ("xian80", "beijing54")
