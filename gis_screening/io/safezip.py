"""Safe extraction of zipped layers (zipped shapefiles, KMZ): no path traversal, no zip bombs."""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import InputError

MAX_TOTAL_BYTES = 4 << 30     # 4 GiB uncompressed in all
MAX_RATIO = 200               # uncompressed/compressed per member
MAX_MEMBERS = 10_000


def _decode_name(info: zipfile.ZipInfo) -> str:
    """Member name; zips made on Chinese Windows store GBK names without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def extract_zip(path: str | Path, dest: str | Path | None = None) -> Path:
    """Check and extract ``path`` into ``dest`` (a new temp folder by default); return the folder.

    Raises :class:`InputError` naming the member for absolute paths, ``..`` components, more than
    ``MAX_MEMBERS`` members, a compression ratio over ``MAX_RATIO`` or a total over ``MAX_TOTAL_BYTES``.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip archive ({exc})", file=path) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(f"zip has {len(infos)} members (limit {MAX_MEMBERS})", file=path)
        total = 0
        for info in infos:
            name = _decode_name(info)
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                raise InputError(f"zip member {name!r} would be written outside the extraction folder "
                                 "(path traversal); refusing to extract", file=path)
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
                raise InputError(f"zip member {name!r} expands {info.file_size / info.compress_size:.0f}× "
                                 f"to {info.file_size} bytes (a zip bomb?); refusing to extract", file=path)
            if total > MAX_TOTAL_BYTES:
                raise InputError(f"zip expands to more than {MAX_TOTAL_BYTES >> 30} GiB; refusing to extract",
                                 file=path)
        out = Path(dest) if dest else Path(tempfile.mkdtemp(prefix="gis-screening-zip-"))
        for info in infos:
            name = _decode_name(info)
            target = out.joinpath(*PurePosixPath(name.replace("\\", "/")).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                remaining = info.file_size + 1
                while chunk := src.read(1 << 20):
                    remaining -= len(chunk)
                    if remaining < 0:
                        raise InputError(f"zip member {name!r} is larger than its header says", file=path)
                    dst.write(chunk)
    return out


#: an XLSX we read is a table of coordinates, sheets or 准入清单 rows: far below this when unpacked
MAX_WORKBOOK_BYTES = 256 << 20


def check_workbook(path: str | Path) -> Path:
    """Refuse an XLSX whose parts unpack to more than :data:`MAX_WORKBOOK_BYTES` (e.g. a shared-strings bomb)
    before a spreadsheet library inflates it in memory; legacy .xls (not a zip) passes through."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xls", ".docx") or not zipfile.is_zipfile(path):  # an XLSX as .xls too
        return path
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(f"workbook has {len(infos)} parts (limit {MAX_MEMBERS})", file=path)
        total = sum(i.file_size for i in infos)
    if total > MAX_WORKBOOK_BYTES:
        biggest = max(infos, key=lambda i: i.file_size)
        raise InputError(f"workbook unpacks to {total >> 20} MiB (limit {MAX_WORKBOOK_BYTES >> 20} MiB; largest part "
                         f"{biggest.filename}, {biggest.file_size >> 20} MiB); not a table this program reads",
                         file=path)
    return path
