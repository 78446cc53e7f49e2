"""A trend's periods computed early, in real worker processes: the workers save the results files the window's
cache would save, a period in flight is waited for rather than computed twice, the first period's results are
never held up by a trend in flight, and a job waiting for the frames snapshot can be cancelled and goes on
without it when none comes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period, rolling_12_months
from carenet_desktop.services import compute_pool, results, timeline
from carenet_desktop.services.cache_files import open_npz
from carenet_desktop.services.context import Cancelled, Progress
from carenet_desktop.services.results import ResultsCache

PERIOD = Period.year(2025)
MEASURES = ["CMS117", "CMS155", "LSC"]
IDS = tuple(MEASURES)
GUARD = 120.0  # s: a freeze guard only


@pytest.fixture
def pool():  # type: ignore[no-untyped-def]
    compute_pool.configure(2)
    yield
    compute_pool.configure(0)


@pytest.fixture
def marks(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """The timeline of this test's computes (the workers, spawned afterwards, inherit it)."""
    path = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(path))
    return lambda: [line.split("\t", 3)[3] for line in path.read_text().splitlines()] if path.exists() else []


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    return rows.sort_values(keys, na_position="first").reset_index(drop=True).astype(str)


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with open_npz(path, None) as z:
        return {name: z[name] for name in z.files}


def _alone(ctx: Any, tmp_path: Path, period: Period) -> tuple[ResultsCache, results.CachedResults]:
    """``period`` computed from scratch in this process, and saved, by a cache of its own."""
    cache = ResultsCache(ctx, cache_dir=tmp_path / f"alone{period.end}", frames_folder=tmp_path / "alone-frames",
                         in_process=True)
    return cache, cache.results(period, MEASURES)


