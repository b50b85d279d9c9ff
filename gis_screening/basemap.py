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
