"""A trend's pass answers a question about each row of a frame of every date once, when a period first meets the
row (``row_answers``): each period gets the answers of its own rows alone, whatever rows earlier periods asked
about; nothing of them is left once the pass is done. And AMR's order intent, tested on the distinct values, is
the string test's."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.measures import amr
from carenet_desktop.metrics.memo import FrameMemo, remembering, several_periods
from carenet_desktop.metrics.period import rolling_12_months
from carenet_desktop.metrics.primitives import seed_factorised
from carenet_desktop.metrics.row_answers import RowAnswers, pass_row_answers, positions
from tests.measure_catalogue import CATALOGUE


def _every(n: int = 400, *, shuffled: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    labels = np.sort(rng.choice(5 * n, n, replace=False))
    if shuffled:
        labels = rng.permutation(labels)
    return pd.DataFrame({"patient_id": rng.integers(0, 50, n), "day": rng.integers(0, 365 * 2, n)}, index=labels)


def _answer(rows: pd.DataFrame) -> np.ndarray | None:
    """A question of each row alone (None, as an episode mask says it: no row is one)."""
    hit = ((rows["patient_id"] + rows["day"]) % 3 == 0).to_numpy()
    return hit if hit.any() else None


def _windows(every: pd.DataFrame) -> list[pd.DataFrame]:
    """Rolling windows of days (a period's rows): overlapping, one repeated, one past the last row (empty), and
    one of rows whose answers are all false."""
    day = every["day"].to_numpy()
    out = [every[(day >= lo) & (day < lo + 365)] for lo in range(0, 400, 30)]
    out.append(out[2])
    out.append(every[day >= 365 * 3])
    out.append(every[((every["patient_id"] + every["day"]) % 3 != 0).to_numpy()][:20])
    return out


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_pass_asks_about_each_row_once_and_answers_each_period_as_alone(shuffled):
    every = _every(shuffled=shuffled)
    asked: list[np.ndarray] = []

    def answer(rows: pd.DataFrame) -> np.ndarray | None:
        asked.append(rows.index.to_numpy())
        return _answer(rows)

    memo = FrameMemo()
    with remembering(memo), several_periods(True):
        for rows in _windows(every):
            got = pass_row_answers((every,), ("rows",), every, rows, answer)
            if rows.empty:
                assert got is None
                continue
            alone = _answer(rows)
            want = np.zeros(len(rows), dtype=bool) if alone is None else alone
            assert got is not None and got.dtype == bool and np.array_equal(got, want)
        assert memo.kept_for_pass() == 1
    labels = np.concatenate(asked)
    assert len(labels) == len(set(labels.tolist()))  # no row asked about twice
    assert set(labels.tolist()) == set(pd.concat(_windows(every)).index.tolist())  # only the rows met
    assert len(memo) == 0  # the pass is done: its answers went with it


def test_outside_a_pass_or_for_rows_not_of_the_frame_the_caller_answers():
    every = _every()
    rows = every.iloc[10:50]
    assert pass_row_answers((every,), "q", every, rows, _answer) is None  # no evaluation
    with remembering(FrameMemo()), several_periods(False):
        assert pass_row_answers((every,), "q", every, rows, _answer) is None  # one period: its rows only
    with remembering(FrameMemo()), several_periods(True):
        stranger = rows.set_axis(np.full(len(rows), every.index.max() + 1))
        assert pass_row_answers((every,), "q", every, stranger, _answer) is None
        twice = every.set_axis(np.repeat(every.index.to_numpy()[: len(every) // 2], 2))
        assert pass_row_answers((twice,), "q", twice, twice.iloc[:5], _answer) is None


@pytest.mark.parametrize("labels_dtype", ["int64", "int32", "float64"])
def test_positions_are_the_indexers(labels_dtype):
    every = _every().index
    for index in (every, pd.Index(np.random.default_rng(1).permutation(every.to_numpy()))):
        picked = index[[0, 5, 7, len(index) - 1]]
        labels = pd.Index(picked.to_numpy().astype(labels_dtype))
        assert np.array_equal(positions(index, labels), index.get_indexer(labels))
        assert positions(index, pd.Index(np.array([every.max() + 1], dtype=labels_dtype))) is None
        assert positions(index, pd.Index(np.array([-1], dtype=labels_dtype))) is None
    assert positions(pd.Index([1, 2, 2, 3]), pd.Index([3])) is None


def test_row_answers_compare_on_the_rows_both_know():
    a, b = RowAnswers(4), RowAnswers(4)
    frame = pd.DataFrame({"x": [1, 2, 3, 4]})
    a.answers(np.array([0, 1]), frame.iloc[:2], lambda rows: (rows["x"] > 1).to_numpy())
    b.answers(np.array([1, 2]), frame.iloc[1:3], lambda rows: (rows["x"] > 1).to_numpy())
    assert a == b and a != RowAnswers(5)
    b.values[1] = False  # a different answer for a row both know
    assert a != b


@pytest.mark.parametrize("last", [dt.date(2025, 12, 31), dt.date(2026, 2, 28)])
def test_episode_measures_pass_from_a_first_period_on_the_edges_equals_each_period_alone(
        tmp_path_factory, last):
    """CMS154 and CMS146 over a pass whose periods start on a month's first day, end on the last of a year or of
    a February, the 2025 and the 2026 versions: each period's rows those it gets alone."""
    from tests.stores import demo_measure_data

    data = demo_measure_data(tmp_path_factory)
    measures = CATALOGUE.select(["CMS154", "CMS146"])
    periods = rolling_12_months(last, 3)[::-1]  # the latest first: later periods meet earlier months' rows
    runs = list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo(check_periods=True)), periods, measures))
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert len(run.rows) and run.failures == alone.failures == {}
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")


