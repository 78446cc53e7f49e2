"""Shared helpers of the FHIR mappers: the mapping context, ``detail``, statuses, references."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .records import Record
from .values import (
    MappingError,
    clip,
    concept_code,
    extension,
    first_code,
    is_date_only,
    parse_datetime,
    period,
    period_date_only,
    reference_id,
)

_IGNORED = {"resourceType", "id", "meta", "text"}

Mapper = Callable[[dict[str, Any], "MappingContext"], Record]


class MappingContext:
    """Resources of the same file that others may point to (Medication, contained resources)."""

    def __init__(self) -> None:
        self.medications: dict[str, dict[str, Any]] = {}
        self.organizations: dict[str, dict[str, Any]] = {}
        self.locations: dict[str, dict[str, Any]] = {}
        #: Patient id -> birthDate as written (an onset or abatement given as an age needs it)
        self.birth_dates: dict[str, str] = {}

    def remember(self, resource: dict[str, Any]) -> None:
        """Keep a resource that others may reference (call for every resource before mapping)."""
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if isinstance(rid, str):
            if rtype == "Medication":
                self.medications[rid] = resource
            elif rtype == "Organization":
                self.organizations[rid] = resource
            elif rtype == "Location":
                self.locations[rid] = resource
            elif rtype == "Patient" and isinstance(resource.get("birthDate"), str):
                self.birth_dates[rid] = resource["birthDate"]

    def medication_concept(self, resource: dict[str, Any]) -> Any:
        """The medication's CodeableConcept: ``medicationCodeableConcept``, or the ``code`` of the
        Medication that ``medicationReference`` points to (contained, in this file, or in an earlier file
        of the same import: bulk exports put Medications in a file of their own)."""
        if "medicationCodeableConcept" in resource:
            return resource["medicationCodeableConcept"]
        medication = self.referenced_medication(resource)
        return medication.get("code") if medication is not None else None

    def referenced_medication(self, resource: dict[str, Any]) -> dict[str, Any] | None:
        ref = resource.get("medicationReference")
        if ref is None:
            return None
        ref_id = reference_id(ref, "Medication")
        if ref_id and ref_id.startswith("#"):
            return next(
                (c for c in resource.get("contained") or [] if isinstance(c, dict) and c.get("id") == ref_id[1:]), None
            )
        return self.medications.get(ref_id) if ref_id else None

    def medication_code(self, resource: dict[str, Any]) -> tuple[str | None, str | None, str | None, list[dict[str, Any]]]:
        if "medicationCodeableConcept" in resource:
            return first_code(resource["medicationCodeableConcept"], "medicationCodeableConcept")
        ref = resource.get("medicationReference")
        if ref is None:
            return None, None, None, []
        medication = self.referenced_medication(resource)
        if medication is None:
            return None, None, (ref.get("display") if isinstance(ref, dict) else None), []
        return first_code(medication.get("code"), "Medication.code")


def _detail(resource: dict[str, Any], handled: set[str], **extra: Any) -> dict[str, Any] | None:
    out = {k: v for k, v in resource.items() if k not in handled and k not in _IGNORED}
    for key, value in extra.items():
        if value:
            out[key] = value
    return out or None


def _source_id(resource: dict[str, Any]) -> str:
    rid = resource.get("id")
    if not rid or not isinstance(rid, str):
        raise MappingError(f"{resource.get('resourceType')}: no id")
    if len(rid) > 128:
        raise MappingError(f"{resource.get('resourceType')}: id longer than 128 characters")
    return rid


def _subject(resource: dict[str, Any], element: str = "subject") -> str:
    ref = reference_id(resource.get(element), "Patient")
    if not ref:
        raise MappingError(f"{resource['resourceType']}.{element}: no Patient reference")
    return ref


def _status(resource: dict[str, Any]) -> str | None:
    return clip(resource.get("status"), 24)


def _coded(concept: Any, element: str) -> tuple[str | None, str | None, str | None, dict[str, Any]]:
    """system, code, display and, when there are further codings, ``{element_codings: [...]}``."""
    system, code, display, others = first_code(concept, element)
    return system, code, display, ({f"{element}_codings": others} if others else {})


def _status_reason(resource: dict[str, Any], element: str = "statusReason") -> tuple[str | None, str | None]:
    return concept_code(_status_reason_concept(resource, element), element)


def _status_reason_concept(resource: dict[str, Any], element: str = "statusReason") -> Any:
    """The statusReason CodeableConcept (the element, else the QI-Core/request extensions)."""
    if resource.get(element) is not None:
        return resource[element]
    ext = extension(resource, "request-statusReason", "qicore-notDoneReason", "event-statusReason",
                    "qicore-doNotPerformReason")
    return ext.get("valueCodeableConcept") if ext is not None else None


def _date_only(**columns: Any) -> str | None:
    """The ``date_only`` column: the names of the columns whose FHIR value had no time of day (a raw
    FHIR string is tested with ``is_date_only``, a Period with ``period_date_only``)."""
    names = [name for name, raw in columns.items()
             if (period_date_only(raw) if isinstance(raw, dict) else is_date_only(raw))]
    return ",".join(names) if names else None


def _ends(raw: Any) -> tuple[Any, Any]:
    """(start, end) of a timing choice as written, for ``_date_only``: a Period's own start and end (each
    has its own precision), a dateTime twice."""
    if isinstance(raw, dict):
        return raw.get("start"), raw.get("end")
    return raw, raw


def _provider_ref(*refs: Any) -> str | None:
    for ref in refs:
        if isinstance(ref, dict):
            found = reference_id(ref, "Practitioner")
            if found:
                return found
    return None


def _effective(r: dict[str, Any], prefix: str) -> tuple[Any, Any]:
    if f"{prefix}DateTime" in r:
        moment = parse_datetime(r[f"{prefix}DateTime"], f"{prefix}DateTime")
        return moment, moment
    if f"{prefix}Instant" in r:
        moment = parse_datetime(r[f"{prefix}Instant"], f"{prefix}Instant")
        return moment, moment
    if f"{prefix}Period" in r:
        return period(r[f"{prefix}Period"], f"{prefix}Period")
    return None, None


