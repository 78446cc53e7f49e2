"""Aggregate results per measure, group and practice to a spreadsheet (no patient detail).

The scorecard's own rows (``ScorecardService.network_table``): the same counts, network rate, target and
status (``metrics.judgement``) as the window and the PDFs. Small cells are not suppressed because the file
stays with whoever may read the aggregates (use the submission package for anything that leaves the
practice).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..metrics.period import Period
from ..reports.spreadsheets import write_table
from . import audit
from .context import ServiceContext, ServiceError
from .evaluation import select_measures
from .scorecard import ScorecardService

RESULT_COLUMNS = {
    "practice_code": "Practice", "practice_name": "Practice name", "measure": "Measure",
    "measure_version": "Measure version", "title": "Title", "group": "Rate", "initial_population": "Initial population", "denominator": "Denominator",
    "exclusions": "Exclusions", "exceptions": "Exceptions", "numerator": "Numerator", "rate_base": "Rate base",
    "rate": "Rate (%)", "ci_low": "95% CI low", "ci_high": "95% CI high", "direction": "Better when",
    "network_rate": "Network rate (%)", "target": "Target (%)", "status": "Status", "source": "Source",
}
FORMATS = {"Rate (%)": "percent", "95% CI low": "percent", "95% CI high": "percent", "Network rate (%)": "percent",
           "Target (%)": "percent"}


def results_table(ctx: ServiceContext, period: Period, practice_codes: Sequence[str] | None = None,
                  measure_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per practice × measure × group with counts, rate, Wilson interval, network rate, target and
    status: the scorecard's rows (headers for people)."""
    measures, errors = select_measures(ctx.catalogue, measure_ids)
    if not measures:
        raise ServiceError("No measures to export: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    service = ScorecardService(ctx)
    ids = [m.id for m in measures]
    frame = service.network_table(period, ids).copy()
    if practice_codes:
        known = set(frame["practice_code"]) | set(service.practice_codes())
        unknown = [c for c in practice_codes if c not in known]
        if unknown:
            raise ServiceError(f"Unknown practice code: {', '.join(unknown)}")
        frame = frame[frame["practice_code"].isin(list(practice_codes))]
    frame["title"] = frame["measure_title"]
    frame["group"] = frame["group_title"].fillna("")
    frame["direction"] = frame["direction"].map({"decrease": "lower", "increase": "higher"}).fillna("higher")
    frame["source"] = frame["source"].fillna("computed") if "source" in frame else "computed"
    if "suppressed" in frame:  # a total the practice's package suppressed: blank counts, said so
        small = frame["suppressed"].fillna(False).astype(bool)
        for column in ("initial_population", "denominator", "exclusions", "exceptions", "numerator", "rate_base"):
            frame[column] = frame[column].astype("Int64").mask(small)
        frame.loc[small, "source"] = "submitted (suppressed: fewer than 11)"
    frame = frame.sort_values(["practice_code", "measure", "group_index"], kind="stable")
    out = frame[list(RESULT_COLUMNS)].rename(columns=RESULT_COLUMNS).reset_index(drop=True)
    failures = service.results(period, ids).failures
    out.attrs["failures"] = {**errors, **failures}  # measures that did not run: the caller says so
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
