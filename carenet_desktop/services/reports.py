"""Gathers the figures of the PDF reports (scorecard per practice, network report) and renders them.

Rendering lives in ``reports/``; this module only asks the scorecard service, applies the visibility rule
(other practices anonymised unless the user may see them and asked for names) and audits the export.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from .. import codes
from ..metrics.period import Period
from ..models import Encounter
from ..reports.pdf_network import NetworkReport, render_network
from ..reports.pdf_scorecard import ScorecardReport, render_scorecard
from . import audit
from .context import Progress, ServiceContext, ServiceError
from .measure_detail import practice_labels, sparklines, trend_periods, trend_table
from .permissions import require, visible_practice_ids
from .scorecard import ScorecardService

EQUITY_STRATA = {"payer": ("Payer", codes.PAYER_LABELS), "race": ("Race", codes.RACE_LABELS),
                 "ethnicity": ("Ethnicity", codes.ETHNICITY_LABELS), "language": ("Language", codes.LANGUAGE_LABELS)}


@dataclass(frozen=True)
class RenderedReport:
    path: Path
    pages: int
    compute_seconds: float
    render_seconds: float


def _data_as_of(ctx: ServiceContext) -> dt.date | None:
    """The newest clinical date in the store: what the figures can know about."""
    with ctx.db.session() as s:
        newest = s.scalar(select(func.max(Encounter.start)))
    return newest.date() if isinstance(newest, dt.datetime) else newest


def _labelled(table: pd.DataFrame, ctx: ServiceContext, named: bool, shown: set[str]) -> pd.DataFrame:
    visible = visible_practice_ids(ctx)
    practices = table[["practice_code", "practice_name", "practice_id"]].drop_duplicates()

    def may_see(code: str) -> bool:
        if code in shown:
            return True
        if not named:
            return False
        pid = int(practices.loc[practices["practice_code"] == code, "practice_id"].iloc[0])
        return visible is None or pid in visible

    labels = practice_labels(list(zip(practices["practice_code"], practices["practice_name"], strict=True)), may_see)
    out = table.copy()
    out["label"] = [labels[c].split(" · ")[0] if may_see(c) else labels[c].replace("Practice ", "")
                    for c in out["practice_code"]]
    return out


def _trends(service: ScorecardService, period: Period, progress: Progress) -> pd.DataFrame:
    return trend_table(service, period, progress)


def scorecard_pdf(ctx: ServiceContext, practice_code: str, period: Period, path: Path, *, trends: bool = True,
                  service: ScorecardService | None = None) -> RenderedReport:
    """The practice's scorecard PDF (aggregates only)."""
    if path.suffix.lower() != ".pdf":
        raise ServiceError(f"Cannot write {path.name}: a report is a .pdf file")
    service = service or ScorecardService(ctx)
    started = time.perf_counter()
    progress = ctx.progress
    rows = service.practice_scorecard(practice_code, period, progress=progress.sub(0, 0.4))
    if rows.empty:
        raise ServiceError(f"Practice {practice_code} has no results for {period.label}")
    practice_id = int(rows["practice_id"].iloc[0])
    require(ctx, "aggregates.read", practice_id)
    network = _labelled(service._network_table(period), ctx, named=False, shown={practice_code})
    trend_points: dict[tuple[str, int], list[float | None]] = {}
    labels: list[str] = []
    if trends:
        table = _trends(service, period, progress.sub(0.4, 0.8))
        trend_points = sparklines(table, practice_code)
        labels = [f"{p.end:%b %Y}" for p in trend_periods(period)]
    equity = {}
    for stratum, (title, names) in EQUITY_STRATA.items():
        frame = service.strata(period, stratum, practice_code)
        frame = frame[frame["group_index"] == 0].copy()
        frame["value_title"] = [names.get(str(v), str(v).title()) for v in frame[stratum]]
        equity[title] = frame
    report = ScorecardReport(practice_code, str(rows["practice_name"].iloc[0]), period.label, _data_as_of(ctx),
                             rows, network, trend_points, labels, equity,
                             rolling_notes=ctx.catalogue.rolling_notes())
    computed = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    render_scorecard(report, path)
    done = time.perf_counter()
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "report", f"scorecard {practice_code} {period.label}",
                     practice_id=practice_id, summary=f"Scorecard PDF of {practice_code} for {period.label}: {path.name}")
    return RenderedReport(path, _pages(path), computed - started, done - computed)


def network_pdf(ctx: ServiceContext, period: Period, path: Path, *, named: bool = False, trends: bool = True,
                service: ScorecardService | None = None) -> RenderedReport:
    """The network office's report: every practice side by side (anonymised unless ``named``)."""
    if path.suffix.lower() != ".pdf":
        raise ServiceError(f"Cannot write {path.name}: a report is a .pdf file")
    require(ctx, "aggregates.read")
    service = service or ScorecardService(ctx)
    started = time.perf_counter()
    progress = ctx.progress
    table = _labelled(service.network_table(period, progress=progress.sub(0, 0.5)), ctx, named=named, shown=set())
    if table.empty:
        raise ServiceError(f"No results for {period.label}")
    network_trend: dict[tuple[str, int], list[float | None]] = {}
    labels: list[str] = []
    if trends:
        trend = _trends(service, period, progress.sub(0.5, 0.9))
        labels = [f"{p.end:%b %Y}" for p in trend_periods(period)]
        ends = sorted(trend["period_end"].unique()) if len(trend) else []
        for (measure, group), part in trend.groupby(["measure", "group_index"], sort=False):
            by_end = part.groupby("period_end")["network_rate"].first()
            network_trend[(str(measure), int(group))] = [
                None if e not in by_end.index or pd.isna(by_end[e]) else float(by_end[e]) for e in ends]
    report = NetworkReport(period.label, _data_as_of(ctx), table, named, network_trend, labels)
    computed = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    render_network(report, path)
    done = time.perf_counter()
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "report", f"network {period.label}",
                     summary=f"Network report PDF for {period.label} ({'named' if named else 'anonymised'}): {path.name}")
    return RenderedReport(path, _pages(path), computed - started, done - computed)


def _pages(path: Path) -> int:
    """Pages of a PDF we just wrote (reportlab writes one /Type /Page object per page)."""
    data = path.read_bytes()
    return data.count(b"/Type /Page") - data.count(b"/Type /Pages")