@pytest.mark.parametrize("dtype", [object, "string"])
@pytest.mark.parametrize("seeded", [False, True])
def test_amr_order_intent_is_the_string_test(dtype, seeded):
    values = ["order", "ORDER", " order", "order ", "plan", None, np.nan, "Order", "original-order", "reflex-order"]
    frame = pd.DataFrame({"intent": pd.Series(values * 200, dtype=dtype)})
    memo = FrameMemo()
    if seeded:  # the store's reader hands the column's codes over
        codes, uniques = pd.factorize(frame["intent"], use_na_sentinel=True)
        seed_factorised(memo, frame, "intent", codes.astype(np.int32), uniques)
    want = frame["intent"].astype("string").str.lower().eq("order").fillna(False).to_numpy(dtype=bool)
    with remembering(memo):
        got = amr._intent_order(frame)
    assert np.array_equal(got, want) and want.sum() == 3 * 200


@pytest.mark.parametrize("rows", [3, 2000])  # few rows: bisected; many: a table of the patients' ranks
@pytest.mark.parametrize("kind", ["days", "datetimes"])
def test_sorted_pairs_answer_as_the_merge(rows, kind):
    from carenet_desktop.metrics.primitives import _exists_merged
    from carenet_desktop.metrics.sorted_windows import SortedPairs

    rng = np.random.default_rng(rows)
    rp = rng.integers(0, 300, 400)
    rt = rng.integers(0, 90, 400).astype(float)
    rt[rng.random(400) < 0.1] = np.nan
    lp = rng.integers(-5, 320, rows)  # ids of no pair: negative, past the largest
    lo = rng.integers(-5, 95, rows).astype(float)
    lo[rng.random(rows) < 0.05] = np.nan
    hi = lo + rng.integers(-1, 4, rows)  # empty windows too (hi < lo)
    if kind == "datetimes":
        base = np.datetime64("2024-02-28", "ns")

        def stamp(values: np.ndarray) -> np.ndarray:
            return np.where(np.isnan(values), np.datetime64("NaT", "ns"), base + np.nan_to_num(values).astype("timedelta64[D]"))

        rt, lo, hi = stamp(rt), stamp(lo), stamp(hi)
    want = _exists_merged(lp, lo, hi, rp, rt)
    got = SortedPairs(rp, rt, lo.dtype).any_within(lp, lo, hi)
    assert np.array_equal(got, want) and (rows < 10 or (want.any() and not want.all()))
