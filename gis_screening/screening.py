"""The screening pipeline — overlay metrics → rules → carbon checks — composed over many projects.

``screen(projects, layerset, rules)`` is a pure function of its inputs: the CLI, the desktop app, batch jobs and
tests all call it.  It sits above ``engine`` (overlay, rules) and ``carbon`` and composes them, so neither imports
the other.  ``load_rules`` validates every section of the packs (rules and ``carbon:``) when they are loaded.
"""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from itertools import takewhile
from pathlib import Path

import numpy as np
import shapely

from .cache import write_behind
from .carbon import carbon_for, load_carbon_config
from .engine.collector import collector_paused
from .engine.model import VERDICT_LABELS
from .engine.overlay import batch_overlaps, footprint_zones, footprints_metrics
from .engine.prepared import PreparedCache, reach_for
from .engine.result import WRITE_PIECE
from .engine.rules import RuleStack, load_stack
from .engine.screen import (
    EncodedResult,
    FeatureContexts,
    ProjectResult,
    ScreeningResult,
    evaluate_rules,
    layers_missing,
)
from .forked import Claims, Forked, Send, can_fork
from .model import LayerSet, Project


def check_sheets(projects: Sequence[Project]) -> None:
    """Validate every project sheet when the projects are loaded (CLI, app import), so a bad value (``inf``, text
    in a number field) is reported naming the file and field at once instead of failing a later screening."""
    from .carbon.sheet import validate_sheet
    for p in projects:
        if p.sheet is not None:
            validate_sheet(p.sheet, p.source or p.id)


#: Projects per step of the pipeline: progress is reported and cancel is checked after each.
CHUNK = 500
#: From this many projects a screening splits between two processes (below it, forking and sending results back
#: cost more than the second core saves).
SPLIT_MIN_PROJECTS = 2000
#: Bits per axis of the grid on which projects are ordered along a Hilbert curve (:func:`_hilbert_distance`).
HILBERT_BITS = 16
#: The smallest step (projects) of a screening shared out between two processes as they go (:func:`_shared_steps`):
#: where they meet, neither waits longer than one such step for the other.
MIN_STEP = 50


def load_rules(paths: list[str | Path] | None = None, as_of: dt.date | None = None) -> RuleStack:
    """Load, validate and stack the rule packs in force on ``as_of`` (default today), including the merged
    ``carbon:`` section; any error is an :class:`~gis_screening.errors.InputError` naming file and key."""
    stack = load_stack(paths, as_of)
    stack.carbon_config = load_carbon_config(stack.carbon) if stack.carbon else None
    return stack


def rules_for(layerset_packs: Sequence[str | Path], given: Sequence[str | Path] | None = None,
              as_of: dt.date | None = None) -> RuleStack:
    """The rules a screening applies (:func:`load_rules`): the packs ``given`` (``--rules``), else those the layer
    set's manifest names (``LayerSet.rule_packs``), else the shipped ones; in force on ``as_of`` (default today)."""
    packs = [str(p) for p in (given or layerset_packs)]
    return load_rules(list[str | Path](packs) or None, as_of=as_of)


def rules_signature(stack: RuleStack) -> str:
    """The rules verdicts are reached by, by content: the packs of ``stack`` (those in force, after overrides), the
    reference tables the checks read (sector codes, benchmarks, factors), the layer catalog (roles, fields) and the
    program (:func:`~gis_screening.cache.code_digest`).  Equal for equal rules whatever the files' times; a pack edited or
    come into force, or an upgrade, gives another."""
    import hashlib

    from .cache import code_digest
    from .resources import data_dir
    h = hashlib.sha256(code_digest().encode())
    for pack, _ in stack.packs:
        h.update(pack.model_dump_json().encode())
    for table in [*sorted((data_dir("rules") / "reference").glob("*.csv")), *sorted(data_dir("layers").glob("*.yaml"))]:
        h.update(table.name.encode() + table.read_bytes())
    return h.hexdigest()[:32]