def _no_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute_pool, "run", lambda *a, **k: pytest.fail("computed again"))
    monkeypatch.setattr(ResultsCache, "compute_periods_here", lambda *a, **k: pytest.fail("computed again"))


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + GUARD
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    """``fn`` on a thread; its outcome (result or exception) lands in the list."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_the_workers_save_the_files_this_process_would_and_send_back_only_summaries(demo_ctx, tmp_path, pool,
                                                                                    monkeypatch):
    periods = rolling_12_months(PERIOD.end, 3)
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", frames_folder=tmp_path / "frames")
    cache.precompute(periods, MEASURES)
    stamp = cache.stamp(IDS)
    kept = {p: cache._entries[(p, IDS, stamp)] for p in periods}
    assert all(callable(entry._rows) for entry in kept.values())  # no rows came back: read from the file
    assert cache._unsaved == {}  # nothing for this process's writer
    alone = {p: _alone(demo_ctx, tmp_path, p) for p in periods}
    _no_compute(monkeypatch)
    for p in periods:
        path = cache._path(p, IDS)
        assert path.stat().st_mode & 0o777 == 0o600
        theirs, mine = _arrays(path), _arrays(alone[p][0]._path(p, IDS))
        assert sorted(theirs) == sorted(mine)
        for name in mine:  # byte for byte the arrays this process writes for a from-scratch compute
            np.testing.assert_array_equal(theirs[name], mine[name], err_msg=name)
        served = cache.results(p, MEASURES)
        pd.testing.assert_frame_equal(served.summary(), alone[p][1].summary())
        assert _sorted(served.rows).equals(_sorted(alone[p][1].rows))
        assert served.version == alone[p][1].version and served.failures == alone[p][1].failures


def test_a_period_in_flight_is_waited_for_not_computed_twice(demo_ctx, tmp_path, pool, monkeypatch):
    periods = rolling_12_months(PERIOD.end, 2)
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", frames_folder=tmp_path / "frames")
    gate, inside = threading.Event(), threading.Event()
    runs: list[tuple[Period, ...]] = []
    original = compute_pool.run

    def gated(c, ps, ids, progress, **kw):  # type: ignore[no-untyped-def]
        runs.append(tuple(ps))
        inside.set()
        assert gate.wait(GUARD)
        return original(c, ps, ids, progress, **kw)

    waiting: list[threading.Event] = []
    await_ = results._await

    def counted(flight: threading.Event, progress: Progress) -> None:
        waiting.append(flight)
        await_(flight, progress)

    monkeypatch.setattr(compute_pool, "run", gated)
    monkeypatch.setattr(results, "_await", counted)
    early, early_out = _in_thread(cache.precompute, periods, MEASURES, early=True)  # the early trend
    assert inside.wait(GUARD)
    # the sparklines' own request, and a drill-down reading each period, while the early trend computes them
    later, later_out = _in_thread(cache.precompute, periods, MEASURES)
    readers = [_in_thread(cache.results, p, MEASURES) for p in periods]
    _until(lambda: len(waiting) >= 1 + len(periods), "the later askers wait for the periods in flight")
    gate.set()
    for thread in [early, later] + [t for t, _ in readers]:
        thread.join(GUARD)
        assert not thread.is_alive()
    assert early_out == [None] and later_out == [None]
    assert runs == [tuple(periods)]  # computed once, by the early trend
    for p, (_t, out) in zip(periods, readers, strict=True):
        pd.testing.assert_frame_equal(out[0].summary(), _alone(demo_ctx, tmp_path, p)[1].summary())


def test_the_first_periods_results_are_not_held_up_by_a_trend_in_flight(demo_ctx, tmp_path, pool, monkeypatch):
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", frames_folder=tmp_path / "frames")
    gate, inside = threading.Event(), threading.Event()
    original = compute_pool.run

    def gated(c, ps, ids, progress, **kw):  # type: ignore[no-untyped-def]
        if kw.get("early"):  # the trend's periods: held in flight until the test lets them go
            inside.set()
            assert gate.wait(GUARD)
        return original(c, ps, ids, progress, **kw)

    monkeypatch.setattr(compute_pool, "run", gated)
    trend, trend_out = _in_thread(cache.precompute, rolling_12_months(Period.year(2024).end, 2), MEASURES,
                                  early=True)
    try:
        assert inside.wait(GUARD)
        first, first_out = _in_thread(cache.results, PERIOD, MEASURES)
        first.join(GUARD)
        assert not first.is_alive() and not gate.is_set()  # served while the trend was still in flight
    finally:
        gate.set()
    trend.join(GUARD)
    assert trend_out == [None]
    pd.testing.assert_frame_equal(first_out[0].summary(), _alone(demo_ctx, tmp_path, PERIOD)[1].summary())


def _waiting_job(pool: compute_pool.ComputePool, ctx: Any, tmp_path: Path) -> compute_pool.Job:
    return pool.new_job(url=ctx.db.url.render_as_string(hide_password=False), key=None, cache_key=None,
                        derived_keys={}, frames_folder=str(tmp_path / "frames"), periods=(PERIOD,),
                        measure_ids=IDS, catalogue=ctx.catalogue, results_folder=str(tmp_path / "r"),
                        await_snapshot=True)


def test_a_job_waiting_for_the_snapshot_is_cancelled(demo_ctx, tmp_path, marks):
    compute_pool.configure(1)
    job = None
    try:
        pool = compute_pool.active()
        assert pool is not None
        with pool._lock:
            pool._producing.add(-1)  # another job is writing the snapshot (and never ends)
        progress = Progress()
        job = _waiting_job(pool, demo_ctx, tmp_path)
        thread, out = _in_thread(pool.compute, [job], progress)
        _until(lambda: f"job {job.job_id} waiting for the frames snapshot" in marks(), "the job waits")
        progress.cancel()
        thread.join(GUARD)
        assert not thread.is_alive() and len(out) == 1 and isinstance(out[0], Cancelled)
        # the one worker is free again (it stopped waiting): a job sent now is computed
        with pool._lock:
            pool._producing.discard(-1)
        again = pool.new_job(url=demo_ctx.db.url.render_as_string(hide_password=False), key=None, cache_key=None,
                             derived_keys={}, frames_folder=str(tmp_path / "frames"), periods=(PERIOD,),
                             measure_ids=IDS, catalogue=demo_ctx.catalogue)
        thread, out = _in_thread(pool.compute, [again], Progress())
        thread.join(GUARD)
        assert not thread.is_alive() and len(out[0]) == 1
        assert f"job {job.job_id} started in worker" in marks()
        assert not any(f"job {job.job_id} returning" in m for m in marks())
        assert not (tmp_path / "r").exists()  # the cancelled job computed nothing
    finally:
        if job is not None:
            Path(job.go_file).touch()  # a worker still waiting (the test failed) lets the pool stop
        compute_pool.configure(0)


def test_without_a_snapshot_the_job_goes_on_once_no_job_could_write_it(demo_ctx, tmp_path, marks, pool):
    """The first compute failed (or a write landed, or the store keeps no snapshot): once no job that could
    write the snapshot is in flight, the waiting job reads the store itself - today's order."""
    compute = compute_pool.active()
    assert compute is not None
    with compute._lock:
        compute._producing.add(-1)  # the first compute, in flight
    job = _waiting_job(compute, demo_ctx, tmp_path)
    thread, out = _in_thread(compute.compute, [job], Progress())
    _until(lambda: f"job {job.job_id} waiting for the frames snapshot" in marks(), "the job waits")
    assert thread.is_alive()
    with compute._lock:
        compute._producing.discard(-1)  # ... ended without a snapshot
    thread.join(GUARD)
    assert not thread.is_alive()
    [written] = out[0]
    assert isinstance(written, compute_pool.Written)
    assert f"job {job.job_id} goes on without a snapshot" in marks()
    alone = _alone(demo_ctx, tmp_path, PERIOD)[1]
    pd.testing.assert_frame_equal(written.summary, alone.summary())
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "r-root", frames_folder=tmp_path / "frames")
    cache.folder = tmp_path / "r"  # where the job saved it
    assert _sorted(cache.results(PERIOD, MEASURES).rows).equals(_sorted(alone.rows))


