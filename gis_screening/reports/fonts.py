"""Find an installed CJK font with TrueType outlines (embeddable by reportlab and matplotlib).

Order: ``$GIS_SCREENING_FONT``; known paths on Debian/Ubuntu, Windows and macOS; then any font fontconfig
lists for Chinese that has a ``glyf`` table.  CFF-outline OpenType fonts (e.g. Noto Sans CJK .ttc) are skipped
because reportlab cannot embed them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from ..errors import InputError

KNOWN = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "C:/Windows/Fonts/msyh.ttc", "C:/Windows/Fonts/simhei.ttf", "C:/Windows/Fonts/simsun.ttc",
    "/Library/Fonts/Arial Unicode.ttf", "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
]


def _truetype_with_cjk(path: Path) -> bool:
    try:
        from fontTools.ttLib import TTCollection, TTFont
        font = TTCollection(str(path)).fonts[0] if path.suffix.lower() == ".ttc" else TTFont(str(path), lazy=True)
        return "glyf" in font and ord("国") in font.getBestCmap()
    except Exception:
        return False


@lru_cache(maxsize=1)
def find_cjk_font() -> Path:
    """Path of an embeddable CJK TrueType font, or :class:`InputError` saying what to install."""
    env = os.environ.get("GIS_SCREENING_FONT")
    candidates = ([env] if env else []) + KNOWN
    for c in candidates:
        p = Path(c)
        if p.exists() and _truetype_with_cjk(p):
            return p
    if shutil.which("fc-list"):
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
        for line in sorted(out.splitlines()):
            p = Path(line.split(":")[0].strip())
            if p.suffix.lower() in (".ttf", ".ttc") and _truetype_with_cjk(p):
                return p
    raise InputError("no embeddable Chinese (CJK TrueType) font found: install fonts-wqy-microhei "
                     "(Debian/Ubuntu), or set GIS_SCREENING_FONT to a .ttf/.ttc such as simhei.ttf")
