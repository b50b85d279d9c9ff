"""Edit commands on an :class:`EditableLayer`, each with ``do()``/``undo()`` (one command per user action).

The app wraps each in a thin QUndoCommand; scripts and tests use :class:`UndoStack`.  Geometry arguments are
EPSG:4490; topological vertex moves change every feature that shares the vertex, so a tiling stays a tiling.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import shapely
from shapely.ops import split

from ..errors import InputError
from .store import EditableLayer


class Command(ABC):
    """One user action on a layer: ``do()`` applies it, ``undo()`` restores the state before it."""

    text = "编辑"

    @abstractmethod
    def do(self) -> None: ...

    @abstractmethod
    def undo(self) -> None: ...


class _Snapshot(Command):
    """Base: remember the before-images of the touched features, restore them on undo."""

    def __init__(self, layer: EditableLayer):
        self.layer = layer
        self.before: dict[int, tuple[dict, object] | None] = {}
        self.added: list[int] = []
        self._created: list[int] = []     # ids of features this command created, reused on redo

    def _add(self, attrs: dict, geom) -> int:
        """Add a feature; on redo the k-th addition gets the same id as the first time, so later commands
        that name it (attributes, vertex moves) still find it."""
        k = len(self.added)
        fid = self.layer.add_feature(attrs, geom, fid=self._created[k] if k < len(self._created) else None)
        if k >= len(self._created):
            self._created.append(fid)
        self.added.append(fid)
        return fid

    def _touch(self, fid: int) -> None:
        if fid not in self.before:
            f = self.layer.features.get(fid)
            self.before[fid] = None if f is None else (dict(f.attrs), f.geom)

    def undo(self) -> None:
        for fid in self.added:
            if fid in self.layer.features:
                self.layer.delete_feature(fid)
        for fid, img in self.before.items():
            if img is None:
                if fid in self.layer.features:
                    self.layer.delete_feature(fid)
            else:
                self.layer.set_feature(fid, img[0], img[1])
        self.added = []


class SetAttributes(_Snapshot):
    """Change some attributes of one feature."""
    def __init__(self, layer, fid: int, changes: dict):
        super().__init__(layer)
        self.fid, self.changes_ = fid, dict(changes)
        self.text = f"修改属性 {layer.code_of(fid)}"

    def do(self):
        self._touch(self.fid)
        f = self.layer.features[self.fid]
        self.layer.set_feature(self.fid, {**f.attrs, **self.changes_}, f.geom)


class SetGeometry(_Snapshot):
    """Replace one feature's geometry (EPSG:4490)."""
    def __init__(self, layer, fid: int, geom):
        super().__init__(layer)
        self.fid, self.geom = fid, geom
        self.text = f"修改几何 {layer.code_of(fid)}"

    def do(self):
        self._touch(self.fid)
        self.layer.set_feature(self.fid, self.layer.features[self.fid].attrs, self.geom)


def _replace_vertex(geom, old, new, tol):
    def fn(coords):
        d = np.hypot(coords[:, 0] - old[0], coords[:, 1] - old[1])
        out = coords.copy()
        out[d <= tol, :2] = new             # a Z stays as it was
        return out
    return shapely.transform(geom, fn, include_z=bool(shapely.has_z(geom)))


class MoveVertex(_Snapshot):
    """Move the vertex at ``old`` to ``new``; ``topological`` moves it in every feature sharing it."""

    def __init__(self, layer, fid: int, old: tuple[float, float], new: tuple[float, float], topological: bool = True,
                 tol: float = 1e-9):
        super().__init__(layer)
        self.fid, self.old, self.new, self.topo, self.tol = fid, old, new, topological, tol
        self.text = f"移动节点 {layer.code_of(fid)}"

    def do(self):
        fids = [self.fid]
        if self.topo:
            pt = shapely.Point(self.old).buffer(self.tol * 10)
            fids = [k for k, f in self.layer.features.items() if f.geom is not None and f.geom.intersects(pt)]
        for fid in fids:
            f = self.layer.features[fid]
            moved = _replace_vertex(f.geom, self.old, self.new, self.tol)
            if not shapely.equals_exact(moved, f.geom, 0):
                self._touch(fid)
                self.layer.set_feature(fid, f.attrs, moved)


def _edit_ring(geom, fn):
    """Apply ``fn(coords) -> coords`` to every ring/line of a geometry (keeps closure of rings)."""
    def ring(coords, closed):
        c = fn(np.asarray(coords)[:-1] if closed else np.asarray(coords))
        return np.vstack([c, c[:1]]) if closed else c
    t = geom.geom_type
    if t == "Polygon":
        return shapely.Polygon(ring(geom.exterior.coords, True), [ring(r.coords, True) for r in geom.interiors])
    if t == "LineString":
        return shapely.LineString(ring(geom.coords, False))
    if t.startswith("Multi"):
        return type(geom)([_edit_ring(g, fn) for g in geom.geoms])
    return geom


