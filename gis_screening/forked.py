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
import signal
import struct
import sys
import threading
from collections.abc import Callable, Sequence


def can_fork() -> bool:
    """Can work be given to a forked child safely (Linux, whose fork the libraries here are safe with — macOS
    frameworks are not, Windows has none — and no other thread running)?"""
    return sys.platform.startswith("linux") and threading.active_count() == 1


#: what a child's work hands back its result with: each call appends the parts given (bytes that follow one another)
Send = Callable[[Sequence[bytes | memoryview]], None]


class Forked:
    """``work(send)`` run in a forked child; :meth:`result` waits for the bytes it handed back with ``send`` (parts
    written as they are given, so a long piece of work may hand back as it goes: no joined copy is made, nothing is
    held until the end), or None when the child failed (an exception, a signal) before it had finished.
    ``then()``: work the child does after that (writing cache entries, say), which :meth:`result` does not wait
    for; :meth:`wait` waits for the child's end, and :meth:`stop` ends it (this process gave up: an error, Ctrl+C).
    A child whose parent dies (killed, say) is ended too: it never works on for no one.

    The bytes go into an anonymous in-memory file (``memfd_create``) and only their length through a pipe, once
    they are all written: this process maps them when it asks for them, instead of a thread reading them 64 KiB at
    a time from a pipe while the caller works (each refill took the GIL from the caller's rules: ~0.1 s of a warm
    province run) and copying them into fresh memory."""

    def __init__(self, work: Callable[[Send], None], then: Callable[[], None] | None = None) -> None:
        self._pid: int | None = None
        self._signal: int | None = None
        self._then = then
        if not can_fork():          # a thread started since the caller asked: the copy could wait on it for ever
            return
        try:
            store = os.memfd_create("gis-screening-forked", os.MFD_CLOEXEC)
        except (OSError, AttributeError):           # no descriptor to be had (a limit), no memfd: the caller does it
            return
        try:
            read, write = os.pipe()
        except OSError:
            os.close(store)
            return
        parent = os.getpid()
        try:
            self._pid = os.fork()
        except OSError:                             # no process to be had: likewise
            for fd in (store, read, write):
                os.close(fd)
            return
        if self._pid == 0:                          # the child: work, store, signal, leave without any teardown
            code = 1
            try:
                _end_with_parent(parent)
                _no_huge_page_copies()
                os.close(read)
                sizes: list[int] = []
                work(lambda parts: sizes.append(_write_parts(store, parts)))
                os.write(write, sum(sizes).to_bytes(8, "little"))   # all written: a child killed before is told
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
            with os.fdopen(signal_fd, "rb") as pipe:
                told = pipe.read(8)                   # b"" when the child ended without telling
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

    def stop(self) -> None:
        """End the child now, whatever it is doing (its cache entries are written atomically: one cut short is never
        seen), and release what was kept for its result."""
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._signal is not None:
            signal_fd, self._signal = self._signal, None
            for fd in (signal_fd, self._store):
                os.close(fd)
        self.wait()

    def wait(self) -> int | None:
        """Wait for the child's end; its exit code (None: there was no child, or it was waited for already)."""
        pid, self._pid = self._pid, None
        if pid is None:
            return None
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


#: the most buffers one ``writev`` takes (POSIX guarantees at least 16; Linux takes 1024)
_IOV_MAX = 1024


def _write_parts(fd: int, parts: Sequence[bytes | memoryview]) -> int:
    """Write ``parts`` one after another to ``fd`` (``writev``, :data:`_IOV_MAX` at a time, a short write resumed
    where it stopped); the bytes written."""
    pending = [memoryview(p).cast("B") for p in parts if len(p)]
    total, k = 0, 0
    while k < len(pending):
        n = os.writev(fd, pending[k:k + _IOV_MAX])
        total += n
        while k < len(pending) and n >= len(pending[k]):
            n -= len(pending[k])
            k += 1
        if n:                               # a part written in part: the rest of it first
            pending[k] = pending[k][n:]
    return total


class Claims:
    """Steps 0 … n−1 shared out as they go between this process, which takes them from the front, and a forked
    child, which takes them from the back, one at a time until they meet: neither waits for the other at the end,
    however unevenly the work is spread over the steps.  Made before the fork; the two counters live in shared
    memory, taken under a POSIX record lock, which the kernel releases if its holder dies (a killed child never
    blocks this process)."""

    def __init__(self, n: int) -> None:
        self._fd = os.memfd_create("gis-screening-claims", os.MFD_CLOEXEC)
        os.ftruncate(self._fd, 16)
        self._mem = mmap.mmap(self._fd, 16)
        struct.pack_into("<qq", self._mem, 0, 0, n)

    def take(self, front: bool) -> int | None:
        """The next step from the front (this process) or from the back (the child); None when none is left."""
        import fcntl  # POSIX only, as forking is
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            lo, hi = struct.unpack_from("<qq", self._mem)
            if lo >= hi:
                return None
            struct.pack_into("<qq", self._mem, 0, lo + 1 if front else lo, hi if front else hi - 1)
            return lo if front else hi - 1
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def back(self) -> int:
        """The first step taken from the back: the child took ``back()`` … n−1 (final once it is done)."""
        return int(struct.unpack_from("<qq", self._mem)[1])

    def close(self) -> None:
        self._mem.close()
        os.close(self._fd)


#: prctl(2) options: a signal for this process when its parent ends; transparent huge pages off (Linux ≥ 3.15).
_PR_SET_PDEATHSIG, _PR_SET_THP_DISABLE = 1, 41


def _prctl(option: int, value: int) -> None:
    """prctl(2) ``option`` set to ``value`` for this process; best effort: where the call is missing or refused,
    nothing changes."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _end_with_parent(parent: int) -> None:
    """Have the kernel end this forked child when its parent ends (killed, or gone without waiting for it), and end
    now if the parent is gone already."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _no_huge_page_copies() -> None:
    """Turn transparent huge pages off in a forked child: memory it shares with its parent that the kernel backs
    with 2 MiB pages (the arenas pyarrow's allocator, mimalloc, keeps; numpy's large arrays) would otherwise be
    copied 2 MiB at a time on the child's first write into each page, where 4 KiB pages copy only what is written
    (the child writing the province red lines' cache entry: 0.39 → 0.09 s for its Arrow WKB column; a cold run
    ~0.2 s sooner)."""
    _prctl(_PR_SET_THP_DISABLE, 1)
