"""FHIR R4 resources -> ``Record`` rows for the store's tables (pure: no database, no I/O).

Each mapper takes the primary coding of a CodeableConcept into the code columns and keeps everything the
table has no column for (further codings, extensions, unmapped elements) in ``detail``, so nothing is lost.
``meta`` (profiles) and the narrative ``text`` are ignored: the mapping never depends on profiles.
"""

from __future__ import annotations

from typing import Any

from ...codes import ETHNICITY_CDC, LANGUAGE_LABELS, RACE_CDC
from .common import (
    Mapper,
    MappingContext,
    _coded,
    _date_only,
    _detail,
    _provider_ref,
    _source_id,
    _status,
    _subject,
)
from .condition_timing import abatement_value, onset_value
from .events import (
    map_immunization,
    map_medication_administration,
    map_medication_dispense,
    map_medication_request,
    map_observation,
    map_procedure,
    map_service_request,
)
from .records import Record
from .scheduling import map_appointment
from .values import (
    MappingError,
    clip,
    codings,
    concept_code,
    encode_codings,
    extension,
    first,
    first_code,
    more_category_codes,
    more_codings,
    parse_date,
    parse_datetime,
    period,
    reference_id,
)

# --- Patient and Practitioner ----------------------------------------------------------------------------

_SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def map_patient(r: dict[str, Any], ctx: MappingContext) -> Record:
    birth = r.get("birthDate")
    if not birth:
        raise MappingError("Patient.birthDate: missing")
    birth_date = parse_date(birth, "Patient.birthDate", local=True)
    birth_time = None
    ext = extension(r, "patient-birthTime")
    if ext is not None:
        birth_time = parse_datetime(ext.get("valueDateTime"), "birthTime extension")
    name = first(r.get("name"), "Patient.name") or {}
    given = name.get("given") if isinstance(name, dict) else None
    mrn = None
    identifiers = r.get("identifier") or []
    for ident in identifiers:
        if isinstance(ident, dict) and ident.get("value") and any(
            c.get("code") == "MR" for c in codings(ident.get("type"), "identifier.type")
        ):
            mrn = str(ident["value"])
            break
    if mrn is None:
        mrn = next((str(i["value"]) for i in identifiers if isinstance(i, dict) and i.get("value")), None)
    address = first(r.get("address"), "Patient.address") or {}
    deceased = r.get("deceasedDateTime")
    values: dict[str, Any] = {
        "mrn": clip(mrn, 64),
        "given_name": clip(" ".join(given) if isinstance(given, list) else given, 100),
        "family_name": clip(name.get("family") if isinstance(name, dict) else None, 100),
        "birth_date": birth_date,
        "birth_time": birth_time,
        "sex": _SEX.get(str(r.get("gender") or "unknown"), "unknown"),
        "race": _race(r),
        "ethnicity": _ethnicity(r),
        "language": _language(r),
        "zip_code": clip(address.get("postalCode") if isinstance(address, dict) else None, 10),
        "phone": clip(_phone(r.get("telecom")) or _contact_phone(r), 40),
        "guardian": clip(_guardian(r), 200),
        "deceased_date": parse_date(deceased, "Patient.deceasedDateTime") if deceased else None,
        "active": r.get("active") is not False,
    }
    handled = {"name", "birthDate", "gender", "active", "deceasedDateTime"}
    values["detail"] = _detail(r, handled)
    return Record("patient", _source_id(r), values, patient_ref=_source_id(r))


def _omb_codes(r: dict[str, Any], suffix: str) -> list[str]:
    ext = extension(r, suffix)
    if ext is None:
        return []
    out = []
    for sub in ext.get("extension") or []:
        if isinstance(sub, dict) and sub.get("url") == "ombCategory":
            coding = sub.get("valueCoding") or {}
            if coding.get("code"):
                out.append(str(coding["code"]))
    return out


def _race(r: dict[str, Any]) -> str:
    races = {RACE_CDC[c] for c in _omb_codes(r, "us-core-race") if c in RACE_CDC}
    if len(races) > 1:
        return "multiple"
    return races.pop() if races else "unknown"


