"""Vectorised primitives of the measure engine, with CQL (QI-Core eCQM) semantics.

Every function works on whole columns (pandas/numpy), never row by row. Contracts:

Ages and calendar arithmetic (defined in ``datemath``; CQL date arithmetic: adding years/months to
Feb 29 or the 31st clamps to the last day of the target month):
  add_years(dates, n) -> Series[datetime64]        dates + n years (n scalar or array)
  add_months(dates, n) / add_days(dates, n) -> Series[datetime64]
  age_in_years_at(birth_dates, at) -> ndarray[float]   whole years (CQL AgeInYearsAt; NaN if unknown;
      the anniversary of Feb 29 is Feb 28 in a non-leap year, as date arithmetic clamps)
  age_in_months_at(birth_dates, at) -> ndarray[float]  whole months (anniversary day clamped likewise)
  patient_ages(data, at, unit="years") -> Series   age per patient_id (index patient_id)

Intervals (``Iv``): one interval per row, each boundary kept as a range [lo, hi] so that CQL's
uncertainty is honoured: a closed NULL boundary is unbounded (MIN_TS / MAX_TS); an open NULL boundary is
unknown (start in [MIN, end], end in [start, MAX]); a NULL interval (no value at all) has all four NaT
and every relation on it is False. Relations return a boolean ndarray that is True only where CQL
would answer *true* (null and false are both False, as in a ``where`` clause).
  Iv.points(ts, date_only=None)       [t, t] (NaT -> null interval)
  Iv.period(start, end, date_only=None) a FHIR Period (FHIRHelpers.ToInterval): start NULL -> unknown,
                                      end NULL -> unbounded; both NULL -> null interval
  Iv.choice(start, end, date_only=None) a FHIR choice (dateTime | Period) stored as start/end columns:
                                      a dateTime has end == start; a start with a NaT end is ongoing
  Iv.closed(start, end, end_unbounded, start_unbounded, date_only=None) an interval whose NULL end is
                                      unbounded where end_unbounded is True and unknown elsewhere
                                      (prevalence periods)
  ``date_only`` (row mask): values that were dates without a time of day (see ``date_only_mask``)
  iv.start() / iv.end() / iv.latest() / iv.earliest()   known bounds (NaT where unknown or null)
  overlaps(iv, other, precision=None)          CQL ``overlaps``
  during(iv, other, precision=None)            CQL ``during`` / ``included in`` (interval in interval)
  starts_during / ends_during(iv, other, precision=None)
  starts_before(iv, other) / on_or_before_end(iv, other)   start < start / end <= end
  point_in(ts, other, precision=None)          a point column ``during`` an interval
  ``other`` is an ``Iv`` (row-aligned) or a ``Period`` (the measurement period) or a (start, end) pair
  of scalars; ``precision="day"`` compares calendar days (CQL ``... day of ...``).

Per-patient reductions (all return Series indexed by patient_id, or pd.Index of patient ids):
  patients_with(frame, mask=None) -> pd.Index
  count_per_patient(frame, mask=None) -> Series[int]
  distinct_days_per_patient(frame, column, mask=None) -> Series[int]
  first_per_patient(frame, column, mask=None) / last_per_patient(...) -> DataFrame (one row each)
  flag(ids, index) -> ndarray[bool]    which values of ``ids`` are in ``index`` (isin, as ndarray)

Joins:
  exists_in_window(left_pid, left_lo, left_hi, right_pid, right_t) -> ndarray[bool]
      for each left row, is there a right row of the same patient with lo <= t <= hi (merge_asof)
  day_number(values) -> Series[float]   calendar day numbers (days since 1970-01-01)
  within_days_after(a, b, a_col, b_col, days, min_days=0) -> ndarray[bool]
      for each row of ``a``: a row of ``b`` (same patient) whose day is min_days..days after a's day

Codes:
  vs_mask(data, frame, *valuesets, column="key") -> ndarray[bool]   ValueSetIndex.mask
  code_mask(frame, system, code, column="key") -> ndarray[bool]     a direct-reference code
  status_in(frame, *statuses, column="status") -> ndarray[bool]      case-insensitive (CQL ``~``)
  factorised(frame, column) -> (codes, uniques)   a column's factorisation, cached per frame object
      (categorical columns use their codes); test the few uniques, then gather ``hits[codes]``
  has_token(series, token) -> ndarray[bool]   a category list stored as one string ("a,b" / "a b")
  date_only_mask(frame, column) -> ndarray[bool] | None   rows whose ``column`` was a date without a time
      (optional ``date_only`` column); pass it as ``date_only=`` to ``Iv.points/period/choice`` or
      ``point_in`` so that full-precision comparisons on that day are null, as in CQL
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .data import MeasureData
from .datemath import (  # re-exported: the primitives are one vocabulary
    _as_datetime as _as_datetime,
)
from .datemath import (
    add_days as add_days,
)
from .datemath import (
    add_months as add_months,
)
from .datemath import (
    add_years as add_years,
)
from .datemath import (
    age_in_months_at as age_in_months_at,
)
from .datemath import (
    age_in_years_at as age_in_years_at,
)
from .datemath import (
    patient_ages as patient_ages,
)
from .memo import ANY_PERIOD, FrameMemo, remember
from .period import Period
from .sorted_windows import exists_sorted as _exists_sorted
from .valuesets import MultiKeys, key_hits

MIN_TS = pd.Timestamp("1700-01-01")
MAX_TS = pd.Timestamp("2260-12-31 23:59:59.999")
_NAT = np.datetime64("NaT", "us")
Precision = Literal["day"] | None


# --------------------------------------------------------------------------------------------- dates
# (calendar arithmetic and ages live in ``datemath``; imported here, where every measure finds them)

# ----------------------------------------------------------------------------------------- intervals


def _ns(values: object, n: int | None = None) -> np.ndarray:
    if values is None:
        return np.full(n or 0, _NAT)
    if isinstance(values, (pd.Timestamp, dt.date, np.datetime64)):
        return np.full(n or 1, np.datetime64(pd.Timestamp(values), "us"))
    return _as_datetime(values).to_numpy(dtype="datetime64[us]")


_MIN = np.datetime64(MIN_TS, "us")
_MAX = np.datetime64(MAX_TS, "us")


@dataclass(frozen=True)
class Iv:
    """Row-aligned intervals with uncertain boundaries (see module docstring)."""

    start_lo: np.ndarray
    start_hi: np.ndarray
    end_lo: np.ndarray
    end_hi: np.ndarray
    #: rows whose times are dates without a time of day (FHIR ``2025-01-01``): compared with an instant
    #: of the same day at full precision, CQL answers null (see ``_bounds``)
    date_only: np.ndarray | None = None
    #: with ``split_ends``, ``date_only`` says it of the start only and this of the end (a condition with
    #: an onset instant and an abatement date; a Period whose ends have different precisions)
    end_date_only: np.ndarray | None = None
    split_ends: bool = False

    def __len__(self) -> int:
        return len(self.start_lo)

    @classmethod
    def points(cls, ts: object, date_only: object = None) -> Iv:
        t = _ns(ts)
        return cls(t, t, t, t, _mask_or_none(date_only, len(t)))

    @classmethod
    def closed(cls, start: object, end: object, end_unbounded: np.ndarray | bool = True,
               start_unbounded: np.ndarray | bool = True, date_only: object = None) -> Iv:
        """Interval[start, end] (or with open NULL ends where the flags are False).

        A NULL start is unbounded where ``start_unbounded`` (closed NULL), otherwise unknown; a NULL end
        is unbounded where ``end_unbounded``, otherwise unknown (open NULL: somewhere after the start).
        """
        s = _ns(start)
        e = _ns(end, len(s))
        n = len(s)
        s_unb = np.broadcast_to(np.asarray(start_unbounded, dtype=bool), (n,))
        e_unb = np.broadcast_to(np.asarray(end_unbounded, dtype=bool), (n,))
        s_nat, e_nat = np.isnat(s), np.isnat(e)
        if not s_nat.any() and not e_nat.any():  # the common case: both ends known
            return cls(s, s, e, e, _mask_or_none(date_only, n))
        start_lo = np.where(s_nat, _MIN, s)
        start_hi = np.where(s_nat & s_unb, _MIN, s)
        end_hi = np.where(e_nat, _MAX, e)
        end_lo = np.where(e_nat & e_unb, _MAX, e)
        # unknown start lies in [MIN, end]; unknown end lies in [start, MAX]
        unknown_start = s_nat & ~s_unb
        unknown_end = e_nat & ~e_unb
        start_hi = np.where(unknown_start, end_hi, start_hi)
        end_lo = np.where(unknown_end, start_lo, end_lo)
        return cls(start_lo, start_hi, end_lo, end_hi, _mask_or_none(date_only, n))

    @classmethod
    def period(cls, start: object, end: object, date_only: object = None) -> Iv:
        """A FHIR Period (FHIRHelpers.ToInterval): no start -> Interval(null, end]; else [start, end]."""
        s = _ns(start)
        e = _ns(end, len(s))
        iv = cls.closed(s, e, end_unbounded=True, start_unbounded=False)
        empty = np.isnat(s) & np.isnat(e)
        if empty.any():
            iv = iv.where(~empty)
        return Iv(iv.start_lo, iv.start_hi, iv.end_lo, iv.end_hi, _mask_or_none(date_only, len(s)))

    @classmethod
    def choice(cls, start: object, end: object, date_only: object = None) -> Iv:
        """A QI-Core timing choice (``toInterval()``: dateTime -> [t, t], Period -> as ``period``).

        The store keeps a dateTime as start == end. A row with a start and no end is read as a Period
        without an end (ongoing); a row with neither is a null interval.
        """
        return cls.period(start, end, date_only)

    def where(self, keep: np.ndarray) -> Iv:
        """Null out the intervals where ``keep`` is False."""
        keep = np.asarray(keep, dtype=bool)
        s_lo, s_hi, e_lo, e_hi = (np.where(keep, a, _NAT) for a in (self.start_lo, self.start_hi, self.end_lo, self.end_hi))
        return Iv(s_lo, s_hi, e_lo, e_hi, self.date_only, self.end_date_only, self.split_ends)

    def take(self, idx: np.ndarray) -> Iv:
        d = None if self.date_only is None else self.date_only[idx]
        e = None if self.end_date_only is None else self.end_date_only[idx]
        return Iv(self.start_lo[idx], self.start_hi[idx], self.end_lo[idx], self.end_hi[idx], d, e, self.split_ends)

    def with_end_date_only(self, end_date_only: object) -> Iv:
        """The same intervals, ``date_only`` now saying it of the starts and ``end_date_only`` of the ends."""
        return Iv(self.start_lo, self.start_hi, self.end_lo, self.end_hi, self.date_only,
                  _mask_or_none(end_date_only, len(self)), True)

    def ends_mask(self) -> np.ndarray | None:
        """The rows whose end is a date (``date_only`` unless the ends are told apart)."""
        return self.end_date_only if self.split_ends else self.date_only

    def start(self) -> np.ndarray:
        """The start where it is known (NaT if null/unknown; MIN_TS if unbounded)."""
        return np.where(self.start_lo == self.start_hi, self.start_lo, _NAT)

    def end(self) -> np.ndarray:
        """The end where it is known (NaT if null/unknown; MAX_TS if unbounded)."""
        return np.where(self.end_lo == self.end_hi, self.end_hi, _NAT)

    def latest(self) -> np.ndarray:
        """QICoreCommon ``latest()``: the end if the interval has one (not null, not MAX), else the start."""
        e = self.end()
        has_end = ~np.isnat(e) & (e != _MAX)
        return np.where(has_end, e, self.start())

    def earliest(self) -> np.ndarray:
        """QICoreCommon ``earliest()``: the start if the interval has one (not null, not MIN), else the end."""
        s = self.start()
        has_start = ~np.isnat(s) & (s != _MIN)
        return np.where(has_start, s, self.end())

    def is_null(self) -> np.ndarray:
        return np.isnat(self.start_lo) & np.isnat(self.end_hi)


Other = Iv | Period | tuple[object, object]


def _other(other: Other, n: int) -> Iv:
    if isinstance(other, Iv):
        return other
    if isinstance(other, Period):
        s, e = other.start_ts, other.end_ts
    else:
        s, e = pd.Timestamp(other[0]), pd.Timestamp(other[1])
    # a fixed interval: scalars broadcast to the rows (views, no per-row arrays)
    start = np.broadcast_to(np.datetime64(s, "us"), (n,))
    end = np.broadcast_to(np.datetime64(e, "us"), (n,))
    return Iv(start, start, end, end)


def _mask_or_none(mask: object, n: int) -> np.ndarray | None:
    if mask is None:
        return None
    out = np.asarray(mask, dtype=bool)
    if out.shape != (n,):
        out = np.broadcast_to(out, (n,)).copy()
    return out if out.any() else None


_ONE_DAY = np.timedelta64(1, "D").astype("timedelta64[us]")
_TINY = np.timedelta64(1, "us")


def _bounds(iv: Iv, precision: Precision, widen: np.ndarray | None = None, widen_end: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(start_lo, start_hi, end_lo, end_hi) for a comparison at ``precision``.

    A date-only value D compared at full precision with an instant of the same day is null in CQL
    (cql-execution compares field by field and stops at the missing hour). Widening D to the range
    (D - 1 us, D + 1 day] gives exactly that: decided against other days, unknown within its own day.
    ``widen`` says which rows to widen (default: the date-only ones), ``widen_end`` which rows' ends (default:
    as ``widen``). At day precision the date is exact and nothing changes.
    """
    d = iv.date_only if widen is None else widen
    e = d if widen_end is None else widen_end
    if precision is not None or (d is None and e is None):
        return iv.start_lo, iv.start_hi, iv.end_lo, iv.end_hi

    def lo(a: np.ndarray, m: np.ndarray | None) -> np.ndarray:
        return a if m is None else np.where(m & (a != _MIN), a - _TINY, a)

    def hi(a: np.ndarray, m: np.ndarray | None) -> np.ndarray:
        return a if m is None else np.where(m & (a != _MAX), a + _ONE_DAY, a)

    return lo(iv.start_lo, d), hi(iv.start_hi, d), lo(iv.end_lo, e), hi(iv.end_hi, e)


