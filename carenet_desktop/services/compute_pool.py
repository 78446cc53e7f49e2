"""Whole-store measure computes in worker processes, so the window's Python never waits for them.

A compute of every measure for a period is pandas work that holds the GIL for tens of milliseconds at a
time; on a thread of the window's process it makes the event loop stutter (and a worker thread and the
GUI thread take turns at the GIL). Run in a worker process, it costs the window nothing, and the rolling
periods of a trend are computed side by side on every core.

A worker opens the store itself (URL and passphrase are handed over the pipe, never logged; for an
encrypted store also the SQLCipher key already derived and the key sealing its caches, so a worker derives
none), reads the frames snapshot (sealed, for an encrypted store) or the store, and evaluates; it writes
nothing but that snapshot, and for a precompute (a trend's periods) each period's results file, as the
parent's ``ResultsCache`` would write it, sending back only its practice summary (``Written``). Otherwise
its results - the rows of each period and the journal version they were computed at - come back through
the pool as values, and the parent's ``ResultsCache`` keeps them, in memory and on disk. Progress comes back over a queue; cancelling marks a file the worker checks between
measures. A worker keeps its last job's frames a few seconds for its next one (:mod:`.worker_frames`: the
trend's job after the first scorecard's takes them rather than loading them again: it goes as one job, and its
worker forks copies that claim its periods with it, :mod:`.period_copies`). The pool is off until ``configure()`` (the window, the report
commands and the benchmarks turn it on); where it cannot start, computes run in-process as before.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..metrics.catalogue import Catalogue
from ..metrics.period import Period
from ..models.encryption import derived_keys, remember_derived_keys
from . import period_copies, worker_frames
from .cache_files import cache_key, remember_cache_key
from .context import Cancelled, Progress
from .timeline import mark

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from .results import CachedResults, ResultsCache

log = logging.getLogger(__name__)

#: most worker processes: each holds the store's frames while it computes
MAX_WORKERS = 4
_POLL_S = 0.1
#: how long a failed or cancelled compute waits for its other jobs to stop (each checks between measures)
_STOP_WAIT_S = 30.0
#: how much lower than the window a worker's scheduling priority is (POSIX; Windows keeps the default)
WORKER_NICENESS = 5


@dataclass(frozen=True)
class Job:
    """What a worker needs to compute some periods of one store (picklable)."""

    job_id: int
    url: str  # with the password: the worker connects itself
    key: str | None  # the SQLCipher passphrase
    #: an encrypted store's cache key and the SQLCipher keys the parent derived: the worker opens the store
    #: and its sealed caches without a key derivation of its own (handed over the pipe, never in argv/env)
    cache_key: bytes | None
    derived_keys: dict[tuple[bytes, bytes, int], str]
    frames_folder: str
    periods: tuple[Period, ...]
    measure_ids: tuple[str, ...]
    cancel_file: str
    catalogue: Catalogue  # the parent's (pickled as its definitions): the worker computes the same measures
    #: the parent's results folder: the worker saves each period's results file there itself (as the parent's
    #: ``ResultsCache`` would) and sends back a :class:`Written` instead of the rows; None: the rows come back
    results_folder: str | None = None
    #: wait for the frames snapshot of the store's journal version (another job is writing it) before
    #: loading, until the parent touches the job's go file (no job that could write it is left) or cancels
    await_snapshot: bool = False
    #: periods shared out as the workers ask (claim files with this prefix): every job of a run lists all of
    #: them and evaluates those it claims first, one load of the frames per job; None: all of its own
    claims: str | None = None
    #: how many forked copies of its worker claim the job's periods with it (``period_copies``); 0: none
    spread: int = 0

    @property
    def go_file(self) -> str:
        return self.cancel_file.removesuffix(".cancel") + ".go"

    @property
    def room_file(self) -> str:  # touched when another job comes: the job's copies stop (``period_copies``)
        return self.cancel_file.removesuffix(".cancel") + ".room"


@dataclass(frozen=True)
class Written:
    """What a worker that saved a period's results file itself sends back: all the parent keeps in memory
    (the rows are read from the file when something asks for them)."""

    period: Period
    version: int
    failures: dict[str, str]
    summary: Any  # the practice summary (a small DataFrame)


class ComputePool:
    """A spawn-started process pool with a progress queue shared by its workers."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        self._queue: Any = context.Queue()
        self._executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                             initargs=(self._queue,))
        self._ids = itertools.count(1)
        #: job id -> (the caller's progress, the fractions done of its jobs, how many jobs it has)
        self._progress: dict[int, tuple[Progress, dict[int, float], int]] = {}
        self._lock = threading.Lock()
        self._cancel_dir = Path(tempfile.mkdtemp(prefix="carenet-compute-"))
        self._stop = threading.Event()
        #: ids of the jobs in flight that load the frames themselves (and write their snapshot if missing)
        self._producing: set[int] = set()
        self._spreading: dict[int, Job] = {}  # the jobs in flight whose forked copies claim periods
        self._last_done: tuple[str, float] | None = None  # the last job's frames folder, and when it was done
        self._listener = threading.Thread(target=self._listen, name="compute-progress", daemon=True)
        self._listener.start()

    def busy(self) -> bool:
        """Whether a job that loads the frames itself is in flight (its worker writes their snapshot)."""
        with self._lock:
            return bool(self._producing)

    def compute(self, jobs: Sequence[Job], progress: Progress) -> list[Any]:
        """Run ``jobs`` in the workers and wait for them all: their results (``CachedResults``, or
        ``Written`` for a job that saved them), job by job, period by period; ``Cancelled`` if ``progress``
        is cancelled (the workers stop at their next measure). A job awaiting the frames snapshot is told to
        go on without it (its go file) once no job that could write it is in flight any more."""
        futures: dict[Future[list[Any]], Job] = {}
        shares: dict[int, float] = {}  # job id -> its fraction done
        waiting = [job for job in jobs if job.await_snapshot]
        try:
            with self._lock:  # a worker's copies give their cores to these jobs
                for other in self._spreading.values():
                    Path(other.room_file).touch()
                self._spreading.update((job.job_id, job) for job in jobs if job.spread)
            for job in jobs:
                with self._lock:
                    self._progress[job.job_id] = (progress, shares, len(jobs))
                future = self._executor.submit(_run_job, job)
                futures[future] = job
                if not job.await_snapshot:
                    with self._lock:
                        self._producing.add(job.job_id)
                    future.add_done_callback(functools.partial(self._produced, job.job_id))
                mark(f"job {job.job_id} dispatched ({len(job.periods)} periods)")
            pending = set(futures)
            while pending:
                if progress.cancelled:
                    raise Cancelled()  # (the jobs are stopped below)
                if waiting and not self.busy():  # the snapshot is on disk by now, or never comes
                    for job in waiting:
                        Path(job.go_file).touch()
                    waiting = []
                done, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a worker's exception is raised here
                    with self._lock:
                        self._last_done = (futures[future].frames_folder, time.monotonic())
                    mark(f"job {futures[future].job_id} back in the parent")
            return [entry for future in futures for entry in future.result()]
        except BaseException as exc:
            # cancelled, or a job failed: every other job is told to stop (a job awaiting the snapshot
            # included). After a failure they are waited for (a cancelled caller is not kept waiting), so
            # none goes on re-claiming periods once the claim files are gone. A file a stopping job still
            # saves is of the version it read, and is read back only as that version (``_rows_reader``).
            for future in futures:
                future.cancel()  # not started yet: never starts
            self._cancel(futures.values())
            if not isinstance(exc, Cancelled):
                wait([f for f in futures if not f.done()], timeout=_STOP_WAIT_S)
            raise
        finally:
            with self._lock:  # (every job asked for: one whose submit failed was registered too)
                for job in jobs:
                    self._progress.pop(job.job_id, None)
                    self._spreading.pop(job.job_id, None)
            for job in jobs:
                Path(job.room_file).unlink(missing_ok=True)
            for job in futures.values():
                Path(job.go_file).unlink(missing_ok=True)
                if job.claims is not None:
                    for claim in Path(job.claims).parent.glob(Path(job.claims).name + "-*.claim"):
                        claim.unlink(missing_ok=True)

    def holds(self, frames_folder: str) -> bool:
        """Whether an idle worker likely holds the frames of ``frames_folder``'s store (``worker_frames``):
        the last job done was of that store, recently enough, and no job is in flight."""
        with self._lock:
            last, busy = self._last_done, bool(self._progress)
        return not busy and last is not None and last[0] == frames_folder and period_copies.still_kept(last[1])

    def _produced(self, job_id: int, _future: object = None) -> None:
        with self._lock:
            self._producing.discard(job_id)

    def claims_prefix(self) -> Path:
        """A fresh prefix for the claim files of one run's jobs."""
        return self._cancel_dir / f"run{next(self._ids)}"

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        """Run the module-level function ``fn(*args)`` in a worker (picklable arguments): other background
        work that should not hold its memory in the window (``snapshot_elsewhere``)."""
        return self._executor.submit(_other_work, fn, *args)

    def new_job(self, **fields: Any) -> Job:
        job_id = next(self._ids)
        return Job(job_id=job_id, cancel_file=str(self._cancel_dir / f"{job_id}.cancel"), **fields)

    def shutdown(self) -> None:
        """Stop the workers; a compute under way is cancelled (the window is closing: nobody waits for it)."""
        with self._lock:
            running = list(self._progress)
        for job_id in running:
            (self._cancel_dir / f"{job_id}.cancel").touch()
        self._executor.shutdown(wait=True, cancel_futures=True)
        # This process never writes to the progress queue: a worker killed while writing to it keeps its
        # write lock for ever, and a write from here (a feeder thread waiting for that lock) would then hang
        # this process at exit, when multiprocessing joins the feeder. The listener stops on an event.
        self._stop.set()
        self._listener.join(timeout=5)
        self._queue.close()
        self._queue.cancel_join_thread()
        shutil.rmtree(self._cancel_dir, ignore_errors=True)

    @staticmethod
    def _cancel(jobs: Iterable[Job]) -> None:
        for job in jobs:
            Path(job.cancel_file).touch()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):  # (ValueError: the queue was closed)
                return
            job_id, fraction, message = item
            with self._lock:
                entry = self._progress.get(job_id)
                if entry is None:
                    continue
                progress, shares, jobs = entry
                shares[job_id] = fraction
                overall = sum(shares.values()) / jobs
            try:
                progress.report(overall, message)
            except Cancelled:
                pass  # compute() notices and tells the workers
            except Exception as exc:  # a listener that died would leave every later compute without progress
                log.warning("Progress report failed (%s)", type(exc).__name__)


