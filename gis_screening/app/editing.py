"""Edit mode in the app: each engine edit command (gis_screening.editing.commands) wrapped in a QUndoCommand,
the layer redrawn after every change, topology checked before saving, saves with a reason and the user name."""
from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QUndoCommand

from ..editing import commands as ec
from ..editing.pgstore import PostgisLayer
from ..editing.store import EditableLayer, EditBuffer, Feature
from ..errors import InputError
from ..io.postgis import is_postgres
from ..topology import EDIT_TOLERANCE_M2, check_topology, new_defects


class EngineCommand(QUndoCommand):
    """A QUndoCommand around an engine command: redo → do(), undo → undo(); then the view refreshes."""

    def __init__(self, controller, cmd: ec.Command):
        super().__init__(cmd.text)
        self.controller, self.cmd = controller, cmd

    def redo(self):
        self.cmd.do()
        self.controller.refresh()

    def undo(self):
        self.cmd.undo()
        self.controller.refresh()


class EditController(QObject):
    """Edits one layer of the session stored in a GeoPackage or a PostGIS table."""

    changed = Signal()

    def __init__(self, window, layer_name: str):
        super().__init__(window)
        self.window, self.session = window, window.session
        self.view = self.session.views[self.session.index_of(layer_name)]   # uid or name
        self.role = self.view.layer.role
        source = self.view.layer.source
        if is_postgres(source):
            self.editable: EditBuffer = PostgisLayer(source)
        else:
            src = Path(source)
            if not src.is_absolute() and self.session.layerset_path:
                src = Path(self.session.layerset_path).parent / src
            if src.suffix.lower() != ".gpkg":
                raise InputError("only GeoPackage and PostGIS layers can be edited; convert the layer first "
                                 "(gis-screening convert IN OUT.gpkg)", file=src)
            self.editable = EditableLayer(src)
        cat = self.view.layer.cat
        self.editable.code_field = next((c for c in self.editable.columns if cat.match_fields(self.role, [c]).get(c)
                                         == cat.role(self.role).id_field), "code")
        self.selected: list[int] = []
        n = self.editable.recovered
        #: what crash recovery restored, said to the user (empty when nothing was restored)
        self.recovered = self.tr("从编辑日志恢复了 %n 处未保存的修改", "", n) if n else ""
        self.refresh()

    def fids(self) -> list[int]:
        """Feature ids of the edited layer in display order (negative: added, not yet saved)."""
        return list(self.editable.features)

    def refresh(self) -> None:
        """Push the edited features into the displayed layer (canonical fields) and redraw."""
        from ..normalise import normalise_fields
        gdf = self.editable.to_gdf()
        self._fid_order = list(gdf["fid"])
        norm, _ = normalise_fields(gdf.drop(columns="fid"), self.role, self.view.layer.cat, source=self.editable.where)
        self.session.replace_features(self.session.index_of(self.view.layer.uid), norm)
        self.changed.emit()

    @property
    def unsaved(self) -> bool:
        """Edits not yet saved to the file."""
        return bool(self.editable.changes())

    def fid_at(self, index: int) -> int:
        """The feature id shown at row ``index`` of the displayed layer."""
        return self._fid_order[index]

    def push(self, cmd: ec.Command) -> None:
        """Run an engine command through the window's undo stack (so it can be undone)."""
        self.window.undo.push(EngineCommand(self, cmd))

    # ---- actions ----------------------------------------------------------------------------------
    def split_selected(self, line) -> None:
        """Split the selected feature along ``line`` (EPSG:4490)."""
        self.push(ec.SplitFeature(self.editable, self.selected[0], line))

    def merge_selected(self) -> None:
        """Merge the selected features into the first one."""
        self.push(ec.MergeFeatures(self.editable, self.selected))

    def delete_selected(self) -> None:
        """Delete the selected features (one undoable command each)."""
        for fid in list(self.selected):
            self.push(ec.DeleteFeature(self.editable, fid))
        self.selected = []

    def move_vertex(self, from_ll: tuple[float, float], to_ll: tuple[float, float], tol_deg: float,
                    snap_geoms_ll=()) -> bool:
        """Move the vertex of the selected feature nearest ``from_ll`` (within ``tol_deg``) to ``to_ll`` snapped
        to ``snap_geoms_ll``; shared vertices move with it in control-unit layers (topological editing)."""
        from ..editing.snap import snap_point
        if not self.selected:
            return False
        geom = self.editable.features[self.selected[0]].geom
        vx, vy, kind = snap_point(*from_ll, [geom], tol_deg)
        if kind != "vertex":
            return False
        nx, ny, _ = snap_point(*to_ll, [g for g in snap_geoms_ll if g is not geom], tol_deg)
        self.push(ec.MoveVertex(self.editable, self.selected[0], (vx, vy), (nx, ny),
                                topological=self.role == "control_units", tol=1e-9))
        return True

    def add_or_cut(self, polygon_ll) -> None:
        """A polygon drawn inside the selected feature cuts a hole in it; elsewhere it becomes a new feature
        (attributes copied from the selection as a starting point, code left empty for the form)."""
        sel = self.editable.features.get(self.selected[0]) if self.selected else None
        if sel is not None and sel.geom.contains(polygon_ll):
            self.push(ec.SetGeometry(self.editable, self.selected[0], sel.geom.difference(polygon_ll)))
        else:
            attrs = {k: None for k in self.editable.columns}
            if sel is not None:
                attrs.update({k: v for k, v in sel.attrs.items() if k != self.editable.code_field})
            self.push(ec.AddFeature(self.editable, attrs, polygon_ll))

    def insert_vertex(self, at_ll: tuple[float, float]) -> None:
        """Insert a vertex at ``at_ll`` (lon, lat) into the selected feature; shared edges follow for control units."""
        if self.selected:
            self.push(ec.InsertVertex(self.editable, self.selected[0], at_ll, topological=self.role == "control_units"))

    def delete_vertex(self, at_ll: tuple[float, float], tol_deg: float) -> bool:
        """Delete the vertex of the selected feature nearest ``at_ll`` within ``tol_deg``; False when none."""
        from ..editing.snap import snap_point
        if not self.selected:
            return False
        x, y, kind = snap_point(*at_ll, [self.editable.features[self.selected[0]].geom], tol_deg)
        if kind != "vertex":
            return False
        self.push(ec.DeleteVertex(self.editable, self.selected[0], (x, y), topological=self.role == "control_units"))
        return True

    def set_attributes(self, fid: int, changes: dict) -> None:
        """Change attributes of feature ``fid`` (source field names → values)."""
        self.push(ec.SetAttributes(self.editable, fid, changes))

    def topology_items(self) -> list[tuple[str, object]]:
        """``[(text, geometry EPSG:4490 or None)]`` for overlaps, gaps, duplicate codes, invalid geometries."""
        gdf = self.editable.to_gdf()
        codes = [str(c) for c in gdf[self.editable.code_field]]
        rep = check_topology(gdf, codes)
        out = [(f"重叠 {' / '.join(d.features)}：{d.area_m2:,.2f} m²（{d.lonlat[0]}, {d.lonlat[1]}）", d.geometry)
               for d in rep.overlaps]
        out += [(f"缝隙 {d.area_m2:,.2f} m²（{d.lonlat[0]}, {d.lonlat[1]}）", d.geometry) for d in rep.gaps]
        out += [(f"编码重复 {c}", None) for c in sorted({c for c in codes if codes.count(c) > 1})]
        out += [(f"无效几何 {c}", gdf.geometry.iloc[codes.index(c)]) for c in rep.invalid]
        return out

    def topology_errors(self) -> list[str]:
        """The topology problems of the edited layer as lines of text."""
        return [t for t, _g in self.topology_items()]

    def edit_defects(self) -> list[tuple[str, object]]:
        """``[(text, geometry EPSG:4490)]`` of the overlaps and gaps the unsaved edits created (larger than
        :data:`EDIT_TOLERANCE_M2` m²), plus invalid geometries of changed features; pre-existing defects
        between neighbours are not counted."""
        import geopandas as gpd
        import numpy as np
        ed = self.editable
        changed = [fid for _a, fid in ed.changes()]
        if not changed:
            return []
        geoms = [f.geom for fid in changed for f in (ed.features.get(fid), ed.original.get(fid)) if f is not None]
        b = np.array([g.bounds for g in geoms])
        bounds = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())

        def frame(feats: dict[int, Feature]) -> tuple[gpd.GeoDataFrame, list[str]]:
            fids = list(feats)
            gdf = gpd.GeoDataFrame(geometry=[feats[k].geom for k in fids], crs=4490)
            return gdf, [str(feats[k].attrs.get(ed.code_field) or f"#{k}") for k in fids]
        out = [(f"无效几何 {ed.code_of(fid)}", ed.features[fid].geom) for fid in changed
               if fid in ed.features and not ed.features[fid].geom.is_valid]
        for d in new_defects(*frame(ed.original), *frame(ed.features), bounds):
            what = "重叠 " + " / ".join(d.features) if d.kind == "overlap" else "缝隙"
            out.append((f"新增{what}：{d.area_m2:,.2f} m²（{d.lonlat[0]}, {d.lonlat[1]}）", d.geometry))
        return out

    def save(self, reason: str, force: bool = False) -> int:
        """Save with ``reason`` in the audit table; refuses (InputError) when the edits created overlaps, gaps
        or invalid geometries beyond the tolerance, unless ``force`` (the reason then says so)."""
        errors = [t for t, _g in self.edit_defects()]
        if errors and not force:
            raise InputError(f"the edit creates topology errors (tolerance {EDIT_TOLERANCE_M2:g} m²): "
                             + "; ".join(errors[:5]), file=self.editable.where)
        if errors:
            reason = f"{reason}（确认保存，拓扑问题：{'；'.join(errors[:5])}）"
        return self.editable.save(reason=reason)
