"""Merging nested YAML mappings: later documents (a city's catalog, a provincial rule pack) refine earlier ones."""
from __future__ import annotations


def merge_into(base: dict, extra: dict, *, append_lists: bool = False) -> dict:
    """Merge ``extra`` into ``base`` in place and return it: mappings merge key by key; with ``append_lists`` lists
    gain the items they lack (catalog aliases), otherwise a later list replaces the earlier one (a pack's
    override); any other value replaces."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_into(base[key], value, append_lists=append_lists)
        elif append_lists and isinstance(value, list) and isinstance(base.get(key), list):
            base[key] = base[key] + [v for v in value if v not in base[key]]
        else:
            base[key] = value
    return base