def _both_bounds(iv: Iv, other: Other, precision: Precision) -> tuple[np.ndarray, ...]:
    """The bounds of both sides of a relation (``a`` then ``b``). Two date-only values compare as dates:
    CQL stops at the hour both lack and calls them the same up to there (2025-03-01 is the same as, and so
    on or before, 2025-03-01), so only a date-only side facing a timestamp is widened."""
    b = _other(other, len(iv))
    if not (iv.split_ends or b.split_ends):
        a_do, b_do = iv.date_only, b.date_only
        if a_do is not None and b_do is not None:
            a_do, b_do = a_do & ~b_do, b_do & ~a_do
        return (*_bounds(iv, precision, a_do), *_bounds(b, precision, b_do))
    # ends told apart: a date faces a date where the other side is a date at both ends
    n = len(iv)
    none = np.zeros(n, dtype=bool)
    a_s, a_e, b_s, b_e = (none if m is None else m for m in (iv.date_only, iv.ends_mask(), b.date_only, b.ends_mask()))
    a_all, b_all = a_s & a_e, b_s & b_e
    return (*_bounds(iv, precision, a_s & ~b_all, a_e & ~b_all), *_bounds(b, precision, b_s & ~a_all, b_e & ~a_all))


def _prec(a: np.ndarray, precision: Precision) -> np.ndarray:
    if precision == "day":
        return a.astype("datetime64[D]")
    if precision is None:
        return a
    raise ValueError(f"Unsupported precision {precision!r}")


