"""``gis-screening batch``: screen many projects on dask.distributed (a LocalCluster of processes or a scheduler)."""
from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import InputError
from . import (
    FOOTPRINT_CRS,
    FOOTPRINT_ENCODING,
    FOOTPRINT_LAYER,
    FOOTPRINT_OFFSET,
    FOOTPRINT_TOWGS84,
    FOOTPRINT_ZONE,
    app,
    check_cache_dir,
    fail,
    hard_exit,
    load_project_files,
    rich_console,
    say,
    say_screening_notes,
    screening_options,
    with_files_after,
)


@app.command("batch")
def batch_cmd(
    layerset: Path = typer.Option(..., "--layerset", help="layer-set manifest (YAML), readable by every worker"),
    projects: List[Path] = typer.Option(..., "--projects", help="footprints, sheets or tables, or folders of them; "
                                        "repeatable, and more files may follow it (--projects sheets/*.xlsx)"),
    more: Optional[List[Path]] = typer.Argument(None, hidden=True),
    out: Path = typer.Option(..., "--out", help="output folder (resumable: rerun the same command to continue)"),
    workers: int = typer.Option(2, "--workers", min=1, help="worker processes of the local cluster"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="existing cluster, e.g. tcp://host:8786"),
    zone: Optional[int] = FOOTPRINT_ZONE,
    crs: Optional[str] = FOOTPRINT_CRS,
    source_offset: Optional[str] = FOOTPRINT_OFFSET,
    encoding: Optional[str] = FOOTPRINT_ENCODING,
    footprint_layer: Optional[str] = FOOTPRINT_LAYER,
    towgs84: Optional[str] = FOOTPRINT_TOWGS84,
    search_radius: float = typer.Option(1000.0, "--search-radius", min=0, help="metres"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="date (YYYY-MM-DD) whose rule packs apply"),
    rules: Optional[List[Path]] = typer.Option(None, "--rules", help="rule pack files/folders"),
    partition_size: int = typer.Option(2000, "--partition-size", min=1, help="projects per task"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="prepared-layer cache shared by workers"),
) -> None:
    """Screen every project on a dask cluster; same verdicts as `screen`; partitions committed atomically."""
    from ..batch import Job, folder_lock, prepare_run
    from ..layerset import load_layerset
    from ..screening import rules_for
    projects = with_files_after(projects, more, "--projects")
    day = screening_options(search_radius, as_of)
    check_cache_dir(cache_dir)
    try:
        ls = load_layerset(layerset)                 # fail fast on bad input, before starting a cluster
        stack = rules_for(ls.rule_packs, rules, as_of=day)
    except InputError as exc:
        fail(str(exc))
    say_screening_notes(stack, ls, day, search_radius)
    job = Job(str(Path(layerset).resolve()), tuple(str(Path(r).resolve()) for r in rules) if rules else None,
              day.isoformat() if day else None, search_radius, str(out.resolve()),
              str(cache_dir.resolve()) if cache_dir else None)
    stop = _Stop()
    try:
        # one batch at a time in a folder; the cluster starts, and loads its workers, while the projects load
        with folder_lock(out), _Cluster(workers, scheduler, job) as cluster:
            items = load_project_files(projects, zone=zone, crs=crs, offset=source_offset, encoding=encoding,
                                         layer=footprint_layer, towgs84=towgs84)
            fp = prepare_run(items, job, partition_size)   # refuse another batch's folder before any work
            summary = _run(items, job, cluster.client(), partition_size, fp, stop.check)
    except InputError as exc:
        fail(str(exc))
    except KeyboardInterrupt:       # Ctrl-C: committed partitions stay; the same command continues from them
        from ..batch import done_partitions
        committed = len(done_partitions(out)) if out.is_dir() else 0
        say(f"interrupted: {committed} partition(s) committed in {out}; run the same command again to "
            "continue")
        # ended here, not by SystemExit: an interrupt that passed through a module being imported (``exec``)
        # leaves CPython's "unhandled KeyboardInterrupt" flag set, and a ``python -m`` process then kills itself
        # by SIGINT after its teardown whatever exit code it was given (~1 test run in 50).  The cluster is
        # closed and the lock released (the ``with`` above); cache writes are waited for.
        hard_exit(128 + (stop.signum or signal.SIGINT))
    finally:
        stop.restore()
    order = ("不符合", "需人工核实", "有条件符合", "符合")
    say(f"screened {summary['projects']} project(s) in {summary['partitions']} partition(s) "
        f"({summary['skipped']} already done): "
        + "，".join(f"{k} {summary['counts'].get(k, 0)}" for k in order)
        + f"; screening {summary['screen_s']} s (workers' own time {summary['task_s']} s), "
        + f"combining {summary['combine_s']} s after it ({summary['combine_cpu_s']} s CPU in all); wrote {out}/parts/*.parquet, {out}/results.jsonl, {out}/summary.xlsx")


