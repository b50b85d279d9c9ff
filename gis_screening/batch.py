"""Batch screening on dask.distributed: many projects, one machine (LocalCluster of processes) or a cluster.

Projects are partitioned spatially — by GK zone, then along a Morton (Z-order) curve of their centroids — so each
partition touches few layer pieces; each task screens one partition with the same :func:`screening.screen` as the
CLI and the app, with prepared layers from the content-keyed disk cache (built once per worker, shared through
the cache folder).  Each partition is committed atomically (its JSONL, then its GeoParquet, whose presence marks
the partition done), so rerunning the same command resumes and yields exactly one row per project even after a
SIGKILL of the client or a worker.  Outputs under ``DIR``: ``parts/*.parquet`` (GeoParquet, one row per project
with verdict columns), ``results.jsonl`` (full per-project results, as ``screen --jsonl``), ``summary.xlsx``; once
they are written the run is marked finished and the partitions' JSONL removed.  One batch at a time per folder.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

from .atomic import atomic_path, write_text
from .crs import metric_epsg_for_lon
from .engine.model import VERDICT_LABELS
from .errors import InputError
from .model import Project, is_missing
from .xmltext import formula_like, xlsx_cell

RUN_FILE = "run.json"
LOCK_FILE = "run.lock"


@dataclass(frozen=True)
class Job:
    """What every partition task needs (picklable, small): paths and parameters, not loaded data."""

    layerset: str
    rules: tuple[str, ...] | None
    as_of: str | None
    radius_m: float
    out: str
    cache_dir: str | None


def morton(x: np.ndarray, y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Z-order keys of points scaled to ``[0, 2**bits)`` on each axis (bit interleaving)."""
    def spread(v):
        v = v.astype(np.uint64)
        out = np.zeros_like(v)
        for b in range(bits):
            out |= ((v >> np.uint64(b)) & np.uint64(1)) << np.uint64(2 * b)
        return out
    scale = (1 << bits) - 1

    def norm(a):
        lo, hi = float(a.min()), float(a.max())
        return np.zeros(len(a)) if hi == lo else (a - lo) / (hi - lo) * scale
    return spread(norm(x)) | (spread(norm(y)) << np.uint64(1))


def partition(projects: Sequence[Project], size: int) -> list[tuple[str, list[int]]]:
    """``[(partition id, project indices)]``: by GK zone, then Morton order of centroids, ``size`` per partition.
    Deterministic for the same inputs (ids break ties), so a rerun finds the same partitions."""
    if size < 1:
        raise InputError("--partition-size must be at least 1")
    c = shapely.centroid(np.array([p.geometry for p in projects], dtype=object))
    lon, lat = shapely.get_x(c), shapely.get_y(c)
    zones = np.array([metric_epsg_for_lon(x) for x in lon])
    out = []
    for z in sorted(set(zones.tolist())):
        idx = np.flatnonzero(zones == z)
        keys = morton(lon[idx], lat[idx])
        ids = np.array([projects[int(i)].id for i in idx], dtype=str)
        ordered = idx[np.lexsort((ids, keys))].tolist()          # Morton key, then id
        for n, lo in enumerate(range(0, len(ordered), size)):
            out.append((f"z{z}-{n:05d}", ordered[lo:lo + size]))
    return out


def run_fingerprint(projects: Sequence[Project], job: Job, size: int) -> str:
    """What makes two runs the same run (and a resume valid): projects, layer set and its content, the rules
    (:func:`_rules_signature`), date, radius, size."""
    from .layerset import layerset_signature
    h = hashlib.sha256(json.dumps([job.layerset, layerset_signature(job.layerset), job.rules, job.as_of, job.radius_m,
                                   size, _rules_signature(job)]).encode())
    wkbs = shapely.to_wkb(np.array([p.geometry for p in projects], dtype=object))
    for p, wkb in zip(projects, wkbs):
        h.update(p.id.encode("utf-8"))
        h.update(wkb)
    h.update(json.dumps([[p.sheet, p.industry_code, p.construction_type] for p in projects], sort_keys=True,
                        default=str).encode("utf-8"))
    return h.hexdigest()[:32]


