"""CMS154 and CMS146 derive the records of their possible patients once for all the periods of a pass
(``metrics.memo``, ``ANY_PERIOD``): a superset of every period's candidates. Each period must still get the
rows it gets alone - its episodes from its own candidates' encounters only."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.measures import cms146, cms154
from carenet_desktop.metrics.memo import FrameMemo
from carenet_desktop.metrics.period import Period, rolling_12_months
from carenet_desktop.metrics.uniques import sorted_unique, sorted_unique_inverse
from tests.measure_catalogue import CATALOGUE
from tests.stores import demo_measure_data

#: latest first, then back: the records derived in the first period serve periods that see less
PERIODS = [*rolling_12_months(dt.date(2026, 3, 31), 12)[::-3], Period.year(2024)]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_measure_data(tmp_path_factory)


def test_each_period_gets_the_episodes_it_gets_alone(demo_data):
    measures = CATALOGUE.select(["CMS154", "CMS146"])
    shared = dataclasses.replace(demo_data, memo=FrameMemo(check_periods=True))
    runs = list(evaluate_periods(shared, PERIODS, measures))
    sizes = set()
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(demo_data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        sizes.add(tuple(run.rows.groupby("measure").size().sort_index().items()))
    assert len(sizes) > 1  # the periods' episodes do differ


def test_the_records_are_derived_once_and_hold_more_than_one_period_needs(demo_data):
    data = dataclasses.replace(demo_data, memo=FrameMemo())
    list(evaluate_periods(data, PERIODS, CATALOGUE.select(["CMS154"])))
    from carenet_desktop.metrics.memo import remembering

    with remembering(data.memo):
        first, again = cms154.uri_records(data), cms154.uri_records(data)
        encounters = cms154.uri_encounters(data)
    assert first is not again and first.conditions is again.conditions  # kept, handed out in a new MeasureData
    earliest = PERIODS[-1]
    within = cms154.resp.ending_in(encounters, earliest)
    assert len(within) < len(encounters)  # the period's own cut is made on each use, not kept


@pytest.mark.parametrize("values", [
    np.array([], dtype=np.int64), np.array([5], dtype=np.int64), np.array([3, -1, 3, 7, -1, 0], dtype=np.int64),
    np.array([2**63 - 1, 0, 2**63 - 1], dtype=np.int64), np.array([9, 1, 9], dtype=np.uint64),
    np.array([True, False, True]), np.array([2.5, np.nan, 2.5, np.nan, -0.0, 0.0]),
    np.random.default_rng(3).integers(-1000, 1000, 5000),
])
def test_sorted_unique_is_np_unique(values):
    expected = np.unique(values)
    got = sorted_unique(values)
    assert got.dtype == expected.dtype and np.array_equal(got, expected, equal_nan=values.dtype.kind == "f")
    uniques, inverse = sorted_unique_inverse(values)
    expected_u, expected_i = np.unique(values, return_inverse=True)
    assert np.array_equal(uniques, expected_u, equal_nan=values.dtype.kind == "f")
    assert np.array_equal(inverse, expected_i.ravel())


def test_patient_sets_combine_as_sets():
    rng = np.random.default_rng(5)
    for scale in (1, 10**8):  # lookup tables, and huge sparse ids (sorted arrays)
        for _ in range(30):
            a, b = rng.integers(0, 60, rng.integers(0, 40)) * scale, rng.integers(0, 80, rng.integers(0, 40)) * scale
            left, right = cms146.PatientSet(a), cms146.PatientSet(b)
            assert np.array_equal((left & right).ids(), np.intersect1d(a, b))
            assert np.array_equal((left | right).ids(), np.union1d(a, b))
    mixed = cms146.PatientSet(np.array([3, 10**8])) & cms146.PatientSet(np.array([3, 4]))
    assert mixed.ids().tolist() == [3]
