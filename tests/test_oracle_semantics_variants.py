"""Published 2025 cases changed in one respect each, as real exports write them (issue 21), through the real
command line (import fhir, load-valuesets, evaluate --period 2025). Each variant states the answer the
reference engine's logic gives (QICoreCommon ``prevalenceInterval()``/``abatementInterval()``, FHIR
references), so each fails where the importer drops what the export said.
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
from tests.oracle_support import ORACLE_DIR, oracle_available

pytestmark = pytest.mark.skipif(not oracle_available(), reason=f"eCQM oracle not found at {ORACLE_DIR}")

Bundle = dict[str, Any]
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


def _case(measure: str, prefix: str) -> Bundle:
    path = next((ORACLE_DIR / "measures" / measure / "tests").glob(f"{prefix}*.json"))
    return json.loads(path.read_text(encoding="utf-8"))


def _of(bundle: Bundle, rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def _run(tmp_path: Path, measure: str, files: dict[str, Bundle]) -> dict[str, int | None]:
    """The populations (group 0) of the case's patient at 2025; ``files`` are written into one folder and
    imported together (the first holds the Patient)."""
    folder = tmp_path / "case"
    folder.mkdir(parents=True)
    for name, bundle in files.items():
        (folder / name).write_text(json.dumps(bundle), encoding="utf-8")
    patient = _of(next(iter(files.values())), "Patient")[0]["id"]
    db, out = str(tmp_path / "v.db"), tmp_path / "p.csv"
    assert main(["import", "fhir", str(folder), "--db", db]) == 0
    assert main(["measures", "load-valuesets", str(ORACLE_DIR / "measures" / measure / "valuesets.json"),
                 "--db", db]) == 0
    main(["measures", "evaluate", "--db", db, "--period", "2025", "--measure", measure, "--patient-results", str(out)])
    with out.open(newline="", encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["patient_id"] == patient and r["group_index"] == "0")
    return {k: (int(row[k]) if row[k] != "" else None)
            for k in ("initial-population", "denominator", "denominator-exclusion", "numerator")}


def _variant(measure: str, prefix: str, change: Callable[[Bundle], None]) -> Bundle:
    changed = copy.deepcopy(_case(measure, prefix))
    change(changed)
    return changed


def _age(years: int) -> dict[str, Any]:
    return {"value": years, "unit": "a", "system": UCUM, "code": "a"}


# --- Condition.onset[x] / abatement[x] given as an age (CMS75: caries that overlaps the period) -------------
# Case f076026e: born 2005-01-01, a resolved caries condition with onset and abatement on 2025-01-01 (numerator).

CARIES = ("CMS75", "f076026e")


def _caries(onset: dict[str, Any] | None = None, abatement: dict[str, Any] | None = None,
            status: str = "resolved") -> Callable[[Bundle], None]:
    def change(b: Bundle) -> None:
        condition = _of(b, "Condition")[0]
        condition["clinicalStatus"]["coding"][0]["code"] = status
        for key in [k for k in condition if k.startswith(("onset", "abatement"))]:
            del condition[key]
        condition.update(onset or {})
        condition.update(abatement or {})
    return change


def test_the_published_caries_case_counts(tmp_path: Path) -> None:
    assert _run(tmp_path, CARIES[0], {"case.json": _case(*CARIES)})["numerator"] == 1


@pytest.mark.parametrize(("onset_age", "abatement_age", "counted"), [
    (19, 20, 1),  # abatement Interval[2025-01-01, 2026-01-01): ends 2025-12-31, prevalent in 2025
    (19, 19, 0),  # Interval[2024-01-01, 2025-01-01): ends the day before, 2024-12-31
    (17, 18, 0),  # ended by 2023-12-31
])
def test_a_resolved_condition_abated_at_an_age(tmp_path: Path, onset_age: int, abatement_age: int,
                                               counted: int) -> None:
    """``abatementInterval()`` of an Age is ``Interval[birthDate + age, birthDate + age + 1 year)``, whose end
    is the day before the next birthday: a resolved condition with it has a prevalence period (without the
    age it would have none and never count)."""
    change = _caries({"onsetAge": _age(onset_age)}, {"abatementAge": _age(abatement_age)})
    assert _run(tmp_path, CARIES[0], {"case.json": _variant(*CARIES, change)})["numerator"] == counted


@pytest.mark.parametrize(("onset_age", "counted"), [(19, 1), (20, 1), (21, 0)])
def test_an_active_condition_with_its_onset_as_an_age(tmp_path: Path, onset_age: int, counted: int) -> None:
    """Active, no abatement: ``Interval[birthDate + onset age, null]``; from age 21 (2026-01-01) it starts
    after the period, so it does not overlap it (an unknown onset would be unbounded and count)."""
    change = _caries({"onsetAge": _age(onset_age)}, status="active")
    assert _run(tmp_path, CARIES[0], {"case.json": _variant(*CARIES, change)})["numerator"] == counted


def test_an_age_range_abatement_ends_a_year_after_its_high_age(tmp_path: Path) -> None:
    change = _caries({"onsetDateTime": "2023-05-01"},
                     {"abatementRange": {"low": _age(18), "high": _age(19)}})  # ends 2024-12-31
    assert _run(tmp_path, CARIES[0], {"case.json": _variant(*CARIES, change)})["numerator"] == 0
    change = _caries({"onsetDateTime": "2023-05-01"},
                     {"abatementRange": {"low": _age(18), "high": _age(20)}})  # ends 2025-12-31
    assert _run(tmp_path / "b", CARIES[0], {"case.json": _variant(*CARIES, change)})["numerator"] == 1


# --- medicationReference (CMS146: an antibiotic ordered for pharyngitis; case 0b0bcb31 is in the IPP) ------

PHARYNGITIS = ("CMS146", "0b0bcb31")


def _medication(local_first: bool = True) -> dict[str, Any]:
    coding = [{"system": RXNORM, "code": "141963"}]
    if local_first:
        coding.insert(0, {"system": "urn:oid:1.2.3.4.5.6", "code": "AZITHRO-SUSP"})
    return {"resourceType": "Medication", "id": "med-azithro", "code": {"coding": coding}}


def _by_reference(reference: str, contained: bool = False) -> Callable[[Bundle], None]:
    def change(b: Bundle) -> None:
        request = _of(b, "MedicationRequest")[0]
        del request["medicationCodeableConcept"]
        request["medicationReference"] = {"reference": reference}
        if contained:
            request["contained"] = [{**_medication(), "id": "m1"}]
    return change


def test_the_published_pharyngitis_case_is_in_the_population(tmp_path: Path) -> None:
    assert _run(tmp_path, PHARYNGITIS[0], {"case.json": _case(*PHARYNGITIS)})["initial-population"] == 1


def test_a_medication_in_the_same_bundle_after_the_request(tmp_path: Path) -> None:
    def change(b: Bundle) -> None:
        _by_reference("Medication/med-azithro")(b)
        b["entry"].append({"fullUrl": "Medication/med-azithro", "resource": _medication()})
    assert _run(tmp_path, PHARYNGITIS[0], {"case.json": _variant(*PHARYNGITIS, change)})["initial-population"] == 1


def test_a_contained_medication(tmp_path: Path) -> None:
    variant = _variant(*PHARYNGITIS, _by_reference("#m1", contained=True))
    assert _run(tmp_path, PHARYNGITIS[0], {"case.json": variant})["initial-population"] == 1


def test_a_medication_in_another_bundle_file_read_after_the_request(tmp_path: Path) -> None:
    """The Medication is in a file the import reads after the request's (files go in name order)."""
    variant = _variant(*PHARYNGITIS, _by_reference("Medication/med-azithro"))
    medications = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": _medication()}]}
    result = _run(tmp_path, PHARYNGITIS[0], {"case.json": variant, "zz-medications.json": medications})
    assert result["initial-population"] == 1


def test_an_unresolvable_reference_counts_as_no_medication(tmp_path: Path) -> None:
    variant = _variant(*PHARYNGITIS, _by_reference("Medication/nowhere"))
    assert _run(tmp_path, PHARYNGITIS[0], {"case.json": variant})["initial-population"] == 0