def run(cache: ResultsCache, periods: Sequence[Period], measure_ids: tuple[str, ...],
        progress: Progress, *, save: bool = False, early: bool = False) -> list[Any] | None:
    """Compute ``periods`` from scratch in the worker processes (shared out among them): their results,
    for the caller to keep. ``None`` when there are no workers or they failed: the caller computes
    in-process (a worker's error, if it is real, is then raised there with its message).

    ``save``: the workers save the results files themselves, where ``cache`` keeps them, and send back
    ``Written`` records (no rows), the periods shared out as the workers ask for them; only where the files
    can be written (an encrypted store's need its cache key), else the rows come back as without it.
    ``early``: the jobs wait for the frames snapshot another job is writing rather than read the store
    beside it (only where a snapshot is written: a SQLite store, an encrypted one with its cache key)."""
    from .frames_cache import saves_snapshot

    pool = active()
    if pool is None or not periods:
        return None
    db = cache.ctx.db
    count = min(pool.workers, len(periods))
    try:
        sealing = cache_key(db)
    except OSError:  # an encrypted store without its cache key: the workers keep no snapshot either
        sealing = None
    keyed = db.key is None or sealing is not None
    save = save and keyed
    early = early and keyed and saves_snapshot(db)
    if early and not pool.busy():  # one worker always left to the job that writes the snapshot, not sent yet:
        count = min(count, pool.workers - 1)  # jobs waiting for it in every worker would wait for ever
        if count < 1:
            return None
    # (with that job in flight, every job sent now starts after it - the pool starts them in the order they
    # were sent -: one job for each worker, the last one taken up by the worker it frees, the snapshot on disk)
    # a trend right after a compute of the same store: one job, to the worker holding its frames and memo (the
    # only one idle, or one of them), which forks copies that claim periods with it (Linux only)
    spread = period_copies.copies_for(len(periods)) if save and not early and pool.holds(str(cache.frames_folder)) else 0
    if spread:
        count = 1
        mark(f"the trend sent as one job, its worker forking {spread} copies")
    derived = derived_keys() if db.key is not None else {}
    claims = str(pool.claims_prefix()) if save and (count > 1 or spread) else None
    jobs = [pool.new_job(url=db.url.render_as_string(hide_password=False), key=db.key, cache_key=sealing,
                         derived_keys=derived, frames_folder=str(cache.frames_folder),
                         periods=tuple(periods) if claims else tuple(periods[i::count]), measure_ids=measure_ids,
                         catalogue=cache.ctx.catalogue, results_folder=str(cache.folder) if save else None,
                         await_snapshot=early, claims=claims, spread=spread)
            for i in range(count)]
    try:
        return pool.compute(jobs, progress)
    except Cancelled:
        raise
    except BrokenProcessPool:
        log.warning("A compute worker process died; computing in-process")
        broken()
        return None
    except Exception as exc:  # the worker's message may quote data: only its type is logged
        log.warning("A compute worker failed (%s); computing in-process", type(exc).__name__)
        return None


