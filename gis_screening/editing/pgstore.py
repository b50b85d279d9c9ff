"""A zone layer shared in PostGIS, edited by several planners at once.

Optimistic locking per feature: each row carries ``gs_version``; a save updates or deletes a row only where its
version is still the one we read, so two planners who changed different features both save, and the second of two
who changed the same feature is refused and shown the merge (keep theirs / ours per feature), as for a GeoPackage.
Every change is written with its audit row, the journal id (crash recovery) and a NOTIFY in one transaction; a
killed client leaves nothing half-written (the server rolls the open transaction back).  Geometries are EPSG:4490.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import uuid
from pathlib import Path

import shapely

from ..errors import InputError
from ..io.postgis import (
    AUDIT,
    CHANNEL,
    COMMITS,
    FID,
    VERSION,
    PgSource,
    connect,
    parse_source,
    pg_message,
    table_columns,
    table_info,
)
from .store import ConcurrentModification, EditBuffer, Feature


def default_journal(src: PgSource) -> Path:
    """Where the crash journal of a PostGIS layer lives: the user's data folder, one file per server and table."""
    import platformdirs
    key = hashlib.sha256(f"{src.conninfo}|{src.schema}|{src.table}".encode()).hexdigest()[:20]
    folder = platformdirs.user_data_path("gis-screening") / "journals"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.journal"


