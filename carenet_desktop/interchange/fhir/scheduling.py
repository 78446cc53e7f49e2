"""FHIR R4 Appointment -> an ``appointment`` record (pure: no database, no I/O).

The child is the participant whose actor is a Patient; the provider the first Practitioner participant
(its ``display`` kept as the schedule names it). The visit type is the appointment type's text, else its
first coding's display or code, else the service type's. A proposed or wait-listed appointment with no
``start`` is not on the schedule yet: it is rejected with that reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ...codes import APPOINTMENT_STATUSES
from .common import MappingContext, _date_only, _source_id
from .records import Record
from .values import MappingError, clip, codings, parse_datetime, reference_id


def map_appointment(r: dict[str, Any], ctx: MappingContext) -> Record:
    patient_ref = provider_ref = provider_name = None
    for participant in r.get("participant") or []:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if not isinstance(actor, dict):
            continue
        if patient_ref is None and reference_id(actor, "Patient") and _points_to(actor, "Patient"):
            patient_ref = reference_id(actor, "Patient")
        elif provider_ref is None and provider_name is None and _points_to(actor, "Practitioner"):
            provider_ref = reference_id(actor, "Practitioner")
            provider_name = clip(actor.get("display"), 200)
    if patient_ref is None:
        raise MappingError("Appointment.participant: no Patient actor")
    start = parse_datetime(r.get("start"), "Appointment.start")
    if start is None:
        raise MappingError("Appointment.start: missing (not on the schedule yet)")
    status = str(r.get("status") or "booked")
    if status not in APPOINTMENT_STATUSES:
        raise MappingError(f"Appointment.status: unknown status {status[:24]!r}")
    values: dict[str, Any] = {
        "start": start,
        "minutes": _minutes(r, start),
        "visit_type": clip(_visit_type(r), 100),
        "status": status,
        "provider_name": provider_name,
        "date_only": _date_only(start=r.get("start")),
    }
    return Record("appointment", _source_id(r), values, patient_ref=patient_ref, provider_ref=provider_ref)


def _points_to(actor: dict[str, Any], resource_type: str) -> bool:
    text = str(actor.get("reference") or "")
    return text.startswith(f"{resource_type}/") or f"/{resource_type}/" in text or (
        text.startswith("urn:") and str(actor.get("type") or "") == resource_type)


def _minutes(r: dict[str, Any], start: dt.datetime) -> int | None:
    given = r.get("minutesDuration")
    if isinstance(given, int) and given > 0:
        return given
    end = parse_datetime(r.get("end"), "Appointment.end")
    if end is not None and end > start:
        return int((end - start).total_seconds() // 60)
    return None


def _visit_type(r: dict[str, Any]) -> str | None:
    for concept, element in ((r.get("appointmentType"), "Appointment.appointmentType"),
                             *((c, "Appointment.serviceType") for c in r.get("serviceType") or [])):
        if not isinstance(concept, dict):
            continue
        if concept.get("text"):
            return str(concept["text"])
        for coding in codings(concept, element):
            if coding.get("display") or coding.get("code"):
                return str(coding.get("display") or coding.get("code"))
    return None
