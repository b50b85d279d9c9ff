"""Read GIS vector files through GDAL (pyogrio): GeoPackage, ESRI File Geodatabase, Shapefile (plain or zipped), GeoJSON,
KML/KMZ, FlatGeobuf, GeoParquet, MapInfo TAB/MIF.  Returns features in the file's own CRS (or none) for the
CRS step in :mod:`gis_screening.io.pipeline`."""
from __future__ import annotations

import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from ..crs import CrsGuess
from ..encoding import EncodingGuess, detect_dbf_encoding, detect_mapinfo_encoding, normalise_encoding_name
from ..errors import InputError, LayerRequired, Problem
from ..limits import not_found
from .formats import LAYERED_SUFFIXES, MULTI_LAYER_SUFFIXES
from .safezip import extract_zip


@dataclass
class RawRead:
    """What a format reader returns: features in ``crs`` (None when the file has no CRS)."""

    gdf: gpd.GeoDataFrame
    crs: CRS | None
    crs_source: str | None = None            # e.g. ".prj", "GeoPackage metadata", "TXT header 带号"
    encoding: EncodingGuess | None = None
    problems: list[Problem] = field(default_factory=list)
    xy_is_northing_easting: bool = False     # survey files: X is northing
    zone_hint: int | None = None              # zone declared by the file (TXT 带号)
    inferred: CrsGuess | None = None          # a guess the reader already made


def repair_dbf_field_names(shp: Path, encoding: str, workdir: Path) -> tuple[Path, list[Problem]]:
    """Field names cut mid-character at the dBASE 10-byte limit (UTF-8 Chinese names) break decoding.

    When a .dbf header has such names, copy the shapefile's parts to a temp folder with the broken
    trailing bytes removed from those names, and return the copy's .shp path and what was changed.
    Returns ``(shp, [])`` when nothing needs repair.  The copy is written into ``workdir``.
    """
    dbf = shp.with_suffix(".dbf") if shp.with_suffix(".dbf").exists() else shp.with_suffix(".DBF")
    header = bytearray(dbf.read_bytes()[:65536])
    problems: list[Problem] = []
    pos = 32
    while pos + 32 <= len(header) and header[pos] != 0x0D:
        raw = bytes(header[pos:pos + 11]).split(b"\x00")[0]
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            cut = raw
            while cut:
                cut = cut[:-1]
                try:
                    name = cut.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                name = ""
            header[pos:pos + 11] = cut.ljust(11, b"\x00")
            problems.append(Problem("warning", f"field name {raw.decode(encoding, errors='replace')!r} was cut "
                                    f"mid-character at the dBASE 10-byte limit; read as {name!r}", field=name))
        pos += 32
    if not problems:
        return shp, problems
    folder = workdir
    for part in shp.parent.glob(shp.stem + ".*"):
        if part.suffix.lower() != ".dbf":
            shutil.copy2(part, folder / part.name)
    data = bytearray(dbf.read_bytes())
    data[:len(header)] = header
    (folder / (shp.stem + ".dbf")).write_bytes(bytes(data))
    return folder / shp.name, problems


#: what a zip archive is searched for, in this order: GIS files first, then a drawing, a survey TXT or a
#: coordinate table (a 报批 package holds the TXT; a 说明.txt beside a shapefile is not read)
ZIP_ORDER = (".shp", ".gpkg", ".geojson", ".kml", ".fgb", ".parquet", ".tab", ".mif", ".dxf", ".txt", ".csv",
             ".xlsx", ".xls")


def zip_choice(names: list[str], path: Path) -> str:
    """Which of a zip archive's member ``names`` (paths inside it) is read (see :data:`ZIP_ORDER`): a File
    Geodatabase folder first.  Several of the first kind found are an InputError listing them (which one was meant
    is not ours to guess)."""
    parts = [PurePosixPath(n) for n in names]
    gdb = sorted({str(PurePosixPath(*q.parts[:i + 1])) for q in parts for i, part in enumerate(q.parts[:-1])
                  if part.lower().endswith(".gdb")})
    if gdb:
        return gdb[0]
    for suffix in ZIP_ORDER:
        found = sorted(str(q) for q in parts if q.suffix.lower() == suffix and not str(q).endswith("/"))
        if found:
            if len(found) > 1:
                listed = ", ".join(PurePosixPath(n).name for n in found)
                raise InputError(f"zip holds several {suffix} files ({listed}); unzip it and choose one", file=path)
            return found[0]
    raise InputError("zip holds no file read here (shapefile, File Geodatabase, GeoPackage, GeoJSON, KML, FlatGeobuf, "
                     "GeoParquet, MapInfo table, DXF drawing, 勘测定界 TXT or coordinate table)", file=path)


