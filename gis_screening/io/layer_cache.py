"""Loaded layers cached on disk by the signature of their source files, so reopening a layer set skips reading,
CRS resolution, geometry checks and field mapping.

An entry is an Arrow IPC file of the loaded features (EPSG:4490, canonical fields; uncompressed, with GeoParquet's
``geo`` metadata, as geopandas writes Feather) plus a JSON of what the import found (problems, CRS and encoding
decisions) and the content digest the prepared-layer cache keys on.  It is mapped when read: a warm run reads the
attribute columns it uses, not the layer's geometry, and imports no Parquet reader.  Its key is the
source's path, the size and modification time of every file the source consists of (all parts of a shapefile), the
read options, the catalog and the code that read it (:func:`~gis_screening.cache.code_digest`): any change to any
of them is a different entry.  Entries are data only (no pickle); an unreadable one is deleted and the layer read
again.  PostGIS sources are not cached.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_path, write_text
from ..cache import cache_dir, code_digest, touch, trim
from ..catalog import Catalog
from ..errors import InputError, Problem
from ..model import Layer

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np  # noqa: F401 - annotations


def source_files(path: Path) -> list[Path]:
    """The local files a source consists of (every part of a shapefile, every file under a folder), resolved; []
    when there is none."""
    try:
        path = path.resolve()
        parts = (sorted(path.parent.glob(path.stem + ".*")) if path.suffix.lower() == ".shp" else
                 sorted(path.rglob("*")) if path.is_dir() else [path])
        return [p for p in parts if p.is_file()]
    except OSError:
        return []


def source_signature(path: Path) -> list | None:
    """``[(file, size, mtime_ns), …]`` of the files a source consists of (:func:`source_files`); None when there is
    no such local file."""
    try:
        return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in source_files(path)] or None
    except OSError:
        return None


_CATALOGS: dict[int, tuple[Catalog, str]] = {}


def _catalog_digest(catalog: Catalog) -> str:
    """A digest of the catalog's content (roles, aliases, domains), computed once per catalog object."""
    hit = _CATALOGS.get(id(catalog))
    if hit is None or hit[0] is not catalog:
        hit = _CATALOGS[id(catalog)] = (catalog, hashlib.sha256(catalog.model_dump_json().encode()).hexdigest()[:16])
    return hit[1]


def entry_key(path: Path, options: dict, catalog: Catalog) -> str | None:
    """The cache key of reading ``path`` with ``options`` under ``catalog``; None when it cannot be cached."""
    sig = source_signature(path)
    if sig is None:
        return None
    doc = [code_digest(), sig, sorted((k, str(v)) for k, v in options.items()), _catalog_digest(catalog)]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()[:32]


def source_digest(key: str) -> str:
    """The content digest (``Layer.digest``) of a layer read from a file and cached under ``key``.  The key names
    the source's files with their sizes and modification times, the read options, the catalog and the code
    that read it, so the layer read under another key may hold other content and gets another digest; the features
    need not be encoded and hashed (~0.2 s for the province red lines) for the prepared-layer cache to key on."""
    return hashlib.sha256(f"source|{key}".encode()).hexdigest()[:32]


