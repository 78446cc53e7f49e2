"""Distinct event days per patient window, counted on an index of the events sorted once.

A trend evaluates the same measures for twelve rolling periods over the same event frames (a patient's
well visits, vaccine doses, screenings: ``_network_common.event_days`` keeps them for every period), and
each period asks how many distinct event days fall in each patient's window. Joining windows to events
and deduplicating per period cost more than anything else in those measures. Here the events are reduced
once per events frame (``metrics.memo``, ``ANY_PERIOD``: the answer depends on the frame's rows only) to
one sorted ``int64`` key per distinct (patient, day); a window then counts with two binary searches.

``days_in_windows_joined`` is the join it replaces (kept: the exotic inputs fall back to it, and the tests
compare the two).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..memo import ANY_PERIOD, remember
from ..uniques import sorted_unique, sorted_unique_inverse

_MAX_TABLE = 50_000_000  # the largest patient id (or span of days) looked up in a table (``EventIndex``)
_DAY = 86_400 * 10**9  # a day in nanoseconds


def as_days(values: object, n: int) -> np.ndarray:
    """A window bound as ``n`` days (datetime64[ns] at midnight; a scalar is repeated)."""
    if isinstance(values, (pd.Timestamp, np.datetime64)) or hasattr(values, "isoformat"):
        return np.full(n, np.datetime64(pd.Timestamp(values).normalize(), "ns"))
    a = np.asarray(values)
    if a.dtype == np.dtype("datetime64[ns]"):
        return floor_days(a)
    s = pd.Series(a)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce", format="mixed")
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.astype("datetime64[ns]").dt.normalize().to_numpy()
    return floor_days(s.astype("datetime64[ns]").to_numpy())


def floor_days(instants: np.ndarray) -> np.ndarray:
    """Naive ``datetime64[ns]`` instants at the midnight starting their day (NaT stays NaT): what pandas'
    ``normalize`` gives, in one numpy cast (a cast to days floors, before 1970 too) - a trend asks it of
    the same large columns in every period."""
    return instants.astype("datetime64[D]").astype("datetime64[ns]")


def ns_instants(values: pd.Series) -> np.ndarray:
    """A naive datetime column as ``datetime64[ns]``, converted by pandas: a date outside the nanosecond range
    (a sentinel 9999-12-31, a typo year) raises ``OutOfBoundsDatetime`` - the measure fails, as it did before -
    where numpy's cast (``to_numpy(dtype=...)``) would wrap it silently to another date."""
    if values.dtype == np.dtype("datetime64[ns]"):
        return values.to_numpy()
    return values.astype("datetime64[ns]").to_numpy()


