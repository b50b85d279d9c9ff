"""An editable GeoPackage layer: in-memory edits, a crash journal, and saves in one SQLite transaction with an
audit table (``gis_screening_audit``) in the same file.  A save refuses to overwrite a file changed on disk since
it was opened and describes both sides' changes instead.  Geometries are EPSG:4490 (the storage CRS)."""
from __future__ import annotations

import copy
import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from . import gpkgblob

AUDIT = "gis_screening_audit"
#: Journals whose edits are committed: written in the same transaction as the edits, so recovery after a kill
#: at any moment knows whether the journal on disk is already in the file (then it is discarded, never replayed).
COMMITS = "gis_screening_commits"


@dataclass
class Feature:
    """One feature in an edit buffer: source attributes and an EPSG:4490 geometry."""
    attrs: dict
    geom: BaseGeometry


class ConcurrentModification(InputError):
    """The file changed on disk since it was opened; ``report`` lists their and our changes per feature."""

    def __init__(self, path, report: str):
        super().__init__(f"the file was changed by someone else since it was opened; not overwritten. {report}",
                         file=path)
        self.report = report


def file_digest(path: Path) -> str:
    """SHA-256 of a GeoPackage and its WAL file (tells whether someone else saved it)."""
    h = hashlib.sha256()
    for p in (path, Path(str(path) + "-wal")):
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


