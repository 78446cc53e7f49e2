"""A read of the whole store writes its frames snapshot on a thread of its own while the measures are
evaluated (issue 26: the write was on the path to the first scorecard from a cold store); a worker process
hands its results back only once that snapshot is on disk, so the next job, in any worker, reads it."""

from __future__ import annotations

import threading

from carenet_desktop.metrics.period import Period
from carenet_desktop.services import compute_pool, frames_cache, results
from carenet_desktop.services.results import ResultsCache

PERIOD = Period.year(2025)
MEASURES = ("CMS117", "CMS155")
GUARD_S = 60  # a freeze guard, generous for a busy machine: a write that waited this long was on the evaluation's path


def _write_after(event: threading.Event, monkeypatch) -> list[bool]:  # type: ignore[no-untyped-def]
    """``frames_cache._write`` made to wait for ``event`` (what the evaluation sets once it is done); the
    list says, per write, whether the event came (False: the write blocked the evaluation, guard hit)."""
    waited: list[bool] = []
    write = frames_cache._write

    def slow_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        waited.append(event.wait(GUARD_S))
        return write(*args, **kwargs)

    monkeypatch.setattr(frames_cache, "_write", slow_write)
    return waited


def test_the_window_s_compute_evaluates_while_the_snapshot_is_written(demo_ctx, tmp_path, monkeypatch):
    evaluated = threading.Event()
    evaluate = results.evaluate_periods  # the window's compute: ``compute_here`` is one period of it

    def evaluate_then_say(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            yield from evaluate(*args, **kwargs)
        finally:
            evaluated.set()

    monkeypatch.setattr(results, "evaluate_periods", evaluate_then_say)
    waited = _write_after(evaluated, monkeypatch)
    folder = tmp_path / "frames"
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "results", frames_folder=folder, in_process=True)
    entry = cache.results(PERIOD, list(MEASURES))
    assert len(entry.rows) > 0
    frames_cache.wait_for_saves(folder)
    assert waited == [True]  # written once, after the evaluation: never on its path
    [snapshot] = folder.glob("v*.npz")
    assert ".tmp" not in snapshot.name


def test_a_worker_hands_its_results_back_once_the_snapshot_is_on_disk(demo_ctx, tmp_path, monkeypatch):
    evaluated = threading.Event()
    compute = ResultsCache.compute_periods_here

    def compute_then_say(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return compute(self, *args, **kwargs)
        finally:
            evaluated.set()

    monkeypatch.setattr(ResultsCache, "compute_periods_here", compute_then_say)
    waited = _write_after(evaluated, monkeypatch)
    folder = tmp_path / "frames"
    job = compute_pool.Job(job_id=1, url=demo_ctx.db.url.render_as_string(hide_password=False), key=None,
                           cache_key=None, derived_keys={}, frames_folder=str(folder), periods=(PERIOD,),
                           measure_ids=MEASURES, cancel_file=str(tmp_path / "1.cancel"),
                           catalogue=demo_ctx.catalogue)
    [entry] = compute_pool._run_job(job)  # in this process, as a worker runs it
    assert len(entry.rows) > 0
    assert waited == [True]  # the write waited for the evaluation: it was not on its path
    [snapshot] = folder.glob("v*.npz")  # and it is on disk as the results come back
    assert ".tmp" not in snapshot.name
    # the next job (a trend's share, in another worker) is served by it, never reads the store
    data, served = frames_cache.load_measure_data_cached(demo_ctx.db, folder)
    assert served
