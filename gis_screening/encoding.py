"""Detect the text encoding of shapefile attribute tables and text files.

Order (domain.md): ``.cpg`` → dBASE language-driver byte (LDID) → strict UTF-8 → GB18030.
Every decision is returned with a reason, so the importer can report it and the user can override.
"""
from __future__ import annotations

import codecs
import re
import struct
from dataclasses import dataclass
from pathlib import Path

# LDIDs that name a CJK code page outright.
_CJK_LDID = {0x4D: "gb18030", 0x7A: "gb18030", 0x4E: "cp949", 0x4F: "big5", 0x7B: "cp949",
             0x78: "big5", 0x7C: "cp874", 0x13: "cp932", 0x7D: "cp1255", 0x7E: "cp1256"}
_CPG_ALIASES = {"65001": "utf-8", "utf8": "utf-8", "936": "gb18030", "cp936": "gb18030", "gbk": "gb18030",
                "gb2312": "gb18030", "gb18030": "gb18030", "ansi936": "gb18030", "950": "big5",
                "1252": "cp1252", "88591": "latin-1", "iso88591": "latin-1", "437": "cp437"}


@dataclass(frozen=True)
class EncodingGuess:
    """An encoding (a Python codec name) and how it was decided."""

    encoding: str
    reason: str
    sure: bool = True

    @property
    def label(self) -> str:
        return {"gb18030": "GBK/GB18030", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)"}.get(
            self.encoding, self.encoding)


def normalise_encoding_name(name: str) -> str:
    """Python codec name for a user- or file-given encoding name (``GBK``, ``936``, ``UTF8``…)."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def dbf_text_bytes(dbf: Path, limit: int = 8 << 20) -> tuple[int, bytes, list[tuple[int, str, bytes]]]:
    """Read a .dbf: return (LDID byte, all character-field bytes joined, per-record failures sample).

    The third item lists ``(record_no, field_name, raw_bytes)`` for every non-ASCII character value,
    so callers can name the first record/field that fails to decode.
    """
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            raise ValueError("dbf header truncated")
        n_rec, hdr_len, rec_len = struct.unpack("<IHH", head[4:12])
        ldid = head[29]
        fields = []
        offset = 1  # deletion flag
        while True:
            desc = fh.read(32)
            if not desc or desc[0] == 0x0D:
                break
            name = desc[:11].split(b"\x00")[0].decode("latin-1")
            ftype = chr(desc[11])
            flen = desc[16]
            if ftype in "CM":
                fields.append((name, offset, flen))
            offset += flen
        fh.seek(hdr_len)
        data = fh.read(min(n_rec * rec_len, limit))
    chunks, samples = [], []
    for i in range(len(data) // max(rec_len, 1)):
        rec = data[i * rec_len:(i + 1) * rec_len]
        for name, off, flen in fields:
            raw = rec[off:off + flen].rstrip(b" \x00")
            if raw and max(raw) > 0x7F:
                chunks.append(raw)
                samples.append((i + 1, name, raw))
    return ldid, b"\n".join(chunks), samples


def detect_dbf_encoding(shp_or_dbf: str | Path) -> EncodingGuess:
    """Detect the encoding of a shapefile's attribute table (pass the .shp or .dbf path)."""
    path = Path(shp_or_dbf)
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        alt = path.with_suffix(".DBF")
        dbf = alt if alt.exists() else dbf
    cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
    ldid, text, samples = dbf_text_bytes(dbf)
    if cpg is not None:
        declared_raw = cpg.read_text(encoding="ascii", errors="replace").strip()
        try:
            declared = normalise_encoding_name(declared_raw)
        except ValueError:
            declared = None
        if declared and _decodes(text, declared):
            return EncodingGuess(declared, f".cpg declares {declared_raw}")
        bad = _first_failure(samples, declared or "utf-8")
        fallback = _content_guess(text)
        where = f" (record {bad[0]}, field {bad[1]!r})" if bad else ""
        return EncodingGuess(fallback.encoding,
                             f".cpg declares {declared_raw!r} but the text does not decode that way{where}; "
                             f"read as {fallback.label} instead — override the encoding if this is wrong",
                             sure=False)
    if ldid in _CJK_LDID and _decodes(text, _CJK_LDID[ldid]):
        return EncodingGuess(_CJK_LDID[ldid], f"dbf language driver byte 0x{ldid:02X}")
    guess = _content_guess(text)
    if ldid not in (0, *_CJK_LDID):
        return EncodingGuess(guess.encoding, f"no .cpg; dbf language byte 0x{ldid:02X} names a non-CJK code page, "
                             f"but {guess.reason}", sure=False)
    return EncodingGuess(guess.encoding, f"no .cpg and no language byte; {guess.reason}", sure=guess.sure)