def _ethnicity(r: dict[str, Any]) -> str:
    found = [ETHNICITY_CDC[c] for c in _omb_codes(r, "us-core-ethnicity") if c in ETHNICITY_CDC]
    return found[0] if found else "unknown"


def _phone(telecom: Any) -> str | None:
    """The phone to call: a ``telecom`` of system phone (or sms) in use, the lowest ``rank`` first, a
    mobile or home number before a work one."""
    phones = [t for t in telecom or [] if isinstance(t, dict) and t.get("system") in ("phone", "sms")
              and t.get("value") and t.get("use") != "old"]
    if not phones:
        return None
    order = {"mobile": 0, "home": 1, "temp": 2, "work": 3}
    best = min(phones, key=lambda t: (int(t.get("rank") or 99), order.get(str(t.get("use")), 2)))
    return str(best["value"])


def _contact_phone(r: dict[str, Any]) -> str | None:
    """The first ``Patient.contact`` phone: a child's number is often the parent's."""
    for contact in r.get("contact") or []:
        phone = _phone(contact.get("telecom")) if isinstance(contact, dict) else None
        if phone:
            return phone
    return None


def _guardian(r: dict[str, Any]) -> str | None:
    """The name of the first ``Patient.contact`` (a parent, guardian or next of kin) that has one: its
    ``name.text``, else its given and family names."""
    for contact in r.get("contact") or []:
        name = contact.get("name") if isinstance(contact, dict) else None
        if not isinstance(name, dict):
            continue
        given = name.get("given")
        text = name.get("text") or " ".join(
            [*(given if isinstance(given, list) else [given] if given else []), name.get("family") or ""]).strip()
        if text:
            return str(text)
    return None


def _language(r: dict[str, Any]) -> str:
    comms = [c for c in r.get("communication") or [] if isinstance(c, dict)]
    preferred = next((c for c in comms if c.get("preferred")), comms[0] if comms else None)
    if preferred is None:
        return "unknown"
    _system, code = concept_code(preferred.get("language"), "communication.language")
    if not code:
        return "unknown"
    code = code.split("-", 1)[0].lower()
    return code if code in LANGUAGE_LABELS else "other"


def map_practitioner(r: dict[str, Any], ctx: MappingContext) -> Record:
    npi = None
    for ident in r.get("identifier") or []:
        if isinstance(ident, dict) and str(ident.get("system", "")).endswith("us-npi") and ident.get("value"):
            npi = str(ident["value"])[:10]
    name = first(r.get("name"), "Practitioner.name") or {}
    given = name.get("given") if isinstance(name, dict) else None
    suffix = name.get("suffix") if isinstance(name, dict) else None
    qualification = first(r.get("qualification"), "Practitioner.qualification") or {}
    values = {
        "npi": npi,
        "given_name": clip(" ".join(given) if isinstance(given, list) else given, 100),
        "family_name": clip(name.get("family") if isinstance(name, dict) else None, 100) or "(unnamed)",
        "credentials": clip(", ".join(suffix) if isinstance(suffix, list) else suffix, 40),
        "specialty": clip(first_code(qualification.get("code"), "qualification.code")[2], 100)
        if isinstance(qualification, dict) and qualification.get("code")
        else None,
        "active": r.get("active") is not False,
    }
    return Record("provider", _source_id(r), values)


# --- Coverage ---------------------------------------------------------------------------------------------


def payer_category(system: str | None, code: str | None) -> str:
    """Our payer key for a Source of Payment Typology code (PHDSC SOP), else ``other``/``unknown``."""
    if not code:
        return "unknown"
    if system in ("sop", "https://nahdo.org/sopt", "http://www.nlm.nih.gov/research/umls/sop") or (
        system and "sop" in system.lower()
    ):
        if code.startswith("23"):
            return "chip"
        if code.startswith("2"):
            return "medicaid"
        if code[0] in "567":
            return "commercial"
        if code.startswith("8"):
            return "uninsured"
        return "other"
    return "other"


