"""Web-map coordinate offsets: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to and from WGS84/CGCS2000.

The forward GCJ-02 transform is the published obfuscation polynomial; the inverse is iterated until the
forward transform of the estimate reproduces the input to 1e-9° (≈ 0.1 mm), not the common one-step
approximation that errs by metres.  CGCS2000 and WGS84 are treated as identical (sub-metre).
All functions take and return numpy arrays (or floats) of longitude, latitude in degrees.
"""
from __future__ import annotations

import numpy as np

_A = 6378245.0
_EE = 0.00669342162296594323
_XPI = np.pi * 3000.0 / 180.0


def _tlat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _tlon(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 (forward obfuscation)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _tlat(lon - 105.0, lat - 35.0)
    dlon = _tlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def _invert(forward, lon, lat, guess_lon, guess_lat, tol: float, max_iter: int):
    """Solve forward(x, y) = (lon, lat) by fixed-point iteration from a first guess."""
    x, y = guess_lon, guess_lat
    for _ in range(max_iter):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if np.all(np.abs(dx) < tol) and np.all(np.abs(dy) < tol):
            break
    return x, y


def gcj02_to_wgs84(lon, lat, tol: float = 1e-9, max_iter: int = 30):
    """GCJ-02 → WGS84 by fixed-point iteration of the forward transform (accurate to ~0.1 mm)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return _invert(wgs84_to_gcj02, lon, lat, lon.copy(), lat.copy(), tol, max_iter)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _XPI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _XPI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, tol: float = 1e-10, max_iter: int = 30):
    """BD-09 → GCJ-02, iterating the forward transform from the closed-form inverse (which errs by centimetres)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _XPI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _XPI)
    return _invert(gcj02_to_bd09, lon, lat, z * np.cos(theta), z * np.sin(theta), tol, max_iter)


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def remove_offset(lon, lat, offset: str):
    """Undo a declared web-map offset (``"gcj02"`` or ``"bd09"``) → WGS84/CGCS2000 lon/lat."""
    key = offset.lower().replace("-", "").replace("_", "")
    if key in ("gcj02", "gcj", "amap", "tencent"):
        return gcj02_to_wgs84(lon, lat)
    if key in ("bd09", "bd", "baidu"):
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown coordinate offset {offset!r} (use gcj02 or bd09)")
