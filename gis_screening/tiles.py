"""Optional XYZ basemap tiles (e.g. 天地图 with the user's key) with an on-disk cache; never required.

Web-Mercator XYZ scheme.  Tiles are fetched with a short timeout; failures (no network, bad key) return None
so the map simply draws without them.
"""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
import urllib.request
from pathlib import Path

from platformdirs import user_cache_dir


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of an XYZ tile."""
    n = 2 ** z

    def lat(yy):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))
    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def tiles_for(west: float, south: float, east: float, north: float, z: int) -> list[tuple[int, int, int]]:
    """XYZ tiles covering a lon/lat box at zoom ``z``."""
    n = 2 ** z

    def tx(lon):
        return int((lon + 180) / 360 * n)

    def ty(lat):
        r = math.radians(lat)
        return int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n)
    return [(z, x, y) for x in range(tx(west), tx(east) + 1) for y in range(ty(north), ty(south) + 1)]


class TileSource:
    """An XYZ URL template (``{z}/{x}/{y}`` and optional ``{key}``) with a disk cache."""

    def __init__(self, template: str, key: str = "", cache_dir: str | Path | None = None, timeout: float = 3.0):
        self.template, self.key, self.timeout = template, key, timeout
        tag = hashlib.sha256(template.encode()).hexdigest()[:12]
        self.cache = Path(cache_dir or Path(user_cache_dir("gis-screening")) / "tiles") / tag
        self.failures = 0

    def url(self, z: int, x: int, y: int) -> str:
        return self.template.format(z=z, x=x, y=y, key=self.key, s=(x + y) % 8)

    def get(self, z: int, x: int, y: int) -> bytes | None:
        """Tile bytes from the cache, else fetched and cached atomically; None when unavailable."""
        path = self.cache / str(z) / str(x) / f"{y}.img"
        if path.exists():
            return path.read_bytes()
        try:
            req = urllib.request.Request(self.url(z, x, y), headers={"User-Agent": "gis-screening"})
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = resp.read()
        except Exception:   # offline, refused, bad key: the basemap is optional
            self.failures += 1
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        return data