def _le(a_hi: np.ndarray, b_lo: np.ndarray, precision: Precision) -> np.ndarray:
    """Definitely a <= b, given a <= a_hi and b >= b_lo (NaT -> False)."""
    return _prec(a_hi, precision) <= _prec(b_lo, precision)


def _lt(a_hi: np.ndarray, b_lo: np.ndarray, precision: Precision) -> np.ndarray:
    return _prec(a_hi, precision) < _prec(b_lo, precision)


def overlaps(iv: Iv, other: Other, precision: Precision = None) -> np.ndarray:
    """CQL ``A overlaps B``: start A <= end B and end A >= start B."""
    a_slo, a_shi, a_elo, a_ehi, b_slo, b_shi, b_elo, b_ehi = _both_bounds(iv, other, precision)
    return _le(a_shi, b_elo, precision) & _le(b_shi, a_elo, precision)


def during(iv: Iv, other: Other, precision: Precision = None) -> np.ndarray:
    """CQL ``A during B`` (included in): start A >= start B and end A <= end B."""
    a_slo, a_shi, a_elo, a_ehi, b_slo, b_shi, b_elo, b_ehi = _both_bounds(iv, other, precision)
    return _le(b_shi, a_slo, precision) & _le(a_ehi, b_elo, precision)


def starts_during(iv: Iv, other: Other, precision: Precision = None) -> np.ndarray:
    """CQL ``A starts during B``: start A in B."""
    a_slo, a_shi, a_elo, a_ehi, b_slo, b_shi, b_elo, b_ehi = _both_bounds(iv, other, precision)
    return _le(b_shi, a_slo, precision) & _le(a_shi, b_elo, precision)


