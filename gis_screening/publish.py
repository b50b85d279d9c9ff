"""``layers push``: publish a layer set's layers to PostGIS and write a manifest that points at the tables.

Each layer is published with its source's own field names and code values (what ``read_layer`` maps through the
catalog, exactly as from the file), geometry in CGCS2000 (EPSG:4490; the source CRS resolved and any web-map
offset removed as when screening), a GiST index, an identity key ``gs_fid`` and a ``gs_version`` per feature.
The whole push is one transaction: it publishes every layer or nothing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import yaml

from .atomic import write_text
from .errors import InputError
from .io.pipeline import read_storage
from .io.postgis import AUDIT, COMMITS, FID, GEOM, VERSION, connect, is_postgres, parse_source
from .layerset import load_manifest
from .model import is_missing

#: the trigger function that bumps gs_version on updates that did not bump it themselves
BUMP = "gis_screening_bump_version"
#: PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1)
MAX_IDENTIFIER_BYTES = 63


@dataclass
class Published:
    role: str
    source: str
    table: str
    features: int


def ensure_edit_tables(conn, schema: str) -> None:
    """The audit and commit tables and the version trigger function of a schema (created once; every layer of the
    schema shares them)."""
    from psycopg import sql
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {a} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "time timestamptz NOT NULL DEFAULT now(), \"user\" text, layer text, feature_id bigint, feature_code text, "
        "action text, version integer, old_attributes jsonb, new_attributes jsonb, old_geometry geometry, "
        "new_geometry geometry, reason text)").format(a=sql.Identifier(schema, AUDIT)))
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {c} (journal text PRIMARY KEY, time timestamptz NOT NULL "
                         "DEFAULT now())").format(c=sql.Identifier(schema, COMMITS)))
    # an update by another editor (QGIS, psql) that leaves gs_version alone still moves it on, so optimistic locks
    # and batch resumes see every change
    conn.execute(sql.SQL("CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                         "IF NEW.{v} IS NOT DISTINCT FROM OLD.{v} THEN NEW.{v} := OLD.{v} + 1; END IF; RETURN NEW; "
                         "END $$").format(f=sql.Identifier(schema, BUMP), v=sql.Identifier(VERSION)))


def _column_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "M":
        return "timestamp"
    return "text"


def _values(series: pd.Series) -> list:
    """Python values for COPY: NaN/NaT → NULL; text columns as str."""
    kind = series.dtype.kind
    if kind == "M":
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    if kind in "biuf":
        return [None if (kind == "f" and not np.isfinite(v)) else v for v in series.tolist()]
    return [None if is_missing(v) else str(v) for v in series.tolist()]


def push_layerset(manifest_path: str | Path, target: str, manifest_out: str | Path, *,
                  replace: bool = False) -> list[Published]:
    """Publish every layer of ``manifest_path`` into the database of ``target`` (``postgresql://…[?schema=s]``)
    and write ``manifest_out`` whose layer sources are the new tables (other paths rewritten relative to it)."""
    from psycopg import sql
    manifest_path = Path(manifest_path)
    manifest = load_manifest(manifest_path)
    dest = parse_source(target, need_table=False)
    base, out_dir = manifest_path.parent, Path(manifest_out).resolve().parent
    names: dict[str, int] = {}
    frames = []
    for i, entry in enumerate(manifest.layers):
        src = entry.source if is_postgres(entry.source) else base / entry.source
        _raw, gdf, *_ = read_storage(src, layer=entry.layer, encoding=entry.encoding, crs=entry.crs, zone=entry.zone,
                                     offset=entry.offset, towgs84=entry.towgs84)
        names[entry.role] = names.get(entry.role, 0) + 1
        table = entry.role if names[entry.role] == 1 else f"{entry.role}_{names[entry.role]}"
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        for c in cols:
            if c in (FID, VERSION, GEOM) or len(str(c).encode()) > MAX_IDENTIFIER_BYTES:
                why = ("is a name the published table uses itself" if c in (FID, VERSION, GEOM) else
                       f"is longer than PostgreSQL's {MAX_IDENTIFIER_BYTES}-byte limit for names")
                raise InputError(f"field name {why}; rename it or map it with `fields:`", file=src,
                                 where=f"layers[{i}]", field=str(c))
        frames.append((entry, table, gdf, cols))
    published = []
    with connect(dest) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(dest.schema)))
        ensure_edit_tables(conn, dest.schema)
        for entry, table, gdf, cols in frames:
            ident = sql.Identifier(dest.schema, table)
            exists = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema=%s AND table_name=%s",
                                  (dest.schema, table)).fetchone()
            if exists and not replace:
                raise InputError(f"table {dest.schema}.{table} already exists; pass --replace to overwrite it",
                                 file=target)
            if exists:
                conn.execute(sql.SQL("DROP TABLE {}").format(ident))
            defs = [sql.SQL("{} {}").format(sql.Identifier(str(c)), sql.SQL(_column_type(gdf[c]))) for c in cols]
            conn.execute(sql.SQL("CREATE TABLE {t} ({fid} bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                                 "{defs}{sep}{ver} integer NOT NULL DEFAULT 1, {g} geometry(Geometry, 4490))").format(
                t=ident, fid=sql.Identifier(FID), defs=sql.SQL(", ").join(defs), sep=sql.SQL(", " if defs else ""),
                ver=sql.Identifier(VERSION), g=sql.Identifier(GEOM)))
            columns = [sql.Identifier(str(c)) for c in cols] + [sql.Identifier(GEOM)]
            wkb = shapely.to_wkb(shapely.set_srid(gdf.geometry.values, 4490), hex=True, include_srid=True)
            values = [_values(gdf[c]) for c in cols] + [list(wkb)]
            with conn.cursor().copy(sql.SQL("COPY {t} ({cols}) FROM STDIN").format(
                    t=ident, cols=sql.SQL(", ").join(columns))) as copy:
                for row in zip(*values):
                    copy.write_row(row)
            conn.execute(sql.SQL("CREATE INDEX ON {t} USING gist ({g})").format(t=ident, g=sql.Identifier(GEOM)))
            conn.execute(sql.SQL("CREATE TRIGGER gs_version_bump BEFORE UPDATE ON {t} FOR EACH ROW "
                                 "EXECUTE FUNCTION {f}()").format(t=ident, f=sql.Identifier(dest.schema, BUMP)))
            conn.execute(sql.SQL("COMMENT ON TABLE {t} IS {c}").format(
                t=ident, c=sql.Literal(f"{entry.name or entry.role} — published by gis-screening from {entry.source}")))
            published.append(Published(entry.role, entry.source, f"{dest.schema}.{table}", len(gdf)))
        conn.commit()
    layers = []
    for entry, table, _g, _c in frames:
        doc: dict[str, object] = {"role": entry.role, "source": dest.with_table(dest.schema, table)}
        if entry.name:
            doc["name"] = entry.name
        if entry.fields:
            doc["fields"] = dict(entry.fields)
        layers.append(doc)
    out: dict = {"name": manifest.name}
    if manifest.description:
        out["description"] = manifest.description
    out["layers"] = layers

    def rel(p: str) -> str:
        return os.path.relpath((base / p).resolve(), out_dir)
    if manifest.admission_lists:
        out["admission_lists"] = [{**a.model_dump(exclude_defaults=True), "source": rel(a.source)}
                                  for a in manifest.admission_lists]
    if manifest.rule_packs:
        out["rule_packs"] = [rel(p) for p in manifest.rule_packs]
    if manifest.absent:
        out["absent"] = list(manifest.absent)
    write_text(manifest_out, yaml.safe_dump(out, allow_unicode=True, sort_keys=False))
    return published
