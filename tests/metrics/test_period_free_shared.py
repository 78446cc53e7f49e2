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
    # the pass first: while its generator is suspended its memo is the current one, and an evaluation in
    # between would share it (and drop the pass's records) instead of being alone
    runs = list(evaluate_periods(shared, PERIODS, measures))
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        counts.append(tuple(int(run.rows[p].sum()) for p in ("initial-population", "denominator-exclusion",
                                                               "numerator")))
    return counts


@pytest.mark.parametrize(("measure", "distinct"), [
    ("CMS2", 3),  # the periods' encounters differ
    ("AMR", 1),  # their medications
    ("SDOH", 1),  # their visits and screens
    ("CMS153", 1),  # their visits
    ("CMS136", 1),  # the intake periods' children
    ("CMS177", 1),  # their visits
    # each child's facts kept from the period that met them (both editions: the 2026 one reads other kinds);
    # the periods' two-year-olds differ (the demo has no exclusions)
    ("CMS117", 3),
])
def test_each_period_of_a_pass_gets_the_rows_it_gets_alone(demo_data, measure, distinct):
    counts = _each_period_alone(demo_data, [measure])
    assert len(set(counts)) > distinct
    assert all(sum(c[i] for c in counts) > 0 for i in (0, 2)), counts


#: the measures whose own period-free records are kept for a pass only (``remember(..., for_pass=True)``)
PASS_MEASURES = ["CMS2", "AMR", "SDOH", "CMS153", "CMS136", "CMS177", "CMS117"]


def test_a_pass_derives_each_measures_own_records_once_and_drops_them_when_it_ends(demo_data, monkeypatch):
    computed: list[object] = []
    real = FrameMemo.get

    def counting(self, frames, question, compute, *, period, for_pass=False):  # type: ignore[no-untyped-def]
        def counted():  # type: ignore[no-untyped-def]
            if for_pass:
                computed.append(question)
            return compute()
        return real(self, frames, question, counted, period=period, for_pass=for_pass)

    monkeypatch.setattr(FrameMemo, "get", counting)
    data = dataclasses.replace(demo_data, memo=FrameMemo())
    kept = []
    for _ in evaluate_periods(data, PERIODS[:4], CATALOGUE.select(PASS_MEASURES)):
        kept.append(data.memo.kept_for_pass())
    assert computed and len(computed) == len(set(computed))  # each derived once for the four periods
    # kept between the periods (a measure's other edition adds its own in a later one)
    assert kept[0] > 0 and kept == sorted(kept) and kept[-1] == len(computed)
    assert data.memo.kept_for_pass() == 0  # and dropped when the pass ends
    # CMS117's children's facts: one set per edition (the 2026 one reads another kind of condition)
    assert sum(q[0] == "CMS117 child facts" for q in computed) == 2  # type: ignore[index]


@pytest.mark.parametrize("one_period", [
    lambda data, measures, step: evaluate_measures(data, PERIODS[0], measures, on_measure=step),
    lambda data, measures, step: list(evaluate_periods(data, PERIODS[:1], measures, on_measure=step)),
], ids=["evaluate_measures", "evaluate_periods"])
def test_one_period_drops_each_measures_own_records_when_the_measure_is_done(demo_data, one_period):
    data = dataclasses.replace(demo_data, memo=FrameMemo())
    measures = CATALOGUE.select(PASS_MEASURES)
    held: list[int] = []
    one_period(data, measures, lambda i, n, measure_id: held.append(data.memo.kept_for_pass()))
    assert len(held) == len(measures) and held == [0] * len(measures)  # none left by the measure before
    assert data.memo.kept_for_pass() == 0
    # the same measures in a pass of two periods keep them from one measure to the next
    data = dataclasses.replace(demo_data, memo=FrameMemo())
    held.clear()
    list(evaluate_periods(data, PERIODS[:2], measures, on_measure=lambda i, n, m: held.append(data.memo.kept_for_pass())))
    assert max(held) > 0
