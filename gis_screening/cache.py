"""The user's cache folder and its data-only entries (``np.savez`` read with ``allow_pickle=False``).

Entries are keyed by content hashes, written atomically, and never trusted: an entry that cannot be read or
does not have the expected arrays is deleted and the caller rebuilds it.  Nothing here can execute code when
read (no pickle).
"""
from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from platformdirs import user_cache_dir

from .atomic import write_bytes
from .errors import InputError

ENV_DIR = "GIS_SCREENING_CACHE"


def cache_dir(kind: str, folder: str | Path | None = None) -> Path:
    """``folder/kind``; default folder: ``$GIS_SCREENING_CACHE`` or the platform's user cache folder."""
    base = Path(folder) if folder else Path(os.environ.get(ENV_DIR) or user_cache_dir("gis-screening"))
    return base / kind


_writes: list[threading.Thread] = []
_writes_lock = threading.Lock()


def write_behind(write: Callable[..., None], *args: Any) -> None:
    """Run the cache write ``write(*args)`` in a thread of its own while the caller goes on (entries are written
    atomically, so a reader sees the old state or the new).  :func:`finish_writes` waits for them all."""
    thread = threading.Thread(target=write, args=args, name="cache-write")
    with _writes_lock:
        _writes[:] = [t for t in _writes if t.is_alive()]
        _writes.append(thread)
    thread.start()


def finish_writes() -> None:
    """Wait for every cache write started by :func:`write_behind` (before a process ends without teardown)."""
    with _writes_lock:
        pending = list(_writes)
    for thread in pending:
        thread.join()


def load_entry(path: Path, required: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or None when it is missing, unreadable or lacks a ``required`` array
    (a corrupt entry is deleted)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        if all(k in data for k in required):
            return data
    except Exception:  # noqa: BLE001 - any damage means "rebuild", never "trust"
        pass
    path.unlink(missing_ok=True)
    return None


def save_entry(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a cache entry atomically; a read-only or full cache folder only costs speed."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
    try:
        write_bytes(path, buf.getvalue())
    except InputError:
        pass


def pack_geoms(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geometries → (uint8 WKB blob, int64 offsets) for :func:`save_entry`."""
    wkb = shapely.to_wkb(geoms)
    lengths = np.fromiter((len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return np.frombuffer(b"".join(wkb), dtype=np.uint8), offsets


def offsets_fit(offsets: np.ndarray, blob_size: int) -> bool:
    """Do ``offsets`` (from :func:`pack_geoms`) cut a blob of ``blob_size`` bytes into non-empty pieces?"""
    return len(offsets) >= 1 and offsets[0] == 0 and offsets[-1] == blob_size and bool((np.diff(offsets) > 0).all())


def unpack_geoms(raw: bytes, offsets: np.ndarray, idx: Iterable[int] | None = None) -> np.ndarray:
    """The geometries at ``idx`` (default: all) of a blob and offsets made by :func:`pack_geoms`."""
    idx = range(len(offsets) - 1) if idx is None else idx
    return np.asarray(shapely.from_wkb([raw[offsets[i]:offsets[i + 1]] for i in idx]), dtype=object)


def pack_strings(values: list[str | None]) -> dict[str, np.ndarray]:
    """Optional strings → a unicode array plus a None mask (no object arrays)."""
    return {"text": np.array(["" if v is None else v for v in values], dtype=str),
            "none": np.array([v is None for v in values], dtype=bool)}


def unpack_strings(text: np.ndarray, none: np.ndarray) -> list[str | None]:
    return [None if n else str(t) for t, n in zip(text.tolist(), none.tolist())]