def screen(projects: Sequence[Project], layerset: LayerSet, rules: RuleStack, *, search_radius_m: float = 1000.0,
           cache: PreparedCache | None = None, progress: Callable[[int, int], None] | None = None,
           cancel: Callable[[], bool] | None = None, carbon: bool = True, split: bool = False,
           cache_writes: list[Callable[[], None]] | None = None) -> ScreeningResult:
    """Screen ``projects`` against every layer of ``layerset`` with the stacked ``rules``.

    Areas and distances are in metres in each project's 3° GK zone.  The search radius is raised to the distance
    the farthest-looking rule that can change a verdict needs (:meth:`RuleStack.reach`; the result records the
    radius used), so no such rule misses a feature for a small ``search_radius_m``.  ``progress(done, total)`` is
    called after each step of :data:`CHUNK` projects; when ``cancel()`` returns True the result holds only the
    projects screened so far and is marked ``partial`` (never a verdict for a project that was not overlaid).
    ``split``: a run of :data:`SPLIT_MIN_PROJECTS` or more, without ``cancel``, in a process running no other
    thread, shares its projects with a forked copy of itself (:mod:`gis_screening.forked`; the CLI asks for it) —
    step by step as the two go when its layers are all prepared already (a warm cache: this process takes steps from
    the front, the copy from the back, until they meet), or, to prepare them on both cores, when its projects lie
    in more than one GK zone (the copy takes whole zones).  The result is the same either way.
    ``cache_writes``: cache entries still to write (``load_layerset(cache_writes=…)``), emptied here: the forked copy
    writes them after it has sent its results, else they are written in the background
    (:func:`gis_screening.cache.write_behind`) while the screening goes on.
    """
    search_radius_m = max(search_radius_m, rules.reach()[0])
    with collector_paused():
        cache = cache or PreparedCache(disk=False)
        geoms = [p.geometry for p in projects]
        array = np.array(geoms, dtype=object)
        centroids = footprint_zones(array)
        bounds = shapely.bounds(array)
        zones: dict[int, list[int]] = {}
        order = np.argsort(_hilbert_distance(bounds), kind="stable")
        for i, epsg in zip(order.tolist(), centroids[2][order].tolist()):
            zones.setdefault(epsg, []).append(i)
        by_zone = dict(sorted(zones.items(), key=lambda z: -len(z[1])))       # the zone of most projects first
        # the zones' layers are prepared one after another in the background, each only as far as its footprints
        # and the radius reach, each large one on every core (reprojecting and clipping release the GIL): the first
        # zone is ready soonest, and its rules run while later zones are prepared
        reach = {epsg: reach_for(bounds[idx], epsg, search_radius_m) for epsg, idx in by_zone.items()}
        # a large screening in a single-threaded process shares its projects with a forked copy of itself (the
        # rules are Python and hold the GIL): step by step as they go when its layers are all prepared already (a
        # warm cache), whole zones when they are not (each process prepares only its own zones' layers)
        cut: int | None = None
        shared = False
        if split and cancel is None and len(projects) >= SPLIT_MIN_PROJECTS and can_fork():
            if all(cache.at_hand(lyr, epsg, reach[epsg]) for epsg in by_zone for lyr in layerset.layers):
                shared = True
            elif len(by_zone) > 1:      # whole zones: the cut after the zone nearest to half the projects
                ends = np.cumsum([len(idx) for idx in by_zone.values()])[:-1]
                cut = int(ends[np.argmin(np.abs(ends - len(projects) / 2))])
        # shared: the prepared layers are loaded from the cache while the footprints are measured (the other core
        # is idle until the fork), as many as are loaded by then: the two processes start with them in memory
        loading = _load_ahead(cache, layerset, by_zone, reach) if shared else None
        writes = list(cache_writes or ())       # the cache entries to write (none may be written before a fork)
        if cache_writes:
            cache_writes.clear()
        try:
            fps = footprints_metrics(geoms, zones=centroids, project=partial(cache.footprints_in, later=writes))
            records = {lyr.uid: cache.records(lyr) for lyr in layerset.layers}
            missing_layers = layers_missing(rules, layerset)
        finally:
            if loading is not None:         # none may run at the fork: the one loading now is finished, no other
                loading.shutdown(wait=True, cancel_futures=True)
        missing = {m["role"]: m["title"] for m in missing_layers}
        done: dict[int, ProjectResult | EncodedResult] = {}
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")
        prepare = _Preparer(pool, cache, layerset, reach)
        finished = False
        try:
            _screen_zones(projects, fps, by_zone, prepare, layerset, rules, records, missing, search_radius_m,
                          carbon, progress, cancel, done, cut, writes, shared)
            finished = len(done) == len(projects)
        finally:
            # a finished screening waits for the cache entries still being written; a cancel waits for nothing
            pool.shutdown(wait=finished, cancel_futures=True)
    results = [done[i] for i in sorted(done)]
    return ScreeningResult(results, layerset, rules, search_radius_m, partial=not finished, requested=len(projects),
                           missing_layers=missing_layers)