_pool: ComputePool | None = None
_pool_lock = threading.Lock()
_wanted = 0


def default_workers() -> int:
    """``$CARENET_COMPUTE_PROCESSES`` if set (0: compute in-process), else one per core up to ``MAX_WORKERS``."""
    setting = os.environ.get("CARENET_COMPUTE_PROCESSES", "").strip()
    if setting.isdigit():
        return int(setting)
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def configure(workers: int | None = None) -> None:
    """Turn worker processes on (``workers`` of them; default ``default_workers()``) or off (0). The pool
    starts on first use."""
    global _wanted
    shutdown()
    _wanted = default_workers() if workers is None else workers


def active() -> ComputePool | None:
    """The pool, started if needed; ``None`` when computes run in-process."""
    global _pool, _wanted
    with _pool_lock:
        if _pool is None and _wanted > 0:
            try:
                _pool = ComputePool(_wanted)
            except (OSError, RuntimeError) as exc:  # no processes here: compute in-process
                log.warning("Worker processes unavailable (%s); computing in-process", type(exc).__name__)
                _wanted = 0
        return _pool


def started() -> ComputePool | None:
    """The pool if it was started (:func:`active`, :func:`warm_up`), without starting it."""
    with _pool_lock:
        return _pool


_warming: list[Future[None]] = []


