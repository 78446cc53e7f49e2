"""Vectorised building blocks for immunization-style measures (CMS117; reusable for IMA, LSC ...).

The vocabulary of DESIGN.md §3 for "events of a value set within a window relative to a birthday" and
"distinct-date counts": every helper works on whole frames (no per-patient loops).

* ``dated_hits`` turns rows of an event frame whose code is in some value sets into ``(patient_id, tag,
  date)`` rows, where ``date`` is the calendar day of the event (CQL ``date from ...``).
* ``in_window`` keeps the hits whose day lies in a per-patient closed window ``[lo, hi]`` (CQL ``during
  day of Interval[lo, hi]``).
* ``distinct_day_counts`` counts distinct days per patient and tag: the CQL pattern
  ``from A v1, A v2, A v3 where v2 1 day or more after v1 and v3 1 day or more after v2`` exists exactly
  when the list holds at least three distinct days.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

HIT_COLUMNS = ("patient_id", "tag", "date")


def empty_hits() -> pd.DataFrame:
    return pd.DataFrame(
        {"patient_id": pd.Series(dtype="int64"), "tag": pd.Series(dtype="object"),
         "date": pd.Series(dtype="datetime64[ns]")}
    )


def day(values: pd.Series) -> pd.Series:
    """The calendar day (midnight) of naive-UTC timestamps; NaT stays NaT."""
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def dated_hits(
    frame: pd.DataFrame, keys: Iterable[str] | frozenset[str], dates: pd.Series, tag: str
) -> pd.DataFrame:
    """``(patient_id, tag, date)`` for the rows of ``frame`` whose ``key`` is in ``keys`` and that have a date.

    ``dates`` is aligned with ``frame`` (same index) and already reduced to days.
    """
    keys = keys if isinstance(keys, frozenset) else frozenset(keys)
    if frame.empty or not keys:
        return empty_hits()
    mask = frame["key"].isin(keys).to_numpy() & dates.notna().to_numpy()
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
