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
