"""Cumulative medication duration (the eCQM library ``CumulativeMedicationDuration`` 4.1.000), vectorised.

Every function works on whole columns; intervals are inclusive calendar dates held as ``datetime64[ns]``
at midnight, ``NaT`` where the CQL result is null.

  doses_per_day(frequency, period, unit) -> ndarray    ToDaily(frequency, period) (NaN if unknown)
  medication_request_period(mr) -> DataFrame[start, end]
      medicationRequestPeriod(): start = first of (boundsPeriod start, authoredOn, validityPeriod start);
      days supplied = Coalesce(expectedSupplyDuration, quantity / (dose * doses per day)) * (1 + refills);
      Interval[start, start + days supplied - 1 day], else Interval[start, end of boundsPeriod], else null.
  medication_dispense_period(md) -> DataFrame[start, end]    medicationDispensePeriod()
  rollout_intervals(keys, start, end) -> (start, end)        rolloutIntervals(), per key group
  intersect(start, end, lo, hi) -> (start, end)              Interval ``intersect`` (null if disjoint)
  cumulative_duration(keys, start, end) -> Series            cumulativeDuration(): days covered by the
                                                             collapsed intervals, per key group
  cumulative_medication_duration(requests, dispenses, by)    CumulativeMedicationDuration()

The rollout is a work-conserving queue: with the intervals of a group sorted by start, lengths ``L``
(days) and ``C`` their running sum, the rolled end is ``E_i = C_i + max_{j<=i}(start_j - 1 - C_{j-1})``,
so it is a grouped cumulative sum plus a grouped cumulative maximum, with no Python loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_DAY = np.timedelta64(1, "D")

#: days in one unit of ``timing.repeat.periodUnit`` (UCUM codes and the words the library also accepts)
DAYS_PER_UNIT: dict[str, float] = {
    "s": 1 / 86400, "second": 1 / 86400, "seconds": 1 / 86400,
    "min": 1 / 1440, "minute": 1 / 1440, "minutes": 1 / 1440,
    "h": 1 / 24, "hour": 1 / 24, "hours": 1 / 24,
    "d": 1.0, "day": 1.0, "days": 1.0,
    "wk": 7.0, "week": 7.0, "weeks": 7.0,
    "mo": 30.0, "month": 30.0, "months": 30.0,  # the library assumes 30 days in a month
    "a": 365.0, "year": 365.0, "years": 365.0,  # and 365 in a year
}


_UNIT_LOOKUP = {**DAYS_PER_UNIT, **{k.upper(): v for k, v in DAYS_PER_UNIT.items()}}


def _days(values: object) -> np.ndarray:
    """A column of timestamps as calendar dates (datetime64[D]); NaT stays NaT."""
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[D]")
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce", format="mixed")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _coalesce_days(*arrays: np.ndarray) -> np.ndarray:
    out = arrays[0].copy()
    for a in arrays[1:]:
        out = np.where(np.isnat(out), a, out)
    return out


def _frame(start: np.ndarray, end: np.ndarray, index: pd.Index) -> pd.DataFrame:
    bad = np.isnat(start) | np.isnat(end) | (end < start)
    start = np.where(bad, np.datetime64("NaT", "D"), start)
    end = np.where(bad, np.datetime64("NaT", "D"), end)
    return pd.DataFrame({"start": start.astype("datetime64[ns]"), "end": end.astype("datetime64[ns]")}, index=index)


def _offset_days(total: np.ndarray) -> np.ndarray:
    """``Quantity(total - 1, 'day')`` added to a Date: decimal days truncate toward zero (CQL)."""
    total = np.round(total, 8)  # CQL decimals carry 8 places
    return np.trunc(total - 1)


def doses_per_day(frequency: object, period: object, unit: object) -> np.ndarray:
    """``ToDaily(frequency, Quantity(period, unit))``: NaN where any part is missing or the unit unknown."""
    freq = pd.to_numeric(pd.Series(frequency), errors="coerce").to_numpy(dtype=float)
    per = pd.to_numeric(pd.Series(period), errors="coerce").to_numpy(dtype=float)
    units = pd.Series(np.asarray(unit, dtype=object))
    factor = units.map(_UNIT_LOOKUP).to_numpy(dtype=float, na_value=np.nan)
    unknown = np.isnan(factor) & units.notna().to_numpy()
    if unknown.any():  # unusual spellings (spaces, capitals): normalise only those
        factor[unknown] = units[unknown].astype(str).str.strip().str.lower().map(DAYS_PER_UNIT).to_numpy(
            dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = freq / (per * factor)
    out[~np.isfinite(out)] = np.nan
    return np.round(out, 8)


def medication_request_period(mr: pd.DataFrame) -> pd.DataFrame:
    """``medicationRequestPeriod()`` of every row of the medication_requests frame (columns start, end).

    ``timing.repeat.timeOfDay`` is not stored; the library's ``Count(timeOfDay)`` is then 0, so without a
    frequency and period the doses per day are 0 and the quantity-based supply is null, as in CQL.
    """
    n = len(mr)
    if n == 0:
        empty = np.array([], dtype="datetime64[D]")
        return _frame(empty, empty, mr.index)
    bound_start = _days(mr["boundary_start"])
    bound_end = _days(mr["boundary_end"])
    start = _coalesce_days(bound_start, _days(mr["authored_on"]), _days(mr["validity_start"]))
    supply = _num(mr, "supply_days")
    computed = np.full(n, np.nan)
    need = np.isnan(supply)  # the quantity-based supply only matters without an expected supply duration
    if need.any():
        per_day = doses_per_day(mr["timing_frequency"].to_numpy()[need], mr["timing_period"].to_numpy()[need],
                                mr["timing_period_unit"].to_numpy()[need])
        with np.errstate(divide="ignore", invalid="ignore"):
            part = _num(mr, "dispense_quantity")[need] / (_num(mr, "dose_quantity")[need] * per_day)
        part[~np.isfinite(part)] = np.nan
        computed[need] = part
    refills = np.nan_to_num(_num(mr, "repeats_allowed"), nan=0.0)
    total = np.where(np.isnan(supply), computed, supply) * (1 + refills)
    has_total = ~np.isnan(total)
    offset = np.where(has_total, _offset_days(np.where(has_total, total, 1.0)), 0).astype(np.int64)
    end_supply = start + offset.astype("timedelta64[D]")
    end = np.where(has_total, end_supply, bound_end)
    end = np.where(np.isnat(start), np.datetime64("NaT", "D"), end)
    return _frame(start, end, mr.index)


def medication_dispense_period(md: pd.DataFrame) -> pd.DataFrame:
    """``medicationDispensePeriod()``: [date handed over, + days supply - 1] (dose/timing not stored)."""
    if len(md) == 0:
        empty = np.array([], dtype="datetime64[D]")
        return _frame(empty, empty, md.index)
    start = _days(md["when_start"])
    total = _num(md, "days_supply")
    has_total = ~np.isnan(total)
    offset = np.where(has_total, _offset_days(np.where(has_total, total, 1.0)), 0).astype(np.int64)
    end = np.where(has_total, start + offset.astype("timedelta64[D]"), np.datetime64("NaT", "D"))
    return _frame(start, end, md.index)



def rollout_intervals(keys: pd.DataFrame | pd.Series, start: object, end: object) -> tuple[np.ndarray, np.ndarray]:
    """``rolloutIntervals()`` within each group of ``keys``: intervals sorted by start are laid end to
    end, each starting no earlier than the day after the previous one ended, keeping its length.

    Returns the rolled (start, end) aligned with the input rows; null intervals stay NaT (the library's
    list path drops them before rolling out).
    """
    s = _days(pd.Series(np.asarray(start)))
    e = _days(pd.Series(np.asarray(end)))
    n = len(s)
    out_s = np.full(n, np.datetime64("NaT", "ns"))
    out_e = np.full(n, np.datetime64("NaT", "ns"))
    valid = ~(np.isnat(s) | np.isnat(e))
    if not valid.any():
        return out_s, out_e
    key_frame = keys.to_frame() if isinstance(keys, pd.Series) else keys
    key_frame = key_frame.reset_index(drop=True)
    work = key_frame[valid].copy()
    key_cols = list(work.columns)
    work["_row"] = np.flatnonzero(valid)
    work["_s"] = s[valid].astype(np.int64)
    work["_len"] = (e[valid] - s[valid]).astype(np.int64) + 1
    work = work.sort_values([*key_cols, "_s"], kind="stable")
    grouped = work.groupby(key_cols, sort=False, dropna=False)
    cum = grouped["_len"].cumsum().to_numpy()
    before = cum - work["_len"].to_numpy()
    work["_base"] = work["_s"].to_numpy() - 1 - before
    best = work.groupby(key_cols, sort=False, dropna=False)["_base"].cummax().to_numpy()
    rolled_end = cum + best
    rolled_start = rolled_end - work["_len"].to_numpy() + 1
    rows = work["_row"].to_numpy()
    out_s[rows] = rolled_start.astype("datetime64[D]").astype("datetime64[ns]")
    out_e[rows] = rolled_end.astype("datetime64[D]").astype("datetime64[ns]")
    return out_s, out_e


def intersect(start: object, end: object, lo: object, hi: object) -> tuple[np.ndarray, np.ndarray]:
    """Interval ``intersect`` row by row (dates): NaT where the intervals do not meet or one is null."""
    s, e = _days(pd.Series(np.asarray(start))), _days(pd.Series(np.asarray(end)))
    lo_d, hi_d = _days(pd.Series(np.asarray(lo))), _days(pd.Series(np.asarray(hi)))
    new_s = np.where(lo_d > s, lo_d, s)
    new_e = np.where(hi_d < e, hi_d, e)
    bad = np.isnat(s) | np.isnat(e) | np.isnat(lo_d) | np.isnat(hi_d) | (new_e < new_s)
    nat = np.datetime64("NaT", "D")
    return (np.where(bad, nat, new_s).astype("datetime64[ns]"), np.where(bad, nat, new_e).astype("datetime64[ns]"))


def cumulative_duration(keys: pd.DataFrame | pd.Series, start: object, end: object) -> pd.Series:
    """``cumulativeDuration()`` per group of ``keys``: the number of distinct days the (collapsed)
    intervals cover. Groups whose intervals are all null are absent (CQL: Sum of nothing is null)."""
    s = _days(pd.Series(np.asarray(start)))
    e = _days(pd.Series(np.asarray(end)))
    key_frame = (keys.to_frame() if isinstance(keys, pd.Series) else keys).reset_index(drop=True)
    key_cols = list(key_frame.columns)
    valid = ~(np.isnat(s) | np.isnat(e))
    work = key_frame[valid].copy()
    if work.empty:
        index = pd.MultiIndex.from_arrays([[]] * len(key_cols), names=key_cols) if len(key_cols) > 1 else pd.Index(
            [], name=key_cols[0])
        return pd.Series([], index=index, dtype=np.int64, name="days")
    work["_s"] = s[valid].astype(np.int64)
    work["_e"] = e[valid].astype(np.int64)
    work = work.sort_values([*key_cols, "_s"], kind="stable")
    # furthest end covered by the earlier intervals of the same group
    prev = work.groupby(key_cols, sort=False, dropna=False)["_e"].cummax()
    prev = prev.groupby([work[c] for c in key_cols], sort=False, dropna=False).shift(1)
    prev_end = prev.to_numpy(dtype=float)
    first_new = np.where(np.isnan(prev_end), work["_s"].to_numpy(), np.maximum(work["_s"].to_numpy(), prev_end + 1))
    work["_new"] = np.maximum(work["_e"].to_numpy() - first_new + 1, 0).astype(np.int64)
    return work.groupby(key_cols, sort=True)["_new"].sum().rename("days")


def cumulative_medication_duration(requests: pd.DataFrame | None, dispenses: pd.DataFrame | None,
                                   by: str = "patient_id") -> pd.Series:
    """``CumulativeMedicationDuration()`` per ``by``: request periods as they are, dispense periods rolled
    out, then collapsed and counted in days."""
    parts: list[pd.DataFrame] = []
    if requests is not None and len(requests):
        p = medication_request_period(requests)
        parts.append(pd.DataFrame({by: requests[by].to_numpy(), "start": p["start"].to_numpy(),
                                   "end": p["end"].to_numpy()}))
    if dispenses is not None and len(dispenses):
        p = medication_dispense_period(dispenses)
        rs, re_ = rollout_intervals(dispenses[by].reset_index(drop=True), p["start"].to_numpy(), p["end"].to_numpy())
        parts.append(pd.DataFrame({by: dispenses[by].to_numpy(), "start": rs, "end": re_}))
    if not parts:
        return pd.Series([], index=pd.Index([], name=by), dtype=np.int64, name="days")
    allp = pd.concat(parts, ignore_index=True)
    return cumulative_duration(allp[[by]], allp["start"].to_numpy(), allp["end"].to_numpy())


__all__ = [
    "DAYS_PER_UNIT",
    "cumulative_duration",
    "cumulative_medication_duration",
    "doses_per_day",
    "intersect",
    "medication_dispense_period",
    "medication_request_period",
    "rollout_intervals",
]
