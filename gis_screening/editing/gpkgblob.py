"""GeoPackage geometry blobs (GPKG header + WKB) and the spatial SQL functions GDAL's R-tree triggers call,
so a plain ``sqlite3`` connection can write a GDAL-made GeoPackage inside one transaction."""
from __future__ import annotations

import sqlite3
import struct

import shapely


def encode(geom, srs_id: int) -> bytes:
    """shapely geometry → GPKG blob (little endian, XY envelope; empty flag for empty geometries); a Z is kept."""
    if geom is None or geom.is_empty:
        return b"GP" + bytes([0, 0x01 | 0x10]) + struct.pack("<i", srs_id) + shapely.to_wkb(geom or shapely.Point(), byte_order=1)
    minx, miny, maxx, maxy = geom.bounds
    return b"GP" + bytes([0, 0x03]) + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy) + \
        shapely.to_wkb(geom, byte_order=1, output_dimension=3 if geom.has_z else 2)


def _header(blob: bytes) -> tuple[int, bool, tuple | None]:
    flags = blob[3]
    empty = bool(flags & 0x10)
    env_code = (flags >> 1) & 0x07
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[env_code]
    order = "<" if flags & 0x01 else ">"
    env = struct.unpack(order + "4d", blob[8:40]) if env_code else None
    return 8 + size, empty, env


def decode(blob: bytes | None):
    """GPKG blob → shapely geometry (None for NULL)."""
    if blob is None:
        return None
    off, _empty, _env = _header(blob)
    return shapely.from_wkb(bytes(blob[off:]))


def _envelope(blob):
    if blob is None:
        return None
    _off, empty, env = _header(blob)
    if empty:
        return None
    if env is None:
        b = decode(blob).bounds
        return (b[0], b[2], b[1], b[3])
    return env


def register(conn: sqlite3.Connection) -> None:
    """Register ST_IsEmpty / ST_MinX / ST_MaxX / ST_MinY / ST_MaxY used by GeoPackage R-tree triggers."""
    conn.create_function("ST_IsEmpty", 1, lambda b: 1 if b is None or _header(b)[1] else 0, deterministic=True)
    for name, i in (("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)):
        conn.create_function(name, 1, lambda b, i=i: (lambda e: None if e is None else e[i])(_envelope(b)),
                             deterministic=True)


def _standard_trigger(name: str, table: str, geom_col: str) -> bool:
    """The triggers GDAL writes: the GeoPackage R-tree spatial index set and OGR's feature-count triggers."""
    if name in (f"trigger_insert_feature_count_{table}", f"trigger_delete_feature_count_{table}"):
        return True
    prefix = f"rtree_{table}_{geom_col}_"
    return name.startswith(prefix) and name[len(prefix):] in (
        "insert", "update1", "update2", "update3", "update4", "update5", "update6", "update7", "delete")


def foreign_triggers(conn, table: str | None = None) -> list[str]:
    """Triggers of a GeoPackage other than the standard R-tree ones (they could rewrite our edits or the audit
    table behind our back); ``table`` limits the check to triggers on one table."""
    rows = conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type='trigger'").fetchall()
    cols = dict(conn.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()) \
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name='gpkg_geometry_columns'").fetchone() else {}
    out = []
    for name, tbl in rows:
        if table is not None and tbl != table and not name.startswith(f"rtree_{table}_"):
            continue
        if tbl in cols and _standard_trigger(name, tbl, cols[tbl]):
            continue
        if tbl.startswith("rtree_") or name.startswith("gpkg_"):   # GeoPackage extension triggers (metadata etc.)
            continue
        out.append(f"{name} (on {tbl})")
    return out
