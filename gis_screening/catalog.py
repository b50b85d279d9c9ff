"""The layer catalog (``layers/*.yaml``): roles, canonical fields, aliases, value domains, styles.

Loaded once and validated with pydantic; a malformed catalog is an :class:`InputError` naming the file
and the key.  Users extend it by dropping another YAML file next to it (or passing ``extra`` paths):
aliases and domain spellings are merged, so a city adds its field names without touching code.
"""
from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import InputError, validated
from .limits import load_structured
from .mappings import merge_into
from .resources import data_dir


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    required: bool = False
    aliases: list[str] = Field(default_factory=list)
    domain: str | None = None
    text: bool = False


class RoleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    keywords: list[str] = Field(default_factory=list)  # words in file/layer names that suggest this role
    geometry: Literal["polygon", "line", "point", "any"]
    id_field: str
    name_field: str
    unique_id: bool = True   # duplicate ids are an error (unit codes); False where one id spans several rows
    fields: dict[str, FieldSpec]


class Style(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fill: str = "#00000000"
    outline: str = "#000000"
    hatch: Literal["diagonal", "cross", "horizontal", "vertical"] | None = None
    width: float = 0.8


class RoleStyle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = None
    values: dict[str, Style] = Field(default_factory=dict)
    default: Style = Field(default_factory=Style)

    def for_value(self, value: object) -> Style:
        """Style for a feature whose ``by`` field has ``value``."""
        return self.values.get(str(value), self.default) if self.by else self.default


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    roles: dict[str, RoleSpec]
    domains: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    # words that name one canonical value inside a longer spelling (重点管控单元（工业园区类） → 重点管控单元)
    domain_terms: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    styles: dict[str, RoleStyle] = Field(default_factory=dict)

    # ---- lookups -------------------------------------------------------------------------
    def role(self, role: str) -> RoleSpec:
        try:
            return self.roles[role]
        except KeyError:
            raise InputError(f"unknown layer role {role!r}; known roles: {', '.join(self.roles)}") from None

    def style(self, role: str) -> RoleStyle:
        return self.styles.get(role, RoleStyle())

    def match_fields(self, role: str, columns: Iterable[str],
                     explicit: dict[str, str] | None = None) -> dict[str, str]:
        """Map source column names to canonical names for ``role``.

        ``explicit`` (canonical -> source column) wins; then each canonical field takes the first of
        its aliases (or its own name) found among ``columns``, compared after :func:`fold`.  Returns
        ``{source_column: canonical}``.
        """
        spec = self.role(role)
        cols = [c for c in columns if c != "geometry"]
        folded = {fold(c): c for c in cols}
        mapping: dict[str, str] = {}
        taken: set[str] = set()
        for canon, src in (explicit or {}).items():
            if src not in cols:
                src = folded.get(fold(src), src)
            mapping[src] = canon
            taken.add(canon)
        # a column named with a note or unit in brackets (行业代码（GB/T 4754）, 建设性质(新建/扩建)) answers to its name
        bare: dict[str, str] = {}
        for c in cols:
            stripped = fold(without_note(str(c)))
            if stripped != fold(c) and stripped:
                bare.setdefault(stripped, c)
        for pass_ in (0, 1, 2):  # exact names first, then names cut to the dBASE 10-byte limit, then bracketed notes
            for canon, fspec in spec.fields.items():
                if canon in taken:
                    continue
                for name in [canon, *fspec.aliases]:
                    keys = [fold(name)] if pass_ != 1 else sorted(_dbf_truncations(name))
                    where = bare if pass_ == 2 else folded
                    found = next((where[k] for k in keys if k in where and where[k] not in mapping), None)
                    if found is not None:
                        src = found
                        mapping[src] = canon
                        taken.add(canon)
                        break
        return mapping

    def guess_role(self, columns: Iterable[str], name: str = "") -> list[tuple[str, float]]:
        """Rank roles for a dropped file: fields matched (required count double) plus name keywords.

        Returns ``[(role, score), …]`` best first, only roles the file shows signs of: a keyword of the role in
        its name, or a field of the role that other roles do not have — a ``name`` and a ``level`` say nothing of
        what the features are (a county boundary file has them too).  The UI asks the user to confirm the first.
        """
        cols = list(columns)
        folded_name = fold(name)
        counts = Counter(f for role, spec in self.roles.items() if role != "other" for f in spec.fields)
        shared = {f for f, n in counts.items() if n > 1}          # code, name, level…: in several roles
        scores = []
        for role, spec in self.roles.items():
            if role == "other":
                continue
            mapped = set(self.match_fields(role, cols).values())
            required = [f for f, fs in spec.fields.items() if fs.required]
            telling = sum(2.0 if spec.fields[f].required else 1.0 for f in mapped - shared)
            keywords = sum(1 for k in spec.keywords if fold(k) in folded_name)
            if not telling and not keywords:
                continue
            score = telling + 0.5 * len(mapped & shared) + 3.0 * keywords
            if set(required) - shared and all(f in mapped for f in required):
                score += 2.0
            scores.append((role, score))
        return sorted(scores, key=lambda rs: -rs[1])

    def normalise_value(self, domain: str, value: object) -> str | None:
        """Canonical spelling of ``value`` in ``domain``, or ``None`` when it is not recognised."""
        if value is None:
            return None
        text = fold(str(value))
        if text.endswith(".0") and text[:-2].isdigit():  # 1.0 from a float dbf column
            text = text[:-2]
        for canon, spellings in self.domains.get(domain, {}).items():
            if text == fold(canon) or text in {fold(s) for s in spellings}:
                return canon
        return None

    def value_by_terms(self, domain: str, value: object) -> tuple[str, str] | None:
        """(canonical value, the word read) for a spelling :meth:`normalise_value` does not know that contains the
        words (``domain_terms``) of exactly one canonical value of ``domain``: ``重点管控单元（工业园区类）`` →
        重点管控单元 by 重点管控, ``地表水一级保护区`` → 一级保护区 by 一级.  None when it contains none, or words of
        two values (``一级、二级保护区``)."""
        if value is None:
            return None
        text = fold(str(value))
        found = {canon: word for canon, words in self.domain_terms.get(domain, {}).items()
                 for word in words if fold(word) in text}
        return next(iter(found.items())) if len(found) == 1 else None


_WS = re.compile(r"\s+")
_NOTE = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def without_note(name: str) -> str:
    """A column name without the note or unit in brackets at its end: 行业代码（GB/T 4754-2017） → 行业代码,
    X坐标(m) → X坐标."""
    return _NOTE.sub("", name)


def fold(name: str) -> str:
    """Fold a field name or value for matching: no whitespace (incl. newlines, full-width space), lower case."""
    return _WS.sub("", str(name).replace("\u3000", "")).lower()


def _dbf_truncations(name: str) -> set[str]:
    """Folded forms of ``name`` cut to the 10-byte dBASE field-name limit in GBK and UTF-8."""
    out = set()
    for enc in ("gb18030", "utf-8"):
        raw = fold(name).encode(enc)
        if len(raw) > 10:
            cut = raw[:10].decode(enc, errors="ignore")
            if len(cut) >= 2:
                out.add(cut)
    return out


def load_catalog(paths: Iterable[str | Path] | None = None) -> Catalog:
    """Load ``layers/catalog.yaml`` plus any other ``layers/*.yaml`` and the given extra files, merged."""
    folder = data_dir("layers")
    files = [folder / "catalog.yaml"] + sorted(p for p in folder.glob("*.yaml") if p.name != "catalog.yaml")
    files += [Path(p) for p in (paths or [])]
    merged: dict = {}
    for f in files:
        doc = load_structured(f) or {}
        if not isinstance(doc, dict):
            raise InputError("layer catalog must be a mapping", file=f)
        doc.pop("extends", None)
        merge_into(merged, doc, append_lists=True)
    return validated(Catalog, merged, file=files[-1] if paths else files[0])


_DEFAULT_LOCK = threading.Lock()


def default_catalog() -> Catalog:
    """The catalog shipped with the package, loaded once per process (a thread asking while another loads it waits
    for that one: the CLI reads the layer set and the projects at once, and both ask)."""
    with _DEFAULT_LOCK:
        return _default_catalog()


@lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    return load_catalog()