def warm_up(workers: int = 1) -> None:
    """Start ``workers`` of the pool's processes now, each importing what a compute needs (the store,
    pandas, the engine and its measures), and return at once: the first compute then finds a worker
    ready instead of waiting for a process to start. ``carenet gui`` calls it before it imports Qt, so the
    worker's start overlaps the window's. Nothing is computed; without a pool this does nothing."""
    pool = active()
    if pool is None:
        return
    with _pool_lock:
        _warming[:] = [f for f in _warming if not f.done()]
        for _ in range(max(0, min(workers, pool.workers) - len(_warming))):
            try:
                _warming.append(pool._executor.submit(_warm_worker))
            except (RuntimeError, BrokenProcessPool):  # shut down meanwhile: the first compute starts it
                return


def results_held(url: URL) -> bool:
    """Whether a store's results folder holds files: a start that will likely read its first scorecard from
    them, so :func:`warm_up` is not worth a process start beside the window's (a stale file, after an
    upgrade, only means the first compute starts its worker itself, as without ``warm_up``)."""
    from .cache_files import results_folder

    try:
        return any(results_folder(url).glob("*.npz"))
    except OSError:
        return False


def wait_warm(timeout: float, progress: Progress | None = None) -> None:
    """Wait (at most ``timeout`` s) until the workers :func:`warm_up` started have imported what they need.
    A compute submitted before then would start one more process beside the one starting (the pool
    spawns a process for a job when none is idle), for nothing: that one is ready first anyway.
    ``Cancelled`` as soon as ``progress`` is cancelled (a window closed while a worker still starts)."""
    with _pool_lock:
        futures = list(_warming)
    deadline = time.monotonic() + timeout
    while futures and time.monotonic() < deadline:
        if progress is not None:
            progress.check()
        _done, pending = wait(futures, timeout=min(_POLL_S, max(0.0, deadline - time.monotonic())))
        futures = list(pending)
    if progress is not None:
        progress.check()