class EditBuffer(ABC):
    """Edits of one feature layer held in memory with a crash journal, whatever the store (GeoPackage, PostGIS).

    Subclasses load ``features``/``original`` and implement ``save``, ``_disk_state``, ``_committed`` and
    ``_mark_synced``; ``journal`` is the path of the crash journal and ``where`` names the store in messages."""

    features: dict[int, Feature]
    original: dict[int, Feature]
    columns: list[str]            # attribute columns of the store (no key, no geometry)
    journal: Path
    where: str

    def _start(self, code_field: str, journal: Path) -> None:
        self.code_field = code_field
        self.original = copy.deepcopy(self.features)
        self._next_new = -1
        self.journal = journal
        self._journal_id: str | None = None
        self.recovered = self._recover()

    # ---- primitive operations (journaled); commands are built from these --------------------------
    def set_feature(self, fid: int, attrs: dict, geom) -> None:
        """Set feature ``fid``'s attributes and geometry (journalled)."""
        self.features[fid] = Feature(dict(attrs), geom)
        self._log({"op": "set", "fid": fid, "attrs": attrs, "wkb": shapely.to_wkb(geom, hex=True) if geom is not None else None})

    def add_feature(self, attrs: dict, geom, fid: int | None = None) -> int:
        """Add a feature (journalled); returns its id (negative until saved, or ``fid`` when given)."""
        if fid is None:
            fid = self._next_new
            self._next_new -= 1
        self.features[fid] = Feature(dict(attrs), geom)
        self._log({"op": "set", "fid": fid, "attrs": attrs, "wkb": shapely.to_wkb(geom, hex=True)})
        return fid

    def delete_feature(self, fid: int) -> Feature:
        """Remove feature ``fid`` (journalled); returns it."""
        feat = self.features.pop(fid)
        self._log({"op": "delete", "fid": fid})
        return feat

    def _log(self, entry: dict) -> None:
        with open(self.journal, "a", encoding="utf-8") as fh:
            if self._journal_id is None:       # a new journal starts with its id (see COMMITS)
                import uuid
                self._journal_id = uuid.uuid4().hex
                fh.write(json.dumps({"op": "begin", "id": self._journal_id}) + "\n")
            fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _recover(self) -> int:
        """Replay an edit journal left by a session that did not save (crash); returns entries applied.
        A journal whose id the file records as committed (killed between commit and clean-up) is discarded."""
        if not self.journal.exists():
            return 0
        lines = self.journal.read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(lines[0]) if lines else {}
        except ValueError:
            head = {}
        if head.get("op") == "begin":
            if self._committed(str(head.get("id"))):
                self.journal.unlink(missing_ok=True)
                return 0
            self._journal_id = str(head["id"])
            lines = lines[1:]
        n = 0
        for line in lines:
            try:
                e = json.loads(line)
            except ValueError:
                break  # a torn last line from a crash mid-write
            if e["op"] == "set":
                self.features[e["fid"]] = Feature(e["attrs"], shapely.from_wkb(e["wkb"]) if e["wkb"] else None)
                self._next_new = min(self._next_new, e["fid"] - 1)
            elif e["op"] == "delete":
                self.features.pop(e["fid"], None)
            n += 1
        return n

    def discard(self) -> None:
        """Drop every unsaved edit (and the journal that would recover them)."""
        self.features = copy.deepcopy(self.original)
        self._retire_journal()

    def _retire_journal(self) -> None:
        self.journal.unlink(missing_ok=True)
        self._journal_id = None

    def _saved(self) -> None:
        """After a committed save: what we hold is the store's state, and the journal is done with."""
        self.original = copy.deepcopy(self.features)
        self._mark_synced()
        self._retire_journal()

    def code_of(self, fid: int) -> str:
        """The unit code of ``fid`` (for messages and the audit table)."""
        f = self.features.get(fid) or self.original.get(fid)
        return str(f.attrs.get(self.code_field)) if f else str(fid)

    def to_gdf(self) -> gpd.GeoDataFrame:
        """The features now (with a ``fid`` column) as a GeoDataFrame in EPSG:4490."""
        fids = list(self.features)
        return gpd.GeoDataFrame([{"fid": k, **self.features[k].attrs} for k in fids],
                                geometry=[self.features[k].geom for k in fids], crs=4490)

    def changes(self) -> list[tuple[str, int]]:
        """``[(action, fid)]`` with action insert / update / delete, against the state last saved."""
        out = []
        for fid, f in self.features.items():
            o = self.original.get(fid)
            if o is None:
                out.append(("insert", fid))
            elif o.attrs != f.attrs or not shapely.equals_exact(o.geom, f.geom, 0):
                out.append(("update", fid))
        out += [("delete", fid) for fid in self.original if fid not in self.features]
        return out

    @staticmethod
    def _same(a: Feature | None, b: Feature | None) -> bool:
        if a is None or b is None:
            return a is b
        return a.attrs == b.attrs and shapely.equals_exact(a.geom, b.geom, 0)

    def merge_items(self) -> list[dict]:
        """Per feature changed on either side since opening: code, theirs, ours, conflict (both changed it)."""
        disk = self._disk_state()
        theirs = {fid for fid in set(disk) | set(self.original) if not self._same(disk.get(fid), self.original.get(fid))}
        ours = {fid for _a, fid in self.changes()}
        return [{"fid": fid, "code": self.code_of(fid) if fid in self.features or fid in self.original else
                 str(disk[fid].attrs.get(self.code_field)), "theirs": fid in theirs, "ours": fid in ours,
                 "conflict": fid in theirs and fid in ours} for fid in sorted(theirs | ours)]

    def rebase(self, prefer: str = "theirs") -> int:
        """Take the file as it is now and re-apply our changes on top; conflicts resolved by ``prefer``
        (``theirs`` keeps the file's version, ``ours`` keeps ours).  Returns the number of our changes kept."""
        items = {i["fid"]: i for i in self.merge_items()}
        mine = {fid: self.features.get(fid) for _a, fid in self.changes()}
        disk = self._disk_state()
        self.features, self.original = disk, copy.deepcopy(disk)
        kept = 0
        for fid, feat in mine.items():
            if items.get(fid, {}).get("conflict") and prefer == "theirs":
                continue
            if feat is None:
                if fid in self.features:
                    self.delete_feature(fid)
            elif fid < 0:
                self.add_feature(feat.attrs, feat.geom)
            else:
                self.set_feature(fid, feat.attrs, feat.geom)
            kept += 1
        self._mark_synced()
        return kept

    def merge_report(self) -> str:
        """One line: what changed on disk since opening ('theirs') and here ('ours'); conflicts named."""
        items = self.merge_items()
        theirs = [i["code"] for i in items if i["theirs"]]
        ours = [i["code"] for i in items if i["ours"]]
        conflicts = [i["code"] for i in items if i["conflict"]]
        return (f"theirs: {len(theirs)} feature(s) changed ({', '.join(theirs[:8])}); ours: {len(ours)} "
                f"({', '.join(ours[:8])}); conflicts: {', '.join(conflicts) or 'none'} — merge: keep theirs or ours "
                "for the conflicts and save again (the edit journal keeps your edits meanwhile)")

    # ---- what each store implements -------------------------------------------------------------------
    @abstractmethod
    def save(self, reason: str = "", user: str | None = None) -> int:
        """Write all changes and their audit rows in one transaction; returns the number of features written."""

    @abstractmethod
    def _disk_state(self) -> dict[int, Feature]:
        """The features as the store holds them now."""

    @abstractmethod
    def _committed(self, journal_id: str) -> bool:
        """Whether the store records the journal ``journal_id`` as saved."""

    @abstractmethod
    def _mark_synced(self) -> None:
        """Remember the store's current state as the base of our edits (after a rebase or a save)."""


