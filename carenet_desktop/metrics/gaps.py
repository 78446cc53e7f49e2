"""Care gaps: who is in a measure's denominator but not (yet) in its numerator, what is missing, and by when.

A gap is a patient (or an episode) of a group who is in the denominator, not excluded, not excepted and
not in the numerator. ``Measure.gaps(data, period, rows)`` turns a measure's result rows into one row
per gap (``GAP_COLUMNS``): ``missing`` is short plain-language text ("DTaP #4 (has 3 of 4)") and
``due_date`` the last day the numerator can still be met (a ``datetime.date``; in the past = overdue).

Measures with their own ``gaps`` say exactly what is short; every other measure gets ``default_gaps``:
the group's title, due by the end of the period, or by the measure's anchor birthday when it exposes
one (a ``gap_anchor`` class attribute: ``{group_index: (years, months)}`` after birth, or a
network-defined measure's numerator window end). Inverse measures (lower is better, e.g. CMS75 dental
decay) have no gap list: their numerator is the outcome to avoid, not something missing.

``upcoming(data, measures, as_of, within_days)`` finds children who are not in a failing denominator
yet but whose deadline falls within ``[as_of, as_of + within_days]`` and who do not meet the numerator
yet, for every measure with an ``upcoming_gaps(data, as_of, within_days)`` method (the birthday-anchored
ones). Everything is vectorised: the text is built column-wise, never per patient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .data import MeasureData
from .period import Period

if TYPE_CHECKING:
    from .definition import Measure

#: columns of every gap frame
GAP_COLUMNS = ("measure", "group_index", "patient_id", "episode_id", "missing", "due_date")


def _flag(rows: pd.DataFrame, name: str) -> np.ndarray:
    if name not in rows.columns:
        return np.zeros(len(rows), dtype=bool)
    return rows[name].astype("boolean").fillna(False).to_numpy(dtype=bool)


def open_members(rows: pd.DataFrame, measure_id: str | None = None) -> pd.DataFrame:
    """The result rows that are gaps: denominator, not excluded, not excepted, not numerator.

    ``rows`` are result rows (``RESULT_COLUMNS``, possibly with more columns, possibly several measures);
    the returned frame keeps ``measure``, ``group_index``, ``patient_id`` and ``episode_id``.
    """
    if measure_id is not None and "measure" in rows.columns:
        rows = rows[(rows["measure"] == measure_id).to_numpy()]
    keep = (_flag(rows, "denominator") & ~_flag(rows, "denominator-exclusion")
            & ~_flag(rows, "denominator-exception") & ~_flag(rows, "numerator"))
    out = rows.loc[keep, ["measure", "group_index", "patient_id", "episode_id"]].reset_index(drop=True)
    out["group_index"] = out["group_index"].astype("int64")
    return out


def empty_gaps() -> pd.DataFrame:
    return pd.DataFrame({
        "measure": pd.Series(dtype="object"), "group_index": pd.Series(dtype="int64"),
        "patient_id": pd.Series(dtype="int64"), "episode_id": pd.Series(dtype="object"),
        "missing": pd.Series(dtype="object"), "due_date": pd.Series(dtype="object"),
    })


def as_dates(values: Any, n: int | None = None) -> np.ndarray:
    """Day values (datetime64, Timestamp, date, or a sequence of them) as an object array of
    ``datetime.date`` (None where missing); a scalar is repeated ``n`` times."""
    if n is not None and not isinstance(values, (pd.Series, np.ndarray, list, tuple, pd.Index)):
        values = [values] * n
    s = pd.to_datetime(pd.Series(values), errors="coerce")
    out = np.array(s.dt.date.to_numpy(dtype=object), dtype=object)
    out[s.isna().to_numpy()] = None
    return out


def gap_frame(members: pd.DataFrame, missing: Any, due: Any) -> pd.DataFrame:
    """``GAP_COLUMNS`` for the member rows; ``missing`` and ``due`` aligned with them (or scalars)."""
    n = len(members)
    if n == 0:
        return empty_gaps()
    text = np.asarray(missing, dtype=object) if not isinstance(missing, str) else np.full(n, missing, dtype=object)
    return pd.DataFrame({
        "measure": members["measure"].to_numpy(),
        "group_index": members["group_index"].to_numpy(dtype=np.int64),
        "patient_id": members["patient_id"].to_numpy(),
        "episode_id": members["episode_id"].to_numpy() if "episode_id" in members.columns else pd.NA,
        "missing": text,
        "due_date": as_dates(due, n),
    })


# ------------------------------------------------------------------------------ plain-language text


def count_text(name: str, have: Any, need: Any, qualifier: Any = "") -> np.ndarray:
    """``"DTaP #4 (has 3 of 4)"``, ``"PCV #3-#4 (has 2 of 4)"``: the next dose(s) short, per row;
    ``qualifier`` (text, per row or one for all) goes before the parenthesis ("... by 15 months (has ...)").

    ``have`` is capped at ``need - 1`` (a row that is short by another rule still reads sensibly)."""
    need_ = np.asarray(need, dtype=np.int64)
    have_ = np.minimum(np.asarray(have, dtype=np.int64), need_ - 1).clip(min=0)
    have_, need_ = np.broadcast_arrays(have_, need_)
    nxt = pd.Series(have_ + 1).astype(str).to_numpy(dtype=object)
    last = pd.Series(need_).astype(str).to_numpy(dtype=object)
    has = pd.Series(have_).astype(str).to_numpy(dtype=object)
    numbers = np.where(need_ - have_ > 1, "#" + nxt + "-#" + last, "#" + nxt)
    qual = np.asarray(qualifier, dtype=object)
    qual = np.where(qual == "", "", " " + qual)
    return (name + " " + numbers + qual + " (has " + has + " of " + last + ")").astype(object)


def join_texts(parts: Sequence[tuple[np.ndarray, Any]], sep: str = "; ") -> np.ndarray:
    """Join per-row texts: ``parts`` = (mask, text) pairs; a row gets the texts whose mask is set."""
    if not parts:
        return np.zeros(0, dtype=object)
    n = len(parts[0][0])
    out = np.full(n, "", dtype=object)
    for mask, text in parts:
        m = np.asarray(mask, dtype=bool)
        t = np.broadcast_to(np.asarray(text, dtype=object), (n,))
        sep_ = np.where(out == "", "", sep)
        out = np.where(m, out + sep_ + t, out)
    return out


def lookup(table: pd.Series, keys: Any) -> np.ndarray:
    """``table[key]`` for each key (missing keys -> NaN/NaT/None); ``table`` has a unique index."""
    return table.reindex(pd.Index(np.asarray(keys))).to_numpy()


def births(data: MeasureData, patient_ids: Any) -> pd.Series:
    """Each patient's birth day (datetime64, positional index)."""
    from .measures import _network_common as nc

    table = nc.people(data).set_index("patient_id")["birth"]
    return pd.Series(lookup(table, patient_ids), dtype="datetime64[ns]")


