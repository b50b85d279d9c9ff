"""Carbon-peaking admission checks for 两高 projects (issue 4)."""
from __future__ import annotations


def carbon_for(project, ctx, config: dict, overlaps=None, layers=None):
    """Carbon block and findings for one project; ``(None, [])`` when no carbon configuration is loaded."""
    if not config:
        return None, []
    from .checks import carbon_checks
    return carbon_checks(project, ctx, config, overlaps or [], layers or {})