#: MapInfo character sets that name a code page GDAL recodes from; any other (``Neutral``, none) leaves bytes as
#: they are, and the text is read by its content
_MAPINFO_CHARSET = re.compile(rb'^\s*!?charset\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE | re.MULTILINE)


def detect_mapinfo_encoding(path: str | Path) -> EncodingGuess | None:
    """The encoding of a MapInfo table (``.tab`` with its ``.dat``, or ``.mif`` with its ``.mid``): None when
    the header declares a character set other than ``Neutral`` (GDAL recodes that to UTF-8 itself); else read
    from the content of the header and the attribute file (strict UTF-8, then GBK/GB18030), as for a .dbf."""
    path = Path(path)
    head = path.read_bytes()[: 1 << 16]
    m = _MAPINFO_CHARSET.search(head)
    charset = m.group(1).decode("ascii") if m else None
    if charset and charset.lower() != "neutral":
        return None
    data = path.with_suffix(".mid" if path.suffix.lower() == ".mif" else ".dat")
    if not data.exists():
        data = data.with_suffix(data.suffix.upper())
    if path.suffix.lower() == ".tab" and data.exists():
        text = dbf_text_bytes(data)[1]           # a .dat is a dBASE table
    else:
        text = data.read_bytes()[: 8 << 20] if data.exists() else b""
    guess = _content_guess(head + b"\n" + text)
    why = f"MapInfo character set {charset or 'not declared'}; {guess.reason}"
    return EncodingGuess(guess.encoding, why, sure=guess.sure and guess.encoding == "utf-8")


def _first_failure(samples, encoding):
    for rec, name, raw in samples:
        if not _decodes(raw, encoding):
            return rec, name
    return None


def _content_guess(data: bytes) -> EncodingGuess:
    if not data or max(data) < 0x80:
        return EncodingGuess("utf-8", "text is plain ASCII")
    if _decodes(data, "utf-8"):
        return EncodingGuess("utf-8", "text decodes as strict UTF-8")
    if _decodes(data, "gb18030"):
        return EncodingGuess("gb18030", "text is not UTF-8 and decodes as GBK/GB18030")
    return EncodingGuess("latin-1", "text is neither UTF-8 nor GBK; read byte-for-byte as Latin-1", sure=False)


def detect_text_encoding(data: bytes) -> EncodingGuess:
    """Encoding of a text file's bytes: BOM, then strict UTF-8, then GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf-8-sig", "UTF-8 byte-order mark")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingGuess("utf-16", "UTF-16 byte-order mark")
    return _content_guess(data)


def read_text(path: str | Path, encoding: str | None = None) -> tuple[str, EncodingGuess]:
    """Read a text file with a given or detected encoding; returns (text, guess)."""
    data = Path(path).read_bytes()
    if encoding:
        enc = normalise_encoding_name(encoding)
        guess = EncodingGuess(enc, "given by the user")
    else:
        guess = detect_text_encoding(data)
    return data.decode(guess.encoding, errors="replace"), guess
