"""A trend sent as one job to the worker holding the frames, which forks copies of itself to claim its periods
(``services.period_copies``): the same results files as one process saves; a copy that dies leaves its period
to the worker; a cancelled job stops its copies; a copy makes room for another job; the pool sends the trend
as one such job only right after a job of the same store, and only where forking fits."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from carenet_desktop.metrics.period import Period, rolling_12_months
from carenet_desktop.services import compute_pool, period_copies, split_evaluation, timeline, worker_frames
from carenet_desktop.services.context import Cancelled, Progress
from carenet_desktop.services.results import ResultsCache
from tests.services.test_worker_frames import MEASURES, PERIOD, _same_as_from_scratch

GUARD = 60.0  # s: a freeze guard only
PERIODS = tuple(rolling_12_months(PERIOD.end, 4))

pytestmark = pytest.mark.skipif(not period_copies.fits(), reason="forks copies on Linux with two cores only")


@pytest.fixture
def worker(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """This process stands for a worker process, on a store large enough for a fork (the demo is small)."""
    monkeypatch.setattr(worker_frames, "active", True)
    monkeypatch.setattr(split_evaluation, "MIN_PATIENTS", 0)
    monkeypatch.delitem(sys.modules, "PySide6", raising=False)  # (a Qt test earlier in the session imported it)
    path = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(path))
    yield lambda: [line.split("\t", 3)[3] for line in path.read_text().splitlines()] if path.exists() else []
    worker_frames.drop()


def _job(ctx: Any, tmp_path: Path, job_id: int, periods: tuple[Period, ...], spread: int) -> compute_pool.Job:
    db = ctx.db
    return compute_pool.Job(job_id=job_id, url=db.url.render_as_string(hide_password=False), key=None,
                            cache_key=None, derived_keys={}, frames_folder=str(tmp_path / "frames"), periods=periods,
                            measure_ids=MEASURES, cancel_file=str(tmp_path / f"{job_id}.cancel"),
                            catalogue=ctx.catalogue, results_folder=str(tmp_path / "r"),
                            claims=str(tmp_path / f"run{job_id}"), spread=spread)


def _claims(tmp_path: Path, job_id: int) -> list[Path]:
    return list(tmp_path.glob(f"run{job_id}-*.claim"))


def _copy_claims_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, job_id: int,
                       in_copy: Any = None, first: int = 1) -> None:
    """The worker claims nothing before its copy has claimed ``first`` periods (so the copy surely has some);
    ``in_copy(claimed)`` is called in the copy after each of its claims."""
    main = os.getpid()
    claim = compute_pool._Claimed.__iter__

    def iterate(self):  # type: ignore[no-untyped-def]
        if os.getpid() == main:
            deadline = time.monotonic() + GUARD
            while len(_claims(tmp_path, job_id)) < first:
                assert time.monotonic() < deadline, "the copy claimed nothing"
                time.sleep(0.01)
        for n, period in enumerate(claim(self), 1):
            if os.getpid() != main and in_copy is not None:
                in_copy(n)
            yield period

    monkeypatch.setattr(compute_pool._Claimed, "__iter__", iterate)


def _in_order(written: list[Any]) -> list[Any]:
    return sorted(written, key=lambda w: PERIODS.index(w.period))


def test_a_spread_job_saves_the_files_one_process_saves(demo_ctx, tmp_path, worker, monkeypatch):
    _copy_claims_first(monkeypatch, tmp_path, 1)
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, PERIODS, spread=1))
    marks = worker()
    assert "1 forked copies claim periods" in marks
    sent = [m for m in marks if m.startswith("forked copies sent")]
    assert sent and sent[0] != "forked copies sent 0 periods"
    assert not any("periods left" in m for m in marks)
    monkeypatch.undo()
    _same_as_from_scratch(demo_ctx, tmp_path, _in_order(written), PERIODS)


def test_the_trends_job_forks_after_taking_the_frames_its_worker_kept(demo_ctx, tmp_path, worker, monkeypatch):
    """The copies share the frames the scorecard's job kept: neither they nor the worker load them again."""
    first = _job(demo_ctx, tmp_path, 1, (PERIOD,), spread=0)
    compute_pool._compute_job(dataclasses.replace(first, results_folder=None, claims=None))
    assert worker_frames.held()
    from carenet_desktop.services import frames_cache

    monkeypatch.setattr(frames_cache, "load_measure_data_cached", lambda *a, **k: pytest.fail("loaded the frames"))
    _copy_claims_first(monkeypatch, tmp_path, 2)
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 2, PERIODS, spread=1))
    assert "job 2 takes the frames its worker kept" in worker()
    monkeypatch.undo()
    _same_as_from_scratch(demo_ctx, tmp_path, _in_order(written), PERIODS)


