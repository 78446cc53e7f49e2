"""Aggregate results per measure, group and practice to a spreadsheet (no patient detail).

The same counts as the scorecard; small cells are not suppressed because the file stays with whoever may
read the aggregates (use the submission package for anything that leaves the practice).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from ..metrics.catalogue import get_measure
from ..metrics.period import Period
from ..models import Practice
from ..reports.spreadsheets import write_table
from . import audit
from .context import ServiceContext, ServiceError
from .evaluation import evaluate, grouped_summary

RESULT_COLUMNS = {
    "practice_code": "Practice", "practice_name": "Practice name", "measure": "Measure",
    "measure_version": "Measure version", "title": "Title", "group": "Rate", "initial_population": "Initial population", "denominator": "Denominator",
    "exclusions": "Exclusions", "exceptions": "Exceptions", "numerator": "Numerator", "rate_base": "Rate base",
    "rate": "Rate (%)", "ci_low": "95% CI low", "ci_high": "95% CI high",
}
FORMATS = {"Rate (%)": "percent", "95% CI low": "percent", "95% CI high": "percent"}


def results_table(ctx: ServiceContext, period: Period, practice_codes: Sequence[str] | None = None,
                  measure_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per practice × measure × group with counts, rate and Wilson interval (headers for people)."""
    evaluation = evaluate(ctx, period, measure_ids, practice_codes)
    frame = grouped_summary(evaluation, "practice")
    with ctx.db.session() as s:
        names = {pid: (code, name) for pid, code, name in s.execute(select(Practice.id, Practice.code, Practice.name))}
    frame = frame.copy()
    frame["practice_code"] = [names.get(int(p), ("?", ""))[0] for p in frame["practice_id"]]
    frame["practice_name"] = [names.get(int(p), ("?", ""))[1] for p in frame["practice_id"]]
    titles, groups = [], []
    for measure_id, group in zip(frame["measure"], frame["group_index"], strict=True):
        measure = get_measure(str(measure_id))
        titles.append(measure.title)
        groups.append(measure.groups[int(group)].title if len(measure.groups) > 1 else "")
    frame["title"], frame["group"] = titles, groups
    frame["measure_version"] = frame["measure"].map(lambda m: evaluation.versions.get(str(m), ""))
    frame = frame.sort_values(["practice_code", "measure", "group_index"], kind="stable")
    out = frame[list(RESULT_COLUMNS)].rename(columns=RESULT_COLUMNS).reset_index(drop=True)
    out.attrs["failures"] = dict(evaluation.errors)  # measures that did not run: the caller says so
    return out


def export_results(ctx: ServiceContext, period: Period, path: Path, practice_codes: Sequence[str] | None = None,
                   measure_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Write ``results_table`` to ``path`` (.xlsx or .csv); audited as an export. Returns the table
    (``attrs["failures"]``: measures that could not be evaluated, and why)."""
    table = results_table(ctx, period, practice_codes, measure_ids)
    try:
        write_table(table, path, sheet=f"Results {period.label}"[:31], formats=FORMATS)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "results", period.label,
                     summary=f"Exported {len(table)} aggregate result rows for {period.label} to {path.name}")
    return table