def test_the_trend_started_with_the_first_scorecard_uses_its_snapshot_and_computes_each_period_once(
        demo_ctx, tmp_path, marks, pool, monkeypatch):
    from carenet_desktop.services import early_trends
    from carenet_desktop.services.early_trends import start_early_trends
    from carenet_desktop.services.head_start import HeadStart
    from carenet_desktop.services.measure_detail import trend_periods, trend_table
    from carenet_desktop.services.scorecard import ScorecardService

    monkeypatch.setenv(early_trends.ENV, "1")
    compute_pool.warm_up(1)
    compute_pool.wait_warm(GUARD)
    service = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "c",
                                                      frames_folder=tmp_path / "frames"))
    head = HeadStart(PERIOD, lambda progress: service.network_table(PERIOD, progress=progress))
    early = start_early_trends(service, PERIOD, head)
    assert early is not None
    early.join(GUARD)
    assert not early.is_alive() and head.wait(GUARD)
    events = marks()
    assert "trend started early" in events
    found = [e for e in events if e.endswith("found the frames snapshot")]
    assert found  # the trend's jobs read the first compute's snapshot, not the store
    table = trend_table(service, PERIOD)  # the sparklines' request: nothing left to compute
    evaluated = [e for e in marks() if e.startswith("period ") and e.endswith(" evaluated")]
    periods = trend_periods(PERIOD)
    assert sorted(evaluated) == sorted({f"period {p.label} evaluated" for p in [*periods, PERIOD]})
    assert set(table["period_end"]) == {p.end for p in periods}


