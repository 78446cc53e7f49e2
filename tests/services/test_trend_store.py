"""The trend table saved beside the results: a warm start reads it; any write makes it stale."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Patient
from carenet_desktop.services import measure_detail
from carenet_desktop.services.cache_files import open_npz, save_npz
from carenet_desktop.services.measure_detail import TrendTables
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.scorecard import ScorecardService
from carenet_desktop.services.trend_store import decode_table, encode_table

PERIOD = Period.year(2025)


def tables(ctx, folder):  # type: ignore[no-untyped-def]
    return TrendTables(ScorecardService(ctx, ResultsCache(ctx, cache_dir=folder)))


def test_a_warm_start_reads_the_saved_trend_without_building_it(demo_ctx, tmp_path, monkeypatch):
    built = tables(demo_ctx, tmp_path / "cache").get(PERIOD)
    assert built["period_end"].nunique() == 12
    monkeypatch.setattr(measure_detail, "trend_table", lambda *a, **k: pytest.fail("the trend was built again"))
    read = tables(demo_ctx, tmp_path / "cache").get(PERIOD)  # a restart: nothing in memory
    pd.testing.assert_frame_equal(read, built)


def test_a_one_patient_edit_makes_the_saved_trend_stale_and_the_next_read_equals_a_fresh_build(demo_ctx, tmp_path):
    before = tables(demo_ctx, tmp_path / "cache").get(PERIOD)
    with demo_ctx.db.session() as s:  # a child of the denominators made an adult: every pediatric rate moves
        patient = s.scalars(select(Patient).where(Patient.birth_date > dt.date(2018, 1, 1)).order_by(Patient.id)).first()
        patient.birth_date = dt.date(1950, 1, 1)
    after = tables(demo_ctx, tmp_path / "cache").get(PERIOD)
    fresh = tables(demo_ctx, tmp_path / "fresh").get(PERIOD)  # from scratch: no results, no trend
    pd.testing.assert_frame_equal(after, fresh)
    keys = ["period_end", "practice_code", "measure", "group_index"]
    changed = before.merge(after, on=keys, suffixes=("_before", "_after"))
    assert (changed["rate_base_before"] != changed["rate_base_after"]).any()  # the edit did move a point


def test_a_saved_trend_of_another_journal_version_is_not_read(demo_ctx, tmp_path):
    from carenet_desktop.services.trend_store import TrendStore

    service = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "cache"))
    store = TrendStore(service.cache)
    path = store.path(PERIOD, [PERIOD], ("CMS117",), None)
    table = pd.DataFrame({"rate": [0.5]})
    store.write(path, 7, table)
    pd.testing.assert_frame_equal(store.read(path, 7), table)
    assert store.read(path, 8) is None


def test_the_encoding_keeps_values_and_dtypes(tmp_path):
    table = pd.DataFrame({
        "practice_code": pd.Series(["A", "B", None], dtype="str"),
        "measure": pd.Series(["CMS2", None, "W30"], dtype=object),
        "group_index": pd.Series([0, 1, 2], dtype="int64"),
        "numerator": pd.Series([3, None, 5], dtype="Int64"),
        "rate": pd.Series([0.25, np.nan, 1.0]),
        "target": pd.Series([0.9, None, 0.8], dtype=object),
        "period_end": pd.Series([dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31)], dtype=object),
        "suppressed": pd.Series([True, False, True]),
    })
    arrays, meta = encode_table(table)
    save_npz(tmp_path / "t.npz", arrays, None)
    with open_npz(tmp_path / "t.npz", None) as z:
        back = decode_table(z, meta)
    pd.testing.assert_frame_equal(back, table)
    assert back["period_end"].map(type).eq(dt.date).all()