def days_in_windows_joined(events: pd.DataFrame, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The count by joining each window to its patient's events (any dtypes)."""
    n = len(pid)
    out = np.zeros(n, dtype=np.int64)
    win = pd.DataFrame({"patient_id": pid, "lo": lo, "hi": hi, "row": np.arange(n)})
    win = win[win["lo"].notna() & win["hi"].notna()]
    ev = events[["patient_id", "day"]].drop_duplicates()
    if ev["patient_id"].dtype != win["patient_id"].dtype:
        ev = ev.astype({"patient_id": win["patient_id"].dtype})
    joined = win.merge(ev, on="patient_id", how="inner")
    joined = joined[(joined["day"] >= joined["lo"]) & (joined["day"] <= joined["hi"])]
    counts = joined.groupby("row")["day"].nunique()
    out[counts.index.to_numpy()] = counts.to_numpy()
    return out


class EventIndex:
    """The distinct (patient, day) of an events frame: sorted patient ids, sorted distinct day instants
    (int64 ns), and one sorted key per distinct pair: ``patient rank * (days + 1) + day rank``."""

    def __init__(self, events: pd.DataFrame) -> None:
        pid = events["patient_id"].to_numpy()
        day = events["day"].to_numpy()
        known = ~np.isnat(day)  # a missing day is in no window
        self.patients, p_rank = sorted_unique_inverse(pid[known].astype(np.int64))
        self.days, d_rank = sorted_unique_inverse(day[known].astype("datetime64[ns]").view(np.int64))
        self.stride = len(self.days) + 1
        self.keys = sorted_unique(p_rank.astype(np.int64) * self.stride + d_rank.astype(np.int64))
        self._table: np.ndarray | None = None  # patient id -> rank (``_ranks``)
        self._day_table: np.ndarray | None = None  # day number -> days before it (``_day_ranks``)
        self._first_day = 0

    def __eq__(self, other: object) -> bool:  # (what ``FrameMemo(check_periods=True)`` compares)
        return isinstance(other, EventIndex) and all(
            np.array_equal(a, b) for a, b in ((self.patients, other.patients), (self.days, other.days),
                                              (self.keys, other.keys)))

    __hash__ = None  # type: ignore[assignment]

    def _ranks(self, pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each id's rank among ``patients`` and whether it is one of them. Ids are database row numbers: a
        lookup table indexed by the id (built on first use, kept with the index for every period) rather
        than a binary search per row; sparse, huge ids search."""
        top = int(self.patients[-1]) + 1 if len(self.patients) else 0
        if len(self.patients) and (self.patients[0] < 0 or top > _MAX_TABLE):
            pos = np.searchsorted(self.patients, pid)
            found = pos < len(self.patients)
            found[found] = self.patients[pos[found]] == pid[found]
            return pos, found
        if self._table is None:
            table = np.full(top, -1, dtype=np.int64)
            table[self.patients] = np.arange(len(self.patients))
            self._table = table
        inside = (pid >= 0) & (pid < top)
        pos = np.full(len(pid), -1, dtype=np.int64)
        pos[inside] = self._table[pid[inside]]
        return pos, pos >= 0

    def _day_ranks(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many of ``days`` are before ``lo``, and how many on or before ``hi`` (int64 ns). When the days
        are midnights (event days), a table of those counts per calendar day (built on first use) answers
        it: a day is before ``lo`` when its day number is before ``lo``'s rounded up, on or before ``hi``
        when it is on or before ``hi``'s rounded down. Otherwise a binary search per row."""
        if self._day_table is None:
            days = self.days
            midnights = len(days) and bool((days % _DAY == 0).all()) and (days[-1] - days[0]) // _DAY < _MAX_TABLE
            if not midnights:
                return np.searchsorted(days, lo, side="left"), np.searchsorted(days, hi, side="right")
            number = days // _DAY
            self._first_day = int(number[0])
            # entry k: how many days have a day number below first + k (k = 0 .. span + 1)
            self._day_table = np.searchsorted(number, np.arange(self._first_day, int(number[-1]) + 2), side="left")
        table, first = self._day_table, self._first_day
        top = len(table) - 1
        lo_day = np.clip(-((-lo) // _DAY) - first, 0, top)  # rounded up (a midnight stays)
        hi_day = np.clip(hi // _DAY + 1 - first, 0, top)  # rounded down, then the day after
        return table[lo_day], table[hi_day]

    def counts(self, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Distinct event days of each row's patient within ``[lo, hi]`` (datetime64[ns]; NaT: 0)."""
        out = np.zeros(len(pid), dtype=np.int64)
        if not len(self.keys) or not len(pid):
            return out
        pos, found = self._ranks(pid)
        found &= ~np.isnat(lo) & ~np.isnat(hi)
        base = pos[found].astype(np.int64) * self.stride
        first, after = self._day_ranks(lo[found].view(np.int64), hi[found].view(np.int64))
        n = np.searchsorted(self.keys, base + after) - np.searchsorted(self.keys, base + first)
        out[found] = np.maximum(n, 0)  # lo after hi: an empty window
        return out


def _indexable(events: pd.DataFrame, pid: np.ndarray) -> bool:
    return (pid.dtype.kind in "iu" and events["patient_id"].dtype.kind in "iu"
            and events["day"].dtype.kind == "M")


def days_in_windows(events: pd.DataFrame, pids: object, lo: object, hi: object) -> np.ndarray:
    """For each row (patient, window ``[lo, hi]``): the number of distinct event days in the window."""
    pid = np.asarray(pids)
    n = len(pid)
    if n == 0 or events.empty:
        return np.zeros(n, dtype=np.int64)
    lo_, hi_ = as_days(lo, n), as_days(hi, n)
    if not _indexable(events, pid):
        return days_in_windows_joined(events, pid, lo_, hi_)
    index = remember((events,), ("event day index",), lambda: EventIndex(events), period=ANY_PERIOD)
    return index.counts(pid.astype(np.int64, copy=False), lo_, hi_)


def union_days(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Distinct ``(patient_id, day)`` of several event-day frames (remembered for the same frames: the
    parts are the data's remembered event days, the same objects in every period)."""
    if len(parts) == 1:
        return parts[0]
    return remember(tuple(parts), ("union of event days",),
                    lambda: pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True), period=ANY_PERIOD)