def find_in_zip(folder: Path, path: Path) -> Path:
    """The file (or File Geodatabase folder) of the zip archive ``path``, unpacked into ``folder``, to read."""
    names = [f.relative_to(folder).as_posix() for f in folder.rglob("*") if f.is_file()]
    return folder / zip_choice(names, path)


def read_vector(path: str | Path, layer: str | None = None, encoding: str | None = None) -> RawRead:
    """Read a vector file with pyogrio.  Shapefile encodings are detected (see :mod:`encoding`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(not_found(path), file=path)
    suffix = path.suffix.lower()
    if suffix == ".kmz":
        with tempfile.TemporaryDirectory(prefix="gis-screening-kmz-") as tmp:
            kml = sorted(extract_zip(path, tmp).rglob("*.kml"))
            if not kml:
                raise InputError("KMZ holds no .kml document", file=path)
            return read_vector(kml[0], layer, encoding)
    if suffix in (".parquet", ".geoparquet"):
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise InputError(f"cannot read GeoParquet: {exc}", file=path) from None
        return RawRead(gdf, gdf.crs, "GeoParquet metadata" if gdf.crs else None)
    if suffix not in LAYERED_SUFFIXES:
        layer = None            # one layer only: a --layer meant for the other files of a folder is not for it
    guess = None
    problems: list[Problem] = []
    if suffix == ".shp":
        for part in (".shx", ".dbf"):
            if not (path.with_suffix(part).exists() or path.with_suffix(part.upper()).exists()):
                raise InputError(f"the shapefile's {part} file is missing", file=path)
        _check_shp_length(path)
        if encoding:
            guess = EncodingGuess(normalise_encoding_name(encoding), "given by the user")
        else:
            try:
                guess = detect_dbf_encoding(path)
            except (ValueError, OSError, UnicodeError) as exc:
                raise InputError(f"attribute table (.dbf) unreadable: {exc}", file=path.with_suffix(".dbf")) from None
        problems.append(Problem("info" if guess.sure else "warning",
                                f"attribute encoding {guess.label}: {guess.reason}"))
    elif suffix in (".tab", ".mif"):
        try:
            guess = EncodingGuess(normalise_encoding_name(encoding), "given by the user") if encoding else \
                detect_mapinfo_encoding(path)
        except (ValueError, OSError, UnicodeError, struct.error) as exc:
            raise InputError(f"MapInfo attribute file unreadable: {exc}", file=path) from None
        if guess is not None:
            problems.append(Problem("info" if guess.sure else "warning",
                                    f"attribute encoding {guess.label}: {guess.reason}"))
    with tempfile.TemporaryDirectory(prefix="gis-screening-dbf-") as tmp:
        read_path = path
        if suffix == ".shp" and guess is not None:
            read_path, fixes = repair_dbf_field_names(path, guess.encoding, Path(tmp))
            problems += fixes
        frames = _read_frames(path, read_path, layer, guess, problems)
    gdf = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(pd.concat(frames, ignore_index=True),
                                                               crs=frames[0].crs)
    crs_source = None
    if gdf.crs is not None:
        crs_source = {".shp": ".prj", ".gpkg": "GeoPackage metadata", ".gdb": "File Geodatabase metadata",
                      ".tab": "MapInfo CoordSys", ".mif": "MapInfo CoordSys"}.get(
            suffix, "file metadata")
        if suffix in (".geojson", ".json", ".kml") and gdf.crs.to_epsg() == 4326:
            crs_source = "GeoJSON/KML default (WGS84)"
    elif suffix == ".shp":
        problems.append(Problem("warning", "no .prj file: CRS inferred from the coordinates"))
    return RawRead(gdf, gdf.crs, crs_source, guess, problems)


def _past(deadline: float) -> bool:
    """True once ``deadline`` (time.monotonic) has passed: SQLite then interrupts the query."""
    import time
    return time.monotonic() > deadline


#: how long a GeoPackage view may take to list its rows before it is refused (a view can be endless)
VIEW_SECONDS = 8.0


def check_gpkg_views(path: Path, seconds: float = VIEW_SECONDS) -> None:
    """Refuse a GeoPackage whose feature layers include a view that does not finish listing its rows within
    ``seconds`` (e.g. an endless recursive view), before GDAL reads it with no time limit."""
    import sqlite3
    import time
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return                                  # not SQLite: GDAL says what is wrong
    try:
        views = [r[0] for r in conn.execute(
            "SELECT c.table_name FROM gpkg_contents c JOIN sqlite_master m ON m.name = c.table_name "
            "WHERE m.type = 'view'")]
        for view in views:
            deadline = time.monotonic() + seconds
            conn.set_progress_handler(partial(_past, deadline), 100_000)
            try:
                conn.execute('SELECT count(*) FROM "{}"'.format(view.replace('"', '""'))).fetchone()
            except sqlite3.OperationalError as exc:
                if _past(deadline):                 # our progress handler interrupted it
                    raise InputError(f"layer {view!r} is a view that did not finish listing its rows within "
                                     f"{seconds:g} s (an endless or very slow view); not read", file=path) from None
                raise InputError(f"layer {view!r} is a view that cannot be read: {exc}", file=path) from None
    except sqlite3.DatabaseError:
        return                                  # no gpkg_contents or not a database: GDAL says what is wrong
    finally:
        conn.close()


def _read_frames(path: Path, read_path: Path, layer: str | None, guess: EncodingGuess | None,
                 problems: list[Problem]) -> list:
    """Read one layer (or every layer of a KML) with pyogrio; GDAL errors become InputError.  A named ``layer``
    the source does not have is read as if none was named, said in ``problems`` (a --layer meant for another file
    of a folder); where that needs a choice among several layers, the error lists them."""
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        check_gpkg_views(read_path)
    if suffix in MULTI_LAYER_SUFFIXES:
        spatial = _spatial_layers(read_path, path)
        if layer is not None and layer not in spatial:
            if len(spatial) > 1:
                raise InputError(f"no layer {layer!r}; its layers are: {', '.join(spatial)}", file=path)
            problems.append(Problem("warning", f"no layer {layer!r} here: its only layer {spatial[0]!r} read"))
            layer = None
        if layer is None and len(spatial) > 1:
            counts = _feature_counts(read_path, spatial)
            listed = [f"{name} {counts[name]:,} features" if name in counts else name for name in spatial[:8]]
            raise LayerRequired(f"holds {len(spatial)} layers ({', '.join(listed)}{' …' if len(spatial) > 8 else ''}); "
                                "name the one to read (manifest `layer:`, or --layer)", spatial, file=path,
                                counts=counts)
        layers: list[str | None] | None = [layer or spatial[0]] if spatial else None
    else:
        layers = [layer] if layer else None
    if suffix == ".kml":
        try:
            folders = [row[0] for row in pyogrio.list_layers(read_path)]
        except Exception as exc:
            raise InputError(f"cannot open KML: {_gdal_message(exc)}", file=path) from None
        if layer is not None and layer not in folders:
            problems.append(Problem("warning", f"no folder {layer!r} here: all its folders read"))
            layer = None
        layers = [layer] if layer else folders
    frames = []
    try:
        for lyr in layers or [None]:
            kwargs = {"layer": lyr} if lyr is not None else {}
            if guess is not None:
                kwargs["encoding"] = guess.encoding
            frames.append(pyogrio.read_dataframe(read_path, **kwargs))
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError / GDAL errors
        raise InputError(f"cannot read: {_gdal_message(exc)}", file=path) from None
    frames = [f for f in frames if len(f)]
    if not frames:
        raise InputError("layer is empty: it holds no features", file=path, where=f"layer {layer}" if layer else None)
    return frames


def _spatial_layers(read_path: Path, path: Path) -> list[str]:
    """The layers of a GeoPackage or File Geodatabase that hold geometries (not attribute-only tables such as
    QGIS's ``layer_styles``)."""
    try:
        return [str(name) for name, kind in pyogrio.list_layers(read_path) if kind is not None]
    except Exception as exc:
        raise InputError(f"cannot open: {_gdal_message(exc)}", file=path) from None


def _feature_counts(read_path: Path, layers: list[str]) -> dict[str, int]:
    """Features per layer, as the source declares them (layers it cannot count left out)."""
    counts = {}
    for name in layers:
        try:
            n = pyogrio.read_info(read_path, layer=name)["features"]
        except Exception:  # noqa: BLE001 - only a count for the question; reading the layer says what is wrong
            continue
        if n >= 0:
            counts[name] = int(n)
    return counts


def _check_shp_length(shp: Path) -> None:
    """A .shp shorter than its header's file length was cut off in transfer: say so plainly."""
    with open(shp, "rb") as fh:
        head = fh.read(100)
    actual = shp.stat().st_size
    if len(head) < 100 or head[:4] != b"\x00\x00\x27\x0a":
        raise InputError("not a shapefile main file (bad header)", file=shp)
    declared = int.from_bytes(head[24:28], "big") * 2
    if actual < declared:
        raise InputError(f"the .shp is truncated: its header says {declared} bytes but the file has {actual}; "
                         "copy it again from the source", file=shp)


def _gdal_message(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def list_layers(path: str | Path) -> list[str]:
    """Layer names inside a multi-layer source (GeoPackage, KML)."""
    try:
        return [row[0] for row in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputError(f"cannot list layers: {_gdal_message(exc)}", file=path) from None
