"""The scorecard's first load: the table of a period for every practice, built on a worker thread, and
its head start with the window (the compute begun while the window is built, joined by the page's load)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...metrics.period import Period
from ...services import compute_pool
from ...services.context import Progress
from ...services.early_trends import start_early_trends
from ...services.head_start import HeadStart
from ...services.permissions import require
from ...services.practices import PracticeSummary, list_practices
from ...services.scorecard import ScorecardService
from ...services.timeline import mark
from .. import periods
from ..session import Session
from ..settings import WindowState


@dataclass(frozen=True)
class ScorecardData:
    period: Period
    practices: list[PracticeSummary]
    table: pd.DataFrame  # ScorecardService.network_table
    #: practice code -> the table's rows as plain records, built on the worker so a switch costs nothing
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    """pandas/numpy scalars to Python values, missing to None (so the model needs no pandas)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


#: what a scorecard's load reports (fraction 1.0: never dropped as too frequent) once the period's results
#: are in, computed or read, before its table is built: the page may ask for its sparklines then
RESULTS_READY = "Results ready"


def load_scorecard(progress: Progress, service: ScorecardService, period: Period,
                   head: HeadStart | None = None) -> ScorecardData:
    """Runs on a worker thread: every practice's rows at once, so switching practice needs no work.

    ``head``: the first scorecard's load started with the window (:func:`start_first_scorecard`): joined
    when it is of ``period``, its rows reused when the table is still the one they were built from (the
    results cache checks the change journal: a write since then makes a new table). ``RESULTS_READY`` is
    reported once the results are in (the table is built from them after)."""
    early = head.join(period, progress) if head is not None else None
    practices = list_practices(service.ctx)
    require(service.ctx, "aggregates.read")  # (as the table asks, before anything is computed)
    service.results(period, progress=progress)
    progress.report(1.0, RESULTS_READY)
    table = service.network_table(period, progress=progress)  # (the results now kept: read, not computed)
    if isinstance(early, ScorecardData) and early.table is table and early.practices == practices:
        return early
    return ScorecardData(period, practices, table, practice_rows(table, [p.code for p in practices]))


def practice_rows(table: pd.DataFrame, codes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """practice code -> the table's rows of that practice as plain records, in the table's order: each of
    ``codes`` (empty when it has no rows), then any other practice in the table; rows without a practice
    are left out. Column by column (``tolist`` boxes in C): a per-record ``to_dict`` took ~9x as long on the
    250,000-patient demo's table, on the way to the first scorecard."""
    out: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    if not len(table):
        return out
    names = [str(column) for column in table.columns]
    columns = [[_plain(v) for v in table[column].tolist()] for column in table.columns]
    for code, values in zip(columns[names.index("practice_code")], zip(*columns, strict=True), strict=True):
        if code is not None:
            out.setdefault(str(code), []).append(dict(zip(names, values, strict=True)))
    return out


def trends_with_results() -> bool:
    """Whether a scorecard's sparklines are asked for as soon as its results are in (``RESULTS_READY``),
    rather than once its table is painted: when computes run in worker processes, a trend's rolling periods
    then go to the worker the scorecard's compute just freed (still holding its frames) while the window
    builds and paints the table; in this process, a trend's compute would take the GIL from that paint."""
    return compute_pool.started() is not None


def first_period(remembered: str | None, today: dt.date | None = None) -> Period:
    """The period the scorecard shows first: the one last shown (its key) when the page offers it, else
    the default (this year to date); as :meth:`ScorecardsPage.restore_state` picks it."""
    keys = [key for _label, key in periods.choices(today or dt.date.today())]
    return Period.parse(remembered if remembered in keys else keys[0])


def remembered_period(state: WindowState) -> str | None:
    """The key of the period last shown on the scorecard (or of the year, as an older version kept it)."""
    year = state.last_year()
    return state.last_period() or (str(year) if year is not None else None)


#: the longest the first scorecard waits for a worker process starting (s)
WARM_WAIT_S = 30.0

#: session -> (its scorecard service, the first scorecard's head start), until the page takes them
_head_starts: dict[int, tuple[Session, ScorecardService, HeadStart]] = {}


def start_first_scorecard(session: Session, period: Period) -> HeadStart:
    """Start the scorecard of ``period`` now, before the window is built (``ui.launch``): the page built
    for ``session`` takes it over and its first load joins it rather than computing it again."""
    service = ScorecardService(session.ctx)
    head = HeadStart(period, _first_load, service, period, name="first-scorecard")
    _head_starts[id(session)] = (session, service, head)
    start_early_trends(service, period, head)  # the sparklines' periods, in the worker the scorecard leaves idle
    return head


def _first_load(progress: Progress, service: ScorecardService, period: Period) -> ScorecardData:
    # a worker process still starting (``compute_pool.warm_up``) is the first one ready: a job sent now
    # would only start another process beside it, on a machine busy starting the window
    mark("first scorecard's head start begun")
    compute_pool.wait_warm(WARM_WAIT_S, progress)  # cancellable: a window closed meanwhile starts nothing
    mark("first scorecard's worker warm")
    return load_scorecard(progress, service, period)


def take_head_start(session: Session) -> tuple[ScorecardService, HeadStart] | None:
    """The service and head start :func:`start_first_scorecard` made for ``session`` (once)."""
    entry = _head_starts.pop(id(session), None)
    return (entry[1], entry[2]) if entry is not None and entry[0] is session else None
