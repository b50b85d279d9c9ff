"""Pausing Python's cyclic garbage collector around bulk work.

Screening many projects allocates millions of small, short-lived objects (overlaps, contexts, findings, their
JSON) while millions of long-lived ones (feature records, rules) stay loaded; every allocation burst triggers
collections that walk the long-lived ones again (about a fifth of a 10,000-project run).  None of that work
creates reference cycles, so reference counting frees it all; the collector is paused for its duration.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(freeze: bool = False) -> Iterator[None]:
    """Disable the cyclic collector inside the block, restoring its previous state after (nestable).

    ``freeze``: on leaving, move every object alive to the permanent generation first (:func:`gc.freeze`), so the
    collector never walks them again — for a command-line process that keeps them to its end; without it the first
    collection after the block walks every object the block left alive."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was:
            gc.enable()
