"""Guards for every file a user hands us: regular files only, bounded size, bounded YAML/JSON structure.

A directory, FIFO, device (``/dev/zero``) or unreadable file is refused up front with one line naming it;
structured text (manifests, sheets, packs, sessions) is read with a size cap, a nesting-depth cap and an alias
cap, so "billion laughs" documents and deep nesting are errors, not hangs.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import yaml

from .errors import InputError

MAX_TEXT_BYTES = 64 * 1024 * 1024      # manifests, sheets, packs, sessions
MAX_DEPTH = 64                         # nesting of mappings/sequences
MAX_ALIASES = 1000                     # YAML alias uses (anchors are fine; exponential reuse is not)


def portable_path(text: str) -> str:
    """A relative path as written in a manifest or sheet, with Windows separators (``zones\\单元.shp``, as a
    reviewer types it on Windows) turned into ``/``, which every system reads; a database address is kept."""
    return text if "://" in text else text.replace("\\", "/")


def not_found(path: str | Path, what: str = "file") -> str:
    """"``what`` not found", adding the file that differs from ``path`` only in letter case where one exists (a
    manifest or sheet written on Windows, where ``Zones\\STBHHX.GPKG`` opens ``zones/STBHHX.gpkg``, read here,
    where it does not).  The file is named, never opened in its place: here two names differing in case are two
    files."""
    path = Path(path)
    found = Path(path.anchor)
    for part in path.parts[1:] if path.anchor else path.parts:
        if part in (".", ".."):
            found /= part
            continue
        try:
            names = os.listdir(found)
        except OSError:
            return f"{what} not found"
        match = next((n for n in names if n == part), None) or next(
            (n for n in names if n.casefold() == part.casefold()), None)
        if match is None:
            return f"{what} not found"
        found /= match
    return f"{what} not found; {found} differs from it only in letter case" if found != path else f"{what} not found"


def check_input_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a Path when it is a readable regular file (or an ESRI File Geodatabase folder, ``*.gdb``);
    otherwise InputError naming it and why."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(not_found(path, what), file=path) from None
    except OSError as exc:
        raise InputError(f"cannot open {what}: {exc.strerror}", file=path) from None
    if stat.S_ISDIR(st.st_mode) and path.suffix.lower() != ".gdb":      # a File Geodatabase is a folder
        raise InputError(f"{what} is a folder; give a file", file=path)
    if stat.S_ISDIR(st.st_mode):
        return path
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} is not a regular file (a FIFO, device or socket)", file=path)
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot open {what}: permission denied", file=path)
    return path


def read_text_limited(path: str | Path, max_bytes: int = MAX_TEXT_BYTES, encoding: str = "utf-8-sig") -> str:
    """The text of a regular file of at most ``max_bytes``; InputError otherwise (also for bad UTF-8)."""
    path = check_input_file(path)
    if path.stat().st_size > max_bytes:
        raise InputError(f"file is larger than {max_bytes // (1024 * 1024)} MiB; not a manifest, sheet or session",
                         file=path)
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        try:
            data.decode("gbk")
            how = ("; it reads as GBK (ANSI), as Windows Notepad and older editors save: save it as UTF-8 (记事本: "
                   "另存为 → 编码 UTF-8)")
        except UnicodeDecodeError:
            how = "; save the file as UTF-8"
        raise InputError(f"not UTF-8 text (byte {exc.start}){how}", file=path) from None


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with caps on nesting depth and alias uses; timestamps stay strings (dates are parsed by the
    schemas that expect them, so a wrong date is a field error, not a crash)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise InputError(f"more than {MAX_ALIASES} YAML alias uses (an alias bomb?)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise InputError(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_BoundedLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class _PackagedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader (about 5× faster) for the files shipped with the package (catalog, bundled rule
    packs): same tags as :class:`_BoundedLoader`; user files always go through the bounded loader."""


_PackagedLoader.yaml_implicit_resolvers = _BoundedLoader.yaml_implicit_resolvers


def _packaged(path: Path) -> bool:
    from .resources import data_dir
    try:
        real = path.resolve()
        return any(real.is_relative_to(data_dir(name)) for name in ("layers", "rules"))
    except OSError:          # no such file, or no package data folder
        return False


def _depth_ok(obj, limit: int = MAX_DEPTH) -> bool:
    stack = [(obj, 1)]
    seen = 0
    while stack:
        o, d = stack.pop()
        seen += 1
        if d > limit or seen > 5_000_000:
            return False
        if isinstance(o, dict):
            stack += [(v, d + 1) for v in o.values()]
        elif isinstance(o, list):
            stack += [(v, d + 1) for v in o]
    return True


def load_structured(path: str | Path, fmt: str | None = None):
    """Parse a YAML or JSON file (``fmt``, default by suffix) within the limits above; InputError names the file
    and the problem."""
    path = Path(path)
    text = read_text_limited(path)
    try:
        if (fmt or ("json" if path.suffix.lower() == ".json" else "yaml")) == "json":
            doc = json.loads(text)
        else:
            loader = _PackagedLoader if _packaged(path) else _BoundedLoader
            doc = yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader subclasses
    except InputError as exc:
        raise InputError(exc.message, file=path) from None
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", file=path) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise InputError(f"cannot parse: {' '.join(str(exc).split())[:300]}", file=path) from None
    if not _depth_ok(doc):
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", file=path)
    return doc
