"""Every state change made from the UI is one QUndoCommand over the Qt-free Session (glue-style)."""
from __future__ import annotations

from qtpy.QtCore import QCoreApplication
from qtpy.QtWidgets import QUndoCommand


def _tr(text: str) -> str:
    return QCoreApplication.translate("commands", text)


class SetVisibility(QUndoCommand):
    """Undoable: show or hide a layer view."""
    def __init__(self, session, index: int, visible: bool):
        super().__init__(f"{_tr('显示图层') if visible else _tr('隐藏图层')} {session.views[index].layer.name}")
        self.session, self.name, self.visible = session, session.views[index].layer.uid, visible

    def redo(self):
        self.session.set_visible(self.session.index_of(self.name), self.visible)

    def undo(self):
        self.session.set_visible(self.session.index_of(self.name), not self.visible)


class SetOpacity(QUndoCommand):
    """Undoable: a layer view's opacity (0–1)."""
    def __init__(self, session, index: int, opacity: float):
        super().__init__(f"{_tr('图层透明度')} {session.views[index].layer.name}")
        self.session, self.name = session, session.views[index].layer.uid
        self.new, self.old = opacity, session.views[index].opacity

    def redo(self):
        self.session.set_opacity(self.session.index_of(self.name), self.new)

    def undo(self):
        self.session.set_opacity(self.session.index_of(self.name), self.old)


class MoveLayer(QUndoCommand):
    """Undoable: move a layer view in the drawing order."""
    def __init__(self, session, src: int, dst: int):
        super().__init__(f"{_tr('移动图层')} {session.views[src].layer.name}")
        self.session, self.src, self.dst = session, src, dst

    def redo(self):
        self.session.move_layer(self.src, self.dst)

    def undo(self):
        self.session.move_layer(self.dst, self.src)


class SetProjects(QUndoCommand):
    """Replace the project list (import a footprint, draw one, open a sheet)."""

    def __init__(self, session, projects, text: str):
        super().__init__(text)
        self.session, self.new, self.old = session, list(projects), list(session.projects)

    def redo(self):
        self.session.set_projects(self.new)

    def undo(self):
        self.session.set_projects(self.old)


class SetStyle(QUndoCommand):
    """Undoable: a layer view's style override (fill, outline, width, hatch)."""
    def __init__(self, session, index: int, style: dict | None):
        super().__init__(f"{_tr('图层样式')} {session.views[index].layer.name}")
        self.session, self.name = session, session.views[index].layer.uid
        self.new, self.old = style, session.views[index].style

    def redo(self):
        self.session.set_style(self.session.index_of(self.name), self.new)

    def undo(self):
        self.session.set_style(self.session.index_of(self.name), self.old)
