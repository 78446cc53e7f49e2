"""Vectorised building blocks for immunization-style measures (CMS117; reusable for IMA, LSC ...).

The vocabulary of DESIGN.md §3 for "events of a value set within a window relative to a birthday" and
"distinct-date counts": every helper works on whole frames (no per-patient loops).

* ``code_tags`` tests a large frame's code column against many value sets at once: one bit per set,
  computed on the distinct codes (the factorisation is cached per frame by ``primitives``) and spread
  to the rows with one gather. ``patient_flag`` is a fast ``isin`` for integer patient ids.
* ``dated_hits`` turns the selected rows of an event frame into ``(patient_id, tag, date)`` rows, where
  ``date`` is the calendar day of the event (CQL ``date from ...``).
* ``in_window`` keeps the hits whose day lies in a per-patient closed window ``[lo, hi]`` (CQL ``during
  day of Interval[lo, hi]``).
* ``distinct_day_counts`` counts distinct days per patient and tag: the CQL pattern
  ``from A v1, A v2, A v3 where v2 1 day or more after v1 and v3 1 day or more after v2`` exists exactly
  when the list holds at least three distinct days.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .. import primitives
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..valuesets import key_hits

HIT_COLUMNS = ("patient_id", "tag", "date")


def empty_hits() -> pd.DataFrame:
    """No hits: a copy of one empty frame (building one from typed Series costs ~2 ms, and CMS117 asks for
    dozens a period)."""
    return _EMPTY_HITS.copy()


_EMPTY_HITS = pd.DataFrame(
    {"patient_id": pd.Series(dtype="int64"), "tag": pd.Series(dtype="object"),
     "date": pd.Series(dtype="datetime64[ns]")}
)


def day(values: pd.Series) -> pd.Series:
    """The calendar day (midnight) of naive-UTC timestamps; NaT stays NaT."""
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def code_tags(frame: pd.DataFrame, keysets: Sequence[frozenset[str]], column: str = "key") -> np.ndarray:
    """Per row, a bit mask: bit ``i`` is set when the row's code is in ``keysets[i]`` (at most 62 sets)."""
    if len(keysets) > 62:
        raise ValueError("code_tags: at most 62 code sets")
    if frame.empty:
        return np.zeros(0, dtype=np.int64)
    codes, uniques, multi = primitives.factorised_keys(frame, column)  # cached for the whole evaluation
    bits = np.zeros(len(uniques) + 1, dtype=np.int64)  # the extra slot: code -1 (missing) -> no bits
    for i, keys in enumerate(keysets):
        if keys:  # a cell with several codings: any of them (CQL ``in``)
            bits[:-1] |= key_hits(uniques, keys, multi).astype(np.int64) << i
    return bits[codes]


#: ``coded_rows`` keeps a frame's coded rows for a pass when they are at most this share of it (1 in ...)
_FEW_CODED = 4


