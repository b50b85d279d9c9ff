"""The user's cache folder and its data-only entries (``np.savez`` read with ``allow_pickle=False``).

Entries are keyed by content hashes, written atomically, and never trusted: an entry that cannot be read or
does not have the expected arrays is deleted and the caller rebuilds it.  Nothing here can execute code when
read (no pickle).  Every key holds :func:`code_digest`: an entry made by other code (another release, a changed
reader, another GDAL, GEOS or PROJ) is never served, with no version number to remember to bump.  The folder is
bounded: after each write the least recently used entries are removed until the entries take at most
``$GIS_SCREENING_CACHE_MAX`` (default 4 GiB) — every saved edit of a province layer would otherwise leave a few
hundred MB behind.  A removed entry is rebuilt when next needed.
"""
from __future__ import annotations

import hashlib
import io
import mmap
import os
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from platformdirs import user_cache_dir

from .atomic import atomic_path
from .errors import InputError

ENV_DIR = "GIS_SCREENING_CACHE"
ENV_MAX = "GIS_SCREENING_CACHE_MAX"
DEFAULT_MAX_BYTES = 4 * 1024 ** 3
#: the folders of content-keyed entries under the cache folder, bounded together
KINDS = ("layers", "prepared", "projected")
STALE_TEMP_S = 24 * 3600       # a temp file this old is left by a killed write, never by one still running
_UNITS = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}


#: the libraries whose versions decide what reading (GDAL, in pyogrio's wheels), storing (Arrow), preparing (GEOS)
#: and projecting (PROJ, in pyproj's wheels) a layer gives
_MADE_WITH = ("pyogrio", "pyarrow", "shapely", "pyproj", "numpy")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the code that makes cache entries: every module of this package (its source, as installed) and
    the versions of :data:`_MADE_WITH`.  A reader, preparation or format change, an upgrade of the program or of
    those libraries: every key changes, and the entries are made again once (the old ones are trimmed in time).
    Where the package has no source files (a frozen build), its version stands for them.  ~3 ms, once a process."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__
    digest = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"?")
    for lib in _MADE_WITH:
        try:
            digest.update(f"|{lib}={version(lib)}".encode())
        except PackageNotFoundError:
            digest.update(f"|{lib}=?".encode())
    return digest.hexdigest()[:16]


def cache_dir(kind: str, folder: str | Path | None = None) -> Path:
    """``folder/kind``; default folder: ``$GIS_SCREENING_CACHE`` or the platform's user cache folder.  Checks
    ``$GIS_SCREENING_CACHE_MAX`` (:func:`cache_limit`) so a bad value is reported before any work."""
    cache_limit()
    base = Path(folder) if folder else Path(os.environ.get(ENV_DIR) or user_cache_dir("gis-screening"))
    return base / kind


