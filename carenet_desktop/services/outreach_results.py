"""Outreach that led to a closed gap: per practice, how many of the gaps open when the team reached out
were closed since by new data.

Each outreach attempt logged from the worklist or with a letter keeps the child's open gap items
(``OutreachGap``, written by ``outreach.record_outreach``). A gap is one item of one child ("MenACWY
dose 1", however many rates name it) in one measurement period. The rule, kept simple on purpose:

* a gap is **recorded** when an attempt in the window (the last ``days`` days up to ``as_of``) kept it;
* it is **closed after outreach** when the child's worklist for the same period, computed now, no longer
  lists the item, and it did not simply expire: the child is still counted in the denominator (in the
  denominator, not excluded or excepted) of at least one measure rate the item was recorded under, in
  the measurement period of the worklist or, for a gap listed ahead of time that falls due after that
  period's end (an upcoming birthday-anchored gap), the calendar year it falls due in.
  A child who aged out, moved away or was excluded leaves the worklist without the gap being closed,
  and is not counted.

Counting credits the outreach, not the one attempt: a gap named by three attempts counts once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select

from ..metrics.engine import evaluate_measures
from ..metrics.period import Period
from ..models import CareActivity, OutreachGap, Practice
from .context import ServiceContext, ServiceError
from .gap_source import GapSource
from .measure_data import load_measure_data
from .outreach import OUTREACH_TYPE
from .permissions import require
from .worklist import Worklist, child_worklist

#: the window of the figure on the care-gaps page
WINDOW_DAYS = 90


@dataclass(frozen=True)
class OutreachResults:
    """One practice's outreach over ``days`` days up to ``as_of``."""

    practice_code: str
    as_of: dt.date
    days: int
    attempts: int  # outreach attempts logged in the window
    gaps_recorded: int  # distinct gaps (child, item, period) those attempts were about
    gaps_closed: int  # of which closed since by new data

    @property
    def text(self) -> str:
        """``"12 gaps closed after outreach in the last 90 days (of 40 open when contacted; 31 attempts)"``."""
        gaps = "gap" if self.gaps_closed == 1 else "gaps"
        attempts = "attempt" if self.attempts == 1 else "attempts"
        return (f"{self.gaps_closed} {gaps} closed after outreach in the last {self.days} days "
                f"(of {self.gaps_recorded} open when contacted; {self.attempts} {attempts})")


def outreach_results(ctx: ServiceContext, practice_code: str, *, as_of: dt.date | None = None,
                     days: int = WINDOW_DAYS, current: Worklist | None = None,
                     current_period: Period | None = None, source: GapSource | None = None) -> OutreachResults:
    """The figure for ``practice_code`` (see the module docstring for the rule). ``current``: the practice's
    worklist of ``current_period`` as of ``as_of``, unfiltered, when the caller has it (the page does), so it
    is not computed again; other periods' worklists are computed (from ``source`` when given)."""
    as_of = as_of or dt.date.today()
    since = as_of - dt.timedelta(days=days)
    with ctx.db.session() as s:
        practice_id = s.scalar(select(Practice.id).where(Practice.code == practice_code))
        if practice_id is None:
            raise ServiceError(f"No practice with code {practice_code!r}.")
        require(ctx, "patients.read", practice_id)
        in_window = (CareActivity.practice_id == practice_id, CareActivity.activity_type == OUTREACH_TYPE,
                     CareActivity.activity_date >= since, CareActivity.activity_date <= as_of)
        attempts = int(s.scalar(select(func.count(CareActivity.id)).where(*in_window)) or 0)
        kept = s.execute(select(OutreachGap.patient_id, OutreachGap.measure_id, OutreachGap.group_index,
                                OutreachGap.item, OutreachGap.due_date, OutreachGap.period_start,
                                OutreachGap.period_end)
                         .join(CareActivity, CareActivity.id == OutreachGap.activity_id)
                         .where(*in_window, OutreachGap.practice_id == practice_id).distinct()).all()
    recorded = pd.DataFrame(kept, columns=["patient_id", "measure", "group_index", "item", "due_date", "start",
                                           "end"])
    gap_keys = ["patient_id", "item", "start", "end"]
    closed = 0
    for (start, end), rows in recorded.groupby(["start", "end"], sort=True):
        period = Period(start, end)
        worklist = current if current is not None and period == current_period else child_worklist(
            ctx, period, practice_code, as_of=as_of, action=None, source=source)
        still_open = set(zip(worklist.gaps["patient_id"].astype("int64"), worklist.gaps["item"].astype(str),
                             strict=True))
        gone = rows[[(int(p), str(i)) not in still_open for p, i in zip(rows["patient_id"], rows["item"],
                                                                          strict=True)]]
        if gone.empty:
            continue
        counted = _counted(ctx, period, gone)
        closed_rows = gone[[(int(p), str(m), int(g)) in counted for p, m, g in
                            zip(gone["patient_id"], gone["measure"], gone["group_index"], strict=True)]]
        closed += len(closed_rows.drop_duplicates(gap_keys))
    return OutreachResults(practice_code, as_of, days, attempts, len(recorded.drop_duplicates(gap_keys)), closed)


def _counted(ctx: ServiceContext, period: Period, gone: pd.DataFrame) -> set[tuple[int, str, int]]:
    """(patient, measure, rate) of ``gone`` where the child is still counted in the denominator of the period
    it is measured in (``period``, or the year of a due date after its end)."""
    due = pd.to_datetime(gone["due_date"], errors="coerce")
    later = (due > pd.Timestamp(period.end)).to_numpy()
    counted = _counted_in(ctx, period, gone[~later])
    for year, rows in gone[later].groupby(due[later].dt.year.to_numpy()):
        counted |= _counted_in(ctx, Period.year(int(year)), rows)
    return counted


def _counted_in(ctx: ServiceContext, period: Period, gone: pd.DataFrame) -> set[tuple[int, str, int]]:
    """(patient, measure, rate) of ``gone`` where the child is counted in the denominator of ``period``: its
    own rows evaluated now, with the measures concerned only."""
    if gone.empty:
        return set()
    patients = sorted({int(p) for p in gone["patient_id"]})
    wanted = sorted({str(m) for m in gone["measure"]} & set(ctx.catalogue.ids()))
    if not wanted:
        return set()
    data = load_measure_data(ctx.db, patient_id_list=patients)
    rows = evaluate_measures(data, period, ctx.catalogue.select(wanted)).rows
    if rows.empty:
        return set()

    def flag(name: str) -> pd.Series:
        if name not in rows.columns:
            return pd.Series(False, index=rows.index)
        return rows[name].astype("boolean").fillna(False).astype(bool)

    counted = (flag("initial-population") & flag("denominator") & ~flag("denominator-exclusion")
               & ~flag("denominator-exception"))
    rows = rows[counted.to_numpy()]
    return set(zip(rows["patient_id"].astype("int64").tolist(), rows["measure"].astype(str).tolist(),
                   rows["group_index"].astype("int64").tolist(), strict=True))