def date_text(values: Any) -> np.ndarray:
    """ISO dates as text ('' where missing)."""
    s = pd.to_datetime(pd.Series(values), errors="coerce")
    return s.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)


# ---------------------------------------------------------------------------------------- defaults


def default_gaps(measure: Measure, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
    """Gaps of a measure without its own ``gaps``: the group's title, due by the period end (or by the
    anchor date the measure exposes)."""
    if measure.improvement == "decrease":
        return empty_gaps()  # lower is better: the numerator is the bad outcome, nothing is "missing"
    members = open_members(rows, measure.id)
    if members.empty:
        return empty_gaps()
    titles = np.array([g.title for g in measure.groups], dtype=object)
    missing = titles[members["group_index"].to_numpy()]
    due = pd.Series(np.full(len(members), np.datetime64(pd.Timestamp(period.end), "ns")))
    anchored = anchor_dates(measure, data, period, members)
    if anchored is not None:
        due = anchored.fillna(due)
    return gap_frame(members, missing, due)


def anchor_dates(measure: Measure, data: MeasureData, period: Period, members: pd.DataFrame) -> pd.Series | None:
    """Per member row, the measure's deadline when it exposes one (NaT where it does not), else None."""
    from .measures import _network_common as nc

    anchor = getattr(measure, "gap_anchor", None)
    definition = getattr(measure, "definition", None)
    if anchor is None and not isinstance(definition, nc.SimpleDefinition):
        return None
    birth = births(data, members["patient_id"])
    out = pd.Series(np.full(len(members), np.datetime64("NaT", "ns")))
    if anchor is not None:
        for group_index, (years, months) in dict(anchor).items():
            rows = (members["group_index"] == group_index).to_numpy()
            out[rows] = nc.birthday(birth[rows], years=years, months=months).to_numpy()
        return out
    assert isinstance(definition, nc.SimpleDefinition)
    end = definition.numerator.window.end
    return pd.Series(nc._bound_days(end, birth, period, definition.population).to_numpy())


# ---------------------------------------------------------------------------------------- upcoming


def window(as_of: dt.date, within_days: int) -> Period:
    """The days ``[as_of, as_of + within_days]`` (both included)."""
    if within_days < 0:
        raise ValueError("within_days must be 0 or more")
    return Period(as_of, as_of + dt.timedelta(days=int(within_days)))


def upcoming_by_turning(measure: Measure, data: MeasureData, as_of: dt.date, within_days: int) -> pd.DataFrame:
    """Upcoming gaps of a measure whose initial population is "turns N during the period" and whose
    deadline is that birthday: evaluated over the window itself, gaps due within the window."""
    win = window(as_of, within_days)
    rows = measure.evaluate(data, win)
    found = measure.gaps(data, win, rows)
    return within(found, win)


def within(gaps: pd.DataFrame, win: Period) -> pd.DataFrame:
    """The gaps whose due date lies in the window (both ends included)."""
    if gaps.empty:
        return gaps
    due = pd.to_datetime(gaps["due_date"], errors="coerce")
    keep = due.notna() & (due >= pd.Timestamp(win.start)) & (due <= pd.Timestamp(win.end))
    return gaps[keep.to_numpy()].reset_index(drop=True)


def upcoming(data: MeasureData, measures: Sequence[Measure], as_of: dt.date, within_days: int) -> pd.DataFrame:
    """Gaps due within ``[as_of, as_of + within_days]`` of children who do not meet the numerator yet,
    for the measures that support it (an ``upcoming_gaps`` method); sorted by due date."""
    frames = []
    for measure in measures:
        fn = getattr(measure, "upcoming_gaps", None)
        if fn is None:
            continue
        found = fn(data, as_of, within_days)
        if not found.empty:
            frames.append(found)
    if not frames:
        return empty_gaps()
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["due_date", "measure", "group_index", "patient_id"], kind="stable", ignore_index=True)