def cache_limit() -> int:
    """Bytes the cache entries may take: ``$GIS_SCREENING_CACHE_MAX`` (bytes, or a number with K, M or G), by
    default 4 GiB.  A value that is not a size is an InputError naming the variable."""
    raw = os.environ.get(ENV_MAX, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    text = raw.upper().removesuffix("B").removesuffix("I")
    try:
        value = float(text[:-1]) * _UNITS[text[-1]] if text and text[-1] in _UNITS else float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise InputError(f"${ENV_MAX}={raw!r} is not a size; give bytes or e.g. 500M, 4G")
    return int(value)


def touch(path: Path) -> None:
    """Mark a cache entry as just used (its modification time), so that trimming removes it last."""
    try:
        os.utime(path)
    except OSError:
        pass


def trim(base: Path, keep: Path | None = None, limit: int | None = None) -> None:
    """Remove the least recently used entries of the cache folder ``base`` (the files of one key together) until
    they take at most ``limit`` bytes (default :func:`cache_limit`), never the entry ``keep`` (just written), and
    temp files that writes killed more than a day ago left behind.  Files in use elsewhere are skipped."""
    try:
        limit = cache_limit() if limit is None else limit
    except InputError:
        limit = DEFAULT_MAX_BYTES       # reported by cache_dir already
    now = time.time()
    entries: dict[tuple[str, str], list[tuple[str, int, float]]] = {}
    for kind in KINDS:
        try:
            found = list(os.scandir(base / kind))
        except OSError:
            continue
        for e in found:
            try:
                st = e.stat()
            except OSError:
                continue
            if e.name.startswith("."):
                if now - st.st_mtime > STALE_TEMP_S:
                    _remove(e.path)
                continue
            entries.setdefault((kind, e.name.split(".", 1)[0]), []).append((e.path, st.st_size, st.st_mtime))
    total = sum(size for files in entries.values() for _, size, _ in files)
    kept = (keep.parent.name, keep.name.split(".", 1)[0]) if keep is not None else None
    for key, files in sorted(entries.items(), key=lambda kv: max(m for _, _, m in kv[1])):
        if total <= limit:
            break
        if key != kept:
            total -= sum(size for path, size, _ in files if _remove(path))


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


_writes: list[threading.Thread] = []
_writes_lock = threading.Lock()


def write_behind(write: Callable[..., object], *args: Any) -> None:
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
        data = _arrays(path)
        if all(k in data for k in required):
            touch(path)
            return data
    except Exception:  # noqa: BLE001 - any damage means "rebuild", never "trust"
        pass
    path.unlink(missing_ok=True)
    return None


#: An array of an entry this large (bytes) is mapped from the file rather than read (:func:`_arrays`).
MAP_MIN_BYTES = 1 << 20


def _arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` at ``path``.  Where the system allows replacing and removing a file that is mapped
    (POSIX), an array of :data:`MAP_MIN_BYTES` or more stored uncompressed (as ``np.savez`` stores it) is mapped
    from the file, read-only, once its CRC is checked, instead of being copied into fresh memory: a screening
    decodes only the pieces its footprints reach."""
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
        mapped: mmap.mmap | None = None
        for name in z.files:
            info = z.zip.getinfo(f"{name}.npy")
            if os.name == "posix" and info.compress_type == zipfile.ZIP_STORED and info.file_size >= MAP_MIN_BYTES:
                mapped = mapped or mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                out[name] = _mapped_array(mapped, info)
            else:
                out[name] = z[name]
    return out


def _mapped_array(mapped: mmap.mmap, info: zipfile.ZipInfo) -> np.ndarray:
    """The ``.npy`` member ``info`` of a zip file mapped whole as ``mapped`` (stored, not compressed), as an array
    viewing the mapping; ValueError when the member is damaged (CRC, header, size) or holds objects."""
    head = info.header_offset
    if mapped[head:head + 4] != b"PK\x03\x04":
        raise ValueError("not a zip member header")
    start = head + 30 + int.from_bytes(mapped[head + 26:head + 28], "little") + \
        int.from_bytes(mapped[head + 28:head + 30], "little")
    member = memoryview(mapped)[start:start + info.file_size]
    try:
        if len(member) != info.file_size or zlib.crc32(member) != info.CRC:
            raise ValueError("damaged member")
        header = io.BytesIO(member[:65536])
        version = np.lib.format.read_magic(header)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(header)
    finally:
        member.release()
    count = int(np.prod(shape))
    if dtype.hasobject or header.tell() + count * dtype.itemsize != info.file_size:
        raise ValueError("not a plain array of the member's size")
    arr = np.frombuffer(mapped, dtype=dtype, count=count, offset=start + header.tell())
    return arr.reshape(shape, order="F" if fortran else "C")


def save_entry(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a cache entry atomically (not synced: :func:`load_entry` checks it); a read-only or full cache folder
    only costs speed."""
    try:
        with atomic_path(path, durable=False) as tmp, open(tmp, "wb") as out:   # zipped as written: no copy
            np.savez(out, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
    except InputError:
        return
    trim(path.parent.parent, keep=path)


def pack_geoms(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geometries → (uint8 WKB blob, int64 offsets) for :func:`save_entry`."""
    wkb = shapely.to_wkb(geoms)
    lengths = np.fromiter((len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return np.frombuffer(b"".join(wkb), dtype=np.uint8), offsets


def offsets_fit(offsets: np.ndarray, blob_size: int) -> bool:
    """Do ``offsets`` (from :func:`pack_geoms`) cut a blob of ``blob_size`` bytes into non-empty pieces?"""
    return len(offsets) >= 1 and offsets[0] == 0 and offsets[-1] == blob_size and bool((np.diff(offsets) > 0).all())


def unpack_geoms(raw: bytes | np.ndarray, offsets: np.ndarray, idx: Iterable[int] | None = None) -> np.ndarray:
    """The geometries at ``idx`` (default: all) of a blob (bytes, or the uint8 array an entry holds: not copied
    whole) and offsets made by :func:`pack_geoms`."""
    idx = range(len(offsets) - 1) if idx is None else idx
    blob = raw.data if isinstance(raw, np.ndarray) else memoryview(raw)
    return np.asarray(shapely.from_wkb([blob[offsets[i]:offsets[i + 1]].tobytes() for i in idx]), dtype=object)


def pack_strings(values: list[str | None]) -> dict[str, np.ndarray]:
    """Optional strings → a unicode array plus a None mask (no object arrays)."""
    return {"text": np.array(["" if v is None else v for v in values], dtype=str),
            "none": np.array([v is None for v in values], dtype=bool)}


def unpack_strings(text: np.ndarray, none: np.ndarray) -> list[str | None]:
    return [None if n else str(t) for t, n in zip(text.tolist(), none.tolist())]