def load(folder: Path, key: str, catalog: Catalog, reread: Callable[[], Layer],
         current_key: Callable[[], str | None]) -> Layer | None:
    """The cached layer of ``key``, or None (a damaged entry is removed).  The layer is deferred: its attributes
    are read now, its geometry on first use of ``gdf`` (from the entry, or by ``reread()`` of the source when the
    entry has gone or is damaged by then — an InputError if the source changed since, i.e. its ``current_key()``
    is no longer ``key``: its features may not be those whose attributes were read)."""
    import pyarrow as pa

    from ..model import layer_uid_for, plain_arrow
    meta_path, data_path = folder / f"{key}.json", folder / f"{key}.arrow"
    if not (meta_path.exists() and data_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        touch(meta_path)
        touch(data_path)
        # mapped, not read: only the pages of the columns used are read (a province layer's attributes, not its
        # 69 MB of geometry), and the geometry read later is that of these very attributes whatever happens to the
        # file meanwhile (the map holds it)
        with pa.memory_map(str(data_path)) as source:
            stored = pa.ipc.open_file(source).read_all()
        geo = json.loads(stored.schema.metadata[b"geo"])
        table = stored.select([c for c in stored.column_names if c not in geo["columns"]])
        columns = [c for c in table.column_names if not c.startswith("__index_level_")]
        # plain columns are served from Arrow (no pandas on a warm screening), others as the frame they were
        plain = table.select(columns)
        attributes = plain if plain_arrow(plain) else table.to_pandas()
        problems = [Problem(**p) for p in meta["problems"]]
        fields = dict(role=meta["role"], name=meta["name"], source=meta["source"], problems=problems,
                      source_crs=meta["source_crs"], crs_reason=meta["crs_reason"], encoding=meta["encoding"],
                      encoding_reason=meta["encoding_reason"], catalog=catalog, digest=meta["digest"],
                      uid=layer_uid_for(meta["role"]))
    except Exception:  # noqa: BLE001 - a damaged entry is read again from the source, never trusted
        _remove(meta_path, data_path)
        return None

    def geometries() -> np.ndarray:
        """The features' geometry alone, decoded from the entry's WKB as geopandas decodes it (no frame made)."""
        import numpy as np
        import shapely
        column = geo["primary_column"]
        try:
            if geo["columns"][column].get("encoding", "WKB").upper() == "WKB":
                wkb = stored.column(column)     # (``to_pylist``: Arrow's ``to_numpy`` would import pandas)
                return shapely.from_wkb(np.array(wkb.to_pylist(), dtype=object))
        except Exception:  # noqa: BLE001 - damaged: as gdf reads it (again from the source)
            pass
        return np.asarray(geometry().geometry.values, dtype=object)

    def geometry() -> gpd.GeoDataFrame:
        import geopandas as gpd
        try:
            gdf = gpd.read_feather(data_path)
            if len(gdf) == len(attributes) and list(gdf.columns.drop(gdf.geometry.name)) == columns:
                return gdf
        except Exception:  # noqa: BLE001 - removed or damaged since: read the source again
            pass
        _remove(data_path)
        fresh = reread()
        if current_key() != key:      # the source changed since the attributes were read
            raise InputError("the layer's source file changed since the layer set was opened; open the layer set "
                             "again", file=meta["source"])
        return fresh.gdf
    return Layer.deferred(attributes, geometry, geometries, **fields)


def store(folder: Path, key: str, layer: Layer, later: list[Callable[[], None]] | None = None) -> None:
    """Write ``layer``, just read from its source, as the entry ``key`` (data first, then its description); a
    failure only costs speed.  The layer's digest becomes :func:`source_digest` of the key.  ``later``: the writing
    is appended to this list instead, for the caller to do when it suits it (:func:`gis_screening.screening.screen`
    gives it to its second process)."""
    layer.digest = source_digest(key)
    meta = {"role": layer.role, "name": layer.name, "source": layer.source, "source_crs": layer.source_crs,
            "crs_reason": layer.crs_reason, "encoding": layer.encoding, "encoding_reason": layer.encoding_reason,
            "problems": [dataclasses.asdict(p) for p in layer.problems], "digest": layer.digest}
    write = partial(_write_entry, folder, key, layer.gdf.copy(deep=False), meta)   # as it is now, whatever is
    # done to the layer's frame before the entry is written (a shallow copy: pandas copies on write)
    if later is None:
        write()
    else:
        later.append(write)


def _write_entry(folder: Path, key: str, gdf: gpd.GeoDataFrame, meta: dict) -> None:
    """The entry ``key``: ``gdf`` as an uncompressed Arrow IPC file with GeoParquet's ``geo`` metadata (geopandas'
    Feather, which a reader maps instead of decoding), then its description."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / f"{key}.arrow", durable=False) as tmp:     # not synced: checked when read
            gdf.to_feather(tmp, compression="uncompressed")
        write_text(folder / f"{key}.json", json.dumps(meta, ensure_ascii=False), durable=False)
    except Exception:  # noqa: BLE001 - columns Arrow cannot hold, a full or read-only disk: read next time
        _remove(folder / f"{key}.arrow")
        return
    trim(folder.parent, keep=folder / f"{key}.json")


def _remove(*paths: Path) -> None:
    """Remove the files of a damaged or half-written entry (one still mapped where that is refused — Windows —
    stays: it is trimmed, or written over, later)."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def cached_read_layer(path, role: str | None, *, catalog: Catalog, folder: str | Path | None = None,
                      later: list[Callable[[], None]] | None = None, **options) -> Layer:
    """:func:`~gis_screening.io.pipeline.read_layer` through the cache in ``folder/layers`` (default: the user
    cache folder or ``$GIS_SCREENING_CACHE``).  ``later``: see :func:`store`."""
    layer = _through_cache(path, role, catalog, folder, options, later, read=True)
    assert layer is not None        # read from the source where there was no entry
    return layer


def cached_layer(path, role: str | None, *, catalog: Catalog, folder: str | Path | None = None,
                 **options) -> Layer | None:
    """The layer :func:`cached_read_layer` would serve from its entry, or None where there is no sound entry for the
    source as it is now (nothing is read from the source)."""
    return _through_cache(path, role, catalog, folder, options, None, read=False)


def _through_cache(path, role: str | None, catalog: Catalog, folder: str | Path | None, options: dict,
                   later: list[Callable[[], None]] | None, read: bool) -> Layer | None:
    from .postgis import is_postgres
    where = cache_dir("layers", folder)

    def current_key() -> str | None:
        return None if is_postgres(path) else entry_key(Path(path), {"role": role, **options}, catalog)

    def reread() -> Layer:
        from .pipeline import read_layer
        return read_layer(path, role, catalog=catalog, **options)
    key = current_key()
    hit = load(where, key, catalog, reread, current_key) if key is not None else None
    if hit is not None or not read:
        return hit
    layer = reread()
    if key is not None:
        store(where, key, layer, later)
    return layer
