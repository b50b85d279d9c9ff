"""Write-then-rename saves: a reader never sees a half-written output file, a failed write never clobbers the
old one, and a crash after the rename keeps the new file (file and folder are fsync'd).

This is the one helper for atomic output in the package: reports, maps, layers, result JSON, sessions, caches.
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from .errors import InputError


def check_output_path(path: str | Path) -> Path:
    """Refuse an output that is a directory, a FIFO/device/socket, or whose parent is not a folder.

    Raises :class:`InputError` naming the path and the reason (one line)."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror}", file=path) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InputError("output is a folder; give a file name", file=path)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("output is not a regular file (a FIFO, device or socket); refusing to replace it",
                             file=path)
    parent = path.parent
    for anc in [parent, *parent.parents]:
        if anc.exists():
            if not anc.is_dir():
                raise InputError(f"cannot create the output folder: {anc} is a file", file=path)
            break
    return path


#: ``sync_file_range`` flag: start writing out the dirty pages of the range that are not being written already
_SYNC_FILE_RANGE_WRITE = 2


@lru_cache(maxsize=1)
def _sync_file_range() -> Callable[..., int] | None:
    """Linux's ``sync_file_range`` (from the C library), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


def start_writeback(out: BinaryIO) -> None:
    """Start writing what has been written to the file ``out`` so far to the disk, without waiting for it (Linux
    ``sync_file_range``), so that the fsync that makes the file durable (:func:`atomic_path`) waits for its last
    part only — for a 57 MB result document, ~25 of its ~30 ms.  Elsewhere, or for a pipe, nothing."""
    call = _sync_file_range()
    if call is None:
        return
    try:
        out.flush()
        call(out.fileno(), 0, 0, _SYNC_FILE_RANGE_WRITE)
    except (OSError, ValueError):     # not a file (a pipe, a closed stream): nothing to start
        pass


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path, mode: int | None = None, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path beside ``path`` (same suffix, so writers pick the format); on success fsync it and
    rename it over ``path``.  ``mode`` defaults to 0o666 less the umask (mkstemp files are private).
    ``durable=False``: no fsync — for cache entries, which are checked when read (a crash may leave one empty or
    cut short, which is then rebuilt) and whose fsync would make every other file's fsync wait for their
    hundred-odd megabytes.

    OS errors (full disk, read-only folder) become :class:`InputError` naming ``path``; the temp file is
    always removed and an existing ``path`` is left as it was."""
    path = check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=path) from None
    tmp = Path(name)
    try:
        yield tmp
        if mode is None:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask
        os.chmod(tmp, mode)
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=path) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | Path, data: bytes, mode: int | None = None, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`, also for ``durable``)."""
    with atomic_path(path, mode, durable) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str, mode: int | None = None, durable: bool = True) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"), mode, durable)