class PostgisLayer(EditBuffer):
    """One published PostGIS table (``layers push``), edited in memory; ``save()`` commits with per-feature locks."""

    def __init__(self, url: str, code_field: str = "code", journal: str | Path | None = None):
        self.src = parse_source(url)
        self.url = self.where = url
        #: identifies this editing session in change notifications (so it can ignore its own)
        self.session_id = uuid.uuid4().hex
        from psycopg import sql
        with connect(self.src) as conn:
            self.geom_col, _srid, self.columns, _key = table_info(conn, self.src)
            have = set(table_columns(conn, self.src))
            if not {FID, VERSION} <= have:
                raise InputError(f"the table has no {FID}/{VERSION} columns, so concurrent edits could not be told "
                                 "apart; publish it with `gis-screening layers push` to edit it", file=url)
            self._table = sql.Identifier(self.src.schema, self.src.table)
            self.features = self._read(conn)
        #: the version of each feature our edits are based on (what a save locks against)
        self.versions = dict(self._disk_versions)
        self._start(code_field, Path(journal) if journal else default_journal(self.src))

    # ---- reading ----------------------------------------------------------------------------------------
    def _read(self, conn) -> dict[int, Feature]:
        from psycopg import sql
        cols = sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c)) for c in self.columns)
        rows = conn.cursor(binary=True).execute(sql.SQL("SELECT {fid}, {ver}, ST_AsBinary({g}){cols} FROM {t} "
                                                        "ORDER BY {fid}").format(
            fid=sql.Identifier(FID), ver=sql.Identifier(VERSION), g=sql.Identifier(self.geom_col), cols=cols,
            t=self._table)).fetchall()
        self._disk_versions = {r[0]: r[1] for r in rows}
        return {r[0]: Feature(dict(zip(self.columns, r[3:])), shapely.from_wkb(r[2]) if r[2] is not None else None)
                for r in rows}

    def _disk_state(self) -> dict[int, Feature]:
        with connect(self.src) as conn:
            return self._read(conn)

    def _mark_synced(self) -> None:
        self.versions = dict(self._disk_versions)

    def _committed(self, journal_id: str) -> bool:
        from psycopg import sql
        with connect(self.src) as conn:
            return conn.execute(sql.SQL("SELECT 1 FROM {} WHERE journal=%s").format(
                sql.Identifier(self.src.schema, COMMITS)), (journal_id,)).fetchone() is not None

    # ---- saving -----------------------------------------------------------------------------------------
    def save(self, reason: str = "", user: str | None = None) -> int:
        """Write all changes with their audit rows, journal id and a change notification in one transaction.
        Raises :class:`ConcurrentModification` (nothing written) when a feature we changed was changed or deleted
        by someone else since we read it; features others changed that we did not touch never block a save."""
        import psycopg
        from psycopg import sql
        from psycopg.types.json import Jsonb
        user = user or getpass.getuser()
        changes = self.changes()
        if not changes:
            return 0
        ident = sql.Identifier
        cols = [ident(c) for c in self.columns]
        audit = sql.SQL("INSERT INTO {a} (\"user\", layer, feature_id, feature_code, action, version, old_attributes, "
                        "new_attributes, old_geometry, new_geometry, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                        "ST_GeomFromWKB(%s, 4490), ST_GeomFromWKB(%s, 4490), %s)").format(
            a=ident(self.src.schema, AUDIT))
        insert = sql.SQL("INSERT INTO {t} ({cols}{sep}{g}) VALUES ({marks}{sep}ST_GeomFromWKB(%s, 4490)) "
                         "RETURNING {fid}").format(t=self._table, cols=sql.SQL(", ").join(cols),
                                                   sep=sql.SQL(", " if cols else ""), g=ident(self.geom_col),
                                                   marks=sql.SQL(", ").join(sql.Placeholder() for _ in cols),
                                                   fid=ident(FID))
        update = sql.SQL("UPDATE {t} SET {sets}{sep}{g}=ST_GeomFromWKB(%s, 4490), {ver}={ver}+1 WHERE {fid}=%s AND "
                         "{ver}=%s").format(t=self._table, sets=sql.SQL(", ").join(
                             sql.SQL("{}=%s").format(c) for c in cols), sep=sql.SQL(", " if cols else ""),
                             g=ident(self.geom_col), ver=ident(VERSION), fid=ident(FID))
        delete = sql.SQL("DELETE FROM {t} WHERE {fid}=%s AND {ver}=%s").format(t=self._table, fid=ident(FID),
                                                                              ver=ident(VERSION))
        layer = self.src.label
        conflicts: list[int] = []
        try:
            with connect(self.src) as conn:
                with conn.transaction():
                    for action, fid in changes:
                        old, new = self.original.get(fid), self.features.get(fid)
                        version = self.versions.get(fid)
                        if action == "insert":
                            assert new is not None
                            row = conn.execute(insert, [*[new.attrs.get(c) for c in self.columns],
                                                        shapely.to_wkb(new.geom)]).fetchone()
                            written, version = row[0] if row else None, 1
                        elif action == "update":
                            assert new is not None and version is not None
                            cur = conn.execute(update, [*[new.attrs.get(c) for c in self.columns],
                                                        shapely.to_wkb(new.geom), fid, version])
                            written, version = fid, version + 1
                            if cur.rowcount != 1:
                                conflicts.append(fid)
                                continue
                        else:
                            if conn.execute(delete, (fid, version)).rowcount != 1:
                                conflicts.append(fid)
                                continue
                            written = fid
                        conn.execute(audit, (user, layer, written, self.code_of(fid), action, version,
                                             Jsonb(old.attrs, dumps=_dumps) if old else None,
                                             Jsonb(new.attrs, dumps=_dumps) if new else None,
                                             shapely.to_wkb(old.geom) if old else None,
                                             shapely.to_wkb(new.geom) if new else None, reason))
                    if conflicts:
                        raise _Conflict
                    if self._journal_id is not None:
                        conn.execute(sql.SQL("INSERT INTO {} (journal) VALUES (%s) ON CONFLICT DO NOTHING").format(
                            ident(self.src.schema, COMMITS)), (self._journal_id,))
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps(
                        {"schema": self.src.schema, "table": self.src.table, "user": user, "changes": len(changes),
                         "session": self.session_id}, ensure_ascii=False)))
                self.features = self._read(conn)
        except _Conflict:
            raise ConcurrentModification(self.url, self.merge_report()) from None
        except psycopg.Error as exc:
            raise InputError(f"the save was not written (nothing changed in the database): {pg_message(exc)}",
                             file=self.url) from None
        self._saved()
        return len(changes)


class _Conflict(Exception):
    """Raised inside the save transaction to roll it back when a locked feature had moved on."""


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)
