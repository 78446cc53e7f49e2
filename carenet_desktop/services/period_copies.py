"""A trend's periods shared out between the compute worker that holds the frames and forked copies of it.

After the first scorecard of a cold store, its worker keeps the frames and the engine's memo
(:mod:`.worker_frames`). The sparklines' eleven other periods were shared out between two jobs, and the
second job's worker (started for it, on the other core) read the frames snapshot and derived the memo's
period-free answers again: ~6 s of CPU on the 250,000-patient demo spent re-making what the first worker
holds. The trend is sent as one job instead (``compute_pool.run``: ``Job.spread``), and the worker that takes
it forks copies of itself once the frames are at hand (copy-on-write: nothing is copied or sent); each
process claims the periods one by one (``compute_pool._Claimed``), saves its periods' results files as a
worker does, and the copies send their ``Written`` records back pickled over a pipe, then exit.

As :mod:`.split_evaluation`: Linux only, two cores or more, never in a process that imported Qt; a copy dies
with its worker (``PR_SET_PDEATHSIG``); the copies stop at their next measure when the job is cancelled (the
worker kills them when it notices first); a copy told to make room (another job came to the pool: the copies
would take its core) stops claiming and sends what it finished; a period a copy claimed but never sent (it
died, was stopped) is evaluated by the worker (``compute_pool._compute_job``).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..metrics.engine import share_lone_periods
from . import worker_frames
from .context import Cancelled, Progress
from .split_evaluation import _die_with, _receive
from .timeline import mark

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ..metrics.period import Period
    from .compute_pool import Job
    from .results import ResultsCache

log = logging.getLogger(__name__)

#: how long before a worker lets its frames go a job is no longer sent to it as the one holding them (s)
HOLD_MARGIN_S = 2.0
#: evaluates the periods the calling process claims, appending each one's outcome to the list when it is done;
#: its last argument says whether the calling process is the one that forked the copies (False: a copy)
Run = Callable[[Progress, list[Any], bool], None]


class _MakeRoom(Exception):
    """In a copy: another job came to the pool; stop claiming periods and send what is done."""


def still_kept(done_at: float) -> bool:
    """Whether a worker that finished a job at ``done_at`` (``time.monotonic``) still keeps its frames, with
    time to spare for the job sent to it now to take them (``worker_frames.KEEP_S``)."""
    return time.monotonic() - done_at < worker_frames.KEEP_S - HOLD_MARGIN_S


def fits() -> bool:
    """Whether a worker process may fork copies of itself here (Linux, two cores or more)."""
    return sys.platform == "linux" and hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


def copies_for(periods: int) -> int:
    """How many copies a job of ``periods`` periods may fork: one process per core at most, none where
    forking does not fit (the job's periods are then evaluated by it alone)."""
    if not fits() or periods < 2:
        return 0
    return max(0, min((os.cpu_count() or 1) - 1, periods - 1))


def spread(copies: int, run: Run, progress: Progress, *, cancel_file: Path, room_file: Path,
           in_copy: Callable[[], None]) -> list[Any]:
    """``run`` here and in ``copies`` forked copies of this process: the outcomes of all of them (a period
    a copy never sent is missing: the caller evaluates it). ``in_copy()`` is called first in each copy (to
    let go of what the copy must not share with this process: the store's connections). ``Cancelled`` when
    ``progress`` (this process) or ``cancel_file`` (the copies) says so: the copies are killed."""
    if copies < 1 or "PySide6" in sys.modules:
        mine: list[Any] = []
        run(progress, mine, True)
        return mine
    parent = os.getpid()
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    try:
        for _ in range(copies):
            out_r, out_w = os.pipe()
            _widen(out_w)
            try:
                pid = os.fork()
            except OSError:
                os.close(out_r)
                os.close(out_w)
                raise
            if pid == 0:
                _copy(parent, out_r, out_w, run, in_copy, cancel_file, room_file, children)
            os.close(out_w)
            children.append((pid, out_r))
    except OSError as exc:  # no process left: the copies forked so far (if any) and this one evaluate them
        log.info("No more forked copies for the trend's periods (%s)", type(exc).__name__)
    mark(f"{len(children)} forked copies claim periods")
    mine = []
    theirs: list[Any] = []
    handed: set[int] = set()  # read ends handed to _receive, which closes them (never closed twice)

    def still_wanted() -> None:
        progress.check()
        if cancel_file.exists():
            raise Cancelled()

    reaped: set[int] = set()  # copies _receive waited for: their pids may be another process's by now
    try:
        run(progress, mine, True)
        for pid, out_r in children:
            handed.add(out_r)
            theirs += _receive(out_r, pid, still_wanted).values()
            reaped.add(pid)
    except BaseException:
        for pid, out_r in children:
            if pid in reaped:
                continue
            with contextlib.suppress(OSError):  # (already gone: nothing to kill)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            if out_r not in handed:
                os.close(out_r)
        raise
    mark(f"forked copies sent {len(theirs)} periods")
    return mine + theirs


#: the room asked for a copy's pipe (Linux's F_SETPIPE_SZ; an unprivileged process may have up to 1 MiB):
#: a copy's records (~55 KB of practice summary per period) then fit it, so a copy done before the worker
#: (which evaluates the held-back period before it reads the pipes) exits at once, its memory handed back,
#: rather than wait blocked on a full pipe (64 KiB by default)
PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # linux/fcntl.h


def _widen(fd: int) -> None:
    """Ask for ``PIPE_BYTES`` of room in the pipe ``fd`` (where the system allows: else it keeps its own)."""
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), PIPE_BYTES)


