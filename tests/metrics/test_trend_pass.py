"""A trend's periods in one pass (``engine.evaluate_periods``): one data, one memo shared where the period
cannot matter, and row for row the results of each period evaluated alone."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics import primitives
from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.memo import (
    ANY_PERIOD,
    FrameMemo,
    PeriodDependent,
    evaluating,
    remember,
    remembering,
)
from carenet_desktop.metrics.period import Period, rolling_12_months
from tests.measure_catalogue import CATALOGUE
from tests.stores import demo_measure_data

#: twelve rolling periods across the 2025/2026 boundary: both editions of the versioned measures
PERIODS = rolling_12_months(dt.date(2026, 3, 31), 12)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_measure_data(tmp_path_factory)


def _alone(data):  # type: ignore[no-untyped-def]
    """The same frames with a memo of their own: nothing carried over from another period."""
    return dataclasses.replace(data, memo=FrameMemo())


def test_one_pass_gives_every_measure_the_rows_of_each_period_alone(demo_data):
    measures = CATALOGUE.select(None)
    shared = dataclasses.replace(demo_data, memo=FrameMemo(check_periods=True))  # proves every ANY_PERIOD
    runs = list(evaluate_periods(shared, PERIODS, measures))
    assert [p for p, _ in runs] == PERIODS
    assert {m.id for m in measures} >= {"CMS2", "CMS117", "CMS146", "W30", "WCV"}
    for period, run in runs:
        alone = evaluate_measures(_alone(demo_data), period, measures)
        assert run.failures == alone.failures == {}, period
        assert run.versions == alone.versions
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
    assert len(runs[0][1].rows) and not runs[0][1].rows.equals(runs[-1][1].rows)  # the periods do differ
    assert len({tuple(sorted(run.versions.values())) for _, run in runs}) > 1  # the boundary is crossed


def test_what_does_not_depend_on_the_period_is_derived_once_for_all_periods(demo_data, monkeypatch):
    calls: list[int] = []
    real = primitives._factorise
    monkeypatch.setattr(primitives, "_factorise", lambda frame, column: calls.append(id(frame)) or real(frame, column))
    measures = CATALOGUE.select(["CMS117", "CMS2", "WCV"])
    big = {id(f) for f in demo_data.frames().values()}
    data = _alone(demo_data)
    list(evaluate_periods(data, PERIODS[:1], measures))
    once = sum(c in big for c in calls)
    calls.clear()
    data = _alone(demo_data)
    list(evaluate_periods(data, PERIODS, measures))
    assert once > 0 and sum(c in big for c in calls) == once  # twelve periods, the store's frames factorised once


def test_an_answer_for_one_period_is_never_served_to_another():
    memo, frame = FrameMemo(), pd.DataFrame({"a": [1, 2]})
    with remembering(memo):
        first = remember((frame,), "q", lambda: "2025", period=Period.year(2025))
        second = remember((frame,), "q", lambda: "2026", period=Period.year(2026))
        shared = remember((frame,), "q", lambda: "any", period=ANY_PERIOD)
        again = remember((frame,), "q", lambda: "other", period=ANY_PERIOD)
    assert (first, second, shared, again) == ("2025", "2026", "any", "any")
    memo.forget_period(Period.year(2025))
    assert len(memo) == 2


def test_a_question_must_say_what_period_it_depends_on():
    with remembering(FrameMemo()), pytest.raises(TypeError):
        remember((), "q", lambda: 1, period=None)


def test_the_check_catches_an_answer_wrongly_declared_period_free():
    memo, frame = FrameMemo(check_periods=True), pd.DataFrame({"a": [1, 2]})
    p1, p2 = Period.year(2025), Period.year(2026)
    with remembering(memo):
        with evaluating(p1):
            remember((frame,), "q", lambda: np.array([p1.end.year]), period=ANY_PERIOD)
        with evaluating(p1):  # the same period again: served
            remember((frame,), "q", lambda: np.array([p1.end.year]), period=ANY_PERIOD)
        with evaluating(p2), pytest.raises(PeriodDependent):
            remember((frame,), "q", lambda: np.array([p2.end.year]), period=ANY_PERIOD)
        with evaluating(p2):  # truly period-free: passes the check
            remember((frame,), "r", lambda: 1, period=ANY_PERIOD)
            remember((frame,), "r", lambda: 1, period=ANY_PERIOD)