def _load_ahead(cache: PreparedCache, layerset: LayerSet, by_zone: dict[int, list[int]],
                reach: dict[int, float | None]) -> ThreadPoolExecutor:
    """A thread loading the zones' prepared layers (all at hand in ``cache``) into memory: the first zone's, then the
    last's (where the two processes of a shared screening start), then the others'."""
    epsgs = list(by_zone)
    order = epsgs[:1] + epsgs[:0:-1]
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load")
    for epsg in order:
        for lyr in layerset.layers:
            pool.submit(cache.get, lyr, epsg, reach[epsg])
    return pool


def _hilbert_distance(bounds: np.ndarray) -> np.ndarray:
    """Each footprint's place along a Hilbert curve over all of them (from their bounds, ``(n, 4)``): projects are
    screened in this order within their zone, so that each step of :data:`CHUNK` projects, and each process's share
    of a split, covers one compact area (fewer red-line pieces to decode and query per step and per process).
    The midpoints on a 2¹⁶ × 2¹⁶ grid over their extent, numbered along the curve as in its textbook form (xy2d).
    """
    mid = np.nan_to_num((bounds[:, :2] + bounds[:, 2:]) / 2)      # an empty footprint (no bounds) goes first
    n = 1 << HILBERT_BITS
    lo, hi = (mid.min(axis=0), mid.max(axis=0)) if len(mid) else (np.zeros(2), np.ones(2))
    cells = ((mid - lo) / np.where(hi > lo, hi - lo, 1.0) * (n - 1)).astype(np.int64)
    x, y, d = cells[:, 0], cells[:, 1], np.zeros(len(mid), dtype=np.int64)
    s = n // 2
    while s:
        rx, ry = (x & s) > 0, (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        turn, flip = ~ry, ~ry & rx          # the quadrant turned to the curve's orientation in it
        x, y = np.where(flip, n - 1 - x, x), np.where(flip, n - 1 - y, y)
        x, y = np.where(turn, y, x), np.where(turn, x, y)
        s //= 2
    return d


@dataclass
class _Preparer:
    """Each zone's prepared layers, as futures: loaded or built in the background, zone by zone, in ``pool``."""

    pool: ThreadPoolExecutor
    cache: PreparedCache
    layerset: LayerSet
    reach: dict[int, float | None]

    def __call__(self, zones) -> dict[int, list]:
        return {epsg: [self.pool.submit(self.cache.get, lyr, epsg, self.reach[epsg]) for lyr in self.layerset.layers]
                for epsg in zones}

    def for_steps(self, steps, lazily: bool) -> dict[int, list]:
        """The prepared layers of the zones of ``steps``: all asked for now (loaded or built in turn in the
        background), or, ``lazily``, each when first needed (a process taking steps as it goes may never reach a
        zone)."""
        return _Ready(self) if lazily else self(dict.fromkeys(e for e, _ in steps))

    def finish(self) -> None:
        """Wait for the layers still being prepared and their cache entries still being written."""
        self.pool.shutdown(wait=True)


class _Ready(dict):
    """Zone → its prepared layers (futures), asked of the preparer on first use."""

    def __init__(self, prepare: _Preparer) -> None:
        super().__init__()
        self.prepare = prepare

    def __missing__(self, epsg: int) -> list:
        futures: list = self.prepare([epsg])[epsg]
        self[epsg] = futures
        return futures


#: The GIL hand-over interval (s) while steps are screened: the overlay thread needs the GIL only between its array
#: calls, and gets it back without waiting the default 5 ms for which the rules would otherwise keep it.
SWITCH_INTERVAL_S = 0.0005


def _screen_zones(projects, fps, by_zone, prepare, layerset, rules, records, missing, search_radius_m, carbon,
                  progress, cancel, done, cut: int | None = None, writes: Sequence[Callable[[], None]] = (),
                  shared: bool = False) -> None:
    """Overlay, rules and carbon checks zone by zone, :data:`CHUNK` projects at a time, into ``done``, with the
    layers ``prepare(zones)`` gives.  With a forked child (:mod:`~gis_screening.forked`), which loads or prepares
    the layers of its steps itself: ``cut``, the child screens the steps after the first ``cut`` projects, this
    process the first; ``shared``, the two share the steps out as they go (:class:`~gis_screening.forked.Claims`,
    :func:`_shared_steps`), this process from the front, the child from the back.  A child that fails leaves its
    steps to this process.  Same results either way.  The cache ``writes`` are done by the child after sending its
    results (by this process in the background when there is no child or it failed)."""
    steps = _shared_steps(by_zone) if shared else \
        [(epsg, idx[lo:lo + CHUNK]) for epsg, idx in by_zone.items() for lo in range(0, len(idx), CHUNK)]
    run = partial(_screen_steps, projects=projects, fps=fps, layerset=layerset, rules=rules, records=records,
                  missing=missing, search_radius_m=search_radius_m, carbon=carbon, features={})
    if (cut is None and not shared) or len(steps) < 2 or not can_fork():
        for write in writes:
            write_behind(write)
        run(steps, prepare(by_zone), progress=progress, cancel=cancel, done=done)
        return
    if shared:
        claims = Claims(len(steps))
        mine, order = steps, iter(partial(claims.take, True), None)
        theirs_given = partial(_screened_in_child, run, steps, prepare, lambda: iter(partial(claims.take, False), None))
    else:
        (mine, others), order = _split_steps(steps, cut or 0), None
        theirs_given = partial(_screened_in_child, run, others, prepare, None)
    # forked before any thread starts (none may be copied into the child: its layers are asked for after the fork);
    # the child does the cache writes after sending its results
    child = Forked(theirs_given, then=partial(_run_all, writes))
    try:
        run(mine, prepare.for_steps(mine, lazily=shared), order=order, progress=progress, cancel=None, done=done,
            encode=True)
        data = child.result()
    except BaseException as exc:    # an error here, Ctrl+C: the child's screening is for no one
        child.stop()
        if isinstance(exc, Exception):      # an error: the layers read are cached all the same, as without a child
            for write in writes:
                write_behind(write)
        raise
    finally:
        if shared:
            others = steps[claims.back():]      # what the child took (all of it, once it is done or stopped)
            claims.close()
    theirs = _results_from_child(data, [i for _, part in others for i in part])
    write_behind(child.wait)    # the child's end (its cache writes) is awaited with this process's cache writes
    if theirs is None:          # the child failed: its share and the cache writes are done here
        for write in writes:
            write_behind(write)
        run(others, prepare.for_steps(others, lazily=False), progress=progress, cancel=None, done=done)
        return
    for i, (verdict, encoded) in theirs.items():
        done[i] = EncodedResult(projects[i], fps[i], verdict, encoded)
    if progress:
        progress(len(done), len(projects))


def _shared_steps(by_zone: dict[int, list[int]]) -> list[tuple[int, list[int]]]:
    """Each zone's projects (in order) as steps for two processes that share them out from both ends as they go
    (:class:`~gis_screening.forked.Claims`): :data:`CHUNK` projects far from the middle of all of them, smaller
    toward it (a quarter of the distance, at least :data:`MIN_STEP`), where the two are likely to meet, so that
    neither waits long for the other's last step."""
    n = sum(len(idx) for idx in by_zone.values())
    steps, start = [], 0
    for epsg, idx in by_zone.items():
        lo = 0
        while lo < len(idx):
            size = int(min(CHUNK, max(MIN_STEP, abs(n / 2 - (start + lo)) / 4)))
            steps.append((epsg, idx[lo:lo + size]))
            lo += size
        start += len(idx)
    return steps


def _split_steps(steps: list, first: int) -> tuple[list, list]:
    """``steps`` (zone, project indices) cut after the ``first`` projects (a step may be cut in two)."""
    head, seen = [], 0
    for k, (epsg, part) in enumerate(steps):
        if seen + len(part) >= first:
            take = first - seen
            head += [(epsg, part[:take])] if take else []
            return head, ([(epsg, part[take:])] if take < len(part) else []) + steps[k + 1:]
        head.append((epsg, part))
        seen += len(part)
    return head, []


def _run_all(calls: Sequence[Callable[[], None]]) -> None:
    for call in calls:
        call()


def _screened_in_child(run, steps, prepare, order, send: Send) -> None:
    """What a forked child hands back for ``steps`` (those ``order()`` takes of them, else all), with ``send`` as it
    goes (:class:`_Sending`): each project's result as the JSON the document holds
    (:func:`~gis_screening.engine.result.result_bytes`), so that the parent, which writes the document, has neither
    to rebuild nor to encode them; the results one after another, then a JSON trailer (project indices, verdicts,
    sizes), then the trailer's length in 8 bytes."""
    import orjson
    done = _Sending(send)
    run(steps, prepare.for_steps(steps, lazily=order is not None), order=order() if order else None, progress=None,
        cancel=None, done=done, encode=True)
    prepare.finish()            # a layer it had to rebuild (a damaged entry) is written before the child ends
    done.flush()
    tail = orjson.dumps({"index": done.index, "verdict": done.verdicts, "size": done.sizes})
    send([tail, len(tail).to_bytes(8, "little")])


class _Sending:
    """Where a forked child puts its results (the ``done`` of :func:`_screen_steps`): each sent on as the JSON the
    document holds, :data:`~gis_screening.engine.result.WRITE_PIECE` bytes at a time, as they are screened — its
    memory reused for the next ones, and nothing left to hand over at the end, when the parent waits — keeping only
    its project index, verdict and size."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.index: list[int] = []
        self.verdicts: list[str] = []
        self.sizes: list[int] = []
        self._parts: list[bytes | memoryview] = []
        self._held = 0

    def __setitem__(self, i: int, encoded: EncodedResult) -> None:
        """(The child's steps run with ``encode=True``: each result arrives encoded.)"""
        self.index.append(i)
        self.verdicts.append(encoded.verdict)
        self.sizes.append(len(encoded.encoded))
        self._parts.append(encoded.encoded)
        self._held += len(encoded.encoded)
        if self._held >= WRITE_PIECE:
            self.flush()

    def __len__(self) -> int:
        return len(self.index)

    def flush(self) -> None:
        if self._parts:
            self.send(self._parts)
        self._parts, self._held = [], 0


def _results_from_child(data: bytes | memoryview | None, expected: Sequence[int]
                        ) -> dict[int, tuple[str, memoryview]] | None:
    """The child's results (:func:`_screened_in_child`): project index → (verdict, JSON); None for no data, or data
    that is damaged or not for the projects ``expected``."""
    import orjson
    if data is None or len(data) < 8:
        return None
    n = int.from_bytes(bytes(data[-8:]), "little")
    try:
        if n > len(data) - 8:
            return None
        tail = orjson.loads(bytes(data[len(data) - 8 - n:len(data) - 8]))
        index, verdicts, sizes = tail["index"], tail["verdict"], tail["size"]
        whole = (len(index) == len(verdicts) == len(sizes) and sorted(index) == sorted(expected)
                 and all(v in VERDICT_LABELS for v in verdicts) and min(sizes, default=0) >= 0
                 and sum(sizes) + n + 8 == len(data))
    except (orjson.JSONDecodeError, TypeError, KeyError):
        return None
    if not whole:
        return None
    ends = np.cumsum([0, *sizes]).tolist()
    view = memoryview(data)         # the results stay where they arrived: no copy of each
    return {i: (v, view[a:b]) for i, v, a, b in zip(index, verdicts, ends, ends[1:])}


def _screen_steps(steps, ready, *, projects, fps, layerset, rules, records, missing, search_radius_m, carbon,
                  features, progress, cancel, done, order: Iterator[int] | None = None, encode: bool = False) -> None:
    """Overlay, rules and carbon checks for ``steps`` (zone, project indices) into ``done`` — those ``order`` gives
    (step numbers, as they are taken), else all in turn — with each zone's prepared layers (futures) in ``ready``,
    the feature contexts built so far in ``features`` (:func:`~gis_screening.engine.screen.evaluate_rules`).
    Alone on the machine's cores, the next step's overlay runs in a thread while this step's rules run
    (:func:`_overlaid_ahead`); taking steps as they go beside a forked copy (``order``), each step is taken when this
    process is ready for it and overlaid here: both cores are busy with the two processes, and a thread would only
    take the GIL back and forth (~3 % slower on the province set).  Stops (leaving the rest out) when ``cancel()``
    says so.  ``encode``: each result is held as the JSON the document
    holds (:class:`~gis_screening.engine.screen.EncodedResult`) — what a screening split with a forked copy keeps
    of both processes' results, encoded step by step so that neither is left encoding while the other waits."""
    def overlay(k: int) -> list:
        epsg, part = steps[k]
        return batch_overlaps([fps[i] for i in part], [f.result() for f in ready[epsg]], search_radius_m,
                              workers=1, chunk=CHUNK)

    overlaid: Generator[tuple[list[int], list], None, None]
    if order is None:
        overlaid = _overlaid_ahead(steps, overlay, cancel)
    else:
        overlaid = ((steps[k][1], overlay(k)) for k in takewhile(lambda _: cancel is None or not cancel(), order))
    with closing(overlaid):        # the thread overlaying ahead is let go at once on a cancel or an error
        for part, overlaps in overlaid:
            for i, ovs in zip(part, overlaps):
                ovs.sort(key=lambda o: (o.distance_m, -o.overlap_area_m2))
                result = _project_result(projects[i], fps[i], ovs, rules, records, carbon, layerset.cat, missing,
                                         features)
                done[i] = EncodedResult.of(result) if encode else result
            if progress:
                progress(len(done), len(projects))


def _overlaid_ahead(steps, overlay: Callable[[int], list], cancel: Callable[[], bool] | None
                    ) -> Generator[tuple[list[int], list], None, None]:
    """Each step's projects and overlaps (``overlay(k)``), in turn: the next step overlaid in a thread (array work
    that releases the GIL) while the caller runs this one's rules.  Stops without waiting for the step overlaid
    ahead when ``cancel()`` says so."""
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="overlay")
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
    try:
        following = ahead.submit(overlay, 0) if steps else None
        for k in range(len(steps)):
            if cancel is not None and cancel():
                return
            assert following is not None
            overlaps = following.result()
            following = ahead.submit(overlay, k + 1) if k + 1 < len(steps) else None
            yield steps[k][1], overlaps
    finally:
        sys.setswitchinterval(switch)
        ahead.shutdown(wait=False, cancel_futures=True)    # a cancel does not wait for the step overlaid ahead


def _project_result(project, fp, overlaps, rules: RuleStack, records, carbon: bool, catalog,
                    missing: dict[str, str], features: FeatureContexts) -> ProjectResult:
    """Rules then carbon checks for one project whose overlaps are known (``missing``, ``features``: see
    ``evaluate_rules``)."""
    findings, ctx = evaluate_rules(project, fp, overlaps, rules, records, catalog, missing, features)
    block = None
    if carbon and rules.carbon_config is not None:
        block, more = carbon_for(project, fp, ctx, rules.carbon_config, overlaps, records)
        findings += more
    return ProjectResult(project, fp, overlaps, findings, dict(ctx), block)
