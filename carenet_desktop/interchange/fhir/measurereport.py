"""FHIR R4 MeasureReport: the measure's population counts and score for a period, as payers and
health-information exchanges take them.

``summary`` carries counts only. ``subject-list`` adds, per population, a contained List of the patients in
it, referenced by the store's internal id (no MRN, name or birth date; for an episode-based measure each
patient once, however many episodes); it is patient-level data and the
caller must treat its export as such.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
#: our population column -> FHIR measure-population code
POPULATION_CODES = {
    "initial_population": "initial-population",
    "denominator": "denominator",
    "exclusions": "denominator-exclusion",
    "exceptions": "denominator-exception",
    "numerator": "numerator",
}
#: canonical base of the network's own measures (no published URL): a local canonical, matched by the
#: network office's receivers; published eCQMs report their MADiE canonical with ``|version``
MEASURE_BASE = "https://carenet.example/fhir/Measure"


@dataclass(frozen=True)
class GroupCounts:
    """One measure group's counts (and, for a subject list, the patients of each population)."""

    code: str  # the group's id in the measure ("group-1" ...)
    title: str
    counts: Mapping[str, int]
    rate: float | None
    subjects: Mapping[str, Sequence[int]] = field(default_factory=dict)  # population column -> patient ids


def measure_report(*, measure_id: str, measure_version: str, measure_url: str | None, period_start: dt.date,
                   period_end: dt.date, groups: Sequence[GroupCounts], report_type: str = "summary",
                   reporter: str | None = None, created: dt.datetime | None = None,
                   improvement: str = "increase") -> dict[str, Any]:
    """The MeasureReport resource as a JSON-ready dict."""
    if report_type not in ("summary", "subject-list"):
        raise ValueError(f"report type must be summary or subject-list, not {report_type!r}")
    created = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
    canonical = (measure_url or f"{MEASURE_BASE}/{measure_id}") + (f"|{measure_version}" if measure_version else "")
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": str(uuid.uuid4()),
        "status": "complete",
        "type": report_type,
        "measure": canonical,
        "date": created.isoformat(),
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        "improvementNotation": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/measure-improvement-notation",
            "code": "decrease" if improvement == "decrease" else "increase"}]},
        "group": [],
    }
    if reporter:
        report["reporter"] = {"display": reporter}
    contained: list[dict[str, Any]] = []
    for group in groups:
        populations = []
        for column, code in POPULATION_CODES.items():
            if column not in group.counts:
                continue
            population: dict[str, Any] = {
                "code": {"coding": [{"system": POPULATION_SYSTEM, "code": code}]},
                "count": int(group.counts[column]),
            }
            if report_type == "subject-list":
                list_id = f"{group.code}-{code}"
                contained.append({
                    "resourceType": "List", "id": list_id, "status": "current", "mode": "snapshot",
                    "entry": [{"item": {"reference": f"Patient/{pid}"}} for pid in group.subjects.get(column, ())],
                })
                population["subjectResults"] = {"reference": f"#{list_id}"}
            populations.append(population)
        entry: dict[str, Any] = {"id": group.code, "population": populations}
        if group.title:
            entry["code"] = {"text": group.title}
        if group.rate is not None:
            entry["measureScore"] = {"value": round(float(group.rate), 6)}
        report["group"].append(entry)
    if contained:
        report["contained"] = contained
    return report
