"""Work done in a forked copy of this process, its result read back: the second core for GIL-bound Python work
(rule evaluation) without starting an interpreter or loading the layers again.

Only on Linux, and only while the process runs no other thread (a fork copies a lock another thread holds,
and the copy never sees it released): the CLI's screening, not the desktop app's worker thread or a dask worker.
The child's result travels back as the bytes its work returns (the caller picks a data-only format), through an
anonymous in-memory file (no file on disk, nothing persisted); a child that fails or dies is no error: the caller
does the work itself.
"""
from __future__ import annotations

import mmap
import os
import select
import sys
import threading
from collections.abc import Callable


def can_fork() -> bool:
    """Can work be given to a forked child safely (Linux, whose fork the libraries here are safe with — macOS
    frameworks are not, Windows has none — and no other thread running)?"""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class Forked:
    """``fn()`` run in a forked child; :meth:`result` waits for the bytes it returned, or None when the child failed
    (an exception, a signal) before it had written them all.  ``then()``: work the child does after that (writing
    cache entries, say), which :meth:`result` does not wait for; :meth:`wait` waits for the child's end.

    The bytes go into an anonymous in-memory file (``memfd_create``) and only their length through a pipe, once
    they are all written: this process maps them when it asks for them, instead of a thread reading them 64 KiB at
    a time from a pipe while the caller works (each refill took the GIL from the caller's rules: ~0.1 s of a warm
    province run) and copying them into fresh memory."""

    def __init__(self, fn: Callable[[], bytes], then: Callable[[], None] | None = None) -> None:
        self._pid: int | None = None
        self._signal: int | None = None
        self._then = then
        try:
            store = os.memfd_create("gis-screening-forked", os.MFD_CLOEXEC)
        except (OSError, AttributeError):           # no descriptor to be had (a limit), no memfd: the caller does it
            return
        try:
            read, write = os.pipe()
        except OSError:
            os.close(store)
            return
        try:
            self._pid = os.fork()
        except OSError:                             # no process to be had: likewise
            for fd in (store, read, write):
                os.close(fd)
            return
        if self._pid == 0:                          # the child: work, store, signal, leave without any teardown
            code = 1
            try:
                _no_huge_page_copies()
                os.close(read)
                data = fn()
                with os.fdopen(store, "wb") as out:
                    out.write(data)
                os.write(write, len(data).to_bytes(8, "little"))   # all written: a child killed before is told
                os.close(write)
                code = 0
                if then is not None:
                    then()
            finally:
                os._exit(code)
        os.close(write)
        self._store, self._signal = store, read

    def done(self) -> bool:
        """Has the child written its result, or ended without (so that :meth:`result` would not wait)?"""
        if self._pid is None or self._signal is None:       # no child, or its result taken already
            return True
        readable, _, _ = select.select([self._signal], [], [], 0)
        return bool(readable)

    def result(self) -> memoryview | None:
        """The bytes the child's work returned, where it wrote them (a read-only map of the in-memory file: no copy
        into fresh memory); None when the child failed before it had written them all (or they were taken already)."""
        if self._pid is None or self._signal is None:
            return None
        signal_fd, self._signal = self._signal, None
        data = None
        try:
            with os.fdopen(signal_fd, "rb") as signal:
                told = signal.read(8)                   # b"" when the child ended without telling
            size = int.from_bytes(told, "little") if len(told) == 8 else -1
            if size == 0:
                data = memoryview(b"")
            elif 0 < size <= os.fstat(self._store).st_size:
                data = memoryview(mmap.mmap(self._store, size, prot=mmap.PROT_READ))
        finally:
            os.close(self._store)
        if self._then is None and self.wait() != 0:
            return None
        return data

    def wait(self) -> int | None:
        """Wait for the child's end; its exit code (None: there was no child, or it was waited for already)."""
        pid, self._pid = self._pid, None
        if pid is None:
            return None
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


#: prctl(2) option: transparent huge pages off for this process (Linux ≥ 3.15).
_PR_SET_THP_DISABLE = 41


def _no_huge_page_copies() -> None:
    """Turn transparent huge pages off in a forked child: memory it shares with its parent that the kernel backs
    with 2 MiB pages (the arenas pyarrow's allocator, mimalloc, keeps; numpy's large arrays) would otherwise be
    copied 2 MiB at a time on the child's first write into each page, where 4 KiB pages copy only what is written
    (the child writing the province red lines' cache entry: 0.39 → 0.09 s for its Arrow WKB column; a cold run
    ~0.2 s sooner).  Best effort: where the call is missing or refused, nothing changes."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
