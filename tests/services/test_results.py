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