def _rules_signature(job: Job) -> str:
    """The rules a batch's partitions are screened with, by content (:func:`~gis_screening.screening.
    rules_signature` of the stack its workers load): a pack edited, a pack come into force, an upgrade between an
    interrupted run and its rerun make another batch, never one whose verdicts mix two sets of rules."""
    from .layerset import load_manifest, rule_pack_paths
    from .screening import rules_for, rules_signature
    packs = rule_pack_paths(load_manifest(job.layerset), Path(job.layerset).parent)
    return rules_signature(rules_for(packs, job.rules, _day(job.as_of)))


def _day(iso: str | None) -> dt.date | None:
    """A job's ``as_of`` (ISO day) as a date; None: today."""
    return dt.date.fromisoformat(iso) if iso else None


@lru_cache(maxsize=4)
def _worker_state(layerset: str, rules: tuple[str, ...] | None, as_of: str | None, cache_dir: str | None):
    """Per worker process: the layer set, the rule stack and the prepared-layer cache, loaded once."""
    from .engine.prepared import PreparedCache
    from .layerset import load_layerset
    from .screening import rules_for
    ls = load_layerset(layerset, cache=cache_dir or True)
    stack = rules_for(ls.rule_packs, rules, _day(as_of))
    return ls, stack, PreparedCache(cache_dir)


#: the key marking a value JSON has no type for (a date, bytes…) in a packed partition
_TAG = "\x00gis-screening-type"


def pack_projects(projects: Sequence[Project]) -> bytes:
    """The projects of one task as data-only bytes (JSON, footprints as hex WKB converted in one call): a blob that
    dask's scheduler passes along without reading it, and that cannot run code when a worker reads it
    (:func:`unpack_projects`).  Dates, times, timestamps, bytes and decimals in attributes or sheets keep their
    type; NumPy values become plain numbers and lists; any other type is refused (InputError naming the
    project and the type)."""
    wkb = shapely.to_wkb(np.array([p.geometry for p in projects], dtype=object), hex=True)
    rows = [[p.id, w, p.name, p.industry_code, p.construction_type, p.attributes, p.sheet, p.source, p.problems]
            for p, w in zip(projects, wkb)]
    try:
        return _json(rows)
    except orjson.JSONEncodeError:
        for p in projects:                  # name the project holding the value
            try:
                _json([p.attributes, p.sheet])
            except orjson.JSONEncodeError as exc:
                raise InputError(f"project {p.id}: {exc.__cause__ or exc}", file=p.source) from None
        raise


def _json(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_tagged, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_SERIALIZE_NUMPY
                        | orjson.OPT_NON_STR_KEYS)


def unpack_projects(payload: bytes) -> list[Project]:
    """The projects :func:`pack_projects` packed."""
    rows = orjson.loads(payload)
    if b"gis-screening-type" in payload:    # only then is there a tagged value to restore
        rows = _untagged(rows)
    geoms = shapely.from_wkb([r[1] for r in rows])
    return [Project(pid, g, name, code, ctype, attrs, sheet, source, problems)
            for g, (pid, _, name, code, ctype, attrs, sheet, source, problems) in zip(geoms, rows)]


def _tagged(value: Any) -> dict[str, str]:
    """orjson's ``default``: a value JSON has no type for, as ``{_TAG: kind, "v": text}``."""
    import pandas as pd
    kinds: tuple[tuple[type | tuple[type, ...], str, Callable[[Any], str]], ...] = (
        (pd.Timestamp, "timestamp", lambda v: v.isoformat()), (dt.datetime, "datetime", lambda v: v.isoformat()),
        (dt.date, "date", lambda v: v.isoformat()), (dt.time, "time", lambda v: v.isoformat()),
        (dt.timedelta, "timedelta", lambda v: f"{v.days} {v.seconds} {v.microseconds}"),
        ((bytes, bytearray, memoryview), "bytes", lambda v: base64.b64encode(bytes(v)).decode("ascii")),
        (Decimal, "decimal", str))
    for kind, name, text in kinds:
        if isinstance(value, kind):
            return {_TAG: name, "v": text(value)}
    raise TypeError(f"a {type(value).__name__} value cannot be sent to a worker")


def _untagged(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_untagged(v) for v in obj]
    if isinstance(obj, dict):
        if _TAG in obj and len(obj) == 2:
            return _UNTAG[obj[_TAG]](obj["v"])
        return {k: _untagged(v) for k, v in obj.items()}
    return obj


def _timestamp(text: str) -> Any:
    import pandas as pd
    return pd.Timestamp(text)


