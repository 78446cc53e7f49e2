"""The results cache: computed once, refreshed incrementally, identical to a full recomputation."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Immunization, Patient
from carenet_desktop.models.changes import mark_practice_changed
from carenet_desktop.services.results import ResultsCache

PERIOD = Period.year(2025)
MEASURES = ["CMS117", "CMS155", "CMS146", "LSC"]


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    return rows.sort_values(keys, na_position="first").reset_index(drop=True).astype(str)


def _fresh(ctx, tmp_path) -> pd.DataFrame:
    return ResultsCache(ctx, cache_dir=tmp_path / "fresh").results(PERIOD, MEASURES).rows


def test_second_request_is_served_from_memory_and_disk(ctx, tmp_path):
    cache = ResultsCache(ctx, cache_dir=tmp_path / "c")
    first = cache.results(PERIOD, MEASURES)
    assert len(first.rows) > 0 and first.failures == {}
    assert cache.results(PERIOD, MEASURES) is first  # nothing changed: the same object
    reopened = ResultsCache(ctx, cache_dir=tmp_path / "c").results(PERIOD, MEASURES)
    assert reopened.version == first.version
    assert _sorted(reopened.rows).equals(_sorted(first.rows))


def test_a_restart_serves_the_saved_practice_summary_without_reading_the_rows(ctx, tmp_path):
    first = ResultsCache(ctx, cache_dir=tmp_path / "c").results(PERIOD, MEASURES)
    computed = first.summary(["practice_id"])
    reopened = ResultsCache(ctx, cache_dir=tmp_path / "c").results(PERIOD, MEASURES)
    saved = reopened.summary(["practice_id"])
    assert callable(reopened._rows)  # the scorecard's summary came from disk, the rows are still there
    pd.testing.assert_frame_equal(saved, computed)
    assert _sorted(reopened.rows).equals(_sorted(first.rows))  # and come when asked for
    # rows read back are nullable Int64 where computed ones may be int64: the same numbers
    pd.testing.assert_frame_equal(reopened.summary(["provider_id"]), first.summary(["provider_id"]), check_dtype=False)


def test_one_patient_edit_refreshes_that_patient_only(ctx, tmp_path):
    cache = ResultsCache(ctx, cache_dir=tmp_path / "c")
    before = cache.results(PERIOD, MEASURES)
    # a two-year-old in the CMS117 denominator: delete all of their immunizations
    cms117 = before.rows[(before.rows["measure"] == "CMS117") & before.rows["denominator"].fillna(False)]
    target = int(cms117.sort_values("numerator", ascending=False)["patient_id"].iloc[0])
    with ctx.db.session() as s:
        for imm in s.scalars(select(Immunization).where(Immunization.patient_id == target)):
            s.delete(imm)
    after = cache.results(PERIOD, MEASURES)
    assert after.version > before.version
    row = after.rows[(after.rows["measure"] == "CMS117") & (after.rows["patient_id"] == target)]
    assert not bool(row["numerator"].iloc[0])
    # everyone else's rows are untouched, and the whole equals a recomputation from scratch
    others_before = before.rows[before.rows["patient_id"] != target]
    others_after = after.rows[after.rows["patient_id"] != target]
    assert _sorted(others_before).equals(_sorted(others_after))
    assert _sorted(after.rows).equals(_sorted(_fresh(ctx, tmp_path)))


def test_bulk_change_of_a_practice_recomputes_it(ctx, tmp_path):
    cache = ResultsCache(ctx, cache_dir=tmp_path / "c")
    cache.results(PERIOD, MEASURES)
    with ctx.db.session() as s:
        practice_id, patient_id = s.execute(select(Patient.practice_id, Patient.id).limit(1)).one()
        # a raw write that bypasses the ORM journal, as bulk loaders do, then marks the practice
        s.execute(Patient.__table__.update().where(Patient.id == patient_id).values(birth_date=dt.date(2023, 5, 5)))
        mark_practice_changed(s, [practice_id])
    after = cache.results(PERIOD, MEASURES)
    assert _sorted(after.rows).equals(_sorted(_fresh(ctx, tmp_path)))


def _same_as_a_full_summary(entry) -> None:  # type: ignore[no-untyped-def]
    """The refreshed entry's practice summary is summarize() of its rows, row for row, in the same dtypes;
    the rows have the dtypes every other path gives them."""
    from carenet_desktop.metrics.aggregate import summarize
    from carenet_desktop.services.results import _conform

    assert ("practice_id",) in entry._summaries  # patched, not left to be summarised again
    pd.testing.assert_frame_equal(entry.summary(["practice_id"]), summarize(entry.rows, by=["practice_id"]))
    assert entry.rows.dtypes.equals(_conform(entry.rows).dtypes)


def test_a_refresh_patches_the_practice_summary_exactly(ctx, tmp_path):
    """After a patient moves practice (two practices' summaries change), a practice is bulk-changed and a
    record is deleted, the summary kept beside the rows equals a full summary, and the file the writer
    thread saves serves a restart the same rows and summary."""
    cache = ResultsCache(ctx, cache_dir=tmp_path / "c")
    before = cache.results(PERIOD, MEASURES)
    before.summary(["practice_id"])
    counted = before.rows[(before.rows["measure"] == "CMS117") & before.rows["numerator"].fillna(False)]
    with ctx.db.session() as s:
        patient = s.get(Patient, int(counted["patient_id"].min()))
        others = sorted({p for p in s.scalars(select(Patient.practice_id)) if p != patient.practice_id})
        moved_from, patient.practice_id = patient.practice_id, others[0]
    moved = cache.results(PERIOD, MEASURES)
    _same_as_a_full_summary(moved)
    old_rows = moved.summary(["practice_id"])
    changed = old_rows.merge(before.summary(["practice_id"]), how="outer", indicator=True)
    assert {moved_from, others[0]} <= set(changed.loc[changed["_merge"] != "both", "practice_id"])
    with ctx.db.session() as s:
        s.execute(Patient.__table__.update().where(Patient.id == patient.id).values(birth_date=dt.date(2023, 5, 5)))
        mark_practice_changed(s, [others[0]])
    _same_as_a_full_summary(cache.results(PERIOD, MEASURES))
    with ctx.db.session() as s:
        s.delete(s.scalars(select(Immunization).order_by(Immunization.id)).first())
    last = cache.results(PERIOD, MEASURES)
    _same_as_a_full_summary(last)
    cache.flush()
    reopened = ResultsCache(ctx, cache_dir=tmp_path / "c").results(PERIOD, MEASURES)
    assert reopened.version == last.version  # the writer thread saved the latest refresh
    pd.testing.assert_frame_equal(reopened.summary(["practice_id"]), last.summary(["practice_id"]))
    assert _sorted(reopened.rows).equals(_sorted(_fresh(ctx, tmp_path)))


def test_a_patched_summary_of_practices_that_lost_every_row(ctx, tmp_path):
    from carenet_desktop.metrics.aggregate import summarize
    from carenet_desktop.services.results import patched_summary

    rows = ResultsCache(ctx, cache_dir=tmp_path / "c").results(PERIOD, MEASURES).rows
    summary = summarize(rows, by=["practice_id"])
    first = int(rows["practice_id"].dropna().min())
    without = rows[rows["practice_id"] != first].reset_index(drop=True)
    pd.testing.assert_frame_equal(patched_summary(summary, without, {first}), summarize(without, by=["practice_id"]))
    pd.testing.assert_frame_equal(patched_summary(summary, rows, set()), summary)