def map_coverage(r: dict[str, Any], ctx: MappingContext) -> Record:
    patient = reference_id(r.get("beneficiary"), "Patient") or reference_id(r.get("subscriber"), "Patient")
    if not patient:
        raise MappingError("Coverage.beneficiary: no Patient reference")
    system, code, display, extra = _coded(r.get("type"), "type")
    start, end = period(r.get("period"), "Coverage.period")
    payor = first(r.get("payor"), "Coverage.payor") or {}
    organization = ctx.organizations.get(reference_id(payor, "Organization") or "") if isinstance(payor, dict) else None
    if organization and organization.get("name") and isinstance(payor, dict) and not payor.get("display"):
        payor = {**payor, "display": organization["name"]}
    values = {
        "payer": payer_category(system, code),
        "payer_name": clip(payor.get("display") if isinstance(payor, dict) else None, 200) or clip(display, 200),
        "type_system": system,
        "type_code": clip(code, 32),
        "status": _status(r) or "active",
        "start": start.date() if start else None,
        "end": end.date() if end else None,
    }
    return Record("coverage", _source_id(r), values, patient_ref=patient)


# --- Encounter and Condition ------------------------------------------------------------------------------


def map_encounter(r: dict[str, Any], ctx: MappingContext) -> Record:
    cls = r.get("class")
    if isinstance(cls, list):  # R5 style: list of CodeableConcepts
        cls = first(cls, "Encounter.class")
    _cls_system, cls_code = concept_code(cls, "Encounter.class") if cls is not None else (None, None)
    types = r.get("type") or []
    if not isinstance(types, list):
        raise MappingError("Encounter.type: expected a list")
    system, code, display, extra = _coded(types[0] if types else None, "type")
    start, end = period(r.get("period"), "Encounter.period")
    reasons = r.get("reasonCode") or []
    reason_system, reason_code = concept_code(first(reasons, "Encounter.reasonCode"), "reasonCode")
    hosp = r.get("hospitalization") or {}
    dis_system, dis_code = concept_code(hosp.get("dischargeDisposition"), "dischargeDisposition") if isinstance(hosp, dict) else (None, None)
    participants = [p.get("individual") for p in r.get("participant") or [] if isinstance(p, dict)]
    diagnoses = []
    for i, diag in enumerate(r.get("diagnosis") or []):
        if not isinstance(diag, dict):
            raise MappingError(f"Encounter.diagnosis[{i}]: expected an object")
        use = first_code(diag.get("use"), "diagnosis.use")[1]
        rank = diag.get("rank")
        diagnoses.append(
            {
                "condition_ref": reference_id(diag.get("condition"), "Condition"),
                "use": clip(use, 24),
                "rank": int(rank) if isinstance(rank, int | float) else None,
            }
        )
    if len(types) > 1:
        extra["more_types"] = types[1:]
    loc_system, loc_code, more_locations = _location_type(r, ctx)
    discharge = hosp.get("dischargeDisposition") if isinstance(hosp, dict) else None
    values: dict[str, Any] = {
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "class_code": clip(cls_code, 16),
        "start": start,
        "end": end,
        "reason_system": reason_system,
        "reason_code": reason_code,
        "discharge_system": dis_system,
        "discharge_code": dis_code,
        "location_system": loc_system,
        "location_code": loc_code,
        # every type and every coding: CQL matches a value set on any of them
        "codings": encode_codings(code=more_codings((system, code), types, "Encounter.type"),
                                  reason=more_codings((reason_system, reason_code), reasons, "reasonCode"),
                                  discharge=more_codings((dis_system, dis_code), discharge, "dischargeDisposition"),
                                  location=more_locations),
        "date_only": _date_only(start=(r.get("period") or {}).get("start"), end=(r.get("period") or {}).get("end")),
    }
    handled = {"status", "type", "subject", "period", "class"}
    values["detail"] = _detail(r, handled, **extra)
    return Record("encounter", _source_id(r), values, patient_ref=_subject(r), provider_ref=_provider_ref(*participants),
                  diagnoses=diagnoses)