class _Stop:
    """Ctrl-C (SIGINT) and SIGTERM (`kill`, a service manager) stop a batch: the handler raises KeyboardInterrupt in
    the main thread, and :meth:`check` (called as partitions complete) raises it again in case Python swallowed it —
    an exception raised while a garbage-collector callback or a ``__del__`` runs is only printed (dask's scheduler
    keeps a collector callback until the cluster has started).  Such "unraisable" reports are not printed after a
    stop."""

    def __init__(self) -> None:
        self.signum = 0
        self._hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._raise)

    def _raise(self, signum, _frame) -> None:
        self.signum = signum
        _quiet_dask()
        raise KeyboardInterrupt

    def _unraisable(self, info) -> None:
        if not self.signum:         # after a stop: our swallowed interrupt (raised again by check()), or what it broke
            self._hook(info)        # in the callback it interrupted (dask's collector timer asserts) — not news

    def check(self) -> None:
        if self.signum:
            raise KeyboardInterrupt

    def restore(self) -> None:
        """The usual handlers again; after a stop, none: the command is ending with its exit code decided, and a
        second Ctrl-C must not end it by the signal instead."""
        if self.signum:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            return
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.unraisablehook = self._hook


def _quiet_dask() -> None:
    """After a stop, what dask and its event loop log about the work they drop ("Couldn't gather keys", and the
    NameError distributed's ``sync`` cancel callback raises when interrupted) is no news to the user: the one line
    saying how far the run got is.  Called from the signal handler, before the interrupt reaches dask."""
    import logging
    # dask's logging config gives some of them levels of their own (tornado.application: error), which a level on
    # the parent would not override
    names = [n for n in logging.Logger.manager.loggerDict if n.split(".")[0] in ("distributed", "tornado")]
    for name in ("distributed", "tornado", "tornado.application", *names):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _check_reachable(address: str, seconds: float = 5.0) -> None:
    """OSError at once when nothing listens at a TCP scheduler ``address`` (refused, or an unknown host): dask would
    keep trying for 30 s.  A host that does not answer within ``seconds`` is left to dask."""
    import socket

    from distributed.comm import parse_address, parse_host_port
    scheme, loc = parse_address(address)
    if scheme not in ("tcp", "tls"):
        return
    host, port = parse_host_port(loc)
    try:
        socket.create_connection((host, port), timeout=seconds).close()
    except ConnectionRefusedError:
        raise OSError(f"nothing listens at {host}:{port} (connection refused): is the scheduler running, and is "
                      "the address right?") from None
    except socket.gaierror as exc:
        raise OSError(f"unknown host {host!r} ({exc.strerror})") from None
    except OSError:
        pass                    # no answer yet: dask waits for it