def ends_during(iv: Iv, other: Other, precision: Precision = None) -> np.ndarray:
    """CQL ``A ends during B``: end A in B (an unbounded end is never during a bounded B)."""
    a_slo, a_shi, a_elo, a_ehi, b_slo, b_shi, b_elo, b_ehi = _both_bounds(iv, other, precision)
    return _le(b_shi, a_elo, precision) & _le(a_ehi, b_elo, precision)


def starts_before(iv: Iv, other: Other, precision: Precision = None) -> np.ndarray:
    """CQL ``A starts before B``: start A < start B."""
    a_slo, a_shi, a_elo, a_ehi, b_slo, b_shi, b_elo, b_ehi = _both_bounds(iv, other, precision)
    return _lt(a_shi, b_slo, precision)


def point_in(ts: object, other: Other, precision: Precision = None, date_only: object = None) -> np.ndarray:
    """CQL ``point during B`` for a column of points (NaT -> False)."""
    return during(Iv.points(ts, date_only), other, precision)


def on_or_before_end(iv: Iv, other: Other, precision: Precision = None) -> np.ndarray:
    """CQL ``A on or before end of B`` (interval A): end A <= end B."""
    a_slo, a_shi, a_elo, a_ehi, b_slo, b_shi, b_elo, b_ehi = _both_bounds(iv, other, precision)
    return _le(a_ehi, b_elo, precision)