def _location_type(r: dict[str, Any], ctx: MappingContext) -> tuple[str | None, str | None, list[str]]:
    """The type of the first location (of Encounter.location) whose Location resource has one, and the
    keys of every other type coding of every location (a value set matches on any)."""
    first_type: tuple[str | None, str | None] = (None, None)
    concepts: list[Any] = []
    for item in r.get("location") or []:
        if not isinstance(item, dict):
            raise MappingError("Encounter.location: expected a list of objects")
        ref = reference_id(item.get("location"), "Location")
        location = None
        if ref and ref.startswith("#"):
            location = next((c for c in r.get("contained") or [] if isinstance(c, dict) and c.get("id") == ref[1:]), None)
        elif ref:
            location = ctx.locations.get(ref)
        if location:
            types = location.get("type") or []
            concepts.extend(types if isinstance(types, list) else [types])
            if first_type[1] is None:
                system, code = concept_code(first(types, "Location.type"), "Location.type")
                if code:
                    first_type = (system, code)
    return first_type[0], first_type[1], more_codings(first_type, concepts, "Location.type") if first_type[1] else []


def map_condition(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, extra = _coded(r.get("code"), "code")
    category = first_code(first(r.get("category"), "Condition.category"), "category")[1]
    subject = _subject(r)
    birth_date = ctx.birth_dates.get(subject)  # for an onset or abatement given as an age
    onset = onset_value(r, birth_date)
    abatement = abatement_value(r, birth_date)
    values: dict[str, Any] = {
        "code_system": system,
        "code": code,
        "display": display,
        "category": clip(category, 32),
        "clinical_status": clip(concept_code(r.get("clinicalStatus"), "clinicalStatus")[1], 16),
        "verification_status": clip(concept_code(r.get("verificationStatus"), "verificationStatus")[1], 24),
        "onset": parse_datetime(onset, "Condition.onset"),
        "abatement": parse_datetime(abatement, "Condition.abatement"),
        "recorded": parse_datetime(r.get("recordedDate"), "Condition.recordedDate"),
        "codings": encode_codings(code=more_codings((system, code), r.get("code"), "Condition.code"),
                                  category=more_category_codes(category, r.get("category"), "Condition.category")),
        "date_only": _date_only(onset=onset, abatement=abatement, recorded=r.get("recordedDate")),
    }
    handled = {"code", "clinicalStatus", "verificationStatus", "subject", "onsetDateTime", "abatementDateTime",
               "recordedDate", "encounter"}
    if len(r.get("category") or []) <= 1:
        handled.add("category")
    values["detail"] = _detail(r, handled, **extra)
    return Record("condition", _source_id(r), values, patient_ref=subject,
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"),
                  provider_ref=_provider_ref(r.get("asserter"), r.get("recorder")))


MAPPERS: dict[str, Mapper] = {
    "Patient": map_patient,
    "Practitioner": map_practitioner,
    "Coverage": map_coverage,
    "Encounter": map_encounter,
    "Condition": map_condition,
    "Observation": map_observation,
    "Procedure": map_procedure,
    "Immunization": map_immunization,
    "MedicationRequest": map_medication_request,
    "MedicationDispense": map_medication_dispense,
    "MedicationAdministration": map_medication_administration,
    "ServiceRequest": map_service_request,
    "Appointment": map_appointment,
}

#: resource types read for reference only (not stored as rows)
REFERENCE_ONLY = {"Medication", "Organization", "Location", "PractitionerRole", "Provenance", "ValueSet"}


def map_resource(resource: dict[str, Any], ctx: MappingContext | None = None) -> Record | None:
    """The record for one resource; ``None`` for types that are not stored. Raises ``MappingError``."""
    if not isinstance(resource, dict):
        raise MappingError("not a JSON object")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise MappingError("no resourceType")
    mapper = MAPPERS.get(rtype)
    if mapper is None:
        return None
    try:
        return mapper(resource, ctx or MappingContext())
    except MappingError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError) as exc:  # wrong shapes deep inside
        raise MappingError(f"{rtype}: malformed ({type(exc).__name__})") from exc
