"""FHIR resources map onto the store's columns without losing codes, statuses or dates."""

from __future__ import annotations

import datetime as dt

import pytest

from carenet_desktop.interchange.fhir import MappingContext, MappingError, map_resource, payer_category
from tests.interchange.fhir_samples import encounter, patient


def test_patient_demographics_from_us_core_extensions_and_communication() -> None:
    rec = map_resource(patient("p1", meta={"profile": ["http://example/unrelated-profile"]}))
    assert rec is not None and rec.kind == "patient" and rec.source_id == "p1"
    v = rec.values
    assert (v["race"], v["ethnicity"], v["language"], v["sex"]) == ("black", "not-hispanic", "es", "female")
    assert v["birth_date"] == dt.date(2020, 5, 1)
    assert v["mrn"] == "MRN-1"
    assert v["detail"]["identifier"][0]["value"] == "MRN-1"  # identifiers kept


def test_two_races_are_multiple() -> None:
    p = patient("p1")
    p["extension"][0]["extension"].append({"url": "ombCategory", "valueCoding": {"code": "2106-3"}})
    assert map_resource(p).values["race"] == "multiple"  # type: ignore[union-attr]


def test_patient_without_birth_date_is_rejected() -> None:
    p = patient("p1")
    del p["birthDate"]
    with pytest.raises(MappingError, match="birthDate"):
        map_resource(p)