@pytest.mark.parametrize("count", [4, 5], ids=["even", "one held back"])
def test_a_period_a_dead_copy_claimed_is_evaluated_by_the_worker(demo_ctx, tmp_path, worker, splitting, monkeypatch,
                                                                 count):
    periods = tuple(rolling_12_months(PERIOD.end, count))
    _copy_claims_first(monkeypatch, tmp_path, 1, in_copy=lambda n: os._exit(3))  # dies with its first claim
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, periods, spread=1))
    marks = worker()
    assert "job 1 evaluates 1 periods left" in marks
    assert ("the held-back period evaluated within this pass" in marks) == (count == 5)
    monkeypatch.undo()
    split_evaluation.enable(False)
    _same_as_from_scratch(demo_ctx, tmp_path, sorted(written, key=lambda w: periods.index(w.period)), periods)


def test_a_copy_told_to_make_room_sends_what_it_did_and_the_worker_does_the_rest(demo_ctx, tmp_path, worker,
                                                                               monkeypatch):
    job = _job(demo_ctx, tmp_path, 1, PERIODS, spread=1)

    def make_room_at_second(n: int) -> None:
        if n == 2:  # another job came: the copy stops at its next measure, this period left to the worker
            Path(job.room_file).touch()

    _copy_claims_first(monkeypatch, tmp_path, 1, in_copy=make_room_at_second, first=2)
    written = compute_pool._compute_job(job)
    marks = worker()
    assert "forked copies sent 1 periods" in marks
    assert "job 1 evaluates 1 periods left" in marks
    monkeypatch.undo()
    _same_as_from_scratch(demo_ctx, tmp_path, _in_order(written), PERIODS)


def test_a_cancelled_job_stops_its_copies(demo_ctx, tmp_path, worker, monkeypatch):
    """The worker kills its copy, even one in a long measure that would go on (and claim more) after it."""
    job = _job(demo_ctx, tmp_path, 1, PERIODS, spread=1)
    forked: list[int] = []
    fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: (pid := fork()) and (forked.append(pid) or pid))
    finished = tmp_path / "the copy went on"

    def long_measure(n: int) -> None:
        Path(job.cancel_file).touch()  # the job is cancelled while its copy is in a long measure
        time.sleep(15)
        finished.touch()

    _copy_claims_first(monkeypatch, tmp_path, 1, in_copy=long_measure)
    with pytest.raises(Cancelled):
        compute_pool._compute_job(job)
    assert forked
    for pid in forked:  # reaped: gone
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert not finished.exists()


def test_a_small_store_is_not_forked_for(demo_ctx, tmp_path, worker, monkeypatch):
    monkeypatch.setattr(split_evaluation, "MIN_PATIENTS", 10**9)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked"))
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, PERIODS, spread=1))
    monkeypatch.undo()
    _same_as_from_scratch(demo_ctx, tmp_path, _in_order(written), PERIODS)


@pytest.mark.parametrize("case", ["after a job of the store", "no job before", "another store's job",
                                  "its frames let go since",
                                  "forking does not fit", "a job in flight"])
def test_the_trend_goes_as_one_spread_job_only_to_a_worker_likely_holding_the_frames(demo_ctx, tmp_path,
                                                                                   monkeypatch, case):
    sent: list[compute_pool.Job] = []
    monkeypatch.setattr(compute_pool.ComputePool, "compute", lambda self, jobs, progress: sent.extend(jobs) or [])
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(worker_frames, "KEEP_S", 3600.0)  # (no race with the clock on a busy machine)
    if case == "forking does not fit":  # Windows, macOS
        monkeypatch.setattr(period_copies, "fits", lambda: False)
    compute_pool.configure(2)
    try:
        pool = compute_pool.active()
        assert pool is not None
        cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", frames_folder=tmp_path / "frames")
        if case != "no job before":
            folder = str(tmp_path / "other") if case == "another store's job" else str(cache.frames_folder)
            done_at = time.monotonic() - (worker_frames.KEEP_S if case == "its frames let go since" else 0)
            pool._last_done = (folder, done_at)
        if case == "a job in flight":
            pool._progress[-1] = (Progress(), {}, 1)
        compute_pool.run(cache, PERIODS, MEASURES, Progress(), save=True)
    finally:
        compute_pool.configure(0)
    if case == "after a job of the store":
        [job] = sent
        assert job.spread == 1 and job.claims is not None and job.periods == PERIODS
    else:
        assert len(sent) == 2 and not any(job.spread for job in sent)


