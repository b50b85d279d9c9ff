"""Offline basemaps from a GeoTIFF, warped into a GK metric CRS (rasterio), for the canvas and the print layout.
Qt-free: returns an RGBA array and its extent in metres of the target CRS."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError


def warp_geotiff(path: str | Path, epsg: int, bounds: tuple[float, float, float, float] | None = None,
                 max_px: int = 4000) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The GeoTIFF warped to EPSG:``epsg`` (bilinear; first three bands, each stretched 1–99 %; no-data clear):
    ``(rgba uint8 array H×W×4, (x0, y0, x1, y1) in metres)``.  ``bounds`` (metres, same CRS) warps only that
    window, e.g. a print frame; ``max_px`` caps the longer side."""
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, calculate_default_transform, reproject
    dst_crs = f"EPSG:{epsg}"
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError("GeoTIFF has no CRS", file=path)
            if bounds is None:
                transform, w, h = calculate_default_transform(src.crs, dst_crs, src.width, src.height, *src.bounds)
                f = max(1.0, max(w, h) / max_px)
                w, h = max(1, int(w / f)), max(1, int(h / f))
                transform = transform * transform.scale(f, f)
            else:
                x0, y0, x1, y1 = bounds
                f = max_px / max(x1 - x0, y1 - y0)
                w, h = max(1, int((x1 - x0) * f)), max(1, int((y1 - y0) * f))
                transform = from_bounds(x0, y0, x1, y1, w, h)
            bands = min(src.count, 3)
            out = np.zeros((bands, h, w), dtype=np.uint8)
            for b in range(bands):
                band = np.zeros((h, w), dtype=np.float64)
                reproject(rasterio.band(src, b + 1), band, dst_transform=transform, dst_crs=dst_crs,
                          resampling=Resampling.bilinear)
                lo, hi = np.nanpercentile(band[band != 0], [1, 99]) if (band != 0).any() else (0, 1)
                out[b] = np.clip((band - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    except rasterio.errors.RasterioError as exc:
        raise InputError(f"cannot read GeoTIFF: {exc}", file=path) from None
    alpha = np.where(out.max(axis=0) > 0, 255, 0).astype(np.uint8)
    rgba = np.ascontiguousarray(np.dstack([out[min(i, bands - 1)] for i in range(3)] + [alpha]))
    x0, y1 = transform * (0, 0)
    x1, y0 = transform * (w, h)
    return rgba, (x0, y0, x1, y1)


def tile_mosaic(source, epsg: int, bounds: tuple[float, float, float, float], max_px: int = 2400
                ) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """The cached XYZ tiles of ``source`` (a :class:`~gis_screening.tiles.TileSource`) covering ``bounds``
    (metres, EPSG:``epsg``) at a zoom matching ``max_px``, mosaicked and warped into that frame:
    ``(rgba uint8 array, bounds)``; None when no tile is cached.  Reads the cache only (no network)."""
    import io

    from PIL import Image
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, reproject

    from .crs import transformer
    from .tiles import tile_bounds, tiles_for, zoom_for
    x0, y0, x1, y1 = bounds
    lons, lats = transformer(epsg, 4326).transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    deg_per_px = (max(lons) - min(lons)) / max_px
    ideal = zoom_for(deg_per_px)
    best, best_share = None, 0.0
    for z in sorted(range(max(0, ideal - 6), min(18, ideal + 3) + 1), key=lambda z: (abs(z - ideal), -z)):
        cover = tiles_for(min(lons), min(lats), max(lons), max(lats), z)    # the nearest zoom the cache covers
        if len(cover) > 256:
            continue
        share = sum(source.has(*t) for t in cover) / len(cover)
        if share > best_share:
            best, best_share = (z, cover), share
        if share == 1.0:
            break
    if best is None:
        return None
    z, tiles = best
    xs, ys = [t[1] for t in tiles], [t[2] for t in tiles]
    tx0, ty0 = min(xs), min(ys)
    mosaic = np.zeros(((max(ys) - ty0 + 1) * 256, (max(xs) - tx0 + 1) * 256, 4), dtype=np.uint8)
    found = 0
    for tz, tx, ty in tiles:
        data = source.cached(tz, tx, ty)
        if not data:
            continue
        try:
            img = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA").resize((256, 256)))
        except Exception:      # a damaged cached tile: left out
            continue
        r, c = (ty - ty0) * 256, (tx - tx0) * 256
        mosaic[r:r + 256, c:c + 256] = img
        found += 1
    if not found:
        return None
    to_merc = transformer(4326, 3857)
    w_, _s, _e, n_ = tile_bounds(z, tx0, ty0)
    _w, s_, e_, _n = tile_bounds(z, max(xs), max(ys))
    (mx0, mx1), (my0, my1) = to_merc.transform([w_, e_], [s_, n_])
    src_transform = from_bounds(mx0, my0, mx1, my1, mosaic.shape[1], mosaic.shape[0])
    f = max_px / max(x1 - x0, y1 - y0)
    w, h = max(1, int((x1 - x0) * f)), max(1, int((y1 - y0) * f))
    out = np.zeros((4, h, w), dtype=np.uint8)
    reproject(np.moveaxis(mosaic, 2, 0), out, src_transform=src_transform, src_crs="EPSG:3857",
              dst_transform=from_bounds(x0, y0, x1, y1, w, h), dst_crs=f"EPSG:{epsg}", resampling=Resampling.bilinear)
    return np.ascontiguousarray(np.moveaxis(out, 0, 2)), bounds