def test_encounter_codes_period_reason_discharge_diagnoses_and_provider() -> None:
    e = encounter(
        "e1", "p1", start="2025-03-01T10:00:00-05:00",
        reasonCode=[{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.9"}]}],
        hospitalization={"dischargeDisposition": {"coding": [{"system": "http://snomed.info/sct", "code": "428361000124107"}]}},
        diagnosis=[{"condition": {"reference": "Condition/c1"}, "use": {"coding": [{"code": "billing"}]}, "rank": 1}],
        participant=[{"individual": {"reference": "Practitioner/dr1"}}],
        location=[{"location": {"reference": "Location/l1"}}],
    )
    e["type"][0]["coding"].append({"system": "http://snomed.info/sct", "code": "185349003"})
    rec = map_resource(e)
    assert rec is not None
    v = rec.values
    assert (v["code_system"], v["code"], v["class_code"], v["status"]) == ("cpt", "99213", "AMB", "finished")
    assert v["start"] == dt.datetime(2025, 3, 1, 10, 0)  # as written: the offset is not applied
    assert (v["reason_system"], v["reason_code"]) == ("icd10cm", "J02.9")
    assert (v["discharge_system"], v["discharge_code"]) == ("snomed", "428361000124107")
    assert rec.diagnoses == [{"condition_ref": "c1", "use": "billing", "rank": 1}]
    assert rec.provider_ref == "dr1" and rec.patient_ref == "p1"
    assert v["detail"]["type_codings"] == [{"system": "http://snomed.info/sct", "code": "185349003"}]
    assert v["detail"]["location"] == [{"location": {"reference": "Location/l1"}}]  # unmapped element kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueQuantity": {"value": 85.5, "unit": "%", "code": "%"}}, {"value_num": 85.5, "value_unit": "%"}),
        ({"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004", "display": "Positive"}]}},
         {"value_system": "snomed", "value_code": "10828004", "value_text": "Positive"}),
        ({"valueInteger": 12}, {"value_num": 12.0}),
        ({"valueBoolean": False}, {"value_num": 0.0, "value_text": "false"}),
        ({"valueString": "Positive"}, {"value_text": "Positive"}),
        ({"valueRange": {"low": {"value": 2, "unit": "mg"}, "high": {"value": 4}}}, {"value_num": 2.0, "value_unit": "mg"}),
        ({"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 4}}}, {"value_num": 0.25}),
        ({"valueDateTime": "2025-01-01T05:00:00-05:00"}, {"value_text": "2025-01-01T05:00:00"}),
    ],
)
def test_observation_values_of_every_type(value: dict, expected: dict) -> None:
    obs = {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "category": [{"coding": [{"code": "survey"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "73831-0"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-02-03",
        "issued": "2025-02-04T12:00:00Z",
        "interpretation": [{"coding": [{"code": "POS"}]}],
        **value,
    }
    v = map_resource(obs).values  # type: ignore[union-attr]
    for key, want in expected.items():
        assert v[key] == want, key
    assert v["effective_start"] == dt.datetime(2025, 2, 3) == v["effective_end"]
    assert v["issued"] == dt.datetime(2025, 2, 4, 12)
    assert (v["category"], v["interpretation"]) == ("survey", "positive")


def test_observation_not_done_reason_extension() -> None:
    obs = {
        "resourceType": "Observation", "id": "o1", "status": "cancelled",
        "code": {"coding": [{"system": "http://loinc.org", "code": "73831-0"}]},
        "subject": {"reference": "Patient/p1"}, "issued": "2025-02-04",
        "extension": [{"url": "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason",
                       "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "183932001"}]}}],
    }
    v = map_resource(obs).values  # type: ignore[union-attr]
    assert (v["status_reason_system"], v["status_reason_code"]) == ("snomed", "183932001")


def test_immunization_not_done_with_reason() -> None:
    imm = {
        "resourceType": "Immunization", "id": "i1", "status": "not-done",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]},
        "patient": {"reference": "Patient/p1"}, "occurrenceDateTime": "2024-06-01",
        "statusReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "PATOBJ"}]},
        "primarySource": True, "lotNumber": "L1",
    }
    v = map_resource(imm).values  # type: ignore[union-attr]
    assert (v["status"], v["code_system"], v["code"]) == ("not-done", "cvx", "03")
    assert v["status_reason_code"] == "PATOBJ" and v["primary_source"] is True and v["lot_number"] == "L1"


def test_medication_request_dosage_dispense_and_medication_reference() -> None:
    ctx = MappingContext()
    ctx.remember({"resourceType": "Medication", "id": "m1",
                  "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1091497"}]}})
    req = {
        "resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
        "category": [{"coding": [{"code": "community"}]}],
        "medicationReference": {"reference": "Medication/m1"},
        "subject": {"reference": "Patient/p1"}, "authoredOn": "2025-03-01", "doNotPerform": False,
        "requester": {"reference": "Practitioner/dr1"},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d",
                                                      "boundsPeriod": {"start": "2025-03-01", "end": "2025-03-31"}}},
                               "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}],
        "dispenseRequest": {"quantity": {"value": 60, "unit": "tablet"}, "numberOfRepeatsAllowed": 2,
                            "expectedSupplyDuration": {"value": 4, "code": "wk"},
                            "validityPeriod": {"start": "2025-03-01", "end": "2025-09-01"}},
    }
    rec = map_resource(req, ctx)
    assert rec is not None
    v = rec.values
    assert (v["code_system"], v["code"], v["intent"], v["category"]) == ("rxnorm", "1091497", "order", "community")
    assert (v["dose_quantity"], v["dose_unit"], v["timing_frequency"], v["timing_period"], v["timing_period_unit"]) == (
        1.0, "tablet", 2, 1.0, "d")
    assert v["boundary_start"] == dt.datetime(2025, 3, 1) and v["boundary_end"] == dt.datetime(2025, 3, 31)
    assert (v["dispense_quantity"], v["supply_days"], v["repeats_allowed"]) == (60.0, 28.0, 2)
    assert v["validity_end"] == dt.datetime(2025, 9, 1)
    assert v["do_not_perform"] is False and rec.provider_ref == "dr1"


def test_service_request_status_reason_extension_and_reason() -> None:
    sr = {
        "resourceType": "ServiceRequest", "id": "s1", "status": "completed", "intent": "order",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "385763009"}]},
        "subject": {"reference": "Patient/p1"}, "authoredOn": "2025-01-02T00:00:00.000Z",
        "occurrenceDateTime": "2025-01-03", "doNotPerform": True,
        "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "123"}]}],
        "encounter": {"reference": "Encounter/e1"},
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/request-statusReason",
                       "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "105480006"}]}}],
    }
    rec = map_resource(sr)
    assert rec is not None and rec.encounter_ref == "e1"
    v = rec.values
    assert (v["reason_code"], v["status_reason_code"], v["do_not_perform"]) == ("123", "105480006", True)
    assert v["occurrence"] == dt.datetime(2025, 1, 3)