def test_a_new_job_makes_a_spread_jobs_copies_give_room(demo_ctx, tmp_path, monkeypatch):
    compute_pool.configure(1)
    try:
        pool = compute_pool.active()
        assert pool is not None
        spread = pool.new_job(url="", key=None, cache_key=None, derived_keys={}, frames_folder="", periods=(),
                              measure_ids=(), catalogue=demo_ctx.catalogue, spread=1)
        pool._spreading[spread.job_id] = spread
        pool.compute([], Progress())
        assert Path(spread.room_file).exists()
    finally:
        compute_pool.configure(0)


@pytest.fixture
def splitting():  # type: ignore[no-untyped-def]
    """A lone period's measures split with a copy, as in a worker process."""
    split_evaluation.enable()
    split_evaluation.last_split.clear()
    yield
    split_evaluation.enable(False)


ODD = tuple(rolling_12_months(PERIOD.end, 5))


def _worker_claims_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, job_id: int) -> None:
    """The copy claims nothing before the worker has claimed a period (so the worker's pass surely derived
    its records before it gets to the held-back period)."""
    main = os.getpid()
    claim = compute_pool._Claimed.__iter__

    def iterate(self):  # type: ignore[no-untyped-def]
        if os.getpid() != main:
            deadline = time.monotonic() + GUARD
            while not _claims(tmp_path, job_id):
                assert time.monotonic() < deadline, "the worker claimed nothing"
                time.sleep(0.01)
        yield from claim(self)

    monkeypatch.setattr(compute_pool._Claimed, "__iter__", iterate)


def _count_pass_records(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """Each process (the worker and its copies) notes each ask for a pass's records (``for_pass``) and each
    derivation of one: "pid, the period evaluated, asked|derived, the question" lines in ``log``."""
    from carenet_desktop.metrics import memo

    real = memo.FrameMemo.get

    def note(what: str, question: object = "") -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\t{memo._evaluating.get()}\t{what}\t{question!r}\n")

    def get(self, frames, question, compute, *, period, for_pass=False):  # type: ignore[no-untyped-def]
        if not for_pass:
            return real(self, frames, question, compute, period=period)
        note("asked")
        return real(self, frames, question, lambda: (note("derived", question), compute())[1], period=period, for_pass=True)

    monkeypatch.setattr(memo.FrameMemo, "get", get)


def derived_again(lines: list[list[str]], period: object) -> list[str]:
    """The pass's records derived for ``period`` (in any process) that an earlier period of the pass had derived:
    a record first asked in ``period`` (one of its own: e.g. CMS136's cohort of a new intake year) is not one."""
    before = {question for _, when, what, question in lines if when != str(period) and what == "derived"}
    assert before  # (the earlier periods derived the pass's records)
    return [question for _, when, what, question in lines
            if when == str(period) and what == "derived" and question in before]


def test_the_period_left_over_is_evaluated_last_in_the_workers_pass_its_measures_split(demo_ctx, tmp_path, worker,
                                                                                       splitting, monkeypatch):
    """Five periods on two processes: the fifth, held back, is evaluated within the worker's own pass (not in a
    pass of its own), split between two cores; the copy forked for it finds the pass's records: none is
    derived again for it, in either process."""
    log = tmp_path / "pass records"
    _count_pass_records(monkeypatch, log)
    _worker_claims_first(monkeypatch, tmp_path, 1)
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, ODD, spread=1))
    marks = worker()
    assert "job 1 holds its last period back" in marks and "the held-back period evaluated within this pass" in marks
    assert not any("periods left" in m for m in marks)
    assert split_evaluation.last_split.get("here") and split_evaluation.last_split.get("forked")
    lines = [line.split("\t") for line in log.read_text().splitlines()]
    held = [line for line in lines if line[1] == str(ODD[-1])]
    assert any(pid != str(os.getpid()) and what == "asked" for pid, _, what, _ in held)  # the split copy asked
    assert not derived_again(lines, ODD[-1])  # and found them, as the worker did
    monkeypatch.undo()
    split_evaluation.enable(False)
    written = sorted(written, key=lambda w: ODD.index(w.period))
    _same_as_from_scratch(demo_ctx, tmp_path, written, ODD)


