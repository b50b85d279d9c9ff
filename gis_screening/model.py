"""Plain data objects shared by the engine, the CLI and the app (no Qt)."""
from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shapely.geometry.base import BaseGeometry

from .catalog import Catalog, default_catalog
from .errors import Problem

if TYPE_CHECKING:       # pandas and geopandas are imported where a frame is made: a warm screening needs neither
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyarrow as pa

_SERIALS: dict[str, itertools.count] = {}


def is_missing(v: object) -> bool:
    """None, a float NaN (how pandas marks a missing value in an object column), ``pd.NA`` or ``pd.NaT``: the one
    missing-value test.  (Without pandas imported — or while another thread imports it — no value can be ``pd.NA``
    or ``pd.NaT``.)"""
    if v is None or (isinstance(v, float) and v != v):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and (v is getattr(pd, "NA", _NOT_SET) or v is getattr(pd, "NaT", _NOT_SET))


_NOT_SET = object()


#: Arrow column types whose values convert to Python values as pandas would give them (``to_numpy(dtype=object)``
#: of the frame ``to_pandas()`` makes), so that features read from an Arrow table have the very records of the
#: same features read into a frame; a table with any other column (dates, categories…) goes through pandas.
_PLAIN_ARROW = ("string", "large_string", "int64", "double", "bool", "null")


def plain_arrow(table: pa.Table) -> bool:
    """Are all of ``table``'s columns of :data:`_PLAIN_ARROW` types (their records need no pandas)?"""
    return all(str(t) in _PLAIN_ARROW for t in table.schema.types)


def arrow_values(column: pa.ChunkedArray) -> list:
    """A :func:`plain_arrow` column as Python values, missing ones (null, NaN) None."""
    values = column.to_pylist()
    if str(column.type) == "double":
        return [None if v is None or v != v else v for v in values]
    return values


def new_layer_uid(kind: str = "L") -> str:
    """A layer id unique within this process and distinct across processes: ``kind``, pid, serial.  Footprints read
    from project files are kind ``P``, numbered apart, so that reading them beside a layer set (the CLI does both at
    once) leaves the set's numbering as it is."""
    return f"{kind}{os.getpid():x}-{next(_SERIALS.setdefault(kind, itertools.count(1)))}"


def layer_uid_for(role: str | None) -> str:
    """:func:`new_layer_uid` for a layer of ``role`` read from a file: kind ``P`` for footprints, ``L`` otherwise."""
    return new_layer_uid("P" if role == "projects" else "L")


class FeatureRecords(Sequence[dict]):
    """The attribute dicts of a layer's features (what rules read), each built when first asked for: screening
    a few projects against 20,000 red-line polygons builds a few dicts.  Missing values (NaN, NaT, NA) → None."""

    def __init__(self, attributes: pd.DataFrame | pa.Table):
        self._rows: dict[int, dict] = {}
        self._missing: np.ndarray | None = None
        self._columns: list[Sequence[Any]]
        if hasattr(attributes, "schema"):       # a :func:`plain_arrow` table: its values, missing ones None
            self._keys = list(attributes.column_names)
            self._columns = [arrow_values(attributes.column(k)) for k in self._keys]
            self._n = attributes.num_rows
            return
        self._keys = list(attributes.columns)
        self._columns = [attributes[c].to_numpy(dtype=object) for c in attributes.columns]
        self._missing = attributes.isna().to_numpy()
        self._n = len(attributes)

    def __len__(self) -> int:
        return self._n

    @property
    def keys(self) -> list[str]:
        """The attribute names, in order."""
        return list(self._keys)

    def _column(self, k: int) -> list:
        """Column ``k``'s values, missing ones None."""
        col = self._columns[k]
        if self._missing is None:
            return list(col)
        return [None if gone else v for v, gone in zip(list(col), self._missing[:, k].tolist())]

    def every(self) -> list[dict]:
        """All the dicts at once, built column by column (for callers that need every feature, e.g. projects)."""
        if not self._keys:
            return [{} for _ in range(len(self))]
        return [dict(zip(self._keys, values)) for values in zip(*(self._column(k) for k in range(len(self._keys))))]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        row = self._rows.get(i)
        if row is None:
            if not -len(self) <= i < len(self):
                raise IndexError(i)
            if self._missing is None:
                row = {k: col[i] for k, col in zip(self._keys, self._columns)}
            else:
                gone = self._missing[i].tolist()
                row = {k: None if g else col[i] for k, col, g in zip(self._keys, self._columns, gone)}
            self._rows[i] = row
        return row