def test_a_worker_saving_its_files_lets_each_periods_rows_go_before_the_next(demo_ctx, tmp_path):
    """``compute_periods_here(keep=...)`` as a worker that saves its files runs it: each period is saved,
    then only what ``keep`` makes of it is held; the period itself (its rows, ~150 MB on the 250k demo) is
    gone before the next is evaluated, so a trend's share never holds all its periods' rows at once."""
    import gc
    import weakref

    periods = rolling_12_months(PERIOD.end, 3)
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "r", frames_folder=tmp_path / "f", in_process=True)
    seen: list[weakref.ref[results.CachedResults]] = []
    alive_at_next: list[bool] = []

    def keep(entry: results.CachedResults) -> compute_pool.Written:
        gc.collect()
        alive_at_next.extend(ref() is not None for ref in seen)
        seen.append(weakref.ref(entry))
        return compute_pool._written(entry)

    kept = cache.compute_periods_here(periods, IDS, Progress(), keep=keep)
    assert [w.period for w in kept] == list(periods) and all(isinstance(w, compute_pool.Written) for w in kept)
    assert len(alive_at_next) == 3 and not any(alive_at_next)  # (1 + 2 earlier periods looked for, none alive)
    for written in kept:  # the summary sent back is the saved file's, and equals a from-scratch compute's
        _, alone = _alone(demo_ctx, tmp_path, written.period)
        pd.testing.assert_frame_equal(written.summary, alone.summary(["practice_id"]))
        assert cache.holds(written.period, MEASURES)


def test_a_failed_job_stops_the_others_even_one_awaiting_the_snapshot(demo_ctx, tmp_path, monkeypatch, pool, marks):
    """One job of a run fails (here: a store it cannot open): ``compute`` raises, and the other job - waiting
    for a snapshot that never comes while a compute that could write it is in flight - is told to stop and
    has stopped by then, so it neither saves files afterwards nor keeps a worker (nor the window's close)
    waiting for ever."""
    import dataclasses

    active = compute_pool.active()
    assert active is not None

    def job(**fields: Any) -> compute_pool.Job:
        return active.new_job(url=demo_ctx.db.url.render_as_string(hide_password=False), key=None, cache_key=None,
                              derived_keys={}, frames_folder=str(tmp_path / "frames"), periods=(PERIOD,),
                              measure_ids=IDS, catalogue=demo_ctx.catalogue, results_folder=str(tmp_path / "r"),
                              **fields)

    with active._lock:
        active._producing.add(-1)  # stands for the first scorecard's compute, in flight: no go file yet
    try:
        waiting = job(await_snapshot=True)
        failing = dataclasses.replace(job(), url="sqlite:////nonexistent/folder/store.db")
        with pytest.raises(Exception) as raised:
            active.compute([waiting, failing], Progress())
        assert not isinstance(raised.value, Cancelled)
        assert not active._progress  # nothing of that run is left in flight
        done = f"job {waiting.job_id} returning its results"
        time.sleep(1.0)
        assert not any(done in m for m in marks())
        assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
    finally:
        with active._lock:
            active._producing.discard(-1)
    stopped = threading.Event()
    threading.Thread(target=lambda: (compute_pool.configure(0), stopped.set()), daemon=True).start()
    assert stopped.wait(GUARD)  # the pool shuts down: no job is left waiting in a worker


def test_rows_read_back_from_a_file_of_another_version_are_evaluated_again(demo_ctx, tmp_path):
    """An entry read from a file's head (its summary, the rows left on disk) reads its rows only if the file
    still holds that journal version: a file another writer saved since, at another version, is not taken
    for it (its rows are evaluated again, as for a damaged file, and the newer file is kept)."""
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "r", frames_folder=tmp_path / "f", in_process=True)
    computed = cache.results(PERIOD, MEASURES)
    cache.flush()
    ids = computed.measure_ids
    entry = cache._read_disk(PERIOD, ids)
    assert entry is not None and callable(entry._rows)  # rows not read yet
    path = cache._path(PERIOD, ids)
    other = results.CachedResults(PERIOD, ids, computed.version + 7, computed.rows.iloc[:5].copy(), {})
    cache._save(other, path, None)  # another version saved in the same file meanwhile
    rows = entry.rows
    assert len(rows) == len(computed.rows)  # not the other file's five rows
    pd.testing.assert_frame_equal(_sorted(rows), _sorted(computed.rows))
    assert path.exists()
