"""The submitted totals a scorecard shows (:func:`submitted_aggregates`), apart from ``services.submissions``:
the scorecard reads them at every start, and the package writing and signing there (``interchange.submission``,
``cryptography``) can wait until a package is made or imported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from ..metrics.period import Period
from ..models import Submission, SubmittedAggregate
from .context import ServiceContext

#: columns of ``submitted_aggregates`` (the shape of the scorecard's reported entries)
SUBMITTED_COLUMNS = ("measure", "group_index", "practice_id", "initial_population", "denominator", "numerator",
                     "exclusions", "exceptions")
_COUNTS = ("initial_population", "denominator", "exclusions", "exceptions", "numerator")


def submitted_aggregates(ctx: ServiceContext, period: Period, measure_ids: Sequence[str] | None = None, *,
                         suppressed: bool = False) -> pd.DataFrame:
    """The current (non-superseded) submitted totals for exactly ``period``, per practice, measure and
    group (``SUBMITTED_COLUMNS``), for ``aggregate.apply_reported(..., source="submitted")``.

    Suppressed totals are left out: their counts never reached the office. With ``suppressed=True`` only
    they are given (their counts 0), so a scorecard can show them as suppressed instead of dropping them.
    Submissions of other periods are not added up (a patient counted in two quarters would be counted twice
    in the year).
    """
    reported, small = submitted_totals(ctx, period, measure_ids)
    return small if suppressed else reported


def submitted_totals(ctx: ServiceContext, period: Period,
                     measure_ids: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``submitted_aggregates`` of ``period`` without and with ``suppressed``, in one query."""
    stmt = _query(measure_ids).where(Submission.period_start == period.start, Submission.period_end == period.end)
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    kept: tuple[list[Any], list[Any]] = ([], [])
    for row in rows:
        kept[bool(row[-1])].append(row[:-3])
    return _frames(kept, [])


def submitted_totals_of(ctx: ServiceContext, periods: Sequence[Period],
                        measure_ids: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`submitted_totals` of each of ``periods`` (a trend's) in one query, not one for each: the rows
    of both frames say whose they are in ``trend_period``, the period's position in ``periods``."""
    places = {(p.start, p.end): i for i, p in enumerate(periods)}
    stmt = _query(measure_ids).where(Submission.period_end.in_(sorted({p.end for p in periods})))
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    kept: tuple[list[Any], list[Any]] = ([], [])
    for row in rows:
        place = places.get((row[-3], row[-2]))
        if place is not None:  # exactly one of the periods (a submission of another start is of none)
            kept[bool(row[-1])].append([*row[:-3], place])
    return _frames(kept, ["trend_period"])


def _query(measure_ids: Sequence[str] | None) -> Any:
    stmt = (
        select(SubmittedAggregate.measure_id, SubmittedAggregate.group_index, Submission.practice_id,
               SubmittedAggregate.initial_population, SubmittedAggregate.denominator, SubmittedAggregate.numerator,
               SubmittedAggregate.exclusions, SubmittedAggregate.exceptions, Submission.period_start,
               Submission.period_end, SubmittedAggregate.suppressed)
        .join(Submission, Submission.id == SubmittedAggregate.submission_id)
        .where(Submission.status == "current", SubmittedAggregate.stratifier == "")
    )
    if measure_ids is not None:
        stmt = stmt.where(SubmittedAggregate.measure_id.in_(list(measure_ids)))
    return stmt


def _frames(kept: tuple[list[Any], list[Any]], extra: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for suppressed, part in enumerate(kept):
        frame = pd.DataFrame(part, columns=[*SUBMITTED_COLUMNS, *extra])
        if suppressed:  # blank in the package: what the scorecard may say is that they are small
            frame[list(_COUNTS)] = 0
        for col in ("group_index", "practice_id", *_COUNTS, *extra):
            frame[col] = frame[col].astype("int64")
        frames.append(frame)
    return frames[0], frames[1]


__all__ = ["SUBMITTED_COLUMNS", "submitted_aggregates", "submitted_totals", "submitted_totals_of"]
