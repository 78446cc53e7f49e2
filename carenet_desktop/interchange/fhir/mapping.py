"""FHIR R4 resources -> ``Record`` rows for the store's tables (pure: no database, no I/O).

Each mapper takes the primary coding of a CodeableConcept into the code columns and keeps everything the
table has no column for (further codings, extensions, unmapped elements) in ``detail``, so nothing is lost.
``meta`` (profiles) and the narrative ``text`` are ignored: the mapping never depends on profiles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...codes import ETHNICITY_CDC, RACE_CDC
from .records import Record
from .values import (
    MappingError,
    clip,
    codings,
    concept_code,
    duration_days,
    extension,
    first,
    first_code,
    parse_date,
    parse_datetime,
    period,
    quantity,
    reference_id,
)

_IGNORED = {"resourceType", "id", "meta", "text"}

Mapper = Callable[[dict[str, Any], "MappingContext"], Record]


class MappingContext:
    """Resources of the same file that others may point to (Medication, contained resources)."""

    def __init__(self) -> None:
        self.medications: dict[str, dict[str, Any]] = {}
        self.organizations: dict[str, dict[str, Any]] = {}

    def remember(self, resource: dict[str, Any]) -> None:
        """Keep a resource that others may reference (call for every resource before mapping)."""
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if isinstance(rid, str):
            if rtype == "Medication":
                self.medications[rid] = resource
            elif rtype == "Organization":
                self.organizations[rid] = resource

    def medication_code(self, resource: dict[str, Any]) -> tuple[str | None, str | None, str | None, list[dict[str, Any]]]:
        if "medicationCodeableConcept" in resource:
            return first_code(resource["medicationCodeableConcept"], "medicationCodeableConcept")
        ref = resource.get("medicationReference")
        if ref is None:
            return None, None, None, []
        ref_id = reference_id(ref, "Medication")
        medication: dict[str, Any] | None = None
        if ref_id and ref_id.startswith("#"):
            medication = next(
                (c for c in resource.get("contained") or [] if isinstance(c, dict) and c.get("id") == ref_id[1:]), None
            )
        elif ref_id:
            medication = self.medications.get(ref_id)
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
    if resource.get(element) is not None:
        return concept_code(resource[element], element)
    ext = extension(resource, "request-statusReason", "qicore-notDoneReason", "event-statusReason",
                    "qicore-doNotPerformReason")
    if ext is not None:
        return concept_code(ext.get("valueCodeableConcept"), "statusReason extension")
    return None, None


def _provider_ref(*refs: Any) -> str | None:
    for ref in refs:
        if isinstance(ref, dict):
            found = reference_id(ref, "Practitioner")
            if found:
                return found
    return None


# --- Patient and Practitioner ----------------------------------------------------------------------------

_SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def map_patient(r: dict[str, Any], ctx: MappingContext) -> Record:
    birth = r.get("birthDate")
    if not birth:
        raise MappingError("Patient.birthDate: missing")
    birth_date = parse_date(birth, "Patient.birthDate")
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


def _language(r: dict[str, Any]) -> str:
    comms = [c for c in r.get("communication") or [] if isinstance(c, dict)]
    preferred = next((c for c in comms if c.get("preferred")), comms[0] if comms else None)
    if preferred is None:
        return "unknown"
    _system, code = concept_code(preferred.get("language"), "communication.language")
    if not code:
        return "unknown"
    code = code.split("-", 1)[0].lower()
    from ...codes import LANGUAGE_LABELS

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
    reason_system, reason_code = concept_code(first(r.get("reasonCode"), "Encounter.reasonCode"), "reasonCode")
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
    values = {
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
    }
    handled = {"status", "type", "subject", "period", "class"}
    values["detail"] = _detail(r, handled, **extra)
    return Record("encounter", _source_id(r), values, patient_ref=_subject(r), provider_ref=_provider_ref(*participants),
                  diagnoses=diagnoses)


def map_condition(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, extra = _coded(r.get("code"), "code")
    category = first_code(first(r.get("category"), "Condition.category"), "category")[1]
    onset = r.get("onsetDateTime")
    if onset is None and isinstance(r.get("onsetPeriod"), dict):
        onset = r["onsetPeriod"].get("start")
    abatement = r.get("abatementDateTime")
    if abatement is None and isinstance(r.get("abatementPeriod"), dict):
        abatement = r["abatementPeriod"].get("end") or r["abatementPeriod"].get("start")
    values = {
        "code_system": system,
        "code": code,
        "display": display,
        "category": clip(category, 32),
        "clinical_status": clip(concept_code(r.get("clinicalStatus"), "clinicalStatus")[1], 16),
        "verification_status": clip(concept_code(r.get("verificationStatus"), "verificationStatus")[1], 24),
        "onset": parse_datetime(onset, "Condition.onset"),
        "abatement": parse_datetime(abatement, "Condition.abatement"),
        "recorded": parse_datetime(r.get("recordedDate"), "Condition.recordedDate"),
    }
    handled = {"code", "clinicalStatus", "verificationStatus", "subject", "onsetDateTime", "abatementDateTime",
               "recordedDate", "encounter"}
    if len(r.get("category") or []) <= 1:
        handled.add("category")
    values["detail"] = _detail(r, handled, **extra)
    return Record("condition", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"),
                  provider_ref=_provider_ref(r.get("asserter"), r.get("recorder")))


# --- Observation ------------------------------------------------------------------------------------------

_INTERPRETATION = {
    "POS": "positive", "DET": "positive", "NEG": "negative", "ND": "negative", "N": "normal",
    "A": "abnormal", "AA": "abnormal", "H": "abnormal", "HH": "abnormal", "L": "abnormal", "LL": "abnormal",
    "HU": "abnormal", "LU": "abnormal",
}


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


def map_observation(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, extra = _coded(r.get("code"), "code")
    eff_start, eff_end = _effective(r, "effective")
    values: dict[str, Any] = {
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "category": clip(first_code(first(r.get("category"), "Observation.category"), "category")[1], 32),
        "effective_start": eff_start,
        "effective_end": eff_end,
        "issued": parse_datetime(r.get("issued"), "Observation.issued"),
    }
    value_key = next((k for k in r if k.startswith("value")), None)
    handled = {"status", "code", "subject", "effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued",
               "encounter", "interpretation"}
    if len(r.get("category") or []) <= 1:
        handled.add("category")
    if value_key is not None:
        _map_value(value_key, r[value_key], values, extra)
        handled.add(value_key)
    interp_codes = [concept_code(c, "interpretation")[1] for c in r.get("interpretation") or []]
    interp = next((c for c in interp_codes if c), None)
    if interp is not None:
        values["interpretation"] = _INTERPRETATION.get(interp, clip(interp, 16))
        if interp not in _INTERPRETATION or len(interp_codes) > 1:
            extra["interpretation"] = r.get("interpretation")
    values["status_reason_system"], values["status_reason_code"] = _status_reason(r, "statusReason")
    values["detail"] = _detail(r, handled, **extra)
    performer = [p for p in r.get("performer") or [] if isinstance(p, dict)]
    return Record("observation", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"), provider_ref=_provider_ref(*performer))


def _map_value(key: str, value: Any, values: dict[str, Any], extra: dict[str, Any]) -> None:
    """Observation.value[x] of every type into value_num/unit, value_system/code and value_text."""
    kind = key[len("value"):]
    if kind == "Quantity":
        values["value_num"], values["value_unit"] = quantity(value, "valueQuantity")
        if isinstance(value, dict) and value.get("comparator"):
            extra["value_comparator"] = value["comparator"]
    elif kind == "CodeableConcept":
        system, code, display, others = first_code(value, "valueCodeableConcept")
        values["value_system"], values["value_code"], values["value_text"] = system, code, display
        if others:
            extra["value_codings"] = others
    elif kind == "Coding":
        system, code, display, _others = first_code(value, "valueCoding")
        values["value_system"], values["value_code"], values["value_text"] = system, code, display
    elif kind in ("Integer", "Decimal"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise MappingError(f"{key}: not a number")
        values["value_num"] = float(value)
        extra["value_type"] = kind
    elif kind == "Boolean":
        if not isinstance(value, bool):
            raise MappingError("valueBoolean: not a boolean")
        values["value_num"] = 1.0 if value else 0.0
        values["value_text"] = "true" if value else "false"
        extra["value_type"] = kind
    elif kind in ("String", "Time"):
        values["value_text"] = clip(value, 255)
        extra["value_type"] = kind
    elif kind == "DateTime":
        moment = parse_datetime(value, "valueDateTime")
        values["value_text"] = moment.isoformat() if moment else None
        extra["value_type"] = kind
    elif kind == "Period":
        start, end = period(value, "valuePeriod")
        values["value_text"] = f"{start.isoformat() if start else ''}..{end.isoformat() if end else ''}"
        extra["value"] = value
        extra["value_type"] = kind
    elif kind == "Range":
        low, unit = quantity(value.get("low") if isinstance(value, dict) else None, "valueRange.low")
        high, unit_high = quantity(value.get("high") if isinstance(value, dict) else None, "valueRange.high")
        values["value_num"] = low if low is not None else high
        values["value_unit"] = unit or unit_high
        extra["value"] = value
        extra["value_type"] = kind
    elif kind == "Ratio":
        num, unit = quantity(value.get("numerator") if isinstance(value, dict) else None, "valueRatio.numerator")
        den, _ = quantity(value.get("denominator") if isinstance(value, dict) else None, "valueRatio.denominator")
        values["value_num"] = num / den if num is not None and den else None
        values["value_unit"] = unit
        extra["value"] = value
        extra["value_type"] = kind
    else:  # SampledData and anything newer: kept whole
        extra["value"] = value
        extra["value_type"] = kind


# --- Procedure, Immunization ------------------------------------------------------------------------------


def map_procedure(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, extra = _coded(r.get("code"), "code")
    start, end = _effective(r, "performed")
    if start is None and "performedString" in r:
        extra["performedString"] = r["performedString"]
    recorded_ext = extension(r, "qicore-recorded", "event-recorded")
    sr_system, sr_code = _status_reason(r)
    values = {
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "performed_start": start,
        "performed_end": end,
        "recorded": parse_datetime(recorded_ext.get("valueDateTime"), "recorded extension") if recorded_ext else None,
        "status_reason_system": sr_system,
        "status_reason_code": sr_code,
    }
    handled = {"status", "code", "subject", "performedDateTime", "performedPeriod", "statusReason", "encounter"}
    values["detail"] = _detail(r, handled, **extra)
    performers = [p.get("actor") for p in r.get("performer") or [] if isinstance(p, dict)]
    return Record("procedure", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"), provider_ref=_provider_ref(*performers))


def map_immunization(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, extra = _coded(r.get("vaccineCode"), "vaccineCode")
    occurrence = parse_datetime(r.get("occurrenceDateTime"), "Immunization.occurrenceDateTime")
    sr_system, sr_code = _status_reason(r)
    primary = r.get("primarySource")
    values = {
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "occurrence": occurrence,
        "recorded": parse_datetime(r.get("recorded"), "Immunization.recorded"),
        "primary_source": primary if isinstance(primary, bool) else None,
        "status_reason_system": sr_system,
        "status_reason_code": sr_code,
        "lot_number": clip(r.get("lotNumber"), 40),
    }
    handled = {"status", "vaccineCode", "patient", "occurrenceDateTime", "recorded", "primarySource",
               "statusReason", "lotNumber"}
    values["detail"] = _detail(r, handled, **extra)
    performers = [p.get("actor") for p in r.get("performer") or [] if isinstance(p, dict)]
    return Record("immunization", _source_id(r), values, patient_ref=_subject(r, "patient"),
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"), provider_ref=_provider_ref(*performers))


# --- Medications ------------------------------------------------------------------------------------------


def map_medication_request(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, others = ctx.medication_code(r)
    extra: dict[str, Any] = {"medication_codings": others} if others else {}
    dosage = first(r.get("dosageInstruction"), "MedicationRequest.dosageInstruction") or {}
    if not isinstance(dosage, dict):
        raise MappingError("MedicationRequest.dosageInstruction: expected an object")
    timing = dosage.get("timing") or {}
    repeat = timing.get("repeat") or {} if isinstance(timing, dict) else {}
    if not isinstance(repeat, dict):
        raise MappingError("dosageInstruction.timing.repeat: expected an object")
    dose_rate = first(dosage.get("doseAndRate"), "dosageInstruction.doseAndRate") or {}
    dose_value, dose_unit = None, None
    if isinstance(dose_rate, dict):
        if "doseQuantity" in dose_rate:
            dose_value, dose_unit = quantity(dose_rate["doseQuantity"], "doseQuantity")
        elif "doseRange" in dose_rate:  # the CQL uses the high end of a range
            rng = dose_rate["doseRange"] or {}
            dose_value, dose_unit = quantity(rng.get("high") or rng.get("low"), "doseRange")
    bound_start, bound_end = period(repeat.get("boundsPeriod"), "timing.repeat.boundsPeriod")
    dispense = r.get("dispenseRequest") or {}
    if not isinstance(dispense, dict):
        raise MappingError("MedicationRequest.dispenseRequest: expected an object")
    disp_qty, disp_unit = quantity(dispense.get("quantity"), "dispenseRequest.quantity")
    validity_start, validity_end = period(dispense.get("validityPeriod"), "dispenseRequest.validityPeriod")
    repeats = dispense.get("numberOfRepeatsAllowed")
    frequency = repeat.get("frequencyMax") or repeat.get("frequency")
    if len(r.get("dosageInstruction") or []) > 1:
        extra["more_dosage_instructions"] = r["dosageInstruction"][1:]
    leftover_dosage = {k: v for k, v in dosage.items() if k not in ("timing", "doseAndRate")}
    leftover_repeat = {k: v for k, v in repeat.items()
                       if k not in ("boundsPeriod", "frequency", "frequencyMax", "period", "periodUnit")}
    if leftover_dosage:
        extra["dosage"] = leftover_dosage
    if leftover_repeat:
        extra["timing_repeat"] = leftover_repeat
    if timing.get("code") or timing.get("event"):
        extra["timing"] = {k: v for k, v in timing.items() if k != "repeat"}
    sr_system, sr_code = _status_reason(r)
    values = {
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "intent": clip(r.get("intent"), 24),
        "category": clip(first_code(first(r.get("category"), "MedicationRequest.category"), "category")[1], 32),
        "authored_on": parse_datetime(r.get("authoredOn"), "MedicationRequest.authoredOn"),
        "do_not_perform": r.get("doNotPerform") if isinstance(r.get("doNotPerform"), bool) else None,
        "dose_quantity": dose_value,
        "dose_unit": dose_unit,
        "timing_frequency": int(frequency) if isinstance(frequency, int | float) else None,
        "timing_period": float(repeat["period"]) if isinstance(repeat.get("period"), int | float) else None,
        "timing_period_unit": clip(repeat.get("periodUnit"), 8),
        "boundary_start": bound_start,
        "boundary_end": bound_end,
        "dispense_quantity": disp_qty,
        "dispense_unit": disp_unit,
        "supply_days": duration_days(dispense.get("expectedSupplyDuration"), "expectedSupplyDuration"),
        "repeats_allowed": int(repeats) if isinstance(repeats, int | float) else None,
        "validity_start": validity_start,
        "validity_end": validity_end,
        "status_reason_system": sr_system,
        "status_reason_code": sr_code,
    }
    leftover_dispense = {k: v for k, v in dispense.items()
                         if k not in ("quantity", "validityPeriod", "numberOfRepeatsAllowed", "expectedSupplyDuration")}
    if leftover_dispense:
        extra["dispense_request"] = leftover_dispense
    handled = {"status", "intent", "medicationCodeableConcept", "subject", "authoredOn", "doNotPerform",
               "dosageInstruction", "dispenseRequest", "statusReason", "requester", "encounter"}
    if len(r.get("category") or []) <= 1:
        handled.add("category")
    values["detail"] = _detail(r, handled, **extra)
    return Record("medication_request", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"), provider_ref=_provider_ref(r.get("requester")))


def map_medication_dispense(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, others = ctx.medication_code(r)
    extra: dict[str, Any] = {"medication_codings": others} if others else {}
    when = r.get("whenHandedOver") or r.get("whenPrepared")
    moment = parse_datetime(when, "MedicationDispense.whenHandedOver")
    qty, unit = quantity(r.get("quantity"), "MedicationDispense.quantity")
    values = {
        "kind": "dispense",
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "when_start": moment,
        "when_end": None,
        "quantity": qty,
        "quantity_unit": unit,
        "days_supply": duration_days(r.get("daysSupply"), "MedicationDispense.daysSupply"),
    }
    handled = {"status", "medicationCodeableConcept", "subject", "whenHandedOver", "quantity", "daysSupply"}
    values["detail"] = _detail(r, handled, **extra)
    performers = [p.get("actor") for p in r.get("performer") or [] if isinstance(p, dict)]
    return Record("medication_dispense", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("context"), "Encounter"), provider_ref=_provider_ref(*performers))


def map_medication_administration(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, others = ctx.medication_code(r)
    extra: dict[str, Any] = {"medication_codings": others} if others else {}
    start, end = _effective(r, "effective")
    dosage = r.get("dosage") or {}
    qty, unit = quantity(dosage.get("dose") if isinstance(dosage, dict) else None, "MedicationAdministration.dosage.dose")
    values = {
        "kind": "administration",
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "when_start": start,
        "when_end": end,
        "quantity": qty,
        "quantity_unit": unit,
        "days_supply": None,
    }
    handled = {"status", "medicationCodeableConcept", "subject", "effectiveDateTime", "effectivePeriod"}
    values["detail"] = _detail(r, handled, **extra)
    performers = [p.get("actor") for p in r.get("performer") or [] if isinstance(p, dict)]
    return Record("medication_dispense", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("context"), "Encounter"), provider_ref=_provider_ref(*performers))


# --- ServiceRequest ---------------------------------------------------------------------------------------


def map_service_request(r: dict[str, Any], ctx: MappingContext) -> Record:
    system, code, display, extra = _coded(r.get("code"), "code")
    occurrence = None
    if "occurrenceDateTime" in r:
        occurrence = parse_datetime(r["occurrenceDateTime"], "ServiceRequest.occurrenceDateTime")
    elif "occurrencePeriod" in r:
        occurrence = period(r["occurrencePeriod"], "ServiceRequest.occurrencePeriod")[0]
    reason_system, reason_code = concept_code(first(r.get("reasonCode"), "ServiceRequest.reasonCode"), "reasonCode")
    sr_system, sr_code = _status_reason(r)
    values = {
        "status": _status(r),
        "code_system": system,
        "code": code,
        "display": display,
        "intent": clip(r.get("intent"), 24),
        "authored_on": parse_datetime(r.get("authoredOn"), "ServiceRequest.authoredOn"),
        "occurrence": occurrence,
        "do_not_perform": r.get("doNotPerform") if isinstance(r.get("doNotPerform"), bool) else None,
        "reason_system": reason_system,
        "reason_code": reason_code,
        "status_reason_system": sr_system,
        "status_reason_code": sr_code,
    }
    handled = {"status", "code", "subject", "intent", "authoredOn", "occurrenceDateTime", "doNotPerform", "encounter"}
    if len(r.get("reasonCode") or []) <= 1:
        handled.add("reasonCode")
    values["detail"] = _detail(r, handled, **extra)
    return Record("service_request", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"), provider_ref=_provider_ref(r.get("requester")))


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
