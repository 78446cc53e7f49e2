"""Measures that derive their period-free work once for all the periods of a pass (``metrics.memo``,
``ANY_PERIOD``; see test_episode_records_shared for CMS154/CMS146). Each period must still get the rows it
gets alone, and with ``check_periods`` every shared answer is recomputed in the next period and must be
equal (a period-dependent value kept for every period fails here)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.memo import FrameMemo
from carenet_desktop.metrics.period import Period, rolling_12_months
from tests.measure_catalogue import CATALOGUE
from tests.stores import demo_store

#: latest first (2026 versions), then back to 2024: what one period derived serves periods that see less
PERIODS = [*rolling_12_months(dt.date(2026, 3, 31), 12)[::-3], *rolling_12_months(dt.date(2025, 6, 30), 12)[::-4],
           Period.year(2024)]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):  # type: ignore[no-untyped-def]
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.measure_data import load_measure_data

    db = open_database(demo_store(tmp_path_factory, patients=1500, seed=11))
    try:
        return load_measure_data(db)
    finally:
        db.dispose()


def _each_period_alone(data, ids):  # type: ignore[no-untyped-def]
    measures = CATALOGUE.select(ids)
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))
    counts = []
    for period, run in evaluate_periods(shared, PERIODS, measures):
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        counts.append(tuple(int(run.rows[p].sum()) for p in ("initial-population", "denominator-exclusion",
                                                               "numerator")))
    return counts


def test_cms2_each_period_gets_the_rows_it_gets_alone(demo_data):
    counts = _each_period_alone(demo_data, ["CMS2"])
    assert len(set(counts)) > 3  # the periods' encounters differ
    assert all(sum(c[i] for c in counts) > 0 for i in (0, 2)), counts


def test_amr_each_period_gets_the_rows_it_gets_alone(demo_data):
    counts = _each_period_alone(demo_data, ["AMR"])
    assert len(set(counts)) > 1  # the periods' medications differ
    assert all(sum(c[i] for c in counts) > 0 for i in (0, 2)), counts


def test_sdoh_each_period_gets_the_rows_it_gets_alone(demo_data):
    counts = _each_period_alone(demo_data, ["SDOH"])
    assert len(set(counts)) > 1  # the periods' visits and screens differ
    assert all(sum(c[i] for c in counts) > 0 for i in (0, 2)), counts


def test_cms153_each_period_gets_the_rows_it_gets_alone(demo_data):
    counts = _each_period_alone(demo_data, ["CMS153"])
    assert len(set(counts)) > 1  # the periods' visits differ
    assert all(sum(c[i] for c in counts) > 0 for i in (0, 2)), counts


def test_cms136_each_period_gets_the_rows_it_gets_alone(demo_data):
    counts = _each_period_alone(demo_data, ["CMS136"])
    assert len(set(counts)) > 1  # the intake periods' children differ
    assert all(sum(c[i] for c in counts) > 0 for i in (0, 2)), counts


def test_cms177_each_period_gets_the_rows_it_gets_alone(demo_data):
    counts = _each_period_alone(demo_data, ["CMS177"])
    assert len(set(counts)) > 1  # the periods' visits differ
    assert all(sum(c[i] for c in counts) > 0 for i in (0, 2)), counts
