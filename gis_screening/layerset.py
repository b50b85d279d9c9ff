"""Layer-set manifests (contracts/layers.md): which files make up a screening, loaded into a LayerSet."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .catalog import Catalog, default_catalog
from .errors import InputError, validated
from .io.layer_cache import cached_read_layer, source_files, source_signature
from .io.postgis import is_postgres
from .limits import portable_path
from .model import LayerSet

#: a path relative to the manifest (Windows separators read too) or a database address
Source = Annotated[str, AfterValidator(portable_path)]


class LayerEntry(BaseModel):
    """One layer of a manifest. Paths are relative to the manifest."""

    model_config = ConfigDict(extra="forbid")
    role: str
    source: Source
    name: str | None = None
    layer: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    encoding: str | None = None
    crs: str | None = None
    zone: int | None = None
    offset: str | None = None
    towgs84: str | None = None


class AdmissionListEntry(BaseModel):
    """A 准入清单 table (XLSX/XLS/CSV/DOCX; one row a unit, or one requirement a row) joined onto the control units."""

    model_config = ConfigDict(extra="forbid")
    source: Source
    sheet: str | None = None
    key: str = "code"
    fields: dict[str, str] = Field(default_factory=dict)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    layers: list[LayerEntry]
    admission_lists: list[AdmissionListEntry] = Field(default_factory=list)
    rule_packs: list[Source] = Field(default_factory=list)
    #: layers (roles, or ``other:<name>``) this area has no feature of, declared by whoever compiled the set
    absent: list[str] = Field(default_factory=list)
    description: str | None = None


def load_manifest(path: str | Path) -> Manifest:
    """Parse and validate a manifest file; errors name the file and the key."""
    from .limits import check_input_file, load_structured
    path = check_input_file(path, "layer-set manifest")
    doc = load_structured(path)
    if not isinstance(doc, dict):
        raise InputError("a layer-set manifest is a YAML mapping with `name` and `layers`", file=path)
    return validated(Manifest, doc, file=path)


def load_layerset(path: str | Path, catalog: Catalog | None = None,
                  progress: Callable[[int, int, str], None] | None = None,
                  cache: bool | str | Path = True, cache_writes: list[Callable[[], None]] | None = None) -> LayerSet:
    """Load every layer of a manifest (paths relative to it) into a :class:`LayerSet`.  Loaded file layers are
    cached by the signature of their files (:mod:`gis_screening.io.layer_cache`): ``cache`` is True for the user
    cache folder, a folder, or False to always read the sources.  ``cache_writes``: a list to which the writing of
    the layers' new cache entries is appended instead of being done now (see ``screening.screen``)."""
    path = Path(path)
    manifest = load_manifest(path)
    catalog = catalog or default_catalog()
    base = path.parent
    ls = LayerSet(name=manifest.name, manifest_path=str(path), catalog=catalog)
    for i, entry in enumerate(manifest.layers):
        if entry.role not in catalog.roles:
            raise InputError(f"unknown role {entry.role!r}; known: {', '.join(catalog.roles)}", file=path,
                             where=f"layers[{i}]", field="role")
        if progress:
            progress(i, len(manifest.layers), entry.source)
        src = entry.source if is_postgres(entry.source) else base / entry.source
        options: dict[str, Any] = dict(name=entry.name, layer=entry.layer, encoding=entry.encoding, crs=entry.crs,
                                       zone=entry.zone, offset=entry.offset, fields=entry.fields or None,
                                       towgs84=entry.towgs84)
        if cache is False:
            from .io import read_layer
            lyr = read_layer(src, entry.role, catalog=catalog, **options)
        else:
            lyr = cached_read_layer(src, entry.role, catalog=catalog, folder=None if cache is True else cache,
                                    later=cache_writes,
                                    **options)
        lyr.source = entry.source
        ls.layers.append(lyr)
    if manifest.admission_lists:
        from .admission import join_admission, read_admission_table
        from .normalise import unlisted_problems
        units = ls.first("control_units")
        if units is None:
            raise InputError("admission_lists given but the manifest has no control_units layer", file=path,
                             field="admission_lists")
        unlisted = unlisted_problems(units.gdf)          # said when the layer was read: said again after the joins
        for adm in manifest.admission_lists:
            table = read_admission_table(base / adm.source, adm.sheet, catalog, adm.fields)
            units.problems += join_admission(units, table, adm.source)
        units.problems = [p for p in units.problems if p not in unlisted] + unlisted_problems(units.gdf)
    ls.rule_packs = rule_pack_paths(manifest, base)
    ls.absent = _absent(manifest, ls, catalog, path)
    return ls


def _absent(manifest: Manifest, ls: LayerSet, catalog: Catalog, path: Path) -> list[str]:
    """The manifest's ``absent`` layers, checked: a catalog role or ``other:<name>``, not also a layer of the set."""
    present = ls.rule_layers()
    zone_roles = [r for r in catalog.roles if r not in ("other", "projects")]
    for i, name in enumerate(manifest.absent):
        where = f"absent[{i}]"
        if not (name in zone_roles or name.startswith("other:") and name[6:].strip()):
            raise InputError(f"{name!r} is neither a zone layer role ({', '.join(zone_roles)}) "
                             "nor other:<layer name>", file=path, where=where, field="absent")
        if name in present:
            raise InputError(f"{name!r} is declared absent but the set has that layer", file=path, where=where,
                             field="absent")
    return list(manifest.absent)


def rule_pack_paths(manifest: Manifest, base: Path) -> list[str]:
    """The rule packs a manifest names, as paths from its folder ``base`` (a layer set's ``rule_packs``)."""
    return [str(base / p) for p in manifest.rule_packs]


def manifest_files(path: str | Path) -> list[Path]:
    """The local files a layer set reads: its manifest and every file of its layers, 准入清单 and rule packs
    (PostGIS sources have none)."""
    path = Path(path)
    sources = _sources(load_manifest(path))
    return [path.resolve(), *(f for s in sources if not is_postgres(s) for f in source_files(path.parent / s))]


def _sources(manifest: Manifest) -> list[str]:
    """Every source a manifest names: layers, 准入清单 tables, rule packs (paths relative to it, or PostGIS)."""
    return [e.source for e in manifest.layers] + [a.source for a in manifest.admission_lists] + manifest.rule_packs


def layerset_signature(path: str | Path) -> str:
    """What identifies a layer set's content without loading it: the manifest's bytes, and per source the size and
    modification time of its files (every part of a shapefile) or, for a PostGIS table, its row count, the sum of
    its feature versions and its highest key (published tables bump a feature's version on every update)."""
    import hashlib
    path = Path(path)
    h = hashlib.sha256(path.read_bytes())
    for source in _sources(load_manifest(path)):
        if is_postgres(source):
            from .io.postgis import table_state
            h.update(repr((source, table_state(source))).encode())
            continue
        h.update(repr(source_signature(path.parent / source)).encode())
    return h.hexdigest()[:32]