def broken() -> None:
    """A worker died (killed, out of memory): drop the pool; the next use starts a fresh one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        with contextlib.suppress(BrokenProcessPool, OSError):
            pool.shutdown()


def shutdown() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown()


# --- in the worker process ------------------------------------------------------------------------------

_worker_queue: Any = None


def _init_worker(queue: Any) -> None:
    global _worker_queue
    from . import snapshot_child, split_evaluation

    _worker_queue = queue
    split_evaluation.enable()  # a lone period's measures on two cores (a fork: safe here, no Qt; Linux only)
    snapshot_child.enable()  # a cold load's snapshot written by a child process at the lowest priority (Linux)
    worker_frames.active = True  # a job's frames kept a few seconds for the next job (a trend after a scorecard)
    if hasattr(os, "nice"):  # background work: the window (and the rest of the desktop) goes first
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)


def _warm_worker() -> None:
    """What :func:`_run_job` imports, imported ahead (:func:`warm_up`)."""
    from ..metrics import engine  # noqa: F401
    from ..metrics.catalogue import builtin_classes
    from ..models import database  # noqa: F401
    from . import frames_cache, results  # noqa: F401

    builtin_classes()  # the measure modules a job's catalogue is rebuilt from
    mark("worker warmed up")


def _other_work(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a worker that lets the frames it kept for a compute go first (:mod:`.worker_frames`)."""
    worker_frames.drop()
    return fn(*args)


def _run_job(job: Job) -> list[Any]:
    """The worker's side: evaluate the job's periods; nothing is written but the frames snapshot and, for
    a job that asks it (``results_folder``), its periods' results files. What the compute freed (the
    frames) is handed back to the system before the worker idles."""
    from . import heap

    entries = _compute_job(job)
    heap.release()
    return entries


