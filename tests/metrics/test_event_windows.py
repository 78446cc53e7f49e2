"""Distinct event days per window counted on a sorted index (``measures._event_windows``): the same counts
as joining the windows to the events, and the index built once per events frame for every period."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from carenet_desktop.metrics.measures import _event_windows as ew
from carenet_desktop.metrics.memo import FrameMemo, evaluating, remembering
from carenet_desktop.metrics.period import Period


def _random_case(seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_events, n_rows = 3_000, 2_000
    day0 = np.datetime64("2023-01-01", "ns")
    days = day0 + rng.integers(0, 900, n_events).astype("timedelta64[D]")
    days[rng.random(n_events) < 0.05] = np.datetime64("NaT")  # a missing day counts in no window
    events = pd.DataFrame({"patient_id": rng.integers(0, 300, n_events).astype(np.int64), "day": days})
    events = pd.concat([events, events.iloc[:500]], ignore_index=True)  # repeated (patient, day) count once
    pid = rng.integers(0, 330, n_rows).astype(np.int64)  # some patients without events
    lo = day0 + rng.integers(-30, 900, n_rows).astype("timedelta64[D]")
    hi = lo + rng.integers(-20, 400, n_rows).astype("timedelta64[D]")  # some windows end before they start
    lo[rng.random(n_rows) < 0.05] = np.datetime64("NaT")
    hi[rng.random(n_rows) < 0.05] = np.datetime64("NaT")
    return events, pid, lo, hi


def test_indexed_counts_equal_the_join_on_random_windows():
    for seed in range(5):
        events, pid, lo, hi = _random_case(seed)
        expected = ew.days_in_windows_joined(events, pid, lo, hi)
        assert expected.sum() > 0 and (expected == 0).any()
        got = ew.days_in_windows(events, pd.Series(pid), pd.Series(lo), pd.Series(hi))
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(ew.EventIndex(events).counts(pid, lo, hi), expected)


def test_window_bounds_are_inclusive_and_days_distinct():
    day = pd.Timestamp("2025-03-10")
    events = pd.DataFrame({"patient_id": np.array([1, 1, 1, 2], dtype=np.int64),
                           "day": pd.to_datetime(["2025-03-10", "2025-03-10", "2025-03-12", "2025-03-11"])})
    pid = np.array([1, 1, 1, 2, 3], dtype=np.int64)
    lo = as_ns([day, day + pd.Timedelta(days=1), day, day, day])
    hi = as_ns([day, day + pd.Timedelta(days=2), day + pd.Timedelta(days=2), day, day])
    np.testing.assert_array_equal(ew.days_in_windows(events, pid, lo, hi), [1, 1, 2, 0, 0])


def as_ns(values: list[pd.Timestamp]) -> np.ndarray:
    return np.array(values, dtype="datetime64[ns]")


def test_a_non_integer_patient_column_falls_back_to_the_join():
    events, pid, lo, hi = _random_case(7)
    text = events.assign(patient_id=events["patient_id"].astype(str))
    got = ew.days_in_windows(text, pid.astype(str), lo, hi)
    np.testing.assert_array_equal(got, ew.days_in_windows_joined(events, pid, lo, hi))


def test_the_index_of_an_events_frame_is_built_once_for_every_period(monkeypatch):
    events, pid, lo, hi = _random_case(3)
    built: list[int] = []
    real = ew.EventIndex.__init__

    def counting(self, frame):  # type: ignore[no-untyped-def]
        built.append(id(frame))
        real(self, frame)

    monkeypatch.setattr(ew.EventIndex, "__init__", counting)
    memo = FrameMemo(check_periods=True)  # also proves the index does not depend on the period
    with remembering(memo):
        for period in ("p1", "p2", "p3"):
            with evaluating(period):
                ew.days_in_windows(events, pid, lo, hi)
            memo.forget_period(period)
    assert len([b for b in built if b == id(events)]) == 3  # built once, then twice more by the check only
    built.clear()
    with remembering(FrameMemo()):
        for period in ("p1", "p2", "p3"):
            with evaluating(period):
                ew.days_in_windows(events, pid, lo, hi)
    assert len(built) == 1


def test_birthdays_of_a_people_frame_are_shifted_once_for_every_period(monkeypatch):
    from carenet_desktop.metrics.measures import _network_common as nc

    people = pd.DataFrame({"patient_id": np.arange(4, dtype=np.int64),
                           "birth": pd.to_datetime(["2012-02-29", "2020-01-31", None, "2023-06-15"])})
    shifts: list[int] = []
    real = nc.add_months
    monkeypatch.setattr(nc, "add_months", lambda dates, months: shifts.append(months) or real(dates, months))
    memo = FrameMemo(check_periods=True)  # proves the birthdays do not depend on the period
    with remembering(memo):
        for period in ("p1", "p2", "p3"):
            with evaluating(period):
                got = nc.birthday(people, years=13)
                pd.testing.assert_series_equal(got, nc.birthday(people["birth"], years=13))
            memo.forget_period(period)
    assert got.iloc[0] == pd.Timestamp("2025-02-28") and pd.isna(got.iloc[2])
    shifts.clear()
    memo = FrameMemo()
    with remembering(memo):
        for period in ("p1", "p2", "p3"):
            with evaluating(period):
                nc.birthday(people, years=13)
                nc.turns_during(people, Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), years=13)
            memo.forget_period(period)
    assert shifts == [156]  # shifted once for the three periods


def test_id_in_equals_isin_for_nullable_and_plain_ids():
    from carenet_desktop.metrics.measures._episodes import id_in

    rng = np.random.default_rng(11)
    ids = pd.Series(rng.integers(0, 500, 200).astype(np.int64))
    column = pd.Series(pd.array(rng.integers(-3, 700, 5_000), dtype="Int64"))
    column[rng.random(5_000) < 0.1] = pd.NA
    for col in (column, column.fillna(-1).astype(np.int64)):
        np.testing.assert_array_equal(id_in(col, ids), col.isin(pd.Index(ids)).to_numpy())
    assert id_in(column, ids).any() and not id_in(column, ids.iloc[0:0]).any()
    negative = pd.Series(np.array([-2, 5], dtype=np.int64))  # not row numbers: hashed as before
    np.testing.assert_array_equal(id_in(pd.Series([-2, 4, 5]), negative), [True, False, True])


def test_exists_in_window_by_binary_search_equals_the_join():
    from carenet_desktop.metrics import primitives

    rng = np.random.default_rng(5)
    n, m = 3_000, 4_000
    lp, rp = rng.integers(-5, 400, n).astype(np.int64), rng.integers(-5, 400, m).astype(np.int64)
    lo_days = rng.integers(0, 800, n).astype(float)
    hi_days = lo_days + rng.integers(-10, 60, n)
    t_days = rng.integers(0, 900, m).astype(float)
    lo_days[rng.random(n) < 0.05] = np.nan
    hi_days[rng.random(n) < 0.05] = np.nan
    t_days[rng.random(m) < 0.05] = np.nan
    day0 = np.datetime64("2024-01-01T00:00", "ns")

    def stamps(d: np.ndarray, unit: str = "ns") -> np.ndarray:
        out = day0 + (np.nan_to_num(d) * 86_400e9).astype("timedelta64[ns]") + np.timedelta64(7, "h")
        out[np.isnan(d)] = np.datetime64("NaT")
        return out.astype(f"datetime64[{unit}]")

    cases = [
        (lo_days, hi_days, t_days),  # day numbers with gaps
        (np.nan_to_num(lo_days).astype(np.int64), np.nan_to_num(hi_days).astype(np.int64), t_days),
        (stamps(lo_days), stamps(hi_days), stamps(t_days, "us")),  # times of day; right side in another unit
        (stamps(lo_days), stamps(hi_days), stamps(t_days) - np.timedelta64(7, "h")),
    ]
    for lo, hi, t in cases:
        expected = primitives._exists_merged(lp, lo, hi, rp, t)
        assert expected.any() and not expected.all()
        fast = primitives._exists_sorted(lp, lo, hi, rp, t)
        assert fast is not None
        np.testing.assert_array_equal(fast, expected)
        np.testing.assert_array_equal(primitives.exists_in_window(pd.Series(lp), lo, hi, rp, t), expected)
    assert primitives._exists_sorted(lp.astype(str), lo_days, hi_days, rp, t_days) is None  # joined instead