class InsertVertex(_Snapshot):
    """Insert a vertex at ``at`` into the edge nearest to it (topological: into every feature sharing that edge)."""

    def __init__(self, layer, fid: int, at: tuple[float, float], topological: bool = True, tol: float = 1e-9):
        super().__init__(layer)
        self.fid, self.at, self.topo, self.tol = fid, at, topological, tol
        self.text = f"添加节点 {layer.code_of(fid)}"

    def do(self):
        p = shapely.Point(self.at)
        fids = [self.fid] + ([k for k, f in self.layer.features.items() if k != self.fid and f.geom is not None
                              and f.geom.distance(p) <= self.tol * 10] if self.topo else [])
        for fid in fids:
            f = self.layer.features[fid]
            edge = f.geom.boundary if f.geom.geom_type.endswith("Polygon") else f.geom
            reach = edge.distance(p) + self.tol * 10   # only the ring(s) whose edge is nearest

            def insert(c, reach=reach):
                seg_d = [shapely.LineString([c[i], c[(i + 1) % len(c)]]).distance(p) for i in range(len(c))]
                i = int(np.argmin(seg_d))
                z = (c[i, 2:] + c[(i + 1) % len(c), 2:]) / 2         # a 3D ring: the new vertex between its ends
                return np.insert(c, i + 1, np.concatenate([self.at, z]), axis=0) if seg_d[i] <= reach else c
            new = _edit_ring(f.geom, insert)
            if not shapely.equals_exact(new, f.geom, 0):
                self._touch(fid)
                self.layer.set_feature(fid, f.attrs, new)


class DeleteVertex(_Snapshot):
    """Remove the vertex at ``at`` (topological: from every feature that has it); rings keep ≥ 3 vertices."""

    def __init__(self, layer, fid: int, at: tuple[float, float], topological: bool = True, tol: float = 1e-9):
        super().__init__(layer)
        self.fid, self.at, self.topo, self.tol = fid, at, topological, tol
        self.text = f"删除节点 {layer.code_of(fid)}"

    def do(self):
        fids = [self.fid] + ([k for k, f in self.layer.features.items() if k != self.fid and f.geom is not None
                              and f.geom.distance(shapely.Point(self.at)) <= self.tol * 10] if self.topo else [])
        for fid in fids:
            f = self.layer.features[fid]

            def drop(c):
                keep = np.hypot(c[:, 0] - self.at[0], c[:, 1] - self.at[1]) > self.tol
                return c[keep] if keep.sum() >= 3 else c
            new = _edit_ring(f.geom, drop)
            if not shapely.equals_exact(new, f.geom, 0):
                self._touch(fid)
                self.layer.set_feature(fid, f.attrs, new)


class AddFeature(_Snapshot):
    """Add a feature (attributes and EPSG:4490 geometry); redo reuses the id it was given."""
    def __init__(self, layer, attrs: dict, geom):
        super().__init__(layer)
        self.attrs, self.geom = attrs, geom
        self.text = f"新增要素 {attrs.get(layer.code_field, '')}"

    def do(self):
        self.added = []
        self._add(self.attrs, self.geom)


class DeleteFeature(_Snapshot):
    """Delete one feature."""
    def __init__(self, layer, fid: int):
        super().__init__(layer)
        self.fid = fid
        self.text = f"删除要素 {layer.code_of(fid)}"

    def do(self):
        self._touch(self.fid)
        self.layer.delete_feature(self.fid)


class SplitFeature(_Snapshot):
    """Split a polygon by a line; the largest part keeps the feature, the others become new features whose
    code gets a ``-2``, ``-3``… suffix for the planner to replace."""

    def __init__(self, layer, fid: int, line):
        super().__init__(layer)
        self.fid, self.line = fid, line
        self.text = f"分割 {layer.code_of(fid)}"

    def do(self):
        f = self.layer.features[self.fid]
        parts = sorted(shapely.get_parts(split(f.geom, self.line)), key=lambda g: -g.area)
        if len(parts) < 2:
            raise InputError(f"the line does not split feature {self.layer.code_of(self.fid)}")
        self._touch(self.fid)
        self.layer.set_feature(self.fid, f.attrs, parts[0])
        code = f.attrs.get(self.layer.code_field)
        for k, part in enumerate(parts[1:], start=2):
            attrs = {**f.attrs, self.layer.code_field: f"{code}-{k}" if code else None}
            self._add(attrs, part)


class MergeFeatures(_Snapshot):
    """Union the selected features into the first one (its attributes kept); the others are deleted."""

    def __init__(self, layer, fids: list[int]):
        super().__init__(layer)
        if len(fids) < 2:
            raise InputError("select at least two features to merge")
        self.fids = list(fids)
        self.text = f"合并 {', '.join(layer.code_of(f) for f in fids)}"

    def do(self):
        for fid in self.fids:
            self._touch(fid)
        geoms = [self.layer.features[f].geom for f in self.fids]
        keep = self.layer.features[self.fids[0]]
        self.layer.set_feature(self.fids[0], keep.attrs, shapely.union_all(geoms))
        for fid in self.fids[1:]:
            self.layer.delete_feature(fid)


class CopyFeatures(_Snapshot):
    """Paste features copied from another layer (matching attribute names are kept)."""

    def __init__(self, layer, features: list[tuple[dict, object]]):
        super().__init__(layer)
        self.items = features
        self.text = f"粘贴 {len(features)} 个要素"

    def do(self):
        for attrs, geom in self.items:
            keep = {k: v for k, v in attrs.items() if k in self.layer.columns}
            self._add(keep, geom)


class UndoStack:
    """A plain undo stack for scripts and tests (the app uses QUndoStack with the same commands)."""

    def __init__(self):
        self.done: list[Command] = []
        self.undone: list[Command] = []

    def push(self, cmd: Command) -> Command:
        """Do ``cmd`` and put it on the undo list (clears the redo list); returns it."""
        cmd.do()
        self.done.append(cmd)
        self.undone.clear()
        return cmd

    def undo(self) -> None:
        if self.done:
            cmd = self.done.pop()
            cmd.undo()
            self.undone.append(cmd)

    def redo(self) -> None:
        if self.undone:
            cmd = self.undone.pop()
            cmd.do()
            self.done.append(cmd)