# ---------------------------------------------------------------------------- per-patient reductions


def _masked(frame: pd.DataFrame, mask: np.ndarray | pd.Series | None) -> pd.DataFrame:
    if mask is None:
        return frame
    return frame[np.asarray(mask, dtype=bool)]


def patients_with(frame: pd.DataFrame, mask: np.ndarray | pd.Series | None = None) -> pd.Index:
    """The distinct patient ids of the (masked) rows."""
    return pd.Index(pd.unique(_masked(frame, mask)["patient_id"]), name="patient_id")


def count_per_patient(frame: pd.DataFrame, mask: np.ndarray | pd.Series | None = None) -> pd.Series:
    return _masked(frame, mask).groupby("patient_id").size()


def distinct_days_per_patient(frame: pd.DataFrame, column: str | np.ndarray | pd.Series,
                              mask: np.ndarray | pd.Series | None = None) -> pd.Series:
    """Number of distinct calendar dates (of ``column``, NaT ignored) per patient."""
    values = frame[column] if isinstance(column, str) else pd.Series(np.asarray(column), index=frame.index)
    days = _as_datetime(values).dt.normalize()
    sub = pd.DataFrame({"patient_id": frame["patient_id"].to_numpy(), "day": days.to_numpy()})
    sub = _masked(sub, mask).dropna(subset=["day"])
    return sub.drop_duplicates().groupby("patient_id").size()