class EditableLayer(EditBuffer):
    """One feature table of a GeoPackage, edited in memory; ``save()`` writes it back transactionally."""

    def __init__(self, path: str | Path, layer: str | None = None, code_field: str = "code"):
        self.path = Path(path)
        self.where = str(self.path)
        if not self.path.exists():
            raise InputError("GeoPackage not found", file=path)
        with self._connect() as conn:
            tables = [r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents WHERE data_type='features'")]
            if not tables:
                raise InputError("no feature table in this GeoPackage", file=path)
            self.table = layer or tables[0]
            if self.table not in tables:
                raise InputError(f"no layer {layer!r}; layers: {', '.join(tables)}", file=path)
            self.geom_col, self.srs_id = conn.execute(
                "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name=?", (self.table,)).fetchone()
            foreign = gpkgblob.foreign_triggers(conn)
            if foreign:
                raise InputError("the GeoPackage has triggers other than the standard R-tree ones, which could change "
                                 f"saved edits or the audit table; not editable: {', '.join(foreign[:3])}", file=path)
            info = list(conn.execute(f'PRAGMA table_info("{self.table}")'))
            self.fid_col = next(r[1] for r in info if r[5] == 1)
            self.columns = [r[1] for r in info if r[1] not in (self.fid_col, self.geom_col)]
        self.features = self._disk_state()
        self.digest = file_digest(self.path)
        self._start(code_field, Path(str(self.path) + ".journal"))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        gpkgblob.register(conn)
        return conn

    def _committed(self, journal_id: str) -> bool:
        with self._connect() as conn:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (COMMITS,)).fetchone():
                return False
            return conn.execute(f'SELECT 1 FROM "{COMMITS}" WHERE journal=?', (journal_id,)).fetchone() is not None

    def save(self, reason: str = "", user: str | None = None) -> int:
        """Write all changes and their audit rows in one transaction; returns the number of features written."""
        if file_digest(self.path) != self.digest:
            raise ConcurrentModification(self.path, self.merge_report())
        user = user or getpass.getuser()
        now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        changes = self.changes()
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{AUDIT}" (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT, '
                         'user TEXT, layer TEXT, feature_code TEXT, action TEXT, old_attributes TEXT, '
                         'new_attributes TEXT, old_geometry BLOB, new_geometry BLOB, reason TEXT)')
            conn.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) "
                         "VALUES (?, 'attributes', ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))", (AUDIT, AUDIT))
            cols = ", ".join(f'"{c}"' for c in self.columns)
            marks = ", ".join("?" for _ in self.columns)
            renumber = {}
            for action, fid in changes:
                old, new = self.original.get(fid), self.features.get(fid)
                if action == "insert":
                    assert new is not None
                    cur = conn.execute(f'INSERT INTO "{self.table}" ("{self.geom_col}"{", " + cols if cols else ""}) '
                                       f'VALUES (?{", " + marks if marks else ""})',
                                       [gpkgblob.encode(new.geom, self.srs_id), *[new.attrs.get(c) for c in self.columns]])
                    renumber[fid] = int(cur.lastrowid or 0)
                elif action == "update":
                    assert new is not None
                    sets = ", ".join([f'"{self.geom_col}"=?'] + [f'"{c}"=?' for c in self.columns])
                    conn.execute(f'UPDATE "{self.table}" SET {sets} WHERE "{self.fid_col}"=?',
                                 [gpkgblob.encode(new.geom, self.srs_id), *[new.attrs.get(c) for c in self.columns], fid])
                else:
                    conn.execute(f'DELETE FROM "{self.table}" WHERE "{self.fid_col}"=?', (fid,))
                conn.execute(f'INSERT INTO "{AUDIT}" (time, user, layer, feature_code, action, old_attributes, '
                             'new_attributes, old_geometry, new_geometry, reason) VALUES (?,?,?,?,?,?,?,?,?,?)',
                             (now, user, self.table, self.code_of(fid), action,
                              json.dumps(old.attrs, ensure_ascii=False, default=str) if old else None,
                              json.dumps(new.attrs, ensure_ascii=False, default=str) if new else None,
                              shapely.to_wkb(old.geom) if old else None, shapely.to_wkb(new.geom) if new else None,
                              reason))
            conn.execute("UPDATE gpkg_contents SET last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name=?",
                         (self.table,))
            if self._journal_id is not None:
                conn.execute(f'CREATE TABLE IF NOT EXISTS "{COMMITS}" (journal TEXT PRIMARY KEY, time TEXT)')
                conn.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) "
                             "VALUES (?, 'attributes', ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))", (COMMITS, COMMITS))
                conn.execute(f'INSERT OR IGNORE INTO "{COMMITS}" (journal, time) VALUES (?, ?)',
                             (self._journal_id, now))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        for tmp, real in renumber.items():
            self.features[real] = self.features.pop(tmp)
        self._saved()
        return len(changes)

    def _disk_state(self) -> dict[int, Feature]:
        with self._connect() as conn:
            cols = ", ".join(f'"{c}"' for c in self.columns) or "1"
            rows = conn.execute(f'SELECT "{self.fid_col}", "{self.geom_col}", {cols} FROM "{self.table}"').fetchall()
        return {r[0]: Feature(dict(zip(self.columns, r[2:])), gpkgblob.decode(r[1])) for r in rows}

    def _mark_synced(self) -> None:
        self.digest = file_digest(self.path)