def test_procedure_recorded_extension_and_period() -> None:
    proc = {
        "resourceType": "Procedure", "id": "pr1", "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "385763009"}]},
        "subject": {"reference": "Patient/p1"},
        "performedPeriod": {"start": "2025-12-31T00:00:00.000Z", "end": "2025-12-31T23:59:59.000Z"},
        "extension": [{"url": "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-recorded",
                       "valueDateTime": "2025-12-30"}],
    }
    v = map_resource(proc).values  # type: ignore[union-attr]
    assert v["performed_start"] == dt.datetime(2025, 12, 31) and v["performed_end"] == dt.datetime(2025, 12, 31, 23, 59, 59)
    assert v["recorded"] == dt.datetime(2025, 12, 30)


def test_condition_statuses_onset_abatement() -> None:
    cond = {
        "resourceType": "Condition", "id": "c1",
        "clinicalStatus": {"coding": [{"code": "resolved"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "category": [{"coding": [{"code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.0"}]},
        "subject": {"reference": "Patient/p1"},
        "onsetPeriod": {"start": "2025-01-01"}, "abatementDateTime": "2025-01-10", "recordedDate": "2025-01-02",
    }
    v = map_resource(cond).values  # type: ignore[union-attr]
    assert (v["clinical_status"], v["verification_status"], v["category"]) == ("resolved", "confirmed", "encounter-diagnosis")
    assert (v["onset"], v["abatement"], v["recorded"]) == (dt.datetime(2025, 1, 1), dt.datetime(2025, 1, 10), dt.datetime(2025, 1, 2))


def test_coverage_payer_from_source_of_payment_typology() -> None:
    assert payer_category("https://nahdo.org/sopt", "21") == "medicaid"
    assert payer_category("https://nahdo.org/sopt", "23") == "chip"
    assert payer_category("https://nahdo.org/sopt", "51") == "commercial"
    assert payer_category("https://nahdo.org/sopt", "81") == "uninsured"
    assert payer_category(None, None) == "unknown"


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Encounter", "id": "e1", "status": "finished"},  # no subject
        {"resourceType": "Immunization", "id": "i1", "patient": {"reference": "Patient/p1"}, "occurrenceDateTime": "soon"},
        {"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/p1"}, "valueInteger": "12"},
        {"resourceType": "Condition", "subject": {"reference": "Patient/p1"}},  # no id
        {"resourceType": "Encounter", "id": "e1", "subject": {"reference": "Patient/p1"}, "type": "AMB"},
    ],
)
def test_malformed_resources_raise_mapping_error(resource: dict) -> None:
    with pytest.raises(MappingError):
        map_resource(resource)


def test_unstored_types_map_to_none() -> None:
    assert map_resource({"resourceType": "Organization", "id": "o1"}) is None


def test_encounter_location_type_from_the_location_resource() -> None:
    ctx = MappingContext()
    ctx.remember({"resourceType": "Location", "id": "loc1",
                  "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "35971002"}]}]})
    e = encounter("e1", "p1", location=[{"location": {"reference": "Location/unknown"}},
                                       {"location": {"reference": "Location/loc1"}}])
    v = map_resource(e, ctx).values  # type: ignore[union-attr]
    assert (v["location_system"], v["location_code"]) == ("snomed", "35971002")
    assert len(v["detail"]["location"]) == 2  # every location reference kept
    assert map_resource(encounter("e2", "p1"), ctx).values["location_code"] is None  # type: ignore[union-attr]


def test_patient_phone_and_guardian_from_telecom_and_contact() -> None:
    p = patient("p1")
    p["telecom"] = [{"system": "email", "value": "a@example.org"},
                    {"system": "phone", "value": "555-0100", "use": "work"},
                    {"system": "phone", "value": "555-0199", "use": "mobile"},
                    {"system": "phone", "value": "555-0000", "use": "old"}]
    p["contact"] = [{"relationship": [{"text": "Mother"}], "name": {"given": ["Rosa"], "family": "Diaz"},
                     "telecom": [{"system": "phone", "value": "555-0123"}]}]
    values = map_resource(p).values  # type: ignore[union-attr]
    assert (values["phone"], values["guardian"]) == ("555-0199", "Rosa Diaz")
    del p["telecom"]
    values = map_resource(p).values  # type: ignore[union-attr]
    assert values["phone"] == "555-0123"  # the parent's number when the child has none
    p["contact"] = [{"name": {"text": "Pat Doe (foster parent)"}}]
    values = map_resource(p).values  # type: ignore[union-attr]
    assert (values["phone"], values["guardian"]) == (None, "Pat Doe (foster parent)")
