"""Vectorised primitives follow CQL semantics at every edge (hand-made frames)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.primitives import (
    MAX_TS,
    Iv,
    add_months,
    add_years,
    age_in_months_at,
    age_in_years_at,
    code_mask,
    count_per_patient,
    date_only_mask,
    day_number,
    distinct_days_per_patient,
    during,
    ends_during,
    exists_in_window,
    first_per_patient,
    flag,
    has_token,
    last_per_patient,
    on_or_before_end,
    overlaps,
    patient_ages,
    patients_with,
    point_in,
    starts_before,
    starts_during,
    status_in,
    vs_mask,
    within_days_after,
)
from carenet_desktop.metrics.valuesets import ValueSetIndex

P2025 = Period.year(2025)


def ts(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), format="mixed"))


# --- ages and calendar arithmetic ---------------------------------------------------------------------


def test_add_years_clamps_feb_29_to_feb_28() -> None:
    out = add_years(ts("2020-02-29", "2019-03-15 10:30", None), 1)
    assert out.tolist()[:2] == [pd.Timestamp("2021-02-28"), pd.Timestamp("2020-03-15 10:30")]
    assert pd.isna(out.iloc[2])
    assert add_years(ts("2020-02-29"), 4).iloc[0] == pd.Timestamp("2024-02-29")


def test_add_months_clamps_to_month_end_and_accepts_arrays() -> None:
    out = add_months(ts("2025-01-31", "2025-01-31", "2024-12-15"), np.array([1, -2, 14]))
    assert out.tolist() == [pd.Timestamp("2025-02-28"), pd.Timestamp("2024-11-30"), pd.Timestamp("2026-02-15")]


@pytest.mark.parametrize(("first", "last"), [
    ("1899-12-01", "2101-01-31"),
    # outside the tables of civil dates and of the months' first days (1800-2199), and across their edges
    ("1601-01-01", "1605-03-31"), ("1798-11-01", "1801-02-28"), ("2198-12-01", "2201-03-31"),
    ("2396-01-01", "2401-03-31"),
])
def test_add_months_equals_calendar_arithmetic_day_by_day(first: str, last: str) -> None:
    """Against plain Python date arithmetic: every day of 1899-2101 (leap days, month ends, before 1970),
    a time of day kept, missing stays missing, the Series' own index kept, by scalars and by arrays; and
    days centuries away, where ``datemath`` computes what its tables do not hold."""
    import calendar

    days = pd.date_range(first, last, freq="D")
    times = pd.Series(days + pd.to_timedelta(np.arange(len(days)) % 5 * 3_600_123_457, unit="us"),
                      index=np.arange(len(days))[::-1] + 3)
    times.iloc[::97] = pd.NaT
    rng = np.random.default_rng(19)
    for months in (1, -1, 12, -25, rng.integers(-400, 400, len(times))):
        got = add_months(times, months)
        shift = np.broadcast_to(np.asarray(months), (len(times),))
        expected = []
        for value, n in zip(times, shift, strict=True):
            if pd.isna(value):
                expected.append(pd.NaT)
                continue
            total = value.year * 12 + value.month - 1 + int(n)
            year, month = divmod(total, 12)
            day = min(value.day, calendar.monthrange(year, month + 1)[1])
            expected.append(pd.Timestamp(dt.datetime(year, month + 1, day)) + (value - value.normalize()))
        pd.testing.assert_series_equal(got, pd.Series(expected, index=times.index, dtype="datetime64[us]"))


@pytest.mark.parametrize(
    ("birth", "at", "years"),
    [
        ("2005-01-01", "2025-01-01", 20),  # birthday on the day
        ("2005-01-02", "2025-01-01", 19),  # one day short
        # leap-day birth: the anniversary is Feb 28 in a non-leap year (CQL years between counts whole years
        # as date arithmetic adds them, which clamps Feb 29; cql-execution's CalculateAgeAt agrees)
        ("2004-02-29", "2025-02-28", 21),
        ("2004-02-29", "2025-02-27", 20),
        ("2004-02-29", "2025-03-01", 21),
        ("2004-02-29", "2024-02-29", 20),
        ("2024-01-02", "2025-01-01", 0),  # 11 months 30 days
    ],
)
def test_age_in_years_at_calendar_semantics(birth: str, at: str, years: int) -> None:
    assert age_in_years_at(ts(birth), at)[0] == years


def test_age_in_years_at_column_and_missing_birth_date() -> None:
    ages = age_in_years_at(pd.Series([dt.date(2010, 6, 15), None]), ts("2025-06-14", "2025-06-14"))
    assert ages[0] == 14 and np.isnan(ages[1])


def test_age_in_months_at() -> None:
    months = age_in_months_at(ts("2023-01-31", "2023-01-31", "2023-01-15"), "2023-03-30")
    assert months.tolist() == [1, 1, 2]
    assert age_in_months_at(ts("2023-01-31"), "2023-03-31")[0] == 2


def test_patient_ages_indexed_by_patient() -> None:
    pats = pd.DataFrame({"patient_id": [7, 9], "birth_date": ts("2010-01-01", "2020-12-31")})
    ages = patient_ages(pats, dt.date(2025, 1, 1))
    assert ages.to_dict() == {7: 15, 9: 4}


# --- intervals ----------------------------------------------------------------------------------------


def test_period_null_semantics() -> None:
    iv = Iv.period(ts("2025-03-01", None, None), ts(None, "2025-02-01", None))
    assert iv.start()[0] == np.datetime64("2025-03-01") and iv.end()[0] == np.datetime64(MAX_TS)  # ongoing
    assert np.isnat(iv.start()[1]) and iv.end()[1] == np.datetime64("2025-02-01")  # unknown start
    assert iv.is_null().tolist() == [False, False, True]


def test_overlaps_with_day_precision_and_null_boundaries() -> None:
    iv = Iv.period(
        ts("2024-12-31 23:59:59", "2024-01-01", "2025-03-01", None, None, "2024-01-01"),
        ts("2025-01-01 01:00", "2024-12-31 23:59:59", None, "2025-02-01", None, "2025-01-01 00:00"),
    )
    assert overlaps(iv, P2025, "day").tolist() == [True, False, True, True, False, True]
    assert overlaps(iv, P2025).tolist() == [True, False, True, True, False, True]


def test_day_precision_matters_for_during() -> None:
    # ends at 00:00 of 2026-01-01: outside at full precision, outside at day precision too
    iv = Iv.period(ts("2025-12-31 23:00", "2025-01-01 00:00"), ts("2026-01-01 00:00", "2025-12-31 23:59:59.999"))
    assert during(iv, P2025).tolist() == [False, True]
    assert during(iv, P2025, "day").tolist() == [False, True]
    # a visit on 2025-12-31 10:00-11:00 against a period ending 2025-12-31 00:00: only day precision includes it
    short = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    visit = Iv.period(ts("2025-12-31 10:00"), ts("2025-12-31 11:00"))
    assert during(visit, (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")), "day").tolist() == [True]
    assert during(visit, (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"))).tolist() == [False]
    assert during(visit, short).tolist() == [True]


def test_during_requires_known_bounds() -> None:
    iv = Iv.period(ts(None, "2025-05-01"), ts("2025-06-01", None))
    assert during(iv, P2025, "day").tolist() == [False, False]  # unknown start; ongoing end


def test_starts_and_ends_during() -> None:
    iv = Iv.period(ts("2024-12-31", "2025-12-31 23:00", "2025-05-01"), ts("2025-01-01", "2026-01-02", None))
    assert ends_during(iv, P2025, "day").tolist() == [True, False, False]
    assert starts_during(iv, P2025, "day").tolist() == [False, True, True]


def test_closed_with_unknown_end_is_decided_only_by_the_start() -> None:
    # resolved condition without abatement: Interval[onset, null) -> end somewhere after the onset
    iv = Iv.closed(ts("2024-06-01", "2025-02-01"), ts(None, None), end_unbounded=False)
    assert overlaps(iv, P2025).tolist() == [False, True]
    # active condition: the same data, end unbounded
    active = Iv.closed(ts("2024-06-01"), ts(None), end_unbounded=True)
    assert overlaps(active, P2025).tolist() == [True]
    # no onset at all (closed null start) is unbounded
    assert overlaps(Iv.closed(ts(None), ts("2025-01-01 00:00")), P2025).tolist() == [True]


def test_null_interval_never_relates() -> None:
    iv = Iv.choice(ts(None), ts(None))
    for fn in (overlaps, during, starts_during, ends_during, on_or_before_end):
        assert fn(iv, P2025).tolist() == [False]


def test_latest_and_earliest() -> None:
    iv = Iv.period(ts("2025-01-01", "2025-02-01", None), ts("2025-01-05", None, "2025-03-01"))
    assert [pd.Timestamp(x) for x in iv.latest()] == [pd.Timestamp("2025-01-05"), pd.Timestamp("2025-02-01"),
                                                      pd.Timestamp("2025-03-01")]
    assert pd.Timestamp(iv.earliest()[0]) == pd.Timestamp("2025-01-01")
    assert pd.Timestamp(iv.earliest()[2]) == pd.Timestamp("2025-03-01")


def test_starts_before_and_on_or_before_end() -> None:
    a = Iv.points(ts("2025-03-01 09:00", "2025-03-01 10:00"))
    b = Iv.period(ts("2025-03-01 10:00", "2025-03-01 10:00"), ts("2025-03-01 11:00", "2025-03-01 11:00"))
    assert starts_before(a, b).tolist() == [True, False]
    assert on_or_before_end(Iv.points(ts("2025-12-31 23:59:59", "2026-01-01")), P2025).tolist() == [True, False]


def test_point_in_and_date_only_values() -> None:
    points = ts("2025-01-01", "2025-01-01", "2025-06-01", "2025-12-31")
    date_only = np.array([True, False, True, True])
    # a date without time on the first/last day is not "during" at full precision (CQL: null)
    assert point_in(points, P2025, date_only=date_only).tolist() == [False, True, True, False]
    # ... but it is at day precision
    assert point_in(points, P2025, "day", date_only=date_only).tolist() == [True, True, True, True]


def test_date_only_mask_reads_optional_column() -> None:
    frame = pd.DataFrame({"authored_on": ts("2025-01-01", "2025-01-01")})
    assert date_only_mask(frame, "authored_on") is None
    frame["date_only"] = ["authored_on occurrence", None]
    assert date_only_mask(frame, "authored_on").tolist() == [True, False]
    assert date_only_mask(frame, "occurrence").tolist() == [True, False]


# --- per-patient reductions and joins ---------------------------------------------------------------------


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [1, 1, 1, 2, 3],
            "when": ts("2025-01-01 08:00", "2025-01-01 17:00", "2025-02-01", None, "2025-03-01"),
            "n": [1, 2, 3, 4, 5],
        }
    )


def test_reductions(events: pd.DataFrame) -> None:
    assert patients_with(events, events["n"] > 1).tolist() == [1, 2, 3]
    assert count_per_patient(events).to_dict() == {1: 3, 2: 1, 3: 1}
    assert distinct_days_per_patient(events, "when").to_dict() == {1: 2, 3: 1}
    assert first_per_patient(events, "when")["n"].tolist() == [1, 5]
    assert last_per_patient(events, "when")["n"].tolist() == [3, 5]
    assert flag([1, 4, 3], pd.Index([3, 1])).tolist() == [True, False, True]


def test_exists_in_window_is_per_patient_and_inclusive() -> None:
    hit = exists_in_window(
        np.array([1, 1, 2, 3]), np.array([10.0, 20.0, 10.0, np.nan]), np.array([12.0, 25.0, 12.0, 5.0]),
        np.array([1, 2, 2, 3]), np.array([12.0, 10.0, 13.0, 1.0]),
    )
    assert hit.tolist() == [True, False, True, False]


def test_within_days_after_day_precision() -> None:
    tests = pd.DataFrame({"patient_id": [1, 2, 3, 4], "authored_on": ts("2025-01-01 23:00", "2025-01-01", "2025-01-01", "2025-01-05")})
    orders = pd.DataFrame({"patient_id": [1, 2, 3, 4], "authored_on": ts("2025-01-07 01:00", "2025-01-08", "2024-12-31", "2025-01-05 00:01")})
    assert within_days_after(tests, orders, "authored_on", "authored_on", 6).tolist() == [True, False, False, True]
    # 14 days or less before
    assert within_days_after(orders, tests, "authored_on", "authored_on", 0, min_days=-14).tolist() == [True, True, False, True]
    assert day_number(ts("1970-01-02 12:00")).tolist() == [1.0]


def test_code_helpers() -> None:
    frame = pd.DataFrame({"key": ["snomed|1", "loinc|2", "|"], "status": ["Completed", "final ", None],
                          "category": ["survey", "laboratory,survey", None]})
    vsi = ValueSetIndex({"http://x/ValueSet/a": [("http://snomed.info/sct", "1")]})

    class Data:
        valuesets = vsi

    assert vs_mask(Data(), frame, "http://x/ValueSet/a").tolist() == [True, False, False]
    assert vs_mask(Data(), frame, "http://x/ValueSet/missing").tolist() == [False, False, False]
    assert code_mask(frame, "http://loinc.org", "2").tolist() == [False, True, False]
    assert code_mask(frame, "loinc", "2").tolist() == [False, True, False]
    assert status_in(frame, "completed", "final").tolist() == [True, True, False]
    assert has_token(frame["category"], "survey").tolist() == [True, True, False]
    assert has_token(frame["category"], "lab").tolist() == [False, False, False]


def test_large_frames_use_a_cached_factorisation_with_the_same_answers() -> None:
    from carenet_desktop.metrics.primitives import factorised

    n = 50_000
    keys = np.array(["snomed|1", "loinc|2", "cpt|3", None], dtype=object)[np.arange(n) % 4]
    big = pd.DataFrame({"key": keys, "status": np.array(["Final", "cancelled"])[np.arange(n) % 2]})
    vsi = ValueSetIndex({"http://x/ValueSet/a": [("snomed", "1"), ("cpt", "3")]})

    class Data:
        valuesets = vsi

    expected = vsi.mask(big, "http://x/ValueSet/a")
    assert (vs_mask(Data(), big, "http://x/ValueSet/a") == expected).all()
    assert (vs_mask(Data(), big, "http://x/ValueSet/a") == expected).all()  # from the cache
    codes, uniques = factorised(big, "key")
    assert len(uniques) == 3 and (codes[3::4] == -1).all()
    assert code_mask(big, "loinc", "2").sum() == n // 4
    assert status_in(big, "final").sum() == n // 2
    # a categorical column answers the same; a new frame object is factorised afresh
    cat = big.assign(key=big["key"].astype("category"))
    assert (vs_mask(Data(), cat, "http://x/ValueSet/a") == expected).all()
    other = big.assign(key="snomed|1")
    assert vs_mask(Data(), other, "http://x/ValueSet/a").all()
