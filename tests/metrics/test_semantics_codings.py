"""Issue 21, class 1: every coding of every CodeableConcept is kept and a value set matches on any of them.

Each test goes through the real path (FHIR file or CSV -> store -> frames -> value-set matching), so it
fails wherever one coding is dropped: in the mapping, the store, the loader or the matcher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.measures._immunization import code_tags
from carenet_desktop.metrics.primitives import code_mask, vs_mask
from carenet_desktop.metrics.valuesets import ValueSetIndex
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.fhir_import import import_fhir
from carenet_desktop.services.measure_data import load_measure_data
from tests.interchange.fhir_samples import bundle, encounter, patient, write, write_ndjson

CPT = "http://www.ama-assn.org/go/cpt"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
LOCAL = "urn:oid:1.2.3.4.5"

VISITS = ValueSetIndex({"office-visit": [("cpt", "99213")]})


def _load(tmp_path: Path, *files: Path) -> MeasureData:
    db = open_database(tmp_path / "store.db")
    try:
        result = import_fhir(ServiceContext(db, username="t"), list(files))
        assert not result.problems, result.problems
        data = load_measure_data(db, with_valuesets=False)
    finally:
        db.dispose()
    return data


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"system": system, "code": code}


def test_a_second_encounter_type_matches_a_value_set(tmp_path: Path) -> None:
    """Encounter.type with two types: the SNOMED one first, the CPT office visit second."""
    enc = encounter("e1", "p1", type=[{"coding": [_coding(SCT, "185349003")]}, {"coding": [_coding(CPT, "99213")]}])
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), enc)))
    data.valuesets = VISITS
    assert vs_mask(data, data.encounters, "office-visit").tolist() == [True]


def test_every_coding_of_one_type_matches_in_any_order(tmp_path: Path) -> None:
    """One type with a SNOMED and a CPT coding (both known systems, SNOMED first)."""
    enc = encounter("e1", "p1", type=[{"coding": [_coding(SCT, "185349003"), _coding(CPT, "99213")]}])
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), enc)))
    data.valuesets = VISITS
    assert vs_mask(data, data.encounters, "office-visit").tolist() == [True]
    assert code_mask(data.encounters, "cpt", "99213").tolist() == [True]
    assert code_mask(data.encounters, "snomed", "185349003").tolist() == [True]
    assert code_mask(data.encounters, "snomed", "99213").tolist() == [False]  # system and code together


def test_observation_code_and_value_match_on_any_coding(tmp_path: Path) -> None:
    obs = {
        "resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
        "code": {"coding": [_coding(LOCAL, "PHQ9-TOT"), _coding(LOINC, "00000-0"), _coding(LOINC, "44261-6")]},
        "effectiveDateTime": "2025-03-01T10:00:00Z",
        "valueCodeableConcept": {"coding": [_coding(SCT, "1111"), _coding(SCT, "428181000124104")]},
    }
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), obs)))
    data.valuesets = ValueSetIndex({"phq": [("loinc", "44261-6")], "pos": [("snomed", "428181000124104")]})
    assert vs_mask(data, data.observations, "phq").tolist() == [True]
    assert vs_mask(data, data.observations, "pos", column="value_key").tolist() == [True]


def test_condition_and_reason_codes_match_on_any_coding(tmp_path: Path) -> None:
    cond = {
        "resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [_coding(SCT, "43878008"), _coding("http://hl7.org/fhir/sid/icd-10-cm", "J02.0")]},
        "onsetDateTime": "2025-03-01T10:00:00Z",
    }
    enc = encounter("e1", "p1", reasonCode=[{"coding": [_coding(SCT, "1")]},
                                            {"coding": [_coding("http://hl7.org/fhir/sid/icd-10-cm", "F32.0")]}])
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), cond, enc)))
    data.valuesets = ValueSetIndex({"strep": [("icd10cm", "J02.0")], "mdd": [("icd10cm", "F32.0")]})
    assert vs_mask(data, data.conditions, "strep").tolist() == [True]
    assert vs_mask(data, data.encounters, "mdd", column="reason_key").tolist() == [True]
    # many code sets at once (the immunisation measures' bit masks) see every coding too
    assert code_tags(data.conditions, [frozenset({"icd10cm|J02.0"}), frozenset({"snomed|43878008"})]).tolist() == [3]


def _request(rid: str, **medication: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "subject": {"reference": "Patient/p1"}, "authoredOn": "2025-03-01", **medication}


def test_medication_rxnorm_and_ndc_both_match(tmp_path: Path) -> None:
    request = _request("m1", medicationCodeableConcept={"coding": [_coding(NDC, "00093-4150-73"),
                                                                   _coding(RXNORM, "308182")]})
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), request)))
    data.valuesets = ValueSetIndex({"amox-rx": [("rxnorm", "308182")], "amox-ndc": [("ndc", "00093-4150-73")]})
    assert vs_mask(data, data.medication_requests, "amox-rx").tolist() == [True]
    assert vs_mask(data, data.medication_requests, "amox-ndc").tolist() == [True]


def test_medication_reference_resolved_across_bulk_files(tmp_path: Path) -> None:
    """Bulk NDJSON puts Medications in a file of their own: a request's medicationReference still counts,
    with every coding of the Medication."""
    medication = {"resourceType": "Medication", "id": "med1",
                  "code": {"coding": [_coding(NDC, "00093-4150-73"), _coding(RXNORM, "308182")]}}
    folder = tmp_path / "bulk"
    write_ndjson(folder / "Patient.ndjson", [patient("p1")])
    write_ndjson(folder / "Medication.ndjson", [medication])
    write_ndjson(folder / "MedicationRequest.ndjson",
                 [_request("m1", medicationReference={"reference": "Medication/med1"})])
    data = _load(tmp_path, folder)
    data.valuesets = ValueSetIndex({"amox": [("rxnorm", "308182")]})
    assert vs_mask(data, data.medication_requests, "amox").tolist() == [True]


def test_a_contained_medication_counts(tmp_path: Path) -> None:
    request = _request("m1", medicationReference={"reference": "#med"},
                       contained=[{"resourceType": "Medication", "id": "med",
                                   "code": {"coding": [_coding(LOCAL, "AMOX500"), _coding(RXNORM, "308182")]}}])
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), request)))
    data.valuesets = ValueSetIndex({"amox": [("rxnorm", "308182")]})
    assert vs_mask(data, data.medication_requests, "amox").tolist() == [True]


def test_non_matching_extra_codings_change_nothing(tmp_path: Path) -> None:
    plain = encounter("e1", "p1")
    noisy = encounter("e2", "p1", type=[{"coding": [_coding(LOCAL, "OV"), _coding(SCT, "1"), _coding(CPT, "99213")]},
                                        {"coding": [_coding(LOCAL, "X")]}])
    other = encounter("e3", "p1", type=[{"coding": [_coding(LOCAL, "OV"), _coding(CPT, "99999")]}])
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), plain, noisy, other)))
    data.valuesets = VISITS
    assert vs_mask(data, data.encounters, "office-visit").tolist() == [True, True, False]


@pytest.mark.parametrize("rows", [20, 30_000])  # both matching paths: plain isin and the cached factorisation
def test_matching_a_cell_with_several_keys_small_and_large_frames(rows: int) -> None:
    keys = np.array(["cpt|99213", "snomed|1\x1ecpt|99213", "snomed|2\x1elocal|9", None] * (rows // 4), dtype=object)
    frame = pd.DataFrame({"key": pd.array(keys, dtype="str")})
    data = MeasureData(valuesets=VISITS)
    hit = vs_mask(data, frame, "office-visit")
    assert hit[:4].tolist() == [True, True, False, False]
    assert int(hit.sum()) == 2 * (rows // 4)
    assert VISITS.mask(frame, "office-visit").tolist() == hit.tolist()


def test_csv_with_two_code_columns_keeps_both(tmp_path: Path) -> None:
    from carenet_desktop.services import intake
    from tests.intake.conftest import TODAY, build_store, write_csv

    build_store(tmp_path / "store.db")
    path = write_csv(tmp_path / "visits.csv", ["MRN", "Visit Date", "Code", "Code System", "Second Code",
                                                "Second Code System"],
                     [["M001", "2025-03-01", "185349003", "SNOMED", "99213", "CPT"],
                      ["M002", "2025-03-02", "99213", "CPT", "", ""]])
    db = open_database(tmp_path / "store.db")
    try:
        ctx = ServiceContext(db, username="t")
        result = intake.import_file(ctx, path, "encounters", practice_code="PEDS1", today=TODAY)
        assert result.rejected == 0
        data = load_measure_data(db, with_valuesets=False)
    finally:
        db.dispose()
    data.valuesets = VISITS
    assert vs_mask(data, data.encounters, "office-visit").tolist() == [True, True]
    assert code_mask(data.encounters, "snomed", "185349003").tolist() == [True, False]


def test_every_category_counts(tmp_path: Path) -> None:
    """An Observation whose first category is local and whose second says ``survey`` is an assessment."""
    from carenet_desktop.metrics.libraries import status

    obs = {
        "resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
        "category": [{"coding": [{"system": LOCAL, "code": "screening"}]},
                     {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "survey"}]}],
        "code": {"coding": [_coding(LOINC, "44261-6")]}, "effectiveDateTime": "2025-03-01T10:00:00Z",
    }
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), obs)))
    assert status.assessment_performed(data.observations).tolist() == [True]


def test_discharge_and_location_types_match_on_any_coding(tmp_path: Path) -> None:
    location = {"resourceType": "Location", "id": "l1",
                "type": [{"coding": [_coding(LOCAL, "CLINIC")]}, {"coding": [_coding(SCT, "33022008")]}]}
    enc = encounter("e1", "p1", location=[{"location": {"reference": "Location/l1"}}],
                    hospitalization={"dischargeDisposition": {"coding": [_coding(LOCAL, "HOSP"),
                                                                         _coding(SCT, "428361000124107")]}})
    data = _load(tmp_path, write(tmp_path / "b.json", bundle(patient("p1"), location, enc)))
    assert code_mask(data.encounters, "snomed", "428361000124107", column="discharge_key").tolist() == [True]
    assert code_mask(data.encounters, "snomed", "33022008", column="location_key").tolist() == [True]


@pytest.mark.parametrize(("kind", "header", "row", "keys"), [
    ("encounters", ["MRN", "Visit Date", "CPT", "SNOMED CT"], ["M001", "2025-03-01", "99213", "185349003"],
     ["cpt|99213", "snomed|185349003"]),
    ("diagnoses", ["MRN", "Onset Date", "ICD10", "SNOMED"], ["M001", "2025-03-01", "J02.0", "43878008"],
     ["icd10cm|J02.0", "snomed|43878008"]),
    ("observations", ["MRN", "Date", "LOINC", "SNOMED Code"], ["M001", "2025-03-01", "44261-6", "715252007"],
     ["loinc|44261-6", "snomed|715252007"]),
    ("medications", ["MRN", "Order Date", "RxNorm", "NDC"], ["M001", "2025-03-01", "308182", "00093-4150-73"],
     ["rxnorm|308182", "ndc|00093415073"]),
])
def test_csv_with_two_code_columns_named_by_their_systems(tmp_path: Path, kind: str, header: list[str],
                                                          row: list[str], keys: list[str]) -> None:
    """An export with a 'CPT' and a 'SNOMED CT' column (no 'second code' header): both codings are kept."""
    from carenet_desktop.metrics.valuesets import MULTI_SEP
    from carenet_desktop.services import intake
    from tests.intake.conftest import TODAY, build_store, write_csv

    build_store(tmp_path / "store.db")
    path = write_csv(tmp_path / f"{kind}.csv", header, [row])
    db = open_database(tmp_path / "store.db")
    try:
        result = intake.import_file(ServiceContext(db, username="t"), path, kind, practice_code="PEDS1", today=TODAY)
        assert result.rejected == 0
        data = load_measure_data(db, with_valuesets=False)
    finally:
        db.dispose()
    frame = {"encounters": data.encounters, "diagnoses": data.conditions, "observations": data.observations,
             "medications": data.medication_requests}[kind]
    assert frame["key"].tolist() == [MULTI_SEP.join(keys)]
    for key in keys:
        assert code_mask(frame, *key.split("|")).tolist() == [True]


def test_one_code_column_named_by_a_second_system_is_the_code() -> None:
    """A visits file whose only code column is 'SNOMED CT code' maps it as the visit's code, not a second one."""
    from carenet_desktop.interchange.tabular.fields import guess_mapping

    mapping = guess_mapping(["MRN", "Visit Date", "SNOMED CT Code"], "encounters")
    assert mapping.get("code") == "SNOMED CT Code" and "code_2" not in mapping
    both = guess_mapping(["MRN", "Visit Date", "CPT", "SNOMED CT Code", "ICD10"], "encounters")
    assert (both["code"], both["code_2"], both["reason_code"]) == ("CPT", "SNOMED CT Code", "ICD10")
