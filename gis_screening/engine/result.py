"""The screening-result JSON (contracts/screening-result.schema.json): validate and write atomically."""
from __future__ import annotations

import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import jsonschema

SCHEMA_PATH = Path(__file__).with_name("screening-result.schema.json")


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(doc: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``doc`` breaks the result contract."""
    jsonschema.validate(doc, schema(), format_checker=jsonschema.FormatChecker())


def write_json(doc: dict, path: str | Path) -> Path:
    """Validate and write ``doc`` as UTF-8 JSON via a temp file + rename (never half-written)."""
    validate(doc)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp files are private; results are ordinary documents
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
