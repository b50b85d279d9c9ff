"""Write a layer out: GeoPackage, GeoJSON (EPSG:4490) or 勘测定界 TXT (GK zone with prefix)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import InputError
from ..model import Layer


def atomic_target(path: Path):
    """A temp path beside ``path`` for write-then-rename saves."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def write_layer(layer: Layer, path: str | Path) -> str:
    """Write ``layer`` to ``path`` by extension, atomically (temp file + rename). Returns a description."""
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_target(path)
    try:
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
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return desc
