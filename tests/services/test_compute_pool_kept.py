"""A worker keeps the frames of its last job for the next job of the same store at the same journal
version (a trend's periods after the scorecard's), never past a write; a trend goes out one job per period,
each period's results handed to the caller as it comes back, as arrays the parent saves as they are."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.period import Period, rolling_12_months
from carenet_desktop.models import Immunization
from carenet_desktop.services import compute_pool, frames_cache
from carenet_desktop.services.context import Progress
from carenet_desktop.services.results import EncodedResults, ResultsCache

PERIOD = Period.year(2025)
MEASURES = ("CMS117", "CMS155", "LSC")


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    return rows.sort_values(keys, na_position="first").reset_index(drop=True).astype(str)


def _job(ctx, folder, period: Period, job_id: int = 1) -> compute_pool.Job:  # type: ignore[no-untyped-def]
    return compute_pool.Job(job_id=job_id, url=ctx.db.url.render_as_string(hide_password=False), key=None,
                            cache_key=None, derived_keys={}, frames_folder=str(folder), periods=(period,),
                            measure_ids=MEASURES, cancel_file=str(folder.parent / f"{job_id}.cancel"),
                            catalogue=ctx.catalogue)


def _here(ctx, tmp_path, period: Period, name: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return ResultsCache(ctx, cache_dir=tmp_path / name, in_process=True, frames_folder=tmp_path / f"{name}-frames",
                        ).results(period, MEASURES).rows


@pytest.fixture
def loads(monkeypatch):  # type: ignore[no-untyped-def]
    """How many times the whole store's frames were loaded (from the store or the snapshot)."""
    counted: list[int] = []
    load = frames_cache.load_measure_data_cached

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        counted.append(1)
        return load(*args, **kwargs)

    monkeypatch.setattr(frames_cache, "load_measure_data_cached", counting)
    return counted


def test_the_next_job_of_the_same_store_uses_the_frames_the_last_one_kept(demo_ctx, tmp_path, loads):
    folder = tmp_path / "frames"
    previous = rolling_12_months(PERIOD.end, 2)[0]
    [first] = compute_pool._run_job(_job(demo_ctx, folder, PERIOD))
    [second] = compute_pool._run_job(_job(demo_ctx, folder, previous, job_id=2))
    assert len(loads) == 1  # the second job read no frames: the first one's were kept
    assert _sorted(first.entry().rows).equals(_sorted(_here(demo_ctx, tmp_path, PERIOD, "a")))
    assert _sorted(second.entry().rows).equals(_sorted(_here(demo_ctx, tmp_path, previous, "b")))


def test_kept_frames_are_not_served_after_a_write(demo_ctx, tmp_path, loads):
    folder = tmp_path / "frames"
    [before] = compute_pool._run_job(_job(demo_ctx, folder, PERIOD))
    rows = before.entry().rows
    cms117 = rows[(rows["measure"] == "CMS117") & rows["numerator"].fillna(False)]
    target = int(cms117["patient_id"].iloc[0])
    with demo_ctx.db.session() as s:  # a write: the journal moves on
        for imm in s.scalars(select(Immunization).where(Immunization.patient_id == target)):
            s.delete(imm)
    [after] = compute_pool._run_job(_job(demo_ctx, folder, PERIOD, job_id=2))
    assert after.version > before.version
    assert len(loads) == 2  # the kept frames were of an older version: read again
    row = after.entry().rows
    row = row[(row["measure"] == "CMS117") & (row["patient_id"] == target)]
    assert not bool(row["numerator"].iloc[0])
    assert _sorted(after.entry().rows).equals(_sorted(_here(demo_ctx, tmp_path, PERIOD, "fresh")))


def test_kept_frames_serve_no_other_store(demo_ctx, tmp_path, loads):
    compute_pool._run_job(_job(demo_ctx, tmp_path / "frames", PERIOD))
    compute_pool._run_job(_job(demo_ctx, tmp_path / "other-frames", PERIOD, job_id=2))
    assert len(loads) == 2


def test_kept_frames_are_let_go_when_no_job_comes(demo_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(compute_pool, "KEEP_FRAMES_S", 0.05)
    compute_pool._run_job(_job(demo_ctx, tmp_path / "frames", PERIOD))
    timer = compute_pool._kept_timer
    assert timer is not None
    timer.join(timeout=30)  # a freeze guard
    assert compute_pool._kept is None


def test_a_trend_goes_out_one_job_per_period_each_handed_back_as_it_comes(demo_ctx, tmp_path, monkeypatch):
    periods = rolling_12_months(PERIOD.end, 4)
    got: list[Period] = []
    compute_pool.configure(2)
    try:
        cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c")
        sent: list[compute_pool.Job] = []
        returned: list[list[EncodedResults]] = []
        submit = compute_pool.ComputePool.compute

        def compute(self, jobs, progress, on_result=None):  # type: ignore[no-untyped-def]
            sent.extend(jobs)

            def handed(encoded: EncodedResults) -> None:
                got.append(encoded.period)
                assert on_result is not None
                on_result(encoded)

            returned.append(submit(self, jobs, progress, handed))
            return returned[-1]

        monkeypatch.setattr(compute_pool.ComputePool, "compute", compute)
        cache.precompute(periods, MEASURES, Progress())
    finally:
        compute_pool.configure(0)
    assert [job.periods for job in sent] == [(p,) for p in periods]
    assert sorted(got) == sorted(periods)
    assert returned == [[]]  # handed over, not also kept until the last period is back
    for p in periods:  # saved by this process from the worker's arrays: the same as computed here
        served = ResultsCache(demo_ctx, cache_dir=tmp_path / "c").results(p, MEASURES)
        assert callable(served._rows)  # from disk
        alone = ResultsCache(demo_ctx, cache_dir=tmp_path / f"alone{p.end}", in_process=True)
        pd.testing.assert_frame_equal(served.summary(), alone.results(p, MEASURES).summary(), check_dtype=False)
        assert _sorted(served.rows).equals(_sorted(alone.results(p, MEASURES).rows))


def test_encoded_results_are_the_rows_and_summary_they_were_made_of(demo_ctx, tmp_path):
    entry = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", in_process=True).results(PERIOD, MEASURES)
    back = EncodedResults.of(entry).entry()
    assert ("practice_id",) in back._summaries  # the worker's summary came along
    pd.testing.assert_frame_equal(back.summary(), entry.summary())
    pd.testing.assert_frame_equal(back.rows, entry.rows)
    assert (back.period, back.measure_ids, back.version, back.failures) == (
        entry.period, entry.measure_ids, entry.version, entry.failures)
