"""Work done in a forked copy of this process, its result read back: the second core for GIL-bound Python work
(rule evaluation) without starting an interpreter or loading the layers again.

Only on Linux, and only while the process runs no other thread (a fork copies a lock another thread holds,
and the copy never sees it released): the CLI's screening, not the desktop app's worker thread or a dask worker.
The child's result travels back through a pipe as the bytes its work returns (the caller picks a data-only format;
no file, nothing persisted); a child that fails or dies is no error: the caller does the work itself.
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable


def can_fork() -> bool:
    """Can work be given to a forked child safely (Linux, whose fork the libraries here are safe with — macOS
    frameworks are not, Windows has none — and no other thread running)?"""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class Forked:
    """``fn()`` run in a forked child; :meth:`result` waits for the bytes it returned, or None when the child failed
    (an exception, a signal) before it sent them all.  ``then()``: work the child does after sending them (writing
    cache entries, say), which :meth:`result` does not wait for; :meth:`wait` waits for the child's end."""

    def __init__(self, fn: Callable[[], bytes], then: Callable[[], None] | None = None) -> None:
        self._chunks: list[bytes] = []
        self._pid: int | None = None
        self._then = then
        try:
            read, write = os.pipe()
        except OSError:                             # no descriptor to be had (a limit): the caller does the work
            return
        try:
            self._pid = os.fork()
        except OSError:                             # no process to be had: likewise
            os.close(read)
            os.close(write)
            return
        if self._pid == 0:                          # the child: work, send, leave without any teardown
            code = 1
            try:
                _no_huge_page_copies()
                os.close(read)
                data = fn()
                with os.fdopen(write, "wb") as out:     # its length first: a child killed while sending is told
                    out.write(len(data).to_bytes(8, "little"))
                    out.write(data)
                code = 0
                if then is not None:
                    then()
            finally:
                os._exit(code)
        os.close(write)
        self._reader = threading.Thread(target=self._drain, args=(read,), name="forked-result", daemon=True)
        self._reader.start()                        # the child never blocks on a full pipe

    def _drain(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as src:
            while chunk := src.read(1 << 20):
                self._chunks.append(chunk)

    def result(self) -> bytes | None:
        if self._pid is None:
            return None
        self._reader.join()
        data = b"".join(self._chunks)
        sent = len(data) >= 8 and int.from_bytes(data[:8], "little") == len(data) - 8
        if self._then is None and self.wait() != 0:
            return None
        return data[8:] if sent else None

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