class _Claimed:
    """The periods of a shared run (``Job.claims``) this worker claims, one by one, as it gets to them: a
    claim file made with ``O_EXCL`` (one worker gets each); ``len`` is the run's (for the progress)."""

    def __init__(self, periods: Sequence[Period], prefix: str) -> None:
        self.periods = periods
        self.prefix = prefix

    def __len__(self) -> int:
        return len(self.periods)

    def _claim_file(self, i: int) -> Path:
        return Path(f"{self.prefix}-{i}.claim")

    def left(self) -> bool:
        """Whether some period is still unclaimed."""
        return any(not self._claim_file(i).exists() for i in range(len(self.periods)))

    def __iter__(self) -> Iterator[Period]:
        for i, period in enumerate(self.periods):
            try:
                os.close(os.open(self._claim_file(i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                continue
            yield period


def _await_snapshot(db: Any, job: Job, cancel_file: Path) -> None:
    """Wait until the frames snapshot of the store's journal version is on disk (written by the worker of
    another job), or the parent's go file says none is coming: the load then reads the store itself."""
    from ..models.changes import current_version, history_id
    from .frames_cache import store_signature

    with db.session() as s:
        version = current_version(s)
        history = history_id(s)
    path = Path(job.frames_folder) / f"v{version}-{store_signature(history)}.npz"
    go = Path(job.go_file)
    if not path.exists():
        mark(f"job {job.job_id} waiting for the frames snapshot")
    while not path.exists():
        if cancel_file.exists():
            raise Cancelled()
        if go.exists():
            mark(f"job {job.job_id} goes on without a snapshot")
            return
        time.sleep(_POLL_S)
    mark(f"job {job.job_id} found the frames snapshot")


def _compute_job(job: Job) -> list[Any]:
    from sqlalchemy.engine import make_url

    from ..models.database import open_database
    from .context import ServiceContext
    from .frames_cache import wait_for_saves
    from .results import ResultsCache

    cancel_file = Path(job.cancel_file)

    def forward(fraction: float, message: str) -> None:
        if cancel_file.exists():
            raise Cancelled()
        if _worker_queue is not None:
            _worker_queue.put((job.job_id, fraction, message))

    mark(f"job {job.job_id} started in worker")
    remember_derived_keys(job.derived_keys)
    db = open_database(make_url(job.url), migrate=False, key=job.key, allow_network_share=True)
    remember_cache_key(db, job.cache_key)
    try:
        cache = ResultsCache(ServiceContext(db, catalogue=job.catalogue), frames_folder=Path(job.frames_folder),
                             in_process=True, shared=False)  # the parent stores what it shares
        if job.results_folder is not None:  # the parent's files, written here as its own cache writes them
            cache.folder = Path(job.results_folder)
        else:
            cache.on_disk = False  # the parent's cache: this process only computes
        periods: Sequence[Period] = job.periods
        if job.claims is not None:
            claimed = _Claimed(job.periods, job.claims)
            if not claimed.left():  # the others took them all while this job waited for a worker
                mark(f"job {job.job_id} returning its results")
                return []
            periods = claimed  # type: ignore[assignment]  # iterated once, lazily, by the engine
        # the frames this worker's last job loaded, if they are this job's (the same store, version, history)
        key = worker_frames.frames_key(db, job.frames_folder)
        kept = worker_frames.take(key)
        if kept is None and job.await_snapshot:
            _await_snapshot(db, job, cancel_file)
        # a job of several periods (a trend's share) reads the frames once and evaluates them in one pass
        # the practice summary (what a scorecard and a trend read) made here, in parallel, and sent with the
        # rows: not one after another by the window; a period whose file is saved here sends its summary only,
        # and its rows are let go at once (a trend's share would otherwise hold every period's rows)
        saved = job.results_folder is not None
        with cache.sharing_frames():  # (the frames this job loads, or takes, are at hand after it)
            if kept is not None and key is not None:
                cache.share_frames(key[2], kept)  # type: ignore[index]  # served if the version is still the same
                mark(f"job {job.job_id} takes the frames its worker kept")
            del kept
            keep = _written if saved else _summarised
            if job.spread and job.claims is not None:
                entries = period_copies.evaluate_job(job, cache, db, periods, Progress(forward), keep)
            else:
                entries = cache.compute_periods_here(periods, job.measure_ids, Progress(forward), keep=keep)
            loaded = cache.shared_frames()
        # a snapshot written on a thread is on disk before the results go back (the next job, in whichever
        # worker, reads it); one a child process writes (``snapshot_child``) is waited for by any load
        wait_for_saves(Path(job.frames_folder), children=False)
        if key is not None and loaded is not None and worker_frames.frames_key(db, job.frames_folder) == key:
            worker_frames.keep(key, loaded[1])  # the store unchanged since before the load: for the next job
        del loaded
        mark(f"job {job.job_id} returning its results")
        return entries
    finally:
        db.dispose()
        cancel_file.unlink(missing_ok=True)


def _summarised(entry: CachedResults) -> CachedResults:
    entry.summary(["practice_id"])
    return entry


def _written(entry: CachedResults) -> Written:
    return Written(entry.period, entry.version, entry.failures, entry.summary(["practice_id"]))
