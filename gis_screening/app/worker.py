"""Screening off the UI thread (QThreadPool) with progress and cancel."""
from __future__ import annotations

import threading

from qtpy.QtCore import QObject, QRunnable, Signal

from ..errors import InputError


class WorkerSignals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)       # result document
    failed = Signal(str)


class ScreenWorker(QRunnable):
    """Runs :func:`gis_screening.engine.screen.screen` on a copy of the session's inputs."""

    def __init__(self, projects, layerset, radius: float = 1000.0, cache=None):
        super().__init__()
        self.projects, self.layerset, self.radius, self.cache = list(projects), layerset, radius, cache
        self.signals = WorkerSignals()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:  # in a pool thread
        from ..engine.rules import load_rules
        from ..engine.screen import screen
        try:
            rules = load_rules(self.layerset.rule_packs or None)
            result = screen(self.projects, self.layerset, rules, search_radius_m=self.radius, cache=self.cache,
                            progress=lambda d, n: self.signals.progress.emit(d, n), cancel=self._cancel.is_set)
            if self._cancel.is_set():
                self.signals.failed.emit("已取消")
                return
            self.signals.finished.emit(result.to_json())
        except InputError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a silent crash
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
