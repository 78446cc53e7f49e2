"""FHIR MeasureReport export of one measure for a period (network, or some practices)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..interchange.fhir.measurereport import GroupCounts, measure_report
from ..metrics.period import Period
from ..models.full_disk import whole_file
from . import audit
from .context import ServiceContext, ServiceError
from .evaluation import evaluate, grouped_summary
from .measure_data import practice_ids
from .permissions import scope

_POPULATION_COLUMNS = {"initial_population": "initial-population", "denominator": "denominator",
                       "exclusions": "denominator-exclusion", "exceptions": "denominator-exception",
                       "numerator": "numerator"}


def build_measure_report(ctx: ServiceContext, measure_id: str, period: Period,
                         practice_codes: Sequence[str] | None = None, *, subject_list: bool = False) -> dict[str, Any]:
    """The MeasureReport of ``measure_id``; a subject list needs the right to export patient-level data."""
    try:
        measure = ctx.catalogue.get(measure_id.upper())
    except KeyError:
        raise ServiceError(f"Unknown measure: {measure_id}") from None
    if subject_list:  # patient-level: every practice in it must allow the export
        scope(ctx, "patients.export", practice_ids(ctx.db, practice_codes) if practice_codes else None)
    evaluation = evaluate(ctx, period, [measure.id], practice_codes)
    if measure.id in evaluation.errors:
        raise ServiceError(f"{measure.id} could not be evaluated: {evaluation.errors[measure.id]}")
    used = evaluation.version_of(measure)  # the version that computed the period
    summary = grouped_summary(evaluation, "network").set_index("group_index")
    rows = evaluation.rows
    groups = []
    for index, group in enumerate(measure.groups):
        counts: dict[str, int] = {}
        rate = None
        if index in summary.index:
            line = summary.loc[index]
            counts = {c: int(line[c]) for c in _POPULATION_COLUMNS}
            rate = None if pd.isna(line["rate"]) else float(line["rate"])
        else:
            counts = dict.fromkeys(_POPULATION_COLUMNS, 0)
        subjects: dict[str, list[int]] = {}
        if subject_list:
            mine = rows[(rows["measure"] == measure.id) & (rows["group_index"] == index)]
            for column, flag in _POPULATION_COLUMNS.items():
                subjects[column] = sorted({int(p) for p in mine.loc[mine[flag].fillna(False).astype(bool).to_numpy(), "patient_id"]})
        groups.append(GroupCounts(f"group-{index + 1}", group.title if len(measure.groups) > 1 else "", counts,
                                  rate, subjects))
    # the published canonical of the version used (eCQMs); network measures keep a local canonical
    url = used.canonical or (measure.specification.get("url") if isinstance(measure.specification, dict) else None)
    return measure_report(measure_id=measure.id, measure_version=str(used.version or ""), measure_url=url or None,
                          period_start=period.start, period_end=period.end, groups=groups,
                          report_type="subject-list" if subject_list else "summary",
                          improvement="decrease" if measure.improvement == "decrease" else "increase",
                          reporter=", ".join(practice_codes) if practice_codes else "network")


def export_measure_report(ctx: ServiceContext, measure_id: str, period: Period, path: Path,
                          practice_codes: Sequence[str] | None = None, *, subject_list: bool = False) -> dict[str, Any]:
    """Write the MeasureReport JSON to ``path``; audited (as a patient-level export for a subject list)."""
    report = build_measure_report(ctx, measure_id, period, practice_codes, subject_list=subject_list)
    try:
        with whole_file(path) as partial:  # a subject list names patients: the owner's only, never half-written
            partial.write_text(json.dumps(report, indent=2), encoding="utf-8")
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    kind = "subject-list (patient-level)" if subject_list else "summary"
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "measure_report", measure_id.upper(),
                     summary=f"Exported the {kind} MeasureReport of {measure_id.upper()} for {period.label} to {path.name}")
    return report
