"""A compute worker keeps its last job's frames a few seconds for its next job (``services.worker_frames``):
the trend's job after the first scorecard's takes them instead of loading them again, with the same results;
frames of another version are let go, not taken; they go when the time runs out or other work comes. And an
early trend, sent while the snapshot's writer is in flight, takes every worker (the last after the writer)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.period import Period, rolling_12_months
from carenet_desktop.models import Patient
from carenet_desktop.services import compute_pool, frames_cache, heap, timeline, worker_frames
from carenet_desktop.services.cache_files import open_npz
from carenet_desktop.services.context import Progress
from carenet_desktop.services.results import ResultsCache

PERIOD = Period.year(2025)
MEASURES = ("CMS117", "CMS155", "LSC")
GUARD = 60.0  # s: a freeze guard only


@pytest.fixture
def in_a_worker(monkeypatch):  # type: ignore[no-untyped-def]
    """This process stands for a worker process (as ``compute_pool._init_worker`` makes one)."""
    monkeypatch.setattr(worker_frames, "active", True)
    yield
    worker_frames.drop()


@pytest.fixture
def marks(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(path))
    return lambda: [line.split("\t", 3)[3] for line in path.read_text().splitlines()] if path.exists() else []


def _job(ctx: Any, tmp_path: Path, job_id: int, periods: tuple[Period, ...], saved: bool) -> compute_pool.Job:
    db = ctx.db
    return compute_pool.Job(job_id=job_id, url=db.url.render_as_string(hide_password=False), key=None,
                            cache_key=None, derived_keys={}, frames_folder=str(tmp_path / "frames"), periods=periods,
                            measure_ids=MEASURES, cancel_file=str(tmp_path / f"{job_id}.cancel"),
                            catalogue=ctx.catalogue, results_folder=str(tmp_path / "r") if saved else None)


def _no_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames_cache, "load_measure_data_cached", lambda *a, **k: pytest.fail("loaded the frames"))


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with open_npz(path, None) as z:
        return {name: z[name] for name in z.files}


def _same_as_from_scratch(ctx: Any, tmp_path: Path, written: list[Any], periods: tuple[Period, ...]) -> None:
    """Each period's summary and results file equal those of a from-scratch compute in this process."""
    mine = ResultsCache(ctx, cache_dir=tmp_path / "r-root", frames_folder=tmp_path / "frames")
    mine.folder = tmp_path / "r"
    for period, done in zip(periods, written, strict=True):
        alone = ResultsCache(ctx, cache_dir=tmp_path / f"alone{period.end}", frames_folder=tmp_path / "alone-frames",
                             in_process=True)
        entry = alone.results(period, list(MEASURES))
        assert done.period == period and done.version == entry.version
        pd.testing.assert_frame_equal(done.summary, entry.summary(), check_exact=True)
        theirs, ours = _arrays(mine._path(period, MEASURES)), _arrays(alone._path(period, MEASURES))
        assert sorted(theirs) == sorted(ours)
        for name in ours:
            np.testing.assert_array_equal(theirs[name], ours[name], err_msg=name)


def test_the_trends_job_takes_the_frames_the_scorecards_job_kept(demo_ctx, tmp_path, in_a_worker, marks, monkeypatch):
    [first] = compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, (PERIOD,), saved=False))
    assert len(first.rows) and worker_frames.held()
    periods = tuple(rolling_12_months(PERIOD.end, 3))
    _no_load(monkeypatch)  # the trend's job reads neither the snapshot nor the store
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 2, periods, saved=True))
    assert "job 2 takes the frames its worker kept" in marks()
    monkeypatch.undo()
    monkeypatch.setattr(worker_frames, "active", True)
    _same_as_from_scratch(demo_ctx, tmp_path, written, periods)


def test_frames_of_another_version_are_let_go_not_taken(demo_ctx, tmp_path, in_a_worker, marks, monkeypatch):
    compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, (PERIOD,), saved=False))
    assert worker_frames.held()
    with demo_ctx.db.session() as s:  # a write: the kept frames are not this version's
        patient = s.scalars(select(Patient).order_by(Patient.id)).first()
        patient.practice_id = patient.practice_id % 3 + 1
    released: list[str] = []
    release = heap.release
    monkeypatch.setattr(heap, "release", lambda: released.append("release") or release())
    written = compute_pool._compute_job(_job(demo_ctx, tmp_path, 2, (PERIOD,), saved=True))
    assert "job 2 takes the frames its worker kept" not in marks()
    assert released  # the old frames' memory handed back before the load
    _same_as_from_scratch(demo_ctx, tmp_path, written, (PERIOD,))


def test_kept_frames_go_when_the_time_runs_out_or_other_work_comes(demo_ctx, tmp_path, in_a_worker, monkeypatch):
    monkeypatch.setattr(worker_frames, "KEEP_S", 0.2)
    compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, (PERIOD,), saved=False))
    deadline = time.monotonic() + GUARD
    while worker_frames.held():
        assert time.monotonic() < deadline, "never let go"
        time.sleep(0.05)
    monkeypatch.setattr(worker_frames, "KEEP_S", GUARD)
    compute_pool._compute_job(_job(demo_ctx, tmp_path, 2, (PERIOD,), saved=False))
    assert worker_frames.held()
    assert compute_pool._other_work(worker_frames.held) is False  # gone before the other work runs


def test_outside_a_worker_no_frames_are_kept(demo_ctx, tmp_path):
    compute_pool._compute_job(_job(demo_ctx, tmp_path, 1, (PERIOD,), saved=False))
    assert not worker_frames.held()


@pytest.mark.parametrize("writer_in_flight", [True, False])
def test_an_early_trend_takes_every_worker_only_behind_the_snapshots_writer(demo_ctx, tmp_path, monkeypatch,
                                                                           writer_in_flight):
    sent: list[compute_pool.Job] = []
    monkeypatch.setattr(compute_pool.ComputePool, "compute", lambda self, jobs, progress: sent.extend(jobs) or [])
    compute_pool.configure(2)
    try:
        pool = compute_pool.active()
        assert pool is not None
        if writer_in_flight:
            pool._producing.add(-1)
        cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", frames_folder=tmp_path / "frames")
        compute_pool.run(cache, rolling_12_months(PERIOD.end, 4), MEASURES, Progress(), save=True, early=True)
    finally:
        compute_pool.configure(0)
    # behind the writer every worker (the last one once the writer's frees); else one left to the writer
    assert len(sent) == (2 if writer_in_flight else 1) and all(job.await_snapshot for job in sent)
    assert all(job.claims is not None for job in sent) if writer_in_flight else sent[0].claims is None
