"""Whole layers projected to a GK zone for display (the map canvas), cached on disk by content.

The canvas draws whole features in one metric CRS.  Projecting the province set's 4.3 M vertices takes about a
second, and reading their EPSG:4490 geometry to find the zone a third of one, on every open of the app; so the
projected features and the layer's extent are kept in the cache folder (``projected/``), keyed by the layer's
content digest and the code that projects it, and read back on the next open.  Only layers whose digest is already
known are cached (layers from the loaded-layer cache, or read and stored there): a layer just edited is projected in
memory, as hashing it would cost as much as projecting it.  Entries are data only (``np.savez``, read without
pickle); a damaged one is deleted and rebuilt, and a full or read-only disk only costs speed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from ..cache import cache_dir, code_digest, load_entry, offsets_fit, pack_geoms, save_entry, unpack_geoms, write_behind
from ..model import Layer

_REQUIRED = ("bounds", "epsg", "wkb", "offsets")


def _entry(layer: Layer, folder: str | Path | None) -> Path | None:
    return cache_dir("projected", folder) / f"{layer.digest}-{code_digest()}.npz" if layer.digest else None


def layer_bounds(layer: Layer, folder: str | Path | None = None) -> np.ndarray:
    """``[xmin, ymin, xmax, ymax]`` of the layer's features, EPSG:4490 degrees (from the cache entry when there
    is one, so the geometry is not read)."""
    path = _entry(layer, folder)
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return np.asarray(z["bounds"], dtype=float)
        except Exception:  # noqa: BLE001 - damaged: projected_geoms deletes and rebuilds it
            pass
    return np.asarray(layer.gdf.total_bounds, dtype=float)


def projected_geoms(layer: Layer, epsg: int, folder: str | Path | None = None) -> np.ndarray:
    """The layer's features projected to EPSG ``epsg`` (metres), an object array in feature order."""
    path = _entry(layer, folder)
    data = load_entry(path, _REQUIRED) if path is not None else None
    if data is not None and int(data["epsg"]) == epsg:
        off = data["offsets"]
        try:
            if len(off) - 1 == layer.feature_count and offsets_fit(off, len(data["wkb"])):
                return unpack_geoms(data["wkb"], off)
        except Exception:  # noqa: BLE001 - a damaged entry is rebuilt, never trusted
            pass
    geoms = np.asarray(layer.gdf.to_crs(epsg).geometry.values, dtype=object)
    if path is not None and not shapely.is_missing(geoms).any():
        bounds = np.asarray(layer.gdf.total_bounds, dtype=float)
        write_behind(_store, path, geoms, bounds, epsg)
    return geoms


def _store(path: Path, geoms: np.ndarray, bounds: np.ndarray, epsg: int) -> None:
    wkb, offsets = pack_geoms(geoms)
    save_entry(path, {"bounds": bounds, "epsg": np.int64(epsg), "wkb": wkb, "offsets": offsets})
