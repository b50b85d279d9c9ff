"""Layers shared in PostGIS: listen for other planners' saves (LISTEN/NOTIFY) and tell the window which loaded
layers changed, so the user can reload them (or merge them into an open edit)."""
from __future__ import annotations

from qtpy.QtCore import QObject, QTimer, Signal

from ..errors import InputError
from ..io.postgis import ChangeListener, is_postgres, parse_source


class SharedLayerWatch(QObject):
    """Polls one LISTEN connection per server of the tracked layers every ``interval_ms``; emits
    ``changed(layer uid, notice)`` for saves made by other sessions (``own_sessions()`` are ignored)."""

    changed = Signal(str, dict)
    failed = Signal(str)

    def __init__(self, parent, own_sessions=lambda: (), interval_ms: int = 2000):
        super().__init__(parent)
        self.own_sessions = own_sessions
        self.listeners: dict[str, ChangeListener] = {}
        self.tables: dict[tuple[str, str, str], str] = {}      # (server, schema, table) → layer uid
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)   # type: ignore[arg-type]  # Qt drops the slot's return value
        self.interval_ms = interval_ms

    def track(self, layers) -> None:
        """Watch the PostGIS layers among ``layers`` (a new layer set replaces what was tracked)."""
        self.tables = {}
        for lyr in layers:
            if is_postgres(lyr.source):
                src = parse_source(lyr.source)
                self.tables[(src.conninfo, src.schema, src.table)] = lyr.uid
        servers = {k[0] for k in self.tables}
        for server in set(self.listeners) - servers:
            self.listeners.pop(server).close()
        for server in servers - set(self.listeners):
            try:
                self.listeners[server] = ChangeListener(server)
            except InputError as exc:
                self.failed.emit(str(exc))
        if self.listeners:
            self.timer.start(self.interval_ms)
        else:
            self.timer.stop()

    def poll(self) -> int:
        """Deliver the notices received so far; returns how many concerned a tracked layer."""
        own = set(self.own_sessions())
        n = 0
        for server, listener in list(self.listeners.items()):
            try:
                notes = listener.poll()
            except Exception as exc:   # the server went away: say so once and stop listening to it
                self.listeners.pop(server).close()
                self.failed.emit(f"{server}: {' '.join(str(exc).split())}")
                continue
            for note in notes:
                uid = self.tables.get((server, str(note.get("schema")), str(note.get("table"))))
                if uid is not None and note.get("session") not in own:
                    self.changed.emit(uid, note)
                    n += 1
        return n

    def close(self) -> None:
        """Stop polling and close the LISTEN connections."""
        self.timer.stop()
        for listener in self.listeners.values():
            listener.close()
        self.listeners = {}