@dataclass
class Layer:
    """One loaded layer: features in EPSG:4490 with canonical field names, plus what import found.

    ``gdf`` keeps the canonical columns first and any other source columns after them (for identify
    and reports).  ``role`` is a catalog role, ``name`` the display name (manifest ``name`` or the role
    title), ``source`` the path as given.

    Identity: ``uid`` is unique per loaded layer (two layers may share a role or a name); ``version`` goes up
    whenever ``gdf`` is replaced (an edit), so caches keyed by ``(uid, version)`` never serve a stale layer.
    Replace ``gdf`` rather than mutating it in place.

    A layer from the loaded-layer cache is *deferred* (:meth:`deferred`): its attributes are at hand and its
    geometry is read on the first use of ``gdf``, so screening from prepared layers never decodes it.
    """

    role: str
    name: str
    source: str
    gdf: gpd.GeoDataFrame
    problems: list[Problem] = field(default_factory=list)
    source_crs: str | None = None
    crs_reason: str | None = None
    encoding: str | None = None
    encoding_reason: str | None = None
    uid: str = field(default_factory=new_layer_uid)
    version: int = 0
    #: the catalog the layer was read with (roles, fields, styles); None for layers built by hand
    catalog: Catalog | None = field(default=None, repr=False, compare=False)
    #: content digest of the features (:meth:`content_digest`), remembered until ``gdf`` is replaced
    digest: str | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value) -> None:
        if name == "gdf" and ("gdf" in self.__dict__ or "_load_gdf" in self.__dict__):
            object.__setattr__(self, "version", self.__dict__.get("version", 0) + 1)
            object.__setattr__(self, "digest", None)
            for loader in ("_load_gdf", "_attributes", "_load_geometries"):
                self.__dict__.pop(loader, None)
        object.__setattr__(self, name, value)

    @classmethod
    def deferred(cls, attributes: pd.DataFrame | pa.Table, load_gdf: Callable[[], gpd.GeoDataFrame],
                 load_geometries: Callable[[], np.ndarray] | None = None, **fields: Any) -> Layer:
        """A layer whose attributes (no geometry) are given — a frame, or an Arrow table of :func:`plain_arrow`
        columns, served without pandas — and whose ``gdf`` is ``load_gdf()``, called on first use;
        ``load_geometries()``: the geometry alone, without a frame (:meth:`geometries`).  ``fields`` as for the
        constructor (give ``digest``: computing it would read the geometry)."""
        layer = cls(gdf=None, **fields)
        del layer.__dict__["gdf"]
        layer.__dict__.update(_attributes=attributes, _load_gdf=load_gdf, _load_geometries=load_geometries)
        return layer

    def __getattr__(self, name: str) -> Any:
        # called only for names not set: the ``gdf`` of a deferred layer, read now (two threads may both read it;
        # the first stored wins, and it is stored before the loader is dropped)
        state = self.__dict__
        load = state.get("_load_gdf") if name == "gdf" else None
        if load is None:
            if name == "gdf" and "gdf" in state:        # another thread has just read it
                return state["gdf"]
            raise AttributeError(name)
        gdf = state.setdefault("gdf", load())
        for loader in ("_load_gdf", "_attributes", "_load_geometries"):
            state.pop(loader, None)
        return gdf

    def _frame(self) -> pd.DataFrame | pa.Table:
        """Where the attributes are: a deferred layer's attributes (no geometry read), else ``gdf`` itself."""
        if "gdf" not in self.__dict__ and "_attributes" in self.__dict__:
            return self.__dict__["_attributes"]
        return self.gdf

    def column_values(self, column: str) -> list | None:
        """``column``'s values (missing ones as they are: :func:`is_missing`), None when there is no such column."""
        frame = self._frame()
        if hasattr(frame, "schema"):
            return arrow_values(frame.column(column)) if column in frame.column_names else None
        return frame[column].tolist() if column in frame.columns else None

    def geometries(self) -> np.ndarray:
        """The features' geometries (EPSG:4490, shapely objects): a deferred layer's read without making ``gdf``."""
        load = self.__dict__.get("_load_geometries") if "gdf" not in self.__dict__ else None
        if load is not None:
            return load()
        import numpy as np
        return np.asarray(self.gdf.geometry.values, dtype=object)

    @property
    def attributes(self) -> pd.DataFrame:
        """The features' attributes without geometry (a deferred layer's are served without reading geometry)."""
        frame = self._frame()
        if hasattr(frame, "schema"):        # a deferred layer's Arrow table: the frame it stands for, made once
            frame = self.__dict__["_attributes"] = frame.to_pandas()
        gpd = sys.modules.get("geopandas")      # (a frame made without it is no GeoDataFrame: not imported for that)
        if gpd is None or not isinstance(frame, gpd.GeoDataFrame):
            return frame
        import pandas as pd
        return pd.DataFrame(frame.drop(columns=frame.geometry.name))

    @property
    def key(self) -> tuple[str, int]:
        """``(uid, version)``: what in-memory caches of this layer are keyed by."""
        return self.uid, self.version

    @property
    def feature_count(self) -> int:
        return len(self._frame())

    @property
    def cat(self) -> Catalog:
        """The layer's catalog; the shipped one for layers built by hand."""
        return self.catalog or default_catalog()

    @property
    def id_field(self) -> str:
        return self.cat.role(self.role).id_field if self.role in self.cat.roles else "id"

    @property
    def name_field(self) -> str:
        return self.cat.roles[self.role].name_field if self.role in self.cat.roles else "name"

    def feature_names(self) -> list[str | None]:
        """Feature display names (the role's name field), None where absent."""
        values = self.column_values(self.name_field)
        if values is not None:
            return [None if is_missing(v) else str(v) for v in values]
        return [None] * self.feature_count

    def records(self) -> FeatureRecords:
        """Every feature's attributes (no geometry) as plain dicts, NaN → None, each built on first access."""
        frame = self._frame()
        return FeatureRecords(frame if hasattr(frame, "schema") else self.attributes)

    def feature_ids(self) -> list[str]:
        """Feature identifiers (the role's id field, or the row number when absent), as strings."""
        values = self.column_values(self.id_field)
        if values is not None:
            return [f"#{i + 1}" if is_missing(v) else str(v) for i, v in enumerate(values)]
        return [f"#{i + 1}" for i in range(self.feature_count)]

    def content_digest(self) -> str:
        """Hash of everything a prepared layer holds or a rule may read: geometry, ids, names, every attribute,
        the role.  Remembered (``digest``) until the features are replaced; the prepared-layer cache keys on it.
        A layer read through the loaded-layer cache carries the digest of its source instead
        (:func:`gis_screening.io.layer_cache.source_digest`)."""
        import hashlib

        import shapely
        if self.digest is not None:
            return self.digest
        h = hashlib.sha256(f"{self.role}".encode())
        for b in shapely.to_wkb(self.gdf.geometry.values, hex=False):
            h.update(b)
        h.update("\x1f".join(self.feature_ids()).encode("utf-8"))
        h.update("\x1f".join("\x00" if n is None else n for n in self.feature_names()).encode("utf-8"))
        attrs = self.attributes
        h.update("\x1f".join(map(str, attrs.columns)).encode("utf-8"))
        if len(attrs.columns):
            import pandas as pd
            h.update(pd.util.hash_pandas_object(attrs.astype(str), index=False).to_numpy().tobytes())
        self.digest = h.hexdigest()[:32]
        return self.digest

    def problem_strings(self) -> list[str]:
        return [str(p) for p in self.problems]


