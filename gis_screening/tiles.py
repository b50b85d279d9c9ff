"""Optional XYZ basemap tiles (e.g. 天地图 with the user's key) with an on-disk cache; never required.

Web-Mercator XYZ scheme.  Drawing code reads only the cache; missing tiles are fetched in the background with a
short timeout; failures (no network, bad key) leave them out, so the map simply draws without them.
"""
from __future__ import annotations

import hashlib
import math
import threading
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from platformdirs import user_cache_dir

from .atomic import write_bytes


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of an XYZ tile."""
    n = 2 ** z

    def lat(yy):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))
    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def zoom_for(deg_per_px: float) -> int:
    """The XYZ zoom (0–18) whose 256-pixel tiles show about ``deg_per_px`` degrees of longitude per pixel."""
    return max(0, min(18, int(round(math.log2(360 / 256 / max(deg_per_px, 1e-12))))))


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
    """An XYZ URL template (``{z}/{x}/{y}`` and optional ``{key}``) with a disk cache.

    ``cached()`` reads the cache only (what drawing code calls); ``get()`` fetches and caches (network, seconds);
    ``fetch_async()`` fetches missing tiles on two background threads and calls back as each one arrives."""

    def __init__(self, template: str, key: str = "", cache_dir: str | Path | None = None, timeout: float = 3.0):
        self.template, self.key, self.timeout = template, key, timeout
        tag = hashlib.sha256(template.encode()).hexdigest()[:12]
        self.cache = Path(cache_dir or Path(user_cache_dir("gis-screening")) / "tiles") / tag
        self.failures = 0
        self._pending: set[tuple[int, int, int]] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def url(self, z: int, x: int, y: int) -> str:
        return self.template.format(z=z, x=x, y=y, key=self.key, s=(x + y) % 8)

    def _path(self, z: int, x: int, y: int) -> Path:
        return self.cache / str(z) / str(x) / f"{y}.img"

    def has(self, z: int, x: int, y: int) -> bool:
        """Whether the tile is in the disk cache."""
        return self._path(z, x, y).exists()

    def cached(self, z: int, x: int, y: int) -> bytes | None:
        """Tile bytes from the disk cache, or None (never touches the network)."""
        path = self._path(z, x, y)
        return path.read_bytes() if path.exists() else None

    def get(self, z: int, x: int, y: int) -> bytes | None:
        """Tile bytes from the cache, else fetched and cached atomically; None when unavailable."""
        data = self.cached(z, x, y)
        if data is not None:
            return data
        try:
            req = urllib.request.Request(self.url(z, x, y), headers={"User-Agent": "gis-screening"})
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = resp.read()
        except Exception:   # offline, refused, bad key: the basemap is optional
            self.failures += 1
            return None
        self._path(z, x, y).parent.mkdir(parents=True, exist_ok=True)
        write_bytes(self._path(z, x, y), data)
        return data

    def fetch_async(self, tiles, arrived: Callable[[], None]) -> int:
        """Fetch the tiles of ``tiles`` not cached and not already on their way, in the background; ``arrived()`` is
        called (from a worker thread) after each tile is cached.  Returns how many were queued."""
        with self._lock:
            todo = [t for t in tiles if t not in self._pending and not self.has(*t)]
            self._pending.update(todo)
            if todo and self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tiles")

        def one(t):
            try:
                if self.get(*t) is not None:
                    arrived()
            finally:
                with self._lock:
                    self._pending.discard(t)
        pool = self._pool
        for t in todo:
            if pool is not None:
                pool.submit(one, t)
        return len(todo)
