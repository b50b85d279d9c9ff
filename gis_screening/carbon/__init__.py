"""Carbon-peaking admission checks for 两高 projects (issue 4)."""
from __future__ import annotations

from .checks import CarbonConfig, carbon_checks, load_carbon_config


def carbon_for(project, fp, ctx, config: CarbonConfig | None, overlaps, records):
    """Carbon block and findings for one project with footprint ``fp`` (``FootprintMetrics``) and ``overlaps``;
    ``(None, [])`` when no carbon configuration is loaded.  ``records`` are the feature attribute records per layer
    uid (``PreparedCache.records``)."""
    if config is None:
        return None, []
    return carbon_checks(project, ctx, config, overlaps, records, fp)


__all__ = ["CarbonConfig", "carbon_for", "load_carbon_config"]
