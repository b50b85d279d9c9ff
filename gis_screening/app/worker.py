"""Long work (screening, report export) off the UI thread, with progress and cancel.

All engine work runs on one long-lived *Python* thread (a single-worker ``ThreadPoolExecutor``), never on a
QThreadPool thread: pyproj ≥ 3.7 keeps a PROJ context per thread in thread-specific storage, and threads that
Python did not create (Qt's pool threads) crash it on the second use (pyproj issues 1509/1541; exit 139 on the
second screening).  One engine thread also means PROJ, GEOS and SQLite objects are never shared between
threads; a new job queues behind a cancelled one, which stops at its next step.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from qtpy.QtCore import QObject, Signal

from ..errors import Cancelled, InputError

_executor: ThreadPoolExecutor | None = None


def engine_executor() -> ThreadPoolExecutor:
    """The process-wide engine thread."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gis-engine")
    return _executor


class Job(QObject):
    """``fn(progress, cancelled) -> result`` run on the engine thread; signals arrive on the UI thread.

    ``progress(done, total)`` reports; ``cancelled()`` is polled by ``fn``.  Exactly one of ``finished``
    and ``failed`` is emitted; a cancelled job emits ``failed("已取消")``."""

    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[Callable[[int, int], None], Callable[[], bool]], object], parent=None):
        super().__init__(parent)
        self.fn = fn
        self._cancel = threading.Event()
        self.future: Future | None = None
        self.delivered = False      # set by the receiver once it has handled finished/failed

    def start(self) -> Job:
        """Start the job on the engine thread."""
        self.future = engine_executor().submit(self._run)
        return self

    def cancel(self) -> None:
        """Ask the job to stop at its next step."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the job has run (the signals are still delivered by the event loop)."""
        if self.future is not None:
            self.future.result(timeout)

    def _run(self) -> None:  # on the engine thread
        try:
            result = self.fn(self.progress.emit, self._cancel.is_set)
            if self._cancel.is_set():
                self.failed.emit("已取消")
            else:
                self.finished.emit(result)
        except Cancelled:
            self.failed.emit("已取消")
        except InputError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a silent crash
            self.failed.emit(f"{type(exc).__name__}: {exc}")


def screening_job(projects, layerset, radius: float = 1000.0, cache=None) -> Job:
    """A :class:`Job` that screens a copy of the session's projects and returns the result document with what it
    was reached from (:func:`~gis_screening.session.result_inputs`, taken before the screening starts: a layer
    edited or a rule pack changed while it runs makes a result that is not trusted when its session is reopened)."""
    projects = list(projects)

    def run(progress, cancelled):
        """Run queued jobs one after another (the one Python thread that touches PROJ)."""
        from ..screening import rules_for, screen
        from ..session import result_inputs
        rules = rules_for(layerset.rule_packs)
        inputs = result_inputs(list(layerset.layers), projects, rules)
        doc = screen(projects, layerset, rules, search_radius_m=radius, cache=cache, progress=progress,
                     cancel=cancelled).to_json()
        return doc, inputs
    return Job(run)
