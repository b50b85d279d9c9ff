"""Helper process of :func:`gis_screening.reports.render_atlas`: draws part of an atlas (or of a report's maps).

The parent writes the job into its private temp folder as data only — ``job.json`` (result document, footprints
as WKB hex, paper, scale, profile, catalog, basemap/tile/label settings) and one GeoParquet per layer — and runs
``python -m gis_screening.reports.pages JOB_FOLDER``.  Nothing in a job can execute code when read.
"""
from __future__ import annotations

import sys
from pathlib import Path

import orjson


def write_job(folder: Path, args: tuple, ks: range, pdf_path: Path | None, each: bool = False) -> Path:
    """Write the arguments of :func:`gis_screening.reports.draw_pages` (``args`` = doc, layer set, footprints,
    paper, landscape, scale, png_dir, profile, extras; then ``ks``, ``pdf_path`` — None for the report's images
    alone — and ``each``) into ``folder``; returns it."""
    import shapely
    doc, layerset, footprints, paper, landscape, scale, png_dir, profile, extras = args
    folder.mkdir(parents=True, exist_ok=True)

    def layer_doc(layer, name: str) -> dict:
        layer.gdf.to_parquet(folder / name)
        return {"role": layer.role, "name": layer.name, "source": layer.source, "file": name}
    labels = extras.labels if extras is not None else None
    tiles = extras.tiles if extras is not None else None
    job = {
        "doc": doc, "paper": paper, "landscape": landscape, "scale": scale,
        "png_dir": str(png_dir) if png_dir is not None else None, "profile": profile.model_dump(),
        "ks": [ks.start, ks.stop], "pdf": str(pdf_path) if pdf_path is not None else None, "each": each,
        "footprints": {pid: shapely.to_wkb(g, hex=True) for pid, g in footprints.items()},
        "layerset": {"name": layerset.name, "catalog": layerset.cat.model_dump(mode="json"),
                     "layers": [layer_doc(lyr, f"layer{i}.parquet") for i, lyr in enumerate(layerset.layers)]},
        "extras": None if extras is None else {
            "basemap": extras.basemap, "label_field": extras.label_field,
            "labels": layer_doc(labels, "labels.parquet") if labels is not None else None,
            "tiles": None if tiles is None else {"template": tiles.template, "key": tiles.key,
                                                 "cache_dir": str(tiles.cache.parent), "timeout": tiles.timeout}},
    }
    (folder / "job.json").write_bytes(orjson.dumps(job, default=str))
    return folder


def read_job(folder: Path) -> tuple:
    """The arguments :func:`write_job` wrote, rebuilt (layers with the layer set's catalog); ``each`` last."""
    import geopandas as gpd
    import shapely

    from ..catalog import Catalog
    from ..model import Layer, LayerSet
    from ..tiles import TileSource
    from .maplayout import MapExtras
    from .profile import Profile
    job = orjson.loads((folder / "job.json").read_bytes())
    catalog = Catalog.model_validate(job["layerset"]["catalog"])

    def layer(d: dict) -> Layer:
        return Layer(role=d["role"], name=d["name"], source=d["source"], gdf=gpd.read_parquet(folder / d["file"]),
                     catalog=catalog)
    layerset = LayerSet(name=job["layerset"]["name"], layers=[layer(d) for d in job["layerset"]["layers"]],
                        catalog=catalog)
    x = job["extras"]
    extras = None if x is None else MapExtras(
        x["basemap"], layer(x["labels"]) if x["labels"] else None, x["label_field"],
        TileSource(x["tiles"]["template"], x["tiles"]["key"], x["tiles"]["cache_dir"], x["tiles"]["timeout"])
        if x["tiles"] else None)
    footprints = {pid: shapely.from_wkb(h) for pid, h in job["footprints"].items()}
    png_dir = Path(job["png_dir"]) if job["png_dir"] else None
    return (job["doc"], layerset, footprints, job["paper"], job["landscape"], job["scale"], png_dir,
            Profile.model_validate(job["profile"]), extras, range(*job["ks"]), Path(job["pdf"]) if job["pdf"] else None,
            bool(job.get("each")))


def main(folder: str) -> int:
    from . import draw_pages
    *args, each = read_job(Path(folder))
    draw_pages(*args, each=each)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
