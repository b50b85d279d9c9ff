"""``gis-screening zones diff OLD NEW`` and ``zones topology FILE``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from . import app, fail, rich_console

zones_app = typer.Typer(no_args_is_help=True, help="Zone-layer versions and topology.")
app.add_typer(zones_app, name="zones")

ID_FIELD = typer.Option(None, "--id-field", help="the field that identifies a feature, when the role's usual "
                        "names are not there (e.g. adcode for county boundaries)")


def _read(path: Path, role: str, layer: str | None, id_field: str | None):
    """``path`` as a layer of ``role``, its features identified by ``id_field`` when given."""
    from ..catalog import default_catalog
    from ..io import read_layer
    key = default_catalog().role(role).id_field
    try:
        return read_layer(path, role, layer=layer, fields={key: id_field} if id_field else None,
                          name=Path(path).stem if role == "other" else None)
    except InputError as exc:
        if exc.field != key or id_field:
            raise
        raise InputError(f"{exc.message}; or name it with --id-field", file=exc.file, field=exc.field) from None


@zones_app.command("diff")
def zones_diff(old: Path, new: Path, role: str = typer.Option("control_units", "--role"),
               layer: Optional[str] = typer.Option(None, "--layer"),
               json_out: Optional[Path] = typer.Option(None, "--json"), id_field: Optional[str] = ID_FIELD) -> None:
    """Units added, removed and changed between two versions (matched by code; areas in m² in the GK zone)."""
    console = rich_console()
    from ..editing.diff import diff_layers
    try:
        a, b = _read(old, role, layer, id_field), _read(new, role, layer, id_field)
        d = diff_layers(a.gdf, b.gdf, key=a.id_field)
    except InputError as exc:
        fail(str(exc))
    doc = d.to_json()
    if json_out:
        json_out.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    s = doc["summary"]
    console.print(f"added {s['added']}, removed {s['removed']}, changed {s['changed']} (areas in {d.metric_crs})",
                  markup=False)
    for x in d.added:
        console.print(f"+ {x['code']} {x['name'] or ''} {x['area_m2']:,.1f} m²", markup=False)
    for x in d.removed:
        console.print(f"- {x['code']} {x['name'] or ''} {x['area_m2']:,.1f} m²", markup=False)
    for x in d.changed:
        attrs = "; ".join(f"{k}: {v['old']} → {v['new']}" for k, v in x["attributes"].items())
        console.print(f"~ {x['code']} gained {x['area_gained_m2']:,.1f} m², lost {x['area_lost_m2']:,.1f} m²"
                      + (f"; {attrs}" if attrs else ""), markup=False)


@zones_app.command("topology")
def zones_topology(file: Path, layer: Optional[str] = typer.Option(None, "--layer"),
                   role: str = typer.Option("control_units", "--role"),
                   boundary: Optional[Path] = typer.Option(None, "--boundary",
                                                           help="admin boundary file: gaps = boundary minus units"),
                   id_field: Optional[str] = ID_FIELD) -> None:
    """Overlaps, gaps, invalid geometries and duplicate codes (exit 1 when any are found)."""
    console = rich_console()
    import shapely

    from ..io import read_layer
    from ..topology import check_topology
    try:
        lyr = _read(file, role, layer, id_field)
        bnd = shapely.union_all(read_layer(boundary).gdf.geometry.values) if boundary else None
    except InputError as exc:
        fail(str(exc))
    rep = check_topology(lyr.gdf, lyr.feature_ids(), boundary=bnd)
    dups = [p for p in lyr.problems if "duplicate" in p.message]
    console.print(f"{lyr.name}: {lyr.feature_count} features; areas in {rep.metric_crs}", markup=False)
    for kind, items in (("overlap", rep.overlaps), ("gap", rep.gaps)):
        console.print(f"{kind}s: {len(items)}, total {sum(d.area_m2 for d in items):,.2f} m²", markup=False)
        for d in sorted(items, key=lambda d: -d.area_m2)[:20]:
            who = f" {' / '.join(d.features)}" if d.features else ""
            console.print(f"  {kind}{who}: {d.area_m2:,.2f} m² at lon {d.lonlat[0]}, lat {d.lonlat[1]}", markup=False)
    repaired = [p for p in lyr.problems if "make_valid" in p.message]
    console.print(f"invalid geometries (repaired on load): {len(repaired)}", markup=False)
    for p in repaired[:20]:
        console.print(f"  {p}", markup=False)
    console.print(f"duplicate codes: {dups[0].message if dups else 'none'}", markup=False)
    if rep.overlaps or rep.gaps or repaired or dups:
        raise typer.Exit(1)
