"""Ages at one date (``age_in_years_at`` / ``age_in_months_at`` with a scalar ``at``: the integer fast path,
civil dates from a table of days) equal the ages the per-row path computes (``at`` as a column), for birth
dates across and beyond the table (1800-2199), leap days, times of day, dates before 1970 and missing ones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.datemath import age_in_months_at, age_in_years_at

ATS = [dt.date(2025, 12, 31), dt.date(2025, 2, 28), dt.date(2024, 2, 29), dt.date(2024, 2, 28), dt.date(2025, 3, 1),
       pd.Timestamp("2026-01-31 13:00"), np.datetime64("2023-06-30"), "2025-02-28", dt.datetime(2025, 2, 28, 23, 0)]


def _births(low_day: int, high_day: int, n: int = 20_000) -> pd.Series:
    rng = np.random.default_rng(7)
    stamps = pd.to_datetime(rng.integers(low_day, high_day, n), unit="D") + pd.to_timedelta(
        rng.integers(0, 86_400, n), unit="s")
    births = pd.Series(stamps).astype("datetime64[us]")
    births[rng.random(n) < 0.05] = pd.NaT
    fixed = pd.Series(pd.to_datetime(["2012-02-29", "2000-02-29", "1900-02-28", "1969-12-31 23:59", "1970-01-01",
                                      "2024-12-31", "1800-01-01", "2199-12-31 23:59"], format="mixed"))
    return pd.concat([births, fixed.astype("datetime64[us]")], ignore_index=True)


@pytest.mark.parametrize("births", [_births(-40_000, 25_000), _births(-120_000, 120_000)],
                         ids=["within the table", "beyond it"])
@pytest.mark.parametrize("at", ATS, ids=str)
def test_ages_at_a_date_equal_the_per_row_ages(births, at):
    column = pd.Series([pd.Timestamp(at)] * len(births))  # the per-row path (``at`` a column)
    years, months = age_in_years_at(births, at), age_in_months_at(births, at)
    assert years.dtype == months.dtype == np.float64
    np.testing.assert_array_equal(years, age_in_years_at(births, column))
    np.testing.assert_array_equal(months, age_in_months_at(births, column))
    assert np.isnan(years).sum() == births.isna().sum()


def test_a_leap_day_birthday_and_no_birth_dates():
    born = pd.Series(pd.to_datetime(["2012-02-29", None]))
    assert age_in_years_at(born, dt.date(2025, 2, 27))[0] == 12
    assert age_in_years_at(born, dt.date(2025, 2, 28))[0] == 13  # the anniversary clamped to Feb 28
    assert np.isnan(age_in_years_at(born, dt.date(2025, 2, 28))[1])
    assert age_in_months_at(pd.Series(pd.to_datetime(["2025-01-31"])), dt.date(2025, 2, 28))[0] == 1
    assert age_in_years_at(pd.Series([], dtype="datetime64[us]"), dt.date(2025, 1, 1)).shape == (0,)


@pytest.mark.parametrize("missing", [pd.NaT, np.datetime64("NaT")])
def test_ages_at_a_missing_date_are_unknown(missing):
    births = pd.Series(pd.to_datetime(["2020-01-31", "2012-02-29", None]))
    for age in (age_in_years_at, age_in_months_at):
        assert np.isnan(age(births, missing)).all()