_UNTAG: dict[str, Callable[[str], Any]] = {
    "timestamp": _timestamp, "datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat, "bytes": base64.b64decode, "decimal": Decimal,
    "timedelta": lambda t: dt.timedelta(*map(int, t.split()))}


def warm_worker(layerset: str, rules: tuple[str, ...] | None, as_of: str | None, cache_dir: str | None) -> None:
    """Load a worker's state (modules, layer set, rule stack) before its first task; run on every worker while the
    client is still loading the projects."""
    _worker_state(layerset, rules, as_of, cache_dir)


def ignore_interrupts() -> None:
    """On a worker of the local cluster: Ctrl-C reaches every process of the terminal's foreground group; the client
    stops the run and closes the cluster, so its workers ignore the signal instead of each printing a traceback,
    and do not log the tasks that closing cancels."""
    import logging
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)


def screen_partition(job: Job, part_id: str, payload: bytes) -> tuple[str, float]:
    """Screen one partition and commit it: JSONL of full results, then GeoParquet of verdict rows (the marker).
    Returns the partition id and the seconds the worker spent on it (the batch benchmark's model uses them)."""
    import time

    import geopandas as gpd
    t0 = time.perf_counter()

    from .engine.result import verdict_rows, write_jsonl
    from .screening import screen
    projects = unpack_projects(payload)
    ls, stack, cache = _worker_state(job.layerset, job.rules, job.as_of, job.cache_dir)
    # the overlay's few threads (shapely releases the GIL) measured faster than one per worker, even with
    # two workers on two cores (benchmarks/README.md)
    doc = screen(projects, ls, stack, search_radius_m=job.radius_m, cache=cache).to_json()
    parts = Path(job.out) / "parts"
    write_jsonl({k: v for k, v in doc.items() if k != "results"}, doc["results"], parts / f"{part_id}.jsonl")
    rows = verdict_rows(doc)
    geoms = {p.id: p.geometry for p in projects}
    gdf = gpd.GeoDataFrame(rows, geometry=[geoms[r["id"]] for r in rows], crs=4490)
    gdf["partition"] = part_id
    with atomic_path(parts / f"{part_id}.parquet") as tmp:
        gdf.to_parquet(tmp)
    return part_id, time.perf_counter() - t0


def done_partitions(out: Path) -> set[str]:
    """Partitions whose GeoParquet (the commit marker) and JSONL both exist."""
    parts = out / "parts"
    return {p.stem for p in parts.glob("z*.parquet") if (parts / f"{p.stem}.jsonl").exists()}


@contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Held while a batch runs in ``out``: a second batch in the same folder (the command started twice, an
    overlapping scheduled run) is refused with an InputError instead of both combining the same outputs.  The
    operating system releases it when the process ends, also on a kill."""
    from filelock import FileLock, Timeout
    _make_folder(out)
    lock = FileLock(out / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise InputError("another batch is running in this folder; wait for it to end, or use another --out folder",
                         file=out) from None
    try:
        yield
    finally:
        lock.release()


def _make_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder", file=out)
    out.mkdir(parents=True, exist_ok=True)


def _read_run(out: Path) -> dict[str, Any]:
    """``run.json`` of the folder: the run's fingerprint and size, and its counts once it finished; {} when there
    is none or it cannot be read."""
    try:
        run = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return run if isinstance(run, dict) else {}


def _write_run(out: Path, fingerprint: str, projects: int, counts: dict[str, int] | None = None) -> None:
    write_text(out / RUN_FILE, json.dumps({"fingerprint": fingerprint, "projects": projects,
                                           **({"counts": counts} if counts is not None else {})}))


def completed_counts(out: Path) -> dict[str, int] | None:
    """Projects per verdict label of a run in ``out`` that finished (its ``results.jsonl`` and ``summary.xlsx`` are
    there), else None."""
    done = _read_run(out).get("counts")
    if isinstance(done, dict) and (out / "results.jsonl").exists() and (out / "summary.xlsx").exists():
        return {str(k): int(v) for k, v in done.items()}
    return None


def mark_complete(out: Path, fingerprint: str, projects: int, counts: dict[str, int]) -> None:
    """``results.jsonl`` and ``summary.xlsx`` are committed: record the run as finished (with its counts), then
    remove the partitions' JSONL, whose every line ``results.jsonl`` now holds — a large batch does not keep its
    results twice on disk.  A kill in between leaves some of them: harmless, the next run removes them."""
    _write_run(out, fingerprint, projects, counts)
    for part in (out / "parts").glob("z*.jsonl"):
        part.unlink(missing_ok=True)


def prepare_run(projects: Sequence[Project], job: Job, size: int) -> str:
    """Create or check the output folder: a folder of another batch is refused (InputError) before any work.
    Returns the run fingerprint."""
    out = Path(job.out)
    fp = run_fingerprint(projects, job, size)
    if (out / RUN_FILE).exists():
        if _read_run(out).get("fingerprint") != fp:
            raise InputError("this folder holds a different batch (other projects, layers, rules — edited, or in "
                             "force on another day —, program version or parameters); use a new --out folder",
                             file=out)
        for stale in (out / "parts").glob(".*.tmp*"):    # temp files of a killed run: never committed
            stale.unlink(missing_ok=True)
    else:
        _make_folder(out)
        _write_run(out, fp, len(projects))
    return fp


def run_batch(projects: Sequence[Project], job: Job, client, size: int = 2000,
              progress: Callable[[int, int], None] | None = None, fingerprint: str | None = None) -> dict:
    """Screen ``projects`` on the dask ``client``'s cluster, resuming a run in the same folder.  Returns a summary
    ``{"partitions", "skipped", "projects", "counts", "screen_s", "combine_s", "combine_cpu_s", "task_s"}``
    (seconds: the screening phase, combining after it, the CPU time this process spent combining in all, and the
    workers' own time summed over partitions); writes
    ``results.jsonl`` and ``summary.xlsx``; a run already finished in this folder is not redone.

    The outputs are combined while the cluster works: each partition is appended (in partition order) as soon as
    it and those before it have finished, so only the last partitions' combining is left after the screening.
    ``fingerprint``: what :func:`prepare_run` returned for this folder, when the caller has called it already."""
    import time
    from contextlib import ExitStack

    from distributed import as_completed
    t0 = time.perf_counter()
    out = Path(job.out)
    fp = fingerprint or prepare_run(projects, job, size)
    parts = partition(projects, size)
    finished_before = completed_counts(out)
    if finished_before is not None:         # the same command again after it finished: nothing to do
        mark_complete(out, fp, len(projects), finished_before)
        return {"partitions": len(parts), "skipped": len(parts), "projects": len(projects),
                "counts": finished_before, "screen_s": 0.0, "combine_s": 0.0, "combine_cpu_s": 0.0, "task_s": 0.0}
    done = done_partitions(out)
    todo = [(pid, idx) for pid, idx in parts if pid not in done]
    # each task's projects travel as one data-only blob: dask's scheduler unpickles the graph it is sent, and a blob
    # stays a blob there (the projects themselves were ~1 s of the scheduler's time per 100,000)
    futures = [client.submit(screen_partition, job, pid, pack_projects([projects[i] for i in idx]),
                             key=f"screen-{fp[:8]}-{pid}", pure=False) for pid, idx in todo]
    finished = len(parts) - len(todo)
    if progress:
        progress(finished, len(parts))
    with ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(out / "results.jsonl"))
        combiner = Combiner(out, [pid for pid, _ in parts], stack.enter_context(open(tmp, "wb")))
        stack.callback(combiner.discard)
        for pid in done:
            combiner.add(pid)
        task_s: list[float] = []
        for fut in as_completed(futures):
            part_id, seconds = fut.result()     # re-raises a worker's InputError here
            combiner.add(part_id)
            task_s.append(seconds)
            finished += 1
            if progress:
                progress(finished, len(parts))
        t1 = time.perf_counter()
        counts = combiner.finish()
    mark_complete(out, fp, len(projects), counts)
    return {"partitions": len(parts), "skipped": len(parts) - len(todo), "projects": len(projects),
            "counts": counts, "screen_s": round(t1 - t0, 2), "combine_s": round(time.perf_counter() - t1, 2),
            "combine_cpu_s": round(combiner.cpu_s, 2),
            "task_s": round(sum(task_s), 2)}


#: the per-project columns of ``summary.xlsx`` (what a reviewer reads; the partition stays in the GeoParquet)
SUMMARY_COLUMNS = {"id": "项目编号", "name": "项目名称", "verdict_label": "结论", "decisive_titles": "决定性规则",
                   "area_m2": "面积 m²", "length_m": "长度 m", "findings": "发现数"}


class Combiner:
    """Builds ``results.jsonl`` (header once, then every project in partition order) into ``jsonl`` and
    ``summary.xlsx``: a sheet 统计 (projects per verdict) and a sheet 汇总 (one row per project), from committed
    partitions handed to :meth:`add` in any order."""

    def __init__(self, out: Path, order: list[str], jsonl) -> None:
        from openpyxl import Workbook
        self.out, self.parts, self.order, self.jsonl = out, out / "parts", order, jsonl
        self.ready: set[str] = set()
        self.next = 0
        self.workbook = Workbook(write_only=True)
        self.totals = self.workbook.create_sheet("统计")     # first sheet; filled when every partition is in
        self.sheet = self.workbook.create_sheet("汇总")
        from openpyxl.utils import get_column_letter

        from .print_layout import print_layout
        for i, width in enumerate((12, 24, 11, 40, 12, 10, 8), start=1):     # as the report's 汇总 (write-only:
            self.sheet.column_dimensions[get_column_letter(i)].width = width  # set before the first row)
        self.sheet.freeze_panes = "A2"
        for sheet in (self.totals, self.sheet):
            print_layout(sheet)
        self.sheet.append(list(SUMMARY_COLUMNS.values()))
        self.counts: dict[str, int] = {}
        self.missing: list[dict] = []      # the run's layers_missing (from the first partition's header)
        self.cpu_s = 0.0            # CPU seconds of the combining thread (it bounds a large cluster's throughput)

    def add(self, part_id: str) -> None:
        """Partition ``part_id`` is committed: append it and any waiting ones that now follow in order."""
        import time
        t = time.thread_time()
        self.ready.add(part_id)
        while self.next < len(self.order) and self.order[self.next] in self.ready:
            self._append(self.order[self.next], first=self.next == 0)
            self.next += 1
        self.cpu_s += time.thread_time() - t

    def _append(self, part_id: str, first: bool) -> None:
        import pyarrow.parquet as pq
        with open(self.parts / f"{part_id}.jsonl", "rb") as src:
            header = src.readline()
            if first:
                self.jsonl.write(header)
                self.missing = orjson.loads(header).get("layers_missing") or []
            while chunk := src.read(1 << 20):
                self.jsonl.write(chunk)
        table = pq.read_table(self.parts / f"{part_id}.parquet", columns=list(SUMMARY_COLUMNS)).to_pylist()
        for row in table:
            self.sheet.append([self._cell(None if is_missing(v) else xlsx_cell(v)) for v in row.values()])
            label = str(row["verdict_label"])
            self.counts[label] = self.counts.get(label, 0) + 1

    def _cell(self, value):
        """``value`` for the write-only summary sheet: as it is, or a string cell for text that begins with "="
        (:func:`~gis_screening.xmltext.formula_like`)."""
        if not formula_like(value):
            return value
        from openpyxl.cell import WriteOnlyCell
        cell = WriteOnlyCell(self.sheet, value=value)
        cell.data_type = "s"
        return cell

    def discard(self) -> None:
        """Stopped before :meth:`finish` (an error, Ctrl-C): end the unsaved sheets' writers cleanly (left open, they
        complain when collected); nothing is written."""
        for sheet in (self.totals, self.sheet):
            if not sheet.closed:
                sheet.close()

    def finish(self) -> dict[str, int]:
        """Write ``summary.xlsx`` atomically (``results.jsonl`` is committed by its caller); returns counts per
        verdict label."""
        import time
        t = time.thread_time()
        if self.next != len(self.order):
            raise RuntimeError(f"partition {self.order[self.next]} was never committed")
        self.totals.append(["结论", "项目数"])
        for label in VERDICT_LABELS.values():
            self.totals.append([label, self.counts.get(label, 0)])
        self.totals.append(["合计", sum(self.counts.values())])
        if self.missing:            # rules left undecided for lack of layers (as the reports say)
            from .engine.words import missing_layers_text
            self.totals.append([])
            self.totals.append([xlsx_cell(missing_layers_text(self.missing))])
        with atomic_path(self.out / "summary.xlsx") as tmp:
            self.workbook.save(tmp)
        self.cpu_s += time.thread_time() - t
        return self.counts
