"""PostgreSQL/PostGIS tables as layer sources and as the shared editing store.

A source is ``postgresql://user@host:port/db?table=schema.table`` (``schema=`` may be given separately when a
table name holds a dot; other query parameters such as ``sslmode`` or ``service`` go to libpq).  Passwords never
appear in a source: libpq reads them from ``PGPASSWORD``, ``~/.pgpass`` (``PGPASSFILE``) or a service file.
Every statement is parameterised and every identifier quoted with :mod:`psycopg.sql`.

Tables published by ``layers push`` (:mod:`gis_screening.publish`) have an identity key ``gs_fid``, a
per-feature ``gs_version`` (optimistic locking), a ``geom`` column in EPSG:4490 with a GiST index, and the
source's own field names.  The audit and commit tables live beside them in the same schema.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from ..errors import InputError

if TYPE_CHECKING:
    from pyproj import CRS

SCHEMES = ("postgresql://", "postgres://")
FID = "gs_fid"
VERSION = "gs_version"
GEOM = "geom"
AUDIT = "gis_screening_audit"
COMMITS = "gis_screening_commits"
#: the NOTIFY channel on which saves announce a changed layer
CHANNEL = "gis_screening_layer_changed"
INTERNAL = (FID, VERSION)


def is_postgres(source: object) -> bool:
    """True when ``source`` is a PostgreSQL address rather than a file path."""
    return isinstance(source, str) and source.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class PgSource:
    """A parsed source address: ``conninfo`` for libpq (no table, never a password), ``schema``, ``table``."""

    url: str
    conninfo: str
    schema: str
    table: str

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.table}"

    def with_table(self, schema: str, table: str) -> str:
        """The address of another table in the same database (what a published manifest records)."""
        parts = urllib.parse.urlsplit(self.conninfo)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query += [("schema", schema), ("table", table)]
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, safe=".")))


def parse_source(url: str, *, need_table: bool = True) -> PgSource:
    """Split an address into libpq conninfo and the table; refuses a password in the address."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None:
        raise InputError("the PostgreSQL address holds a password; addresses are written into manifests and session "
                         "files, so give the password through PGPASSWORD, ~/.pgpass or a service file instead",
                         file=_redact(url))
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    params = {k: v for k, v in query}
    schema, table = params.pop("schema", None), params.pop("table", None)
    if table and schema is None:
        schema, _, rest = table.partition(".")
        schema, table = (schema, rest) if rest else ("public", schema)
    if need_table and not table:
        raise InputError("the PostgreSQL address names no table; add ?table=schema.table", file=url)
    rest_q = urllib.parse.urlencode([(k, v) for k, v in query if k not in ("schema", "table")])
    conninfo = urllib.parse.urlunsplit(parts._replace(query=rest_q))
    return PgSource(url, conninfo, schema or "public", table or "")


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def connect(src: PgSource, *, autocommit: bool = False):
    """A psycopg connection (10 s connect timeout); connection failures become one-line InputErrors."""
    import psycopg
    try:
        return psycopg.connect(src.conninfo, autocommit=autocommit, connect_timeout=10,
                               application_name="gis-screening")
    except psycopg.Error as exc:
        raise InputError(f"cannot connect to PostgreSQL: {pg_message(exc)}", file=src.url) from None


def pg_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split()) if text else type(exc).__name__


def table_info(conn, src: PgSource) -> tuple[str, int, list[str], str | None]:
    """(geometry column, SRID, attribute columns in table order, primary key or None); InputError when the table
    is unusable."""
    row = conn.execute("SELECT f_geometry_column, srid FROM geometry_columns WHERE f_table_schema=%s AND "
                       "f_table_name=%s ORDER BY f_geometry_column LIMIT 1", (src.schema, src.table)).fetchone()
    if row is None:
        exists = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema=%s AND table_name=%s",
                              (src.schema, src.table)).fetchone()
        raise InputError("the table has no geometry column" if exists else "no such table (or no right to read it)",
                         file=src.url)
    geom, srid = row
    cols = table_columns(conn, src)
    key = primary_key(conn, src)
    return geom, int(srid or 0), [c for c in cols if c != geom and c not in INTERNAL and c != key], key


