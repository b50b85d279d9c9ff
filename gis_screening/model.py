"""Plain data objects shared by the engine, the CLI and the app (no Qt)."""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from .catalog import Catalog, default_catalog
from .errors import Problem

_SERIAL = itertools.count(1)


def is_missing(v: object) -> bool:
    """None or a float NaN (how pandas marks a missing value in an object column): the one missing-value test."""
    return v is None or (isinstance(v, float) and v != v)


def new_layer_uid() -> str:
    """A layer id unique within this process and distinct across processes (pid + serial)."""
    return f"L{os.getpid():x}-{next(_SERIAL)}"


@dataclass
class Layer:
    """One loaded layer: features in EPSG:4490 with canonical field names, plus what import found.

    ``gdf`` keeps the canonical columns first and any other source columns after them (for identify
    and reports).  ``role`` is a catalog role, ``name`` the display name (manifest ``name`` or the role
    title), ``source`` the path as given.

    Identity: ``uid`` is unique per loaded layer (two layers may share a role or a name); ``version`` goes up
    whenever ``gdf`` is replaced (an edit), so caches keyed by ``(uid, version)`` never serve a stale layer.
    Replace ``gdf`` rather than mutating it in place.
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
    #: content digest of the features (engine.prepared.content_digest), remembered until ``gdf`` is replaced
    digest: str | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value) -> None:
        if name == "gdf" and "gdf" in self.__dict__:
            object.__setattr__(self, "version", self.__dict__.get("version", 0) + 1)
            object.__setattr__(self, "digest", None)
        object.__setattr__(self, name, value)

    @property
    def key(self) -> tuple[str, int]:
        """``(uid, version)``: what in-memory caches of this layer are keyed by."""
        return self.uid, self.version

    @property
    def feature_count(self) -> int:
        return len(self.gdf)

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
        col = self.name_field
        if col in self.gdf.columns:
            return [None if is_missing(v) else str(v) for v in self.gdf[col]]
        return [None] * len(self.gdf)

    def records(self) -> list[dict]:
        """Every feature's attributes (no geometry) as plain dicts, NaN → None."""
        import pandas as pd
        df = pd.DataFrame(self.gdf.drop(columns=self.gdf.geometry.name))
        return df.astype(object).where(df.notna(), None).to_dict("records")

    def feature_ids(self) -> list[str]:
        """Feature identifiers (the role's id field, or the row number when absent), as strings."""
        col = self.id_field
        if col in self.gdf.columns:
            return [str(v) if v is not None and v == v else f"#{i + 1}" for i, v in enumerate(self.gdf[col])]
        return [f"#{i + 1}" for i in range(len(self.gdf))]

    def content_digest(self) -> str:
        """Hash of everything a prepared layer holds or a rule may read: geometry, ids, names, every attribute,
        the role.  Remembered (``digest``) until the features are replaced; the prepared-layer and loaded-layer
        caches key on it."""
        import hashlib

        import pandas as pd
        import shapely
        if self.digest is not None:
            return self.digest
        h = hashlib.sha256(f"{self.role}".encode())
        for b in shapely.to_wkb(self.gdf.geometry.values, hex=False):
            h.update(b)
        h.update("\x1f".join(self.feature_ids()).encode("utf-8"))
        h.update("\x1f".join("\x00" if n is None else n for n in self.feature_names()).encode("utf-8"))
        attrs = self.gdf.drop(columns=self.gdf.geometry.name)
        h.update("\x1f".join(map(str, attrs.columns)).encode("utf-8"))
        if len(attrs.columns):
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
    source: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class LayerSet:
    """The layers that make up a screening (from a manifest or assembled by the app)."""

    name: str
    layers: list[Layer] = field(default_factory=list)
    manifest_path: str | None = None
    rule_packs: list[str] = field(default_factory=list)   # packs named by the manifest (paths)
    #: the catalog the layers were read with; None: the shipped one
    catalog: Catalog | None = field(default=None, repr=False, compare=False)

    @property
    def cat(self) -> Catalog:
        """The layer set's catalog; the shipped one for sets assembled by hand."""
        return self.catalog or default_catalog()

    def by_role(self, role: str) -> list[Layer]:
        return [lyr for lyr in self.layers if lyr.role == role]

    def first(self, role: str) -> Layer | None:
        found = self.by_role(role)
        return found[0] if found else None
