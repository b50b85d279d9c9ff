"""Plain data objects shared by the engine, the CLI and the app (no Qt)."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

from .errors import Problem


@dataclass
class Layer:
    """One loaded layer: features in EPSG:4490 with canonical field names, plus what import found.

    ``gdf`` keeps the canonical columns first and any other source columns after them (for identify
    and reports).  ``role`` is a catalog role, ``name`` the display name (manifest ``name`` or the role
    title), ``source`` the path as given.
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

    @property
    def feature_count(self) -> int:
        return len(self.gdf)

    @property
    def id_field(self) -> str:
        from .catalog import default_catalog
        return default_catalog().role(self.role).id_field if self.role in default_catalog().roles else "id"

    def feature_ids(self) -> list[str]:
        """Feature identifiers (the role's id field, or the row number when absent), as strings."""
        col = self.id_field
        if col in self.gdf.columns:
            return [str(v) if v is not None and v == v else f"#{i + 1}" for i, v in enumerate(self.gdf[col])]
        return [f"#{i + 1}" for i in range(len(self.gdf))]

    def problem_strings(self) -> list[str]:
        return [str(p) for p in self.problems]


@dataclass
class LayerSet:
    """The layers that make up a screening (from a manifest or assembled by the app)."""

    name: str
    layers: list[Layer] = field(default_factory=list)
    manifest_path: str | None = None
    rule_packs: list[str] = field(default_factory=list)   # packs named by the manifest (paths)

    def by_role(self, role: str) -> list[Layer]:
        return [lyr for lyr in self.layers if lyr.role == role]

    def first(self, role: str) -> Layer | None:
        found = self.by_role(role)
        return found[0] if found else None