def test_a_job_cancelled_in_the_held_back_period_stops_every_copy(demo_ctx, tmp_path, worker, splitting, monkeypatch):
    """Cancelled while the held-back period's measures are split: the copy forked for them (in a long measure)
    and the period copy are both killed and reaped."""
    from carenet_desktop.metrics import engine, memo

    job = _job(demo_ctx, tmp_path, 1, ODD, spread=1)
    forked: list[int] = []
    fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: (pid := fork()) and (forked.append(pid) or pid))
    main, real = os.getpid(), engine.resolve
    finished = tmp_path / "the split copy went on"

    class Long:
        version = "long"

        def evaluate(self, data, period):  # type: ignore[no-untyped-def]
            time.sleep(15)
            finished.touch()

    def resolve(m, p, v=None):  # type: ignore[no-untyped-def]
        if memo._evaluating.get() != ODD[-1]:
            return real(m, p, v)
        if os.getpid() == main:
            Path(job.cancel_file).touch()  # cancelled as the worker starts on the held-back period
            return real(m, p, v)
        return Long()

    monkeypatch.setattr(engine, "resolve", resolve)
    with pytest.raises(Cancelled):
        compute_pool._compute_job(job)
    assert len(forked) == 2  # the period copy, and the held-back period's
    for pid in forked:  # reaped: gone
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert not finished.exists()


def test_the_period_left_over_is_not_split_once_another_job_came(demo_ctx, tmp_path, worker, splitting,
                                                                 monkeypatch):
    job = _job(demo_ctx, tmp_path, 1, ODD, spread=1)

    def spread_then_another_job(copies, run, progress, *, room_file, **_):  # type: ignore[no-untyped-def]
        done: list[Any] = []
        room_file.touch()  # another job came before the worker got to the held-back period
        run(progress, done, True)
        return done

    monkeypatch.setattr(period_copies, "spread", spread_then_another_job)
    written = compute_pool._compute_job(job)
    marks = worker()
    assert "the held-back period evaluated within this pass" in marks
    assert not any("periods left" in m for m in marks)
    assert not split_evaluation.last_split  # the other core is the other job's
    monkeypatch.undo()
    split_evaluation.enable(False)
    written = sorted(written, key=lambda w: ODD.index(w.period))
    _same_as_from_scratch(demo_ctx, tmp_path, written, ODD)


def test_no_copy_is_forked_while_the_frames_snapshot_is_being_written(demo_ctx, tmp_path, worker, monkeypatch):
    """A fork copies only the forking thread: the snapshot writer's thread (frames loaded by this job, its write
    made slow here) is done before the first copy is forked, so no copy starts with its locks held."""
    from carenet_desktop.services import frames_cache

    save = frames_cache._save
    monkeypatch.setattr(frames_cache, "_save", lambda *a, **k: (time.sleep(1.0), save(*a, **k))[1])
    writing_at_fork: list[bool] = []
    fork = os.fork
    main = os.getpid()

    def fork_noting_writes() -> int:
        if os.getpid() == main:
            with frames_cache._SAVING_LOCK:
                writing_at_fork.append(any(t.is_alive() for ts in frames_cache._SAVING.values() for t in ts))
        return fork()

    monkeypatch.setattr(os, "fork", fork_noting_writes)
    _copy_claims_first(monkeypatch, tmp_path, 1)
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, PERIODS, spread=1))
    assert writing_at_fork == [False]
    monkeypatch.undo()
    _same_as_from_scratch(demo_ctx, tmp_path, _in_order(written), PERIODS)