class _Cluster:
    """A dask client (a LocalCluster of processes, or an existing scheduler) connected in a background thread, so
    the cluster starts while this process loads the projects; closed on leaving the block, also after an error.
    The thread is a daemon: stopped (Ctrl-C) while still reaching a scheduler, the command does not wait for
    dask's connect timeout."""

    def __init__(self, workers: int, scheduler: str | None, job) -> None:
        import threading
        from concurrent.futures import Future
        self.workers, self.scheduler, self.job = workers, scheduler, job
        self.cluster = self._client = None
        self.forkserver = not scheduler and _start_forkserver_deaf_to_ctrl_c()
        self._start: Future = Future()
        threading.Thread(target=self._connect_into, args=(self._start,), name="dask-connect", daemon=True).start()

    def _connect_into(self, future) -> None:
        try:
            future.set_result(self._connect())
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asks for the client
            future.set_exception(exc)

    def _connect(self):
        from distributed import Client, LocalCluster

        from ..batch import ignore_interrupts, warm_worker
        if self.scheduler:
            _check_reachable(self.scheduler)
            client = Client(self.scheduler)
        else:
            if self.forkserver:
                import dask
                dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
            # any free port: dask's 8787 may be another run's (its HTTP server starts even without bokeh)
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0")
            client = Client(self.cluster)
            client.run(ignore_interrupts)
            # the scheduler in this process times every garbage collection from a gc callback: a Ctrl-C that lands
            # in it is swallowed (see _Stop) and leaves its timer asserting; it only feeds a log warning
            from distributed.gc import disable_gc_diagnosis
            disable_gc_diagnosis(force=True)
        job = self.job
        try:
            client.run(warm_worker, job.layerset, job.rules, job.as_of, job.cache_dir)
        except Exception:  # noqa: BLE001 - only a head start: a task meeting the same problem reports it
            pass
        return client

    def client(self):
        """The connected client (waits for the cluster to start)."""
        if self._client is None:
            from concurrent.futures import TimeoutError as NotYet
            try:
                try:
                    self._client = self._start.result(timeout=3 if self.scheduler else None)
                except NotYet:              # a slow or wrong address: say what it waits for (dask tries for 30 s)
                    say(f"waiting for the dask scheduler {self.scheduler} …")
                    self._client = self._start.result()
            except (OSError, ValueError) as exc:    # connection timeouts are OSErrors; a bad address a ValueError
                raise InputError(f"cannot start or reach the dask cluster {self.scheduler or ''}: {exc}") from None
        return self._client

    def __enter__(self) -> _Cluster:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:    # stopped early: dask's notes on the tasks it drops are no news to the user
            _quiet_dask()
            if self.scheduler and not self._start.done():
                return              # still reaching a remote scheduler: nothing of ours to close yet
        try:
            if self._start.exception() is None:
                self._start.result().close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


#: what the fork server imports once, so every local worker starts with it loaded (``dask``'s own list is replaced)
FORKSERVER_PRELOAD = ["distributed", "gis_screening.batch", "gis_screening.screening", "geopandas", "pyarrow.parquet"]


def _start_forkserver_deaf_to_ctrl_c() -> bool:
    """Start the fork server the local workers are forked from with Ctrl-C ignored (where there is one: not on
    Windows); returns whether it runs.

    Ctrl-C reaches every process of the terminal's group.  A worker spawned afresh gets Python's KeyboardInterrupt
    handler and, stopped while it is still importing (the first seconds), prints a traceback before it can be told
    to ignore the signal.  A process started while SIGINT is ignored keeps it ignored (Python leaves an inherited
    "ignore" alone), and the fork server hands that to every worker it forks, so no worker ever reacts to Ctrl-C;
    the client stops the run and closes them.  SIGINT is ignored here only while the server process is created
    (a few milliseconds, in the main thread, where a signal handler can be set).  Workers forked from one server
    that has already imported :data:`FORKSERVER_PRELOAD` also start faster and import it once, not once each."""
    import multiprocessing
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver
    multiprocessing.get_context("forkserver").set_forkserver_preload(FORKSERVER_PRELOAD)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    except OSError:             # no socket or process to spare: the workers are spawned as dask does by default
        return False
    finally:
        signal.signal(signal.SIGINT, previous)
    return True


def _run(items, job, client, size: int, fingerprint: str, check: Callable[[], None]) -> dict:
    """``run_batch`` with a progress bar; ``check()`` after each partition (raises to stop)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..batch import run_batch
    if client.dashboard_link and _dashboard_served(client):
        say(f"dask dashboard: {client.dashboard_link}")
    console = rich_console(stderr=True)
    with Progress(TextColumn("partitions"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("batch", total=None)

        def progress(done: int, total: int) -> None:
            check()
            bar.update(task, completed=done, total=total)
        return run_batch(items, job, client, size, fingerprint=fingerprint, progress=progress)


def _dashboard_served(client) -> bool:
    """Is the dashboard really served?  dask's scheduler answers on its HTTP port even without bokeh, but the
    dashboard's pages exist only where it could load its bokeh part (asked of the scheduler itself; a lambda
    travels by value, so a scheduler without gis-screening installed can run it)."""
    try:
        return bool(client.run_on_scheduler(
            lambda: __import__("sys").modules.get("distributed.dashboard.scheduler") is not None))
    except Exception:  # noqa: BLE001 - the address is only a convenience
        return False
