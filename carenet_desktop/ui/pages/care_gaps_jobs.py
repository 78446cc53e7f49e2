"""The care-gaps page's work, run on worker threads (plain functions, no widgets): loading the worklist,
recording outreach, writing letters and exports."""


from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...metrics.period import Period
from ...services import letters as letters_service
from ...services import outreach as outreach_service
from ...services import outreach_results as outreach_results_service
from ...services import practices as practice_service
from ...services import worklist as worklist_service
from ...services.changes import Change
from ...services.context import Progress, ServiceContext, ServiceError
from ...services.gap_source import GapSource
from ...services.practices import PracticeSummary
from ..itemmodels.gaps import (
    row_keys,
    rows_from_frame,
)


@dataclass(frozen=True)
class GapQuery:
    practice_code: str
    as_of: dt.date
    due_within: int | None

    @property
    def period(self) -> Period:
        return Period.year(self.as_of.year)


@dataclass(frozen=True)
class GapsLoaded:
    query: GapQuery
    worklist: worklist_service.Worklist
    #: one row per child (``worklist.CHILD_COLUMNS``)
    table: pd.DataFrame
    #: the table as the model's rows and filter arrays, prepared on the worker
    rows: list[dict[str, Any]]
    keys: dict[str, np.ndarray]
    #: every outreach attempt of the listed children, newest first (``outreach.DONE_COLUMNS``)
    attempts: pd.DataFrame
    #: the practice's "gaps closed after outreach" figure (None when it could not be computed)
    outreach: outreach_results_service.OutreachResults | None = None


def _ctx(ctx: ServiceContext, progress: Progress) -> ServiceContext:
    return dataclasses.replace(ctx, progress=progress)


def load_practices(progress: Progress, ctx: ServiceContext) -> list[PracticeSummary]:
    return practice_service.list_practices(_ctx(ctx, progress))


def load_gaps(progress: Progress, ctx: ServiceContext, query: GapQuery, source: GapSource | None = None) -> GapsLoaded:
    """Runs on a worker: the child worklist (audited as viewed) and the outreach attempts of its children;
    the result rows and records from ``source`` (the page's, which keeps the network's gaps between loads)."""
    sub = _ctx(ctx, progress.sub(0.0, 0.9))
    result = worklist_service.child_worklist(sub, query.period, query.practice_code, due_within=query.due_within,
                                             as_of=query.as_of, source=source)
    progress.report(0.95, "Outreach recorded")
    table = result.children
    patients = [int(p) for p in table["patient_id"]]
    attempts = outreach_service.outreach_done(ctx, practice_code=query.practice_code, patient_ids=patients)
    rows = rows_from_frame(table)
    return GapsLoaded(query, result, table, rows, row_keys(rows, dt.date.today()), attempts,
                      _outreach_results(ctx, query, result, source))


def warm_gaps(progress: Progress, ctx: ServiceContext, source: GapSource, query: GapQuery) -> bool:
    """Runs on a worker once the first scorecard is shown: the network's gaps and the patients' details
    found into the page's ``source`` from the caches, so opening Care gaps later only filters them (no
    audit: nothing is shown). False when the scorecard's results of the period are not cached yet."""
    return worklist_service.warm_worklist(_ctx(ctx, progress), source, query.period, query.as_of,
                                          query.due_within, progress)


def _outreach_results(ctx: ServiceContext, query: GapQuery, worklist: worklist_service.Worklist,
                      source: GapSource | None) -> outreach_results_service.OutreachResults | None:
    """The figure, from the worklist just loaded unless a due-within window narrowed it."""
    try:
        return outreach_results_service.outreach_results(
            ctx, query.practice_code, as_of=query.as_of, current=worklist if query.due_within is None else None,
            current_period=query.period, source=source)
    except ServiceError:
        return None


@dataclass(frozen=True)
class Attempt:
    """One outreach attempt as the dialog collects it."""

    method: str
    outcome: str
    follow_up: dt.date | None
    note: str
    on: dt.date


@dataclass(frozen=True)
class OutreachSaved:
    patient_ids: list[int]
    attempt: Attempt
    change: Change


def save_outreach(progress: Progress, ctx: ServiceContext, patient_ids: list[int], attempt: Attempt,
                  open_gaps: pd.DataFrame | None = None, period: Period | None = None) -> OutreachSaved:
    """Runs on the writer: one outreach attempt per child, each with the child's ``open_gaps`` (the gap rows
    of the worklist shown, of ``period``); returns the children recorded."""
    done: list[int] = []
    change = Change.nothing()
    if open_gaps is not None:  # each attempt looks up its child's rows: in these, not the whole practice's
        open_gaps = open_gaps[open_gaps["patient_id"].isin(patient_ids).to_numpy()]
    for i, patient_id in enumerate(patient_ids):
        progress.report(i / max(len(patient_ids), 1), "Recording outreach")
        result = outreach_service.record_outreach(
            ctx, patient_id=patient_id, measure_id=None, note=attempt.note, date=attempt.on,
            today=max(attempt.on, dt.date.today()), method=attempt.method, outcome=attempt.outcome,
            follow_up=attempt.follow_up, open_gaps=open_gaps, period=period)
        if not result.ok:
            raise ServiceError("; ".join(e.message for e in result.errors))
        done.append(patient_id)
        change = change | result.change
    return OutreachSaved(done, attempt, change)


def write_letters(progress: Progress, ctx: ServiceContext, practice_code: str, patient_ids: list[int], path: Path,
                  as_of: dt.date, one_per_child: bool = False) -> letters_service.LettersWritten:
    """Runs on the writer: a reminder letter per selected child (one PDF, or a folder of one PDF per child),
    each logged as letter outreach."""
    progress.report(0.1, f"Writing {path.name}")
    return letters_service.reminder_letters(_ctx(ctx, progress), practice_code, patient_ids, path, as_of=as_of,
                                            one_per_child=one_per_child)


def write_export(progress: Progress, ctx: ServiceContext, worklist: worklist_service.Worklist,
                 children: pd.DataFrame, path: Path) -> int:
    """Runs on the writer: the child rows shown to ``path`` (csv/xlsx), audited as an export."""
    progress.report(0.1, f"Writing {path.name}")
    return worklist_service.export_shown(ctx, worklist, children, path)
