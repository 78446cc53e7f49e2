"""``compute_pool.warm_up``: a worker process starts (and imports what a compute needs) before any compute
is asked for, and the first compute then runs in it rather than in a process of its own."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period
from carenet_desktop.services import compute_pool
from carenet_desktop.services.results import ResultsCache

PERIOD = Period.year(2025)
MEASURES = ["CMS117", "LSC"]


@pytest.fixture
def pool():  # type: ignore[no-untyped-def]
    compute_pool.configure(2)
    yield
    compute_pool.configure(0)


def _processes() -> set[int]:
    pool = compute_pool.active()
    assert pool is not None
    return set(pool._executor._processes)  # type: ignore[attr-defined]


def test_warm_up_starts_one_worker_and_the_first_compute_runs_in_it(demo_ctx, tmp_path, pool):
    compute_pool.warm_up()
    started = _processes()
    assert len(started) == 1  # started before anything was computed
    compute_pool.wait_warm(120)
    there = ResultsCache(demo_ctx, cache_dir=tmp_path / "there").results(PERIOD, MEASURES)
    assert _processes() == started  # no second process was started for the first compute
    here = ResultsCache(demo_ctx, cache_dir=tmp_path / "here", in_process=True).results(PERIOD, MEASURES)
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    pd.testing.assert_frame_equal(there.rows.sort_values(keys).reset_index(drop=True),
                                  here.rows.sort_values(keys).reset_index(drop=True), check_dtype=False)


def test_warm_up_without_workers_does_nothing(demo_ctx):
    compute_pool.configure(0)
    compute_pool.warm_up()
    compute_pool.wait_warm(1)
    assert compute_pool.active() is None


def test_a_workers_results_come_back_as_their_summary_the_worker_saving_their_file(demo_ctx, tmp_path, pool,
                                                                                   monkeypatch):
    """The worker saves the period's results file itself and sends back its practice summary only: the rows
    do not go through the pipe (~80 MB on the 250,000-patient demo: ~0.4 s between the worker and the first
    scorecard), nor are they saved again by this process (its writer thread, which would compete with the
    window's paint, is never asked); they are read from the worker's file when asked for."""
    saved: list[object] = []
    monkeypatch.setattr(ResultsCache, "_save", lambda self, entry, path, key: saved.append(path))
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c")
    entry = cache.results(PERIOD, MEASURES)
    assert ("practice_id",) in entry._summaries and callable(entry._rows)  # the summary only, the rows to read
    assert cache._path(PERIOD, tuple(MEASURES)).exists() and saved == []  # written by the worker alone
    here = ResultsCache(demo_ctx, cache_dir=tmp_path / "here", in_process=True).results(PERIOD, MEASURES)
    pd.testing.assert_frame_equal(entry.summary(), here.summary(), check_dtype=False)
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    pd.testing.assert_frame_equal(entry.rows.sort_values(keys).reset_index(drop=True),
                                  here.rows.sort_values(keys).reset_index(drop=True))


def test_the_window_warms_a_worker_up_only_for_a_store_without_saved_results(demo_ctx, pool):
    """``carenet gui`` (``gui_cmd.warm_up_workers``): a cold store has a worker start with the window; a store
    whose results are saved reads them, and no process is started for nothing beside the window's start."""
    from carenet_desktop.cli.gui_cmd import warm_up_workers

    store = str(demo_ctx.db.path)
    warm_up_workers(store)
    assert len(_processes()) == 1
    compute_pool.wait_warm(120)
    cache = ResultsCache(demo_ctx)
    cache.results(PERIOD, MEASURES)  # saved in the user's results folder
    cache.flush()
    compute_pool.configure(2)  # a new start: no process yet
    assert compute_pool.results_held(demo_ctx.db.url)
    warm_up_workers(store)
    assert _processes() == set()


def test_waiting_for_a_starting_worker_stops_when_the_compute_is_cancelled(monkeypatch):
    """A window closed while its first worker still starts: the head start stops at once, sends no job."""
    from concurrent.futures import Future

    from carenet_desktop.services.context import Cancelled, Progress

    never: Future[None] = Future()  # a worker that never finishes starting
    monkeypatch.setattr(compute_pool, "_warming", [never])
    progress = Progress()
    outcome: list[object] = []

    def first_load() -> None:
        try:
            compute_pool.wait_warm(600, progress)
            outcome.append("went on")
        except Cancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=first_load)
    thread.start()
    progress.cancel()
    thread.join(30)  # a freeze guard: without the check it would wait the whole 600 s
    assert outcome == ["cancelled"]