def coded_rows(frame: pd.DataFrame, keysets: Sequence[frozenset[str]],
               narrow: Callable[[pd.DataFrame], np.ndarray], column: str = "key",
               columns: Sequence[str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``frame`` with at least one bit of ``code_tags`` that ``narrow`` keeps (a test of each row
    alone: a period's days, its patients), in their order, and those rows' tags.

    In a pass over several periods (``memo.in_several_periods``) the coded rows are the same in every period:
    remembered for the pass, each period narrows those few rows only (when they are few: ``_FEW_CODED``).
    Alone, the whole frame is narrowed at once. Both keep the same rows: ``narrow`` tests each row alone.
    ``columns``: only those of the frame's columns are copied into the rows returned (the caller reads no other)."""
    def kept(rows: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
        return rows[keep] if columns is None else rows.loc[keep, [c for c in columns if c in rows.columns]]

    if in_several_periods():
        def compute() -> tuple[pd.DataFrame, np.ndarray] | None:
            tags = code_tags(frame, keysets, column)
            keep = tags != 0
            if keep.sum() * _FEW_CODED > len(frame):
                return None  # most rows: narrowing them costs each period about what the whole frame does
            return frame[keep], tags[keep]

        reduced = remember((frame,), ("coded rows", column, tuple(keysets)), compute, period=ANY_PERIOD, for_pass=True)
        if reduced is not None:
            coded, tags = reduced
            keep = np.asarray(narrow(coded), dtype=bool)
            return kept(coded, keep), tags[keep]
    tags = code_tags(frame, keysets, column)
    keep = (tags != 0) & np.asarray(narrow(frame), dtype=bool)
    return kept(frame, keep), tags[keep]


def has_bit(tags: np.ndarray, i: int) -> np.ndarray:
    return ((tags >> i) & 1).astype(bool)


def patient_flag(patient_ids: pd.Series | np.ndarray, ids: pd.Index | np.ndarray) -> np.ndarray:
    """``patient_ids`` is in ``ids`` (a boolean lookup table for dense integer ids; ``isin`` otherwise)."""
    p = np.asarray(patient_ids)
    wanted = np.asarray(ids)
    if len(p) == 0 or len(wanted) == 0:
        return np.zeros(len(p), dtype=bool)
    if p.dtype.kind in "iu" and wanted.dtype.kind in "iu" and p.min() >= 0 and wanted.min() >= 0:
        top = int(max(p.max(), wanted.max()))
        if top <= 50_000_000:
            table = np.zeros(top + 1, dtype=bool)
            table[wanted] = True
            return table[p]
    return pd.Series(p).isin(wanted).to_numpy(dtype=bool)


def starts_in_period(frame: pd.DataFrame, column: str, period: Period) -> np.ndarray:
    """The ``column`` time lies on a day of ``period`` (NaT -> False).

    A cheap necessary condition of ``during day of`` the period, used to shrink big frames before the
    exact interval logic runs on what is left.
    """
    values = pd.to_datetime(frame[column]).to_numpy()
    lo = np.datetime64(period.start_ts.to_datetime64())
    hi = np.datetime64(period.end_exclusive.to_datetime64())
    return (values >= lo) & (values < hi)


def dated_hits(frame: pd.DataFrame, mask: np.ndarray, dates: pd.Series, tag: str) -> pd.DataFrame:
    """``(patient_id, tag, date)`` for the rows of ``frame`` selected by ``mask`` that have a date.

    ``dates`` is aligned with ``frame`` (same length) and already reduced to days.
    """
    mask = np.asarray(mask, dtype=bool) & dates.notna().to_numpy()
    if not mask.any():
        return empty_hits()
    return pd.DataFrame(
        {"patient_id": frame["patient_id"].to_numpy()[mask], "tag": tag, "date": dates.to_numpy()[mask]}
    )


def in_window(hits: pd.DataFrame, windows: pd.DataFrame, lo: str, hi: str) -> pd.DataFrame:
    """The hits whose ``date`` is within ``[windows[lo], windows[hi]]`` of their patient (inclusive days).

    ``windows`` is indexed by patient_id; hits of patients not in ``windows`` are dropped.
    """
    if hits.empty:
        return hits
    lo_v = hits["patient_id"].map(windows[lo])
    hi_v = hits["patient_id"].map(windows[hi])
    keep = (hits["date"] >= lo_v) & (hits["date"] <= hi_v)
    return hits[keep.to_numpy()]


def distinct_day_counts(hits: pd.DataFrame) -> pd.DataFrame:
    """Distinct days per patient (index) and tag (columns); absent combinations are 0."""
    if hits.empty:
        return pd.DataFrame(index=pd.Index([], dtype="int64", name="patient_id"))
    distinct = hits.drop_duplicates(["patient_id", "tag", "date"])
    return distinct.groupby(["patient_id", "tag"]).size().unstack("tag", fill_value=0)


def tag_count(counts: pd.DataFrame, tag: str, index: pd.Index) -> np.ndarray:
    """The count column ``tag`` of ``distinct_day_counts`` aligned to ``index`` (0 where missing)."""
    if tag not in counts.columns:
        return np.zeros(len(index), dtype=np.int64)
    return counts[tag].reindex(index, fill_value=0).to_numpy()