@dataclass
class Project:
    """One project: id, footprint in EPSG:4490 and everything known about it."""

    id: str
    geometry: BaseGeometry                 # EPSG:4490
    name: str | None = None
    industry_code: str | None = None
    construction_type: str | None = None
    attributes: dict = field(default_factory=dict)
    sheet: dict | None = None
    source: str | None = None               # the file read (a sheet table's: "<file> row <n>")
    problems: list[str] = field(default_factory=list)
    footprint_file: str | None = None       # the geometry file a project sheet's footprint names

    def source_file(self) -> str | None:
        """The file the project was read from (:attr:`source` without a sheet table's row)."""
        if self.source is None:
            return None
        file, row, number = self.source.rpartition(" row ")
        return file if row and number.isdigit() else self.source

    def files(self) -> list[str]:
        """The files the project was read from: its own (:meth:`source_file`) and its sheet's footprint file."""
        return [f for f in (self.source_file(), self.footprint_file) if f]


@dataclass
class LayerSet:
    """The layers that make up a screening (from a manifest or assembled by the app)."""

    name: str
    layers: list[Layer] = field(default_factory=list)
    manifest_path: str | None = None
    rule_packs: list[str] = field(default_factory=list)   # packs named by the manifest (paths)
    #: layers (roles, or ``other:<name>``) the set declares its area has no feature of: rules on them find nothing
    #: instead of being left undecided (:func:`gis_screening.engine.screen.layers_missing`)
    absent: list[str] = field(default_factory=list)
    #: the catalog the layers were read with; None: the shipped one
    catalog: Catalog | None = field(default=None, repr=False, compare=False)

    @property
    def cat(self) -> Catalog:
        """The layer set's catalog; the shipped one for sets assembled by hand."""
        return self.catalog or default_catalog()

    def rule_layers(self) -> set[str]:
        """The set's layers as rules name them: the role, or ``other:<name>``."""
        return {f"other:{lyr.name}" if lyr.role == "other" else lyr.role for lyr in self.layers}

    def by_role(self, role: str) -> list[Layer]:
        return [lyr for lyr in self.layers if lyr.role == role]

    def first(self, role: str) -> Layer | None:
        found = self.by_role(role)
        return found[0] if found else None