def _copy(parent: int, out_r: int, out_w: int, run: Run, in_copy: Callable[[], None], cancel_file: Path,
          room_file: Path, siblings: list[tuple[int, int]]) -> None:
    """In a copy: claim and evaluate periods until none is left (or room is to be made), send the outcomes,
    exit (no atexit, no finalizers)."""
    code = 1
    try:
        _die_with(parent)
        os.close(out_r)
        for _pid, fd in siblings:  # the earlier copies' pipes: theirs, not this copy's
            os.close(fd)
        in_copy()

        def check(_fraction: float, _message: str) -> None:
            if cancel_file.exists():
                raise Cancelled()
            if room_file.exists():
                raise _MakeRoom()

        done: list[Any] = []
        with contextlib.suppress(_MakeRoom):
            run(Progress(check), done, False)
        mark(f"copy sends {len(done)} periods")
        with os.fdopen(out_w, "wb") as out:
            pickle.dump(dict(enumerate(done)), out, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


class _ThenHeld:
    """The periods this worker claims, then the one held back for it (claimed by no other process); ``len``
    is their run's (for the progress)."""

    def __init__(self, claimed: Sequence[Period], held: Period) -> None:
        self.claimed = claimed
        self.held = held

    def __len__(self) -> int:
        return len(self.claimed) + 1

    def __iter__(self) -> Iterator[Period]:
        yield from self.claimed
        mark("the held-back period evaluated within this pass")
        yield self.held


def evaluate_job(job: Job, cache: ResultsCache, db: Any, periods: Sequence[Period], progress: Progress,
                 keep: Callable[[Any], Any]) -> list[Any]:
    """A job's periods (``periods``: claimed as they are got to) evaluated by this worker and ``job.spread``
    copies of it forked once the frames are at hand (the kept ones, or loaded here first: the copies share
    them), each saving its files; then a period a copy claimed but never sent (it died, made room) evaluated
    here. ``keep``: what of each period is sent back. Only a store large enough is worth a fork.

    One period more than the processes share evenly (the trend's 11 on two cores) would be evaluated by one
    process while the others' cores idle: it is held back, claimed by no copy, and evaluated here last within
    this worker's own pass (the pass's ``for_pass`` records still held: ``metrics.memo``), its measures split
    with a copy forked then (``split_evaluation``: it inherits those records, copy-on-write, and they die with
    it; a copy still on its last period meanwhile shares the cores with the two, which claim the measures as
    they are free) - unless another job came meanwhile (the copies made room: evaluated here alone)."""
    from .compute_pool import _Claimed
    from .frames_cache import no_snapshot_writes, wait_for_saves
    from .split_evaluation import MIN_PATIENTS, enabled

    data = cache._all_frames()  # (within the job's sharing_frames: the load its periods share)
    # a fork copies only the forking thread: the frames snapshot this load may be writing on another thread
    # (frames loaded or patched here, not kept) is finished first, so no copy starts with its locks held;
    # one a child process writes (``snapshot_child``) is no thread of this process: not waited for
    wait_for_saves(Path(job.frames_folder), children=False)
    copies = job.spread if len(data.patients) >= MIN_PATIENTS else 0
    del data
    count = len(job.periods)
    held: Period | None = None
    if copies and enabled() and job.claims is not None and count > copies + 1 and count % (copies + 1) == 1:
        held = job.periods[-1]
        periods = _Claimed(job.periods[:-1], job.claims)  # type: ignore[assignment]  # (claimed lazily)
        mark(f"job {job.job_id} holds its last period back")
    room = Path(job.room_file)

    def share_out(period: Period) -> bool:  # the held-back period, got to once this worker's claims ran out
        return held is not None and period == held and not room.exists()  # (no other job came for the core)

    def run(progress: Progress, done: list[Any], here: bool) -> None:
        mine: Sequence[Period] = periods
        if here and held is not None:
            mine = _ThenHeld(periods, held)  # type: ignore[assignment]  # (iterated once, lazily, by the engine)
        cache.compute_periods_here(mine, job.measure_ids, progress, keep=lambda entry: done.append(keep(entry)),
                                   share_out=share_out)

    def in_copy() -> None:  # the store's connections are this worker's; a load here (the journal moved
        db.engine.dispose(close=False)  # since the worker's) writes no snapshot a copy's exit would cut short
        no_snapshot_writes()

    entries = spread(copies, run, progress, cancel_file=Path(job.cancel_file), room_file=Path(job.room_file),
                     in_copy=in_copy)
    got = {entry.period for entry in entries}
    missing = [period for period in job.periods if period not in got]
    if missing:
        mark(f"job {job.job_id} evaluates {len(missing)} periods left")
        if Path(job.room_file).exists():  # another job has the other core: no split
            context = contextvars.copy_context()
            context.run(share_lone_periods, None)
            entries += context.run(cache.compute_periods_here, missing, job.measure_ids, progress, keep=keep)
        else:
            entries += cache.compute_periods_here(missing, job.measure_ids, progress, keep=keep)
    return entries
