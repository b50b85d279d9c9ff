"""Write a layer out: GeoPackage, GeoJSON (EPSG:4490) or 勘测定界 TXT (GK zone with prefix)."""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path
from ..errors import InputError
from ..model import Layer


def write_layer(layer: Layer, path: str | Path) -> str:
    """Write ``layer`` to ``path`` by extension, atomically (temp file + rename). Returns a description."""
    path = Path(path)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".gpkg":
            layer.gdf.to_file(tmp, driver="GPKG", layer=path.stem)
            desc = "GeoPackage, EPSG:4490"
        elif suffix in (".geojson", ".json"):
            layer.gdf.to_file(tmp, driver="GeoJSON")
            desc = "GeoJSON, EPSG:4490"
        elif suffix == ".txt":
            from .survey_txt import write_survey_txt
            desc = write_survey_txt(layer.gdf, tmp)
        else:
            raise InputError(f"cannot write {suffix or '(no extension)'}; use .gpkg, .geojson or .txt", file=path)
    return desc


def verdict_rows(doc: dict) -> list[dict]:
    """One flat row per project of a result document: id, name, verdict (code and label), decisive rule titles
    and ids, area (m²), length (m), number of findings."""
    rows = []
    for r in doc["results"]:
        p = r["project"]
        decisive = set(r.get("decisive_rules", []))
        titles = sorted({f.get("title") or f["rule_id"] for f in r["findings"] if f["rule_id"] in decisive})
        rows.append({"id": p["id"], "name": p.get("name"), "verdict": r["verdict"], "verdict_label": r["verdict_label"],
                     "decisive_titles": "；".join(titles), "decisive_rules": ";".join(sorted(decisive)),
                     "area_m2": p.get("area_m2"), "length_m": p.get("length_m"), "findings": len(r["findings"])})
    return rows


def write_verdicts(doc: dict, footprints: dict, path: str | Path) -> Path:
    """GeoPackage of the footprints (EPSG:4490) with the :func:`verdict_rows` columns, written atomically."""
    import geopandas as gpd
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise InputError("verdict layer must be a .gpkg file", file=path)
    rows = verdict_rows(doc)
    gdf = gpd.GeoDataFrame(rows, geometry=[footprints.get(r["id"]) for r in rows], crs=4490)
    with atomic_path(path) as tmp:
        tmp.unlink(missing_ok=True)
        gdf.to_file(tmp, driver="GPKG", layer="screening")
    return path


def save_as_geopackage(src: str | Path, dst: str | Path, *, layer: str | None = None, encoding: str | None = None,
                       zone: int | None = None) -> Path:
    """Copy any supported layer file into a GeoPackage keeping its schema: the source field names
    (HJZHGKDYBM …) and code values (1/2/3) as they are, text decoded, geometry in EPSG:4490 (the storage CRS,
    which editing requires).  Written atomically."""
    from .pipeline import read_raw, resolve_crs
    dst = Path(dst)
    if dst.suffix.lower() != ".gpkg":
        raise InputError("the copy must be a .gpkg file", file=dst)
    raw = read_raw(src, layer=layer, encoding=encoding, zone=zone)
    gdf, _label, _reason, _problems = resolve_crs(raw, src, zone=zone)
    with atomic_path(dst) as tmp:
        tmp.unlink(missing_ok=True)
        gdf.to_file(tmp, driver="GPKG", layer=dst.stem)
    return dst