def first_per_patient(frame: pd.DataFrame, column: str, mask: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """The row with the smallest ``column`` per patient (NaT rows ignored; ties: the first in order)."""
    sub = _masked(frame, mask)
    sub = sub[sub[column].notna()].sort_values(["patient_id", column], kind="stable")
    return sub.drop_duplicates("patient_id", keep="first")


def last_per_patient(frame: pd.DataFrame, column: str, mask: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """The row with the largest ``column`` per patient (NaT rows ignored; ties: the last in order)."""
    sub = _masked(frame, mask)
    sub = sub[sub[column].notna()].sort_values(["patient_id", column], kind="stable")
    return sub.drop_duplicates("patient_id", keep="last")


def flag(ids: object, index: pd.Index | Iterable[object]) -> np.ndarray:
    """``ids`` (a column) is in ``index``, as a boolean ndarray."""
    return pd.Series(np.asarray(ids)).isin(pd.Index(index)).to_numpy()


# --------------------------------------------------------------------------------------------- joins


def exists_in_window(left_pid: object, left_lo: object, left_hi: object,
                     right_pid: object, right_t: object) -> np.ndarray:
    """For each left row: is there a right row of the same patient with ``lo <= t <= hi``?

    Vectorised with ``merge_asof`` (first right time at or after ``lo`` per patient). Rows with a
    missing bound or time never match. Works for timestamps or for integer day numbers.
    """
    lp = np.asarray(left_pid)
    fast = _exists_sorted(lp, np.asarray(left_lo), np.asarray(left_hi), np.asarray(right_pid), np.asarray(right_t))
    if fast is not None:
        return fast
    return _exists_merged(lp, left_lo, left_hi, right_pid, right_t)


def _exists_merged(lp: np.ndarray, left_lo: object, left_hi: object, right_pid: object, right_t: object) -> np.ndarray:
    """``exists_in_window`` by ``merge_asof`` (any types)."""
    n = len(lp)
    lo = pd.Series(np.asarray(left_lo))
    hi = pd.Series(np.asarray(left_hi))
    left = pd.DataFrame({"pid": lp, "lo": lo.to_numpy(), "hi": hi.to_numpy(), "row": np.arange(n)})
    left = left[left["lo"].notna() & left["hi"].notna()]
    right = pd.DataFrame({"pid": np.asarray(right_pid), "t": np.asarray(right_t)})
    right = right[right["t"].notna()]
    out = np.zeros(n, dtype=bool)
    if left.empty or right.empty:
        return out
    if left["pid"].dtype != right["pid"].dtype:
        right["pid"] = right["pid"].astype(left["pid"].dtype)
    right["t"] = right["t"].astype(left["lo"].dtype)
    left = left.sort_values("lo", kind="stable")
    right = right.sort_values("t", kind="stable")
    merged = pd.merge_asof(left, right, left_on="lo", right_on="t", by="pid", direction="forward")
    ok = merged["t"].notna() & (merged["t"] <= merged["hi"])
    out[merged.loc[ok, "row"].to_numpy()] = True
    return out


def day_number(values: object) -> pd.Series:
    """Calendar day as an integer (days since 1970-01-01), NaN where missing."""
    d = _as_datetime(values)
    out = (d.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days
    return out.astype("float64")


def within_days_after(a: pd.DataFrame, b: pd.DataFrame, a_col: str | np.ndarray, b_col: str | np.ndarray,
                      days: int, min_days: int = 0) -> np.ndarray:
    """For each row of ``a``: does ``b`` (same patient) have a day ``min_days..days`` after a's day?

    Day precision, both bounds inclusive (CQL ``occurs N days or less on or after day of``). Negative
    values look before (``within_days_after(a, b, .., days=0, min_days=-14)``: 14 days or less before).
    """
    ad = day_number(a[a_col] if isinstance(a_col, str) else a_col).to_numpy()
    bd = day_number(b[b_col] if isinstance(b_col, str) else b_col).to_numpy()
    return exists_in_window(a["patient_id"].to_numpy(), ad + min_days, ad + days, b["patient_id"].to_numpy(), bd)


# --------------------------------------------------------------------------------------------- codes


#: frames at least this long get their code column factorised once per evaluation (see ``factorised``)
_FACTORISE_MIN_ROWS = 20_000


def _factor_entry(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index, list[MultiKeys]]:
    return remember((frame,), ("factorised", column), lambda: _factorise(frame, column), period=ANY_PERIOD)


def _factorise(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index, list[MultiKeys]]:
    col = frame[column]
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes, uniques = col.cat.codes.to_numpy(), pd.Index(col.cat.categories)
    else:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        uniques = pd.Index(uniques)
    codes = np.asarray(codes).astype(np.int32, copy=False)  # half the memory of intp; few distinct codes
    extras: list[MultiKeys] = []  # [the uniques holding several keys, split], filled on first use
    return codes, uniques, extras


def seed_factorised(memo: FrameMemo, frame: pd.DataFrame, column: str, codes: np.ndarray, uniques: Any) -> None:
    """Hand ``factorised`` a text column's codes that a loader holds already (codes into ``uniques``, -1
    missing; any integer type), so evaluations over ``frame`` do not hash its rows again. The order of the
    uniques does not matter: every use tests the uniques and gathers the answers with the codes."""
    if column in frame.columns and len(codes) == len(frame):
        memo.get((frame,), ("factorised", column),
                 lambda: (codes, pd.Index(uniques, dtype=frame[column].dtype), []), period=ANY_PERIOD)


def factorised(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index]:
    """(codes, uniques) of a frame's code column, computed once per frame of the data being evaluated
    (``metrics.memo``: frames are not modified during an evaluation; outside one, computed each time).
    """
    codes, uniques, _extras = _factor_entry(frame, column)
    return codes, uniques


_factorised = factorised  # the earlier private name (kept for callers that used it)


def code_hits(frame: pd.DataFrame, column: str, keys: frozenset[str] | set[str]) -> tuple[np.ndarray, np.ndarray]:
    """(codes, hits) of a key column: ``hits[codes]`` is the row mask, ``hits`` has a last False slot for
    missing values. A cell with several codings hits when any of them is in ``keys`` (CQL ``in``)."""
    if len(frame) < _FACTORISE_MIN_ROWS:  # (an object array factorises faster than a str Series)
        codes, uniques = pd.factorize(frame[column].to_numpy(dtype=object), use_na_sentinel=True)
        return codes, np.append(key_hits(uniques, keys), False)
    codes, uniques, multi = factorised_keys(frame, column)
    return codes, np.append(key_hits(uniques, keys, multi), False)  # code -1 (missing) -> False


def factorised_keys(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index, MultiKeys]:
    """``factorised`` plus the uniques that hold several codings, split (cached likewise); test
    ``key_hits(uniques, keys, multi)`` and gather with ``codes``."""
    codes, uniques, extras = _factor_entry(frame, column)
    if not extras:
        extras.append(MultiKeys(uniques))
    return codes, uniques, extras[0]


def _isin_codes(frame: pd.DataFrame, column: str, keys: frozenset[str] | set[str]) -> np.ndarray:
    codes, hits = code_hits(frame, column, keys)
    return hits[codes]


def vs_mask(data: MeasureData, frame: pd.DataFrame, *valuesets: str, column: str = "key") -> np.ndarray:
    """Rows of ``frame`` whose ``column`` code is in any of the value sets (``data.valuesets``).

    Same answer as ``ValueSetIndex.mask``; on large frames the code column is factorised once and
    reused by every later test of the same frame (all measures of an evaluation share it).
    """
    if frame.empty or column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    keys = data.valuesets.keys(*valuesets)
    return _isin_codes(frame, column, keys)


def code_mask(frame: pd.DataFrame, system: str, code: str, column: str = "key") -> np.ndarray:
    """Rows whose ``column`` is the direct-reference code ``system|code`` (system short key or URI)."""
    from .valuesets import code_key

    if frame.empty or column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return _isin_codes(frame, column, {code_key(system, code)})


def _by_uniques(values: pd.Series, test: Callable[[Any], object], frame: pd.DataFrame | None = None,
                column: str | None = None) -> np.ndarray:
    """Apply a per-value Python test to the distinct values only (few statuses, many rows)."""
    if frame is not None and column is not None and len(frame) >= _FACTORISE_MIN_ROWS:
        codes, uniques = factorised(frame, column)
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    hits = np.fromiter((bool(test(u)) for u in uniques), dtype=np.bool_, count=len(uniques))
    return np.append(hits, False)[codes]  # code -1 (missing) -> the appended False


def status_in(frame: pd.DataFrame, *statuses: str, column: str = "status") -> np.ndarray:
    """Status among ``statuses`` (case-insensitive, like CQL ``~`` on strings)."""
    if frame.empty or column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    wanted = {s.lower() for s in statuses}
    return _by_uniques(frame[column], lambda v: str(v).strip().lower() in wanted, frame, column)


def date_only_mask(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    """Rows whose ``column`` came from a FHIR value without a time of day (the optional ``date_only``
    column lists such columns per row); None when the frame does not say."""
    if "date_only" not in frame.columns or frame.empty:
        return None
    return has_token(frame["date_only"], column)


def has_token(series: pd.Series, token: str) -> np.ndarray:
    """A multi-valued code stored as one string (``"survey"``, ``"laboratory,survey"``, ``"a b"``)
    contains ``token`` (case-insensitive)."""
    if len(series) == 0:
        return np.zeros(0, dtype=bool)
    pattern = re.compile(rf"(?:^|[\s,;|]){re.escape(token.lower())}(?:$|[\s,;|])")
    return _by_uniques(series, lambda v: pattern.search(str(v).lower()) is not None)
