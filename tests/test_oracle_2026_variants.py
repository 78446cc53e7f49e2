"""Published 2026 cases changed in one respect each, where the 2026 versions read the record differently
from 2025, through the real command line (import fhir, load-valuesets, evaluate --period 2026).

These mirror the unseen cases the issue describes: each variant states the answer the 2026 logic gives.
"""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carenet_desktop.cli import main
from tests.oracle_support import ORACLE_2026_DIR, oracle_available

pytestmark = pytest.mark.skipif(not oracle_available(ORACLE_2026_DIR),
                                reason=f"2026 eCQM oracle not found at {ORACLE_2026_DIR}")

Bundle = dict[str, Any]
QICORE = "http://hl7.org/fhir/us/qicore/StructureDefinition/"


def _case(measure: str, prefix: str) -> tuple[Path, Bundle]:
    path = next((ORACLE_2026_DIR / "measures" / measure / "tests").glob(f"{prefix}*.json"))
    return path, json.loads(path.read_text(encoding="utf-8"))


def _of(bundle: Bundle, rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def _run(tmp_path: Path, measure: str, bundle: Bundle) -> dict[str, int | None]:
    """The patient's populations (group 0) at 2026, through the command line."""
    (tmp_path / "case").mkdir(parents=True)
    patient = _of(bundle, "Patient")[0]["id"]
    (tmp_path / "case" / f"{patient}.json").write_text(json.dumps(bundle), encoding="utf-8")
    db, out = str(tmp_path / "v.db"), tmp_path / "p.csv"
    assert main(["import", "fhir", str(tmp_path / "case"), "--db", db]) == 0
    assert main(["measures", "load-valuesets", str(ORACLE_2026_DIR / "measures" / measure / "valuesets.json"),
                 "--db", db]) == 0
    main(["measures", "evaluate", "--db", db, "--period", "2026", "--measure", measure, "--patient-results", str(out)])
    with out.open(newline="", encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["patient_id"] == patient and r["group_index"] == "0")
    return {k: (int(row[k]) if row[k] != "" else None) for k in ("initial-population", "denominator-exclusion",
                                                                   "denominator-exception", "numerator")}


def _variant(measure: str, prefix: str, change: Callable[[Bundle], None]) -> Bundle:
    _, bundle = _case(measure, prefix)
    changed = copy.deepcopy(bundle)
    change(changed)
    return changed


def _no_profiles(bundle: Bundle) -> None:
    """An ordinary EHR export: no meta.profile anywhere."""
    for entry in bundle["entry"]:
        entry["resource"].pop("meta", None)


def test_cms146_a_problem_list_profile_is_not_an_encounter_diagnosis(tmp_path: Path) -> None:
    def change(b: Bundle) -> None:
        _of(b, "Condition")[0]["meta"]["profile"] = [QICORE + "qicore-condition-problems-health-concerns"]
    assert _run(tmp_path, "CMS146", _variant("CMS146", "0b0bcb31", lambda b: None))["initial-population"] == 1
    assert _run(tmp_path / "v", "CMS146", _variant("CMS146", "0b0bcb31", change))["initial-population"] == 0


def test_cms146_without_profiles_the_category_or_an_encounter_reference_decides(tmp_path: Path) -> None:
    def listed(b: Bundle) -> None:
        _no_profiles(b)
        condition = _of(b, "Condition")[0]
        _of(b, "Encounter")[0]["diagnosis"] = [{"condition": {"reference": f"Condition/{condition['id']}"}}]
    # category problem-list-item, no profile, not referenced: not an encounter diagnosis
    assert _run(tmp_path, "CMS146", _variant("CMS146", "0b0bcb31", _no_profiles))["initial-population"] == 0
    # the same, listed in Encounter.diagnosis: an encounter diagnosis
    assert _run(tmp_path / "v", "CMS146", _variant("CMS146", "0b0bcb31", listed))["initial-population"] == 1


def test_cms117_hospice_assessment_without_survey_category_still_excludes(tmp_path: Path) -> None:
    def change(b: Bundle) -> None:
        for obs in _of(b, "Observation"):
            obs.pop("category", None)
    assert _run(tmp_path, "CMS117", _variant("CMS117", "b5f9f533", change))["denominator-exclusion"] == 1


def test_cms117_a_refuted_hospice_diagnosis_does_not_exclude(tmp_path: Path) -> None:
    def change(b: Bundle) -> None:
        _of(b, "Condition")[0]["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]}
    assert _run(tmp_path, "CMS117", _variant("CMS117", "dd1e534c", change))["denominator-exclusion"] == 0


def test_cms117_a_visit_in_progress_does_not_qualify(tmp_path: Path) -> None:
    def change(b: Bundle) -> None:
        for enc in _of(b, "Encounter"):
            enc["status"] = "in-progress"
    assert _run(tmp_path, "CMS117", _variant("CMS117", "1e7dc519", change))["initial-population"] == 0


@pytest.mark.parametrize(("status", "numerator"), [("corrected", 1), ("amended", 0)])
def test_cms2_a_corrected_screening_counts(tmp_path: Path, status: str, numerator: int) -> None:
    def change(b: Bundle) -> None:
        for obs in _of(b, "Observation"):
            obs["status"] = status
    assert _run(tmp_path, "CMS2", _variant("CMS2", "fa943373", change))["numerator"] == numerator


def test_cms2_bipolar_as_an_encounter_diagnosis_does_not_exclude(tmp_path: Path) -> None:
    def change(b: Bundle) -> None:
        _of(b, "Condition")[0]["meta"]["profile"] = [QICORE + "qicore-condition-encounter-diagnosis"]
    assert _run(tmp_path, "CMS2", _variant("CMS2", "15ad723f", change))["denominator-exclusion"] == 0


def test_cms75_a_caries_code_new_in_2026_counts(tmp_path: Path) -> None:
    def change(b: Bundle) -> None:
        _of(b, "Condition")[0]["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "1085951000119102"}]}
    assert _run(tmp_path, "CMS75", _variant("CMS75", "8b91c8d5", change))["numerator"] == 1


US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
#: the US Core vital-sign profiles the 2026 CQL retrieves, by LOINC code
VITAL_SIGN_PROFILES = {"8302-2": "us-core-body-height", "29463-7": "us-core-body-weight", "39156-5": "us-core-bmi"}


def _vital_sign(pid: str, loinc: str, value: float | None) -> dict[str, Any]:
    """A final vital-sign Observation on the first day of 2026, claiming its US Core profile (the file claims
    QI-Core: an unprofiled resource would not be retrieved)."""
    obs: dict[str, Any] = {
        "resourceType": "Observation", "id": f"vs-{loinc}", "status": "final",
        "meta": {"profile": [US_CORE + VITAL_SIGN_PROFILES[loinc]]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": "2026-01-01T08:00:00.000Z",
    }
    if value is not None:
        obs["valueQuantity"] = {"value": value, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1"}
    return obs


@pytest.mark.parametrize(("bmi", "numerator"), [(55.0, 1), (None, 1)])
def test_cms155_a_bmi_without_a_value_still_documents_it(tmp_path: Path, bmi: float | None, numerator: int) -> None:
    """2026 dropped ``BMIPercentile.value is not null`` (2025 had it): a final BMI without a value counts."""
    def change(b: Bundle) -> None:
        pid = _of(b, "Patient")[0]["id"]
        for loinc, value in (("8302-2", 100.0), ("29463-7", 16.0), ("39156-5", bmi)):
            b["entry"].append({"resource": _vital_sign(pid, loinc, value)})
    assert _run(tmp_path, "CMS155", _variant("CMS155", "362bc370", lambda b: None))["numerator"] == 0
    assert _run(tmp_path / "v", "CMS155", _variant("CMS155", "362bc370", change))["numerator"] == numerator


@pytest.mark.parametrize(("intent", "initial_population"), [("original-order", 1), ("filler-order", 1),
                                                            ("proposal", 0)])
def test_cms146_an_antibiotic_of_any_order_intent_makes_the_episode(tmp_path: Path, intent: str,
                                                                    initial_population: int) -> None:
    """Status 1.15 ``isMedicationOrder``: intent order or one of its specialisations (2025: order only)."""
    def change(b: Bundle) -> None:
        for request in _of(b, "MedicationRequest"):
            request["intent"] = intent
    assert _run(tmp_path, "CMS146", _variant("CMS146", "0b0bcb31", change))["initial-population"] == initial_population


@pytest.mark.parametrize(("intent", "excluded"), [("filler-order", 1), ("plan", 0)])
def test_cms74_a_hospice_order_of_any_order_intent_excludes(tmp_path: Path, intent: str, excluded: int) -> None:
    """Hospice 6.18 over Status 1.15 ``isInterventionOrder``."""
    def change(b: Bundle) -> None:
        for request in _of(b, "ServiceRequest"):
            request["intent"] = intent
    assert _run(tmp_path, "CMS74", _variant("CMS74", "96c38952", change))["denominator-exclusion"] == excluded


def test_cms74_a_hospice_encounter_in_progress_does_not_exclude(tmp_path: Path) -> None:
    """Status 1.15 ``isEncounterPerformed``: finished only (the oral evaluation stays finished)."""
    def change(b: Bundle) -> None:
        for enc in _of(b, "Encounter"):
            if enc["status"] == "finished" and not any(
                    c.get("code", "").startswith("D0") for t in enc.get("type", []) for c in t.get("coding", [])):
                enc["status"] = "in-progress"
    assert _run(tmp_path, "CMS74", _variant("CMS74", "70208367", lambda b: None))["denominator-exclusion"] == 1
    result = _run(tmp_path / "v", "CMS74", _variant("CMS74", "70208367", change))
    assert (result["initial-population"], result["denominator-exclusion"]) == (1, 0)


@pytest.mark.parametrize(("verification", "excluded"), [("provisional", 1), ("unconfirmed", 1),
                                                        ("entered-in-error", 0)])
def test_cms74_a_hospice_diagnosis_counts_when_verified(tmp_path: Path, verification: str, excluded: int) -> None:
    """Hospice 6.18 reads ``verified()`` diagnoses: no status, confirmed, unconfirmed, provisional, differential."""
    def change(b: Bundle) -> None:
        for condition in _of(b, "Condition"):
            condition["verificationStatus"] = {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]}
    assert _run(tmp_path, "CMS74", _variant("CMS74", "fe5f3172", change))["denominator-exclusion"] == excluded
