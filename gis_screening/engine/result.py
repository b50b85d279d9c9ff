"""The screening-result JSON (screening-result.schema.json beside this file): write atomically, validate.

Writing uses orjson (NaN/inf become ``null``, so the output is always valid JSON); the whole-document schema
check (:func:`validate`) belongs in the tests, not on the product path, where it cost more than screening.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..atomic import atomic_path, start_writeback
from ..errors import InputError
from .words import decisive_titles

SCHEMA_PATH = Path(__file__).with_name("screening-result.schema.json")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def validate(doc: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``doc`` breaks the result contract."""
    import jsonschema
    jsonschema.validate(doc, schema(), format_checker=jsonschema.FormatChecker())


def dumps(doc: dict[str, Any], indent: bool = True) -> bytes:
    """UTF-8 JSON bytes of ``doc`` (Chinese kept as is)."""
    return orjson.dumps(doc, option=(orjson.OPT_INDENT_2 if indent else 0) | orjson.OPT_SERIALIZE_NUMPY)


#: What :func:`dumps` writes around a result held in ``{"results": [result]}`` (:func:`result_bytes`).
_AROUND_RESULT = (len(b'{\n  "results": [\n    '), len(b'\n  ]\n}'))


def result_bytes(result: Any) -> bytes:
    """A project result's JSON exactly as :func:`dumps` writes it in its place in the document
    (``doc["results"][i]``, two levels in), where :func:`write_json` writes it as is: dumped in such a place and
    cut out of it (indenting it afterwards took a third longer)."""
    head, tail = _AROUND_RESULT
    return dumps({"results": [result]})[head:-tail]


#: :func:`write_json` writes the results in pieces of about this many bytes.
WRITE_PIECE = 1 << 20


def write_json(doc: dict[str, Any], path: str | Path) -> Path:
    """Write ``doc`` as UTF-8 JSON via a temp file + rename (never half-written), byte for byte what :func:`dumps`
    gives.  A document whose last key is ``results`` (a result document) is written in pieces: the document
    without its results, then the results one after another, each encoded on its own — or written as it is when
    it is given encoded already (bytes of :func:`result_bytes`, as a forked copy sends them: see
    :meth:`~gis_screening.engine.screen.ScreeningResult.to_json`) — so no whole copy of a 60 MB document is
    made in memory (its pages cost more than encoding it: a 10,200-project document 0.12–0.25 s → 0.1 s)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        stream_json(doc, out, written=start_writeback)     # the disk writes each piece while the next is made
    return Path(path)


def stream_json(doc: dict[str, Any], out: BinaryIO, written: Callable[[BinaryIO], None] | None = None) -> None:
    """Write ``doc`` to ``out`` as :func:`write_json` writes it into its file (a result document in pieces);
    ``written(out)`` after each piece of :data:`WRITE_PIECE` bytes."""
    results = doc.get("results")
    if not isinstance(results, list) or not results or next(reversed(doc)) != "results":
        out.write(dumps(doc))
        return
    head = dumps({**doc, "results": []})
    out.write(head[:-len(b"[]\n}")] + b"[")
    parts: list[bytes | memoryview] = []
    size, sep = 0, b"\n    "
    for r in results:
        encoded = r if isinstance(r, (bytes, memoryview)) else result_bytes(r)
        parts += (sep, encoded)
        sep = b",\n    "
        size += len(encoded)
        if size >= WRITE_PIECE:
            out.write(b"".join(parts))
            parts, size = [], 0
            if written is not None:
                written(out)
    parts.append(b"\n  ]\n}")
    out.write(b"".join(parts))


def write_jsonl(header: dict[str, Any], results: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """One JSON object per line: first the document without ``results`` (``"type": "header"``), then each
    project result; streamed into the temp file, renamed when complete."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        stream_jsonl(header, results, fh)
    return Path(path)


def stream_jsonl(header: dict[str, Any], results: Iterable[dict[str, Any]], out: BinaryIO) -> None:
    """Write the lines of :func:`write_jsonl` to ``out``."""
    out.write(orjson.dumps({"type": "header", **header}) + b"\n")
    for r in results:
        out.write(orjson.dumps(r, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")


def verdict_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per project of a result document: id, name, verdict (code and label), decisive rule titles
    (and ids, for machines), area (m²), length (m), number of findings."""
    rows = []
    for r in doc["results"]:
        p = r["project"]
        rows.append({"id": p["id"], "name": p.get("name"), "verdict": r["verdict"], "verdict_label": r["verdict_label"],
                     "decisive_titles": "；".join(decisive_titles(r)),
                     "decisive_rules": ";".join(r.get("decisive_rules", [])),
                     "area_m2": p.get("area_m2"), "length_m": p.get("length_m"), "findings": len(r["findings"])})
    return rows


def write_verdicts(doc: dict[str, Any], footprints: dict[str, Any], path: str | Path) -> Path:
    """GeoPackage of the footprints (EPSG:4490) with the :func:`verdict_rows` columns, written atomically."""
    import geopandas as gpd
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise InputError("verdict layer must be a .gpkg file", file=path)
    rows = verdict_rows(doc)
    gdf = gpd.GeoDataFrame(rows, geometry=[footprints.get(r["id"]) for r in rows], crs=4490)
    with atomic_path(path) as tmp:
        tmp.unlink(missing_ok=True)
        gdf.to_file(tmp, driver="GPKG", layer="screening")
    return path