def test_a_cancel_after_a_copy_was_reaped_kills_only_the_copies_still_running(monkeypatch, tmp_path):
    """A reaped copy's pid may be another process's by now: never killed again."""
    monkeypatch.delitem(sys.modules, "PySide6", raising=False)
    killed: list[int] = []
    kill = os.kill
    monkeypatch.setattr(os, "kill", lambda pid, sig: (killed.append(pid), kill(pid, sig)))
    received: list[int] = []
    receive = period_copies._receive

    def receive_then_cancel(fd, pid, still_wanted):  # type: ignore[no-untyped-def]
        received.append(pid)
        if len(received) == 2:
            raise Cancelled()  # cancelled while the second copy works
        return receive(fd, pid, still_wanted)

    monkeypatch.setattr(period_copies, "_receive", receive_then_cancel)

    def run(progress: Progress, done: list[Any], here: bool) -> None:
        if len(received) == 0 and os.getpid() != main:
            time.sleep(0.1 if os.getpid() % 2 else 0.2)

    main = os.getpid()
    with pytest.raises(Cancelled):
        period_copies.spread(2, run, Progress(), cancel_file=tmp_path / "c", room_file=tmp_path / "r",
                             in_copy=lambda: None)
    assert len(received) == 2
    assert received[0] not in killed and received[1] in killed


def test_a_job_that_could_not_be_sent_leaves_no_spread_job_behind(demo_ctx, monkeypatch):
    compute_pool.configure(1)
    try:
        pool = compute_pool.active()
        assert pool is not None
        job = pool.new_job(url="", key=None, cache_key=None, derived_keys={}, frames_folder="", periods=(),
                           measure_ids=(), catalogue=demo_ctx.catalogue, spread=1)
        monkeypatch.setattr(pool._executor, "submit", lambda *a: (_ for _ in ()).throw(RuntimeError("no worker")))
        with pytest.raises(RuntimeError):
            pool.compute([job], Progress())
        assert job.job_id not in pool._spreading
    finally:
        monkeypatch.undo()
        compute_pool.configure(0)


def test_a_forked_copy_writes_no_frames_snapshot(demo_ctx, tmp_path, worker, monkeypatch):
    """A copy ends with os._exit: a snapshot write of its own (a load after the journal moved) would be cut
    short and leave a partial file; each copy turns its writes off, and a load then writes nothing."""
    from carenet_desktop.services import frames_cache

    turned_off = tmp_path / "turned off"
    turned_off.mkdir()
    real = frames_cache.no_snapshot_writes
    monkeypatch.setattr(frames_cache, "no_snapshot_writes", lambda: ((turned_off / str(os.getpid())).touch(), real()))
    _copy_claims_first(monkeypatch, tmp_path, 1)
    compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, PERIODS, spread=1))
    assert [p.name for p in turned_off.iterdir()] and str(os.getpid()) not in [p.name for p in turned_off.iterdir()]
    assert frames_cache._WRITES_SNAPSHOTS  # (this process, the worker, still writes them)
    folder = tmp_path / "copy's frames"
    pid = os.fork()
    if pid == 0:  # as in a copy: a load writes no snapshot
        code = 1
        try:
            demo_ctx.db.engine.dispose(close=False)
            real()
            frames_cache.load_measure_data_cached(demo_ctx.db, folder, save_in_background=True)
            frames_cache.wait_for_saves()
            code = 0 if not folder.exists() or not any(folder.iterdir()) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.skipif(sys.platform != "linux", reason="forked copies are Linux only")
def test_a_copy_done_first_exits_while_the_worker_still_evaluates(monkeypatch, tmp_path):
    """A copy's records (a practice summary per period: more than a pipe's default 64 KiB for five periods)
    fit its pipe: a copy done before the worker (busy with the held-back period, its pipes not read yet)
    exits at once, its memory handed back, rather than wait blocked on a full pipe."""
    monkeypatch.delitem(sys.modules, "PySide6", raising=False)
    pid_file = tmp_path / "copy.pid"
    exited: list[bool] = []

    def run(progress: Progress, done: list[Any], here: bool) -> None:
        if not here:  # the copy: five periods' worth of records
            pid_file.write_text(str(os.getpid()))
            done.extend(os.urandom(55_000) for _ in range(5))
            return
        deadline = time.monotonic() + 20.0  # a freeze guard only
        while time.monotonic() < deadline:  # the worker still busy: has the copy exited (a zombie, unreaped)?
            if pid_file.exists() and _state(int(pid_file.read_text())) == "Z":
                exited.append(True)
                return
            time.sleep(0.02)

    got = period_copies.spread(1, run, Progress(), cancel_file=tmp_path / "c", room_file=tmp_path / "r",
                               in_copy=lambda: None)
    assert exited  # (a 64 KiB pipe: the copy blocked until the worker read it)
    assert len(got) == 5


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"