def table_columns(conn, src: PgSource) -> list[str]:
    """Every column of the table, in table order."""
    return [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND "
                                       "table_name=%s ORDER BY ordinal_position", (src.schema, src.table))]


def primary_key(conn, src: PgSource) -> str | None:
    """The table's single-column primary key, or None."""
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indisprimary AND i.indrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE n.nspname=%s AND c.relname=%s)", (src.schema, src.table)).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def srid_crs(conn, srid: int) -> CRS | None:
    """The CRS of an SRID from the server's spatial_ref_sys (EPSG code when it has one)."""
    from pyproj import CRS
    if not srid:
        return None
    row = conn.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid=%s", (srid,)).fetchone()
    if row is None:
        return None
    auth, code, wkt = row
    if auth and auth.upper() == "EPSG" and code:
        return CRS.from_epsg(int(code))
    return CRS.from_wkt(wkt) if wkt else None


def read_table(url: str):
    """Read a PostGIS table as a :class:`~gis_screening.io.vector.RawRead` (geometry via WKB, rows in key order)."""
    import psycopg
    from psycopg import sql

    from .vector import RawRead
    src = parse_source(url)
    with connect(src) as conn:
        try:
            geom, srid, cols, key = table_info(conn, src)
            crs = srid_crs(conn, srid)
            query = sql.SQL("SELECT ST_AsBinary({g}){sep}{cols} FROM {t}{order}").format(
                g=sql.Identifier(geom), sep=sql.SQL(", " if cols else ""),
                cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols), t=sql.Identifier(src.schema, src.table),
                order=sql.SQL(" ORDER BY {}").format(sql.Identifier(key)) if key else sql.SQL(""))
            rows = conn.cursor(binary=True).execute(query).fetchall()
        except psycopg.Error as exc:
            raise InputError(f"cannot read the table: {pg_message(exc)}", file=url) from None
    if not rows:
        raise InputError("layer is empty: it holds no features", file=url)
    wkb = np.array([r[0] for r in rows], dtype=object)
    data = {c: [_plain(r[i + 1]) for r in rows] for i, c in enumerate(cols)}
    import geopandas as gpd
    gdf = gpd.GeoDataFrame(data, geometry=shapely.from_wkb(wkb), crs=crs)
    return RawRead(gdf, crs, f"PostGIS SRID {srid}" if crs is not None else None)


def _plain(v):
    """Database values as the plain types the file readers give (Decimal → float, dates stay dates)."""
    from decimal import Decimal
    return float(v) if isinstance(v, Decimal) else v


class ChangeListener:
    """LISTENs for saves of published layers (``pg_notify`` on :data:`CHANNEL`) on one server; ``poll()`` returns
    the notices received so far without waiting: ``[{"schema", "table", "user", "changes", "session"}]``."""

    def __init__(self, url: str):
        self.src = parse_source(url, need_table=False)
        self.conn = connect(self.src, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def poll(self, timeout: float = 0.0) -> list[dict]:
        import json
        out = []
        for note in self.conn.notifies(timeout=timeout, stop_after=1000):
            try:
                out.append(json.loads(note.payload))
            except ValueError:
                continue
        return out

    def close(self) -> None:
        self.conn.close()


def table_state(url: str) -> tuple:
    """(rows, sum of versions, highest key) of a table: changes whenever a feature is added, removed or updated
    (published tables bump ``gs_version`` on every update, by our saves or by a trigger for other editors)."""
    from psycopg import sql
    src = parse_source(url)
    with connect(src) as conn:
        key = primary_key(conn, src)
        have = set(table_columns(conn, src))
        version = sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(VERSION)) if VERSION in have else sql.SQL("0")
        top = sql.SQL("max({})::text").format(sql.Identifier(key)) if key else sql.SQL("NULL")
        return tuple(conn.execute(sql.SQL("SELECT count(*), {v}, {k} FROM {t}").format(
            v=version, k=top, t=sql.Identifier(src.schema, src.table))).fetchone())
