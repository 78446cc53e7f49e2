"""Mappers of clinical events: Observation, Procedure, Immunization, medications, ServiceRequest."""

from __future__ import annotations

from typing import Any

from .common import (
    MappingContext,
    _coded,
    _date_only,
    _detail,
    _effective,
    _ends,
    _provider_ref,
    _source_id,
    _status,
    _status_reason,
    _status_reason_concept,
    _subject,
)
from .records import Record
from .values import (
    MappingError,
    clip,
    concept_code,
    duration_days,
    encode_codings,
    extension,
    first,
    first_code,
    more_category_codes,
    more_codings,
    parse_datetime,
    period,
    quantity,
    reference_id,
)

# --- Observation ------------------------------------------------------------------------------------------

_INTERPRETATION = {
    "POS": "positive", "DET": "positive", "NEG": "negative", "ND": "negative", "N": "normal",
    "A": "abnormal", "AA": "abnormal", "H": "abnormal", "HH": "abnormal", "L": "abnormal", "LL": "abnormal",
    "HU": "abnormal", "LU": "abnormal",
}


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
    value_concept = r.get("valueCodeableConcept")
    values["codings"] = encode_codings(
        code=more_codings((system, code), r.get("code"), "Observation.code"),
        category=more_category_codes(values["category"], r.get("category"), "Observation.category"),
        value=more_codings((values.get("value_system"), values.get("value_code")), value_concept, "valueCodeableConcept")
        if value_concept is not None else [],
        status_reason=more_codings((values["status_reason_system"], values["status_reason_code"]),
                                   _status_reason_concept(r), "statusReason"),
    )
    effective = r.get("effectiveDateTime", r.get("effectiveInstant", r.get("effectivePeriod")))
    eff_start_raw, eff_end_raw = _ends(effective)
    values["date_only"] = _date_only(effective_start=eff_start_raw, effective_end=eff_end_raw, issued=r.get("issued"))
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
        "codings": encode_codings(
            code=more_codings((system, code), r.get("code"), "Procedure.code"),
            status_reason=more_codings((sr_system, sr_code), _status_reason_concept(r), "statusReason")),
        "date_only": _date_only(performed_start=_ends(r.get("performedDateTime", r.get("performedPeriod")))[0],
                                performed_end=_ends(r.get("performedDateTime", r.get("performedPeriod")))[1],
                                recorded=recorded_ext.get("valueDateTime") if recorded_ext else None),
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
    values: dict[str, Any] = {
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
        "codings": encode_codings(
            code=more_codings((system, code), r.get("vaccineCode"), "vaccineCode"),
            status_reason=more_codings((sr_system, sr_code), _status_reason_concept(r), "statusReason")),
        "date_only": _date_only(occurrence=r.get("occurrenceDateTime"), recorded=r.get("recorded")),
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
        # RxNorm and NDC (and any other coding), from the request or the referenced Medication
        "codings": encode_codings(
            code=more_codings((system, code), ctx.medication_concept(r), "medication"),
            category=more_category_codes(
                first_code(first(r.get("category"), "MedicationRequest.category"), "category")[1], r.get("category")),
            status_reason=more_codings((sr_system, sr_code), _status_reason_concept(r), "statusReason")),
        "date_only": _date_only(authored_on=r.get("authoredOn"), boundary_start=repeat.get("boundsPeriod"),
                                boundary_end=repeat.get("boundsPeriod"), validity_start=dispense.get("validityPeriod"),
                                validity_end=dispense.get("validityPeriod")),
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
    values: dict[str, Any] = {
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
        "codings": encode_codings(code=more_codings((system, code), ctx.medication_concept(r), "medication")),
        "date_only": _date_only(when_start=when),
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
        "codings": encode_codings(code=more_codings((system, code), ctx.medication_concept(r), "medication")),
        "date_only": _date_only(when_start=_ends(r.get("effectiveDateTime", r.get("effectivePeriod")))[0],
                                when_end=_ends(r.get("effectiveDateTime", r.get("effectivePeriod")))[1]),
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
    reasons = r.get("reasonCode") or []
    reason_system, reason_code = concept_code(first(reasons, "ServiceRequest.reasonCode"), "reasonCode")
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
        "codings": encode_codings(
            code=more_codings((system, code), r.get("code"), "ServiceRequest.code"),
            reason=more_codings((reason_system, reason_code), reasons, "reasonCode"),
            status_reason=more_codings((sr_system, sr_code), _status_reason_concept(r), "statusReason")),
        "date_only": _date_only(authored_on=r.get("authoredOn"),
                                occurrence=r.get("occurrenceDateTime", r.get("occurrencePeriod"))),
    }
    handled = {"status", "code", "subject", "intent", "authoredOn", "occurrenceDateTime", "doNotPerform", "encounter"}
    if len(r.get("reasonCode") or []) <= 1:
        handled.add("reasonCode")
    values["detail"] = _detail(r, handled, **extra)
    return Record("service_request", _source_id(r), values, patient_ref=_subject(r),
                  encounter_ref=reference_id(r.get("encounter"), "Encounter"), provider_ref=_provider_ref(r.get("requester")))

