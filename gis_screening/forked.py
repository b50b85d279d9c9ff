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
    """``fn()`` run in a forked child; :meth:`result` waits for it and returns the bytes it returned, or None when
    the child failed (an exception, a signal)."""

    def __init__(self, fn: Callable[[], bytes]) -> None:
        self._chunks: list[bytes] = []
        self._pid: int | None = None
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
        if self._pid == 0:                          # the child: work, write, leave without any teardown
            code = 1
            try:
                os.close(read)
                data = fn()
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
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
        _, status = os.waitpid(self._pid, 0)
        self._reader.join()
        return b"".join(self._chunks) if os.waitstatus_to_exitcode(status) == 0 else None
