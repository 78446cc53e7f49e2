"""One-change variants of the published eCQM test cases, for the property-based lane (issue 21).

Not a test module. Each function takes a FHIR Bundle (a dict, copied first) and returns the bundle with one
change of a kind real EHR exports show: an extra coding, a time-zone offset, a date without its time, a
birth on Feb 29, a condition's clinical status. ``evaluate`` runs one measure on one bundle through the real
path (FHIR importer -> store -> frames -> measure) in a copy of a store that holds the value sets.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from carenet_desktop.metrics.definition import POPULATIONS
from carenet_desktop.metrics.period import Period
from tests.measure_catalogue import get_measure

Bundle = dict[str, Any]

#: the coded elements of each resource type a measure reads (CodeableConcept or list of them)
CODED: dict[str, tuple[str, ...]] = {
    "Encounter": ("type", "reasonCode"),
    "Condition": ("code",),
    "Observation": ("code", "valueCodeableConcept"),
    "Procedure": ("code",),
    "Immunization": ("vaccineCode",),
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationDispense": ("medicationCodeableConcept",),
    "MedicationAdministration": ("medicationCodeableConcept",),
    "ServiceRequest": ("code", "reasonCode"),
}
#: code systems an extra coding may claim (its code is never a real one: ``ZZ`` and digits)
SYSTEMS = (
    "http://snomed.info/sct", "http://www.ama-assn.org/go/cpt", "http://loinc.org",
    "http://hl7.org/fhir/sid/icd-10-cm", "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/cvx",
    "http://hl7.org/fhir/sid/ndc", "urn:oid:2.16.840.1.113883.3.9999.1", "https://ehr.example.org/local-codes",
)
OFFSETS = ("Z", "+00:00", "-03:30", "-04:00", "-05:00", "-08:00", "-10:00", "-12:00", "+01:00", "+05:30", "+09:00",
           "+14:00")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})(T(\d{2}):(\d{2})(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$")


def resources(bundle: Bundle) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def concepts(bundle: Bundle) -> list[tuple[dict[str, Any], str, int | None]]:
    """(resource, element, index in the list or None) of every coded element present."""
    out = []
    for r in resources(bundle):
        for element in CODED.get(r.get("resourceType", ""), ()):
            value = r.get(element)
            if isinstance(value, dict):
                out.append((r, element, None))
            elif isinstance(value, list):
                out.extend((r, element, i) for i, v in enumerate(value) if isinstance(v, dict))
    return out


def add_coding(bundle: Bundle, which: int, system: str, code: str, position: int, new_concept: bool) -> Bundle:
    """A coding that no value set holds, put at ``position`` among the codings of the ``which``-th coded
    element (or, with ``new_concept``, as a further CodeableConcept of a list element such as Encounter.type)."""
    out = copy.deepcopy(bundle)
    found = concepts(out)
    if not found:
        return out
    resource, element, index = found[which % len(found)]
    coding = {"system": system, "code": code, "display": "local"}
    if new_concept and index is not None:
        items = resource[element]
        items.insert(position % (len(items) + 1), {"coding": [coding]})
        return out
    concept = resource[element] if index is None else resource[element][index]
    codings = concept.setdefault("coding", [])
    codings.insert(position % (len(codings) + 1), coding)
    return out


def _walk_strings(node: Any, visit: Callable[[str], str | None]) -> Any:
    """``node`` with every string value replaced by ``visit(value)`` where that is not None (ids and
    references untouched: only values that look like FHIR dates are passed on)."""
    if isinstance(node, dict):
        return {k: (v if k in ("id", "reference", "lastUpdated", "url", "system", "code")
                    else _walk_strings(v, visit)) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk_strings(v, visit) for v in node]
    if isinstance(node, str) and _DATETIME.match(node):
        replaced = visit(node)
        return node if replaced is None else replaced
    return node


def date_strings(bundle: Bundle) -> list[str]:
    found: list[str] = []

    def visit(value: str) -> None:
        found.append(value)

    _walk_strings(bundle, visit)
    return found


def with_time(bundle: Bundle) -> list[str]:
    return [v for v in date_strings(bundle) if "T" in v]


def set_offset(bundle: Bundle, target: str, offset: str, time: str | None = None) -> Bundle:
    """Every occurrence of the date-time ``target`` gets ``offset`` (and, if given, the time of day
    ``HH:MM:SS``), its written date unchanged."""
    m = _DATETIME.match(target)
    assert m and m.group(2)

    def visit(value: str) -> str | None:
        if value != target:
            return None
        clock = time if time is not None else m.group(2)[1:]
        return f"{m.group(1)}T{clock}{offset}"

    return _walk_strings(bundle, visit)


def to_date_only(bundle: Bundle, target: str) -> Bundle:
    """Every occurrence of the date-time ``target`` written as its date only."""
    return _walk_strings(bundle, lambda v: v[:10] if v == target else None)


def shift_days(bundle: Bundle, days: int) -> Bundle:
    """Every date and date-time of the bundle (birth date included) moved by ``days`` whole days; the
    clock time and offset as written."""
    def visit(value: str) -> str:
        m = _DATETIME.match(value)
        assert m
        day = dt.date.fromisoformat(m.group(1)) + dt.timedelta(days=days)
        return day.isoformat() + value[10:]

    return _walk_strings(bundle, visit)


def calendar_safe(bundle: Bundle, days: int) -> bool:
    """A shift by ``days`` keeps every date in its month and away from Feb 29, so calendar arithmetic
    (birthdays, months) moves with it: counts must then be the same in the shifted period."""
    for value in date_strings(bundle):
        day = dt.date.fromisoformat(value[:10])
        moved = day + dt.timedelta(days=days)
        if moved.month != day.month or moved.year != day.year or day.day > 28 or moved.day > 28:
            return False
    return True


def patient(bundle: Bundle) -> dict[str, Any] | None:
    return next((r for r in resources(bundle) if r.get("resourceType") == "Patient"), None)


def set_birth_date(bundle: Bundle, birth: dt.date) -> Bundle:
    out = copy.deepcopy(bundle)
    p = patient(out)
    if p is not None:
        p["birthDate"] = birth.isoformat()
    return out


def unreferenced_conditions(bundle: Bundle) -> list[str]:
    """Ids of the Conditions no Encounter.diagnosis points to."""
    referenced = {str(d.get("condition", {}).get("reference", "")).rsplit("/", 1)[-1]
                  for r in resources(bundle) if r.get("resourceType") == "Encounter"
                  for d in r.get("diagnosis") or [] if isinstance(d, dict)}
    return [r["id"] for r in resources(bundle) if r.get("resourceType") == "Condition" and r.get("id") not in referenced]


def condition_status(bundle: Bundle, condition_id: str, status: str | None) -> Bundle:
    """The condition with a non-active clinical status (or none) and no abatement."""
    out = copy.deepcopy(bundle)
    for r in resources(out):
        if r.get("resourceType") == "Condition" and r.get("id") == condition_id:
            for key in [k for k in r if k.startswith("abatement")]:
                del r[key]
            if status is None:
                r.pop("clinicalStatus", None)
            else:
                r["clinicalStatus"] = {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]}
    return out


def without_resource(bundle: Bundle, resource_id: str, resource_type: str) -> Bundle:
    out = copy.deepcopy(bundle)
    out["entry"] = [e for e in out.get("entry") or []
                    if not (e.get("resource", {}).get("resourceType") == resource_type
                            and e.get("resource", {}).get("id") == resource_id)]
    return out


# --- evaluation ------------------------------------------------------------------------------------------


def build_template(path: Path, valueset_files: list[Path]) -> Path:
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.valuesets import load_valuesets

    db = open_database(path)
    try:
        load_valuesets(ServiceContext(db, username="property-test"), valueset_files, source="vsac")
    finally:
        db.dispose()
    return path


_counter = iter(range(1, 1 << 62))


_MEDICATION_USERS = ("MedicationRequest", "MedicationDispense", "MedicationAdministration")


def medications_by_reference(bundle: Bundle, where: str) -> tuple[Bundle, list[tuple[str, Bundle]]]:
    """Every ``medicationCodeableConcept`` turned into a Medication resource and a ``medicationReference`` to
    it, the Medication ``contained`` in its request, put in the same ``bundle`` (after the requests), or in
    another Bundle file read ``file-before`` or ``file-after`` the case's own (by name). Returns the bundle and
    the further files, as (name suffix, bundle)."""
    out = copy.deepcopy(bundle)
    medications: list[dict[str, Any]] = []
    for r in resources(out):
        if r.get("resourceType") in _MEDICATION_USERS and isinstance(r.get("medicationCodeableConcept"), dict):
            medication = {"resourceType": "Medication", "id": f"med-{len(medications)}",
                          "code": r.pop("medicationCodeableConcept")}
            if where == "contained":
                r.setdefault("contained", []).append({**medication, "id": "m"})
                r["medicationReference"] = {"reference": "#m"}
            else:
                r["medicationReference"] = {"reference": f"Medication/{medication['id']}"}
                medications.append(medication)
    if where == "bundle":
        out["entry"].extend({"resource": m} for m in medications)
        return out, []
    if not medications:
        return out, []
    extra = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": m} for m in medications]}
    return out, [("-a" if where == "file-before" else "~z", extra)]  # "-" sorts before ".json", "~" after


def evaluate(template: Path, folder: Path, measure_id: str, bundle: Bundle, period: Period,
             extra: list[tuple[str, Bundle]] | None = None) -> dict[tuple[int, str], int]:
    """Population counts per (group, population) of one measure for one bundle (and ``extra`` further files,
    named ``case-N<suffix>.json`` so that the suffix orders them around the case's own ``case-N.json``),
    imported together through the importer."""
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.fhir_import import import_fhir
    from carenet_desktop.services.measure_data import load_measure_data

    n = next(_counter)
    store = folder / f"case-{n}.db"
    shutil.copy(template, store)
    source = folder / f"case-{n}.json"
    source.write_text(json.dumps(bundle), encoding="utf-8")
    others = [folder / f"case-{n}{suffix}.json" for suffix, _ in extra or []]
    for path, (_, other) in zip(others, extra or [], strict=True):
        path.write_text(json.dumps(other), encoding="utf-8")
    db = open_database(store)
    try:
        result = import_fhir(ServiceContext(db, username="property-test"), [source, *others])
        assert not result.problems, [str(p) for p in result.problems[:3]]
        data = load_measure_data(db)
    finally:
        db.dispose()
        store.unlink(missing_ok=True)
        for path in (source, *others):
            path.unlink(missing_ok=True)
    frame = get_measure(measure_id).evaluate(data, period)
    return counts(frame)


def counts(frame: pd.DataFrame) -> dict[tuple[int, str], int]:
    out: dict[tuple[int, str], int] = {}
    if frame.empty:
        return out
    for group, rows in frame.groupby("group_index"):
        for pop in POPULATIONS:
            if pop in rows.columns:
                out[(int(group), pop)] = int(rows[pop].fillna(False).astype(bool).sum())
    return {k: v for k, v in out.items() if v}


def nested(frame_counts: dict[tuple[int, str], int]) -> Iterator[str]:
    """Population counts that break the nesting every measure has (numerator, exclusion and exception
    within the denominator, the denominator within the initial population)."""
    groups = {g for g, _ in frame_counts}
    for g in groups:
        def c(pop: str, g: int = g) -> int:
            return frame_counts.get((g, pop), 0)

        if c("denominator") > c("initial-population"):
            yield f"group {g}: denominator {c('denominator')} > initial population {c('initial-population')}"
        for pop in ("numerator", "denominator-exclusion", "denominator-exception"):
            if c(pop) > max(c("denominator"), c("initial-population")):
                yield f"group {g}: {pop} {c(pop)} > denominator {c('denominator')}"
