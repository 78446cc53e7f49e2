"""FHIR import into the store: dedupe on re-import, problems reported, strict mode, NDJSON, UTC."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carenet_desktop.models import (
    AuditLog,
    Condition,
    DataImport,
    Encounter,
    EncounterDiagnosis,
    Immunization,
    Patient,
    Practice,
    Provider,
)
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext, ServiceError
from carenet_desktop.services.fhir_import import import_fhir
from tests.interchange.fhir_samples import bundle, encounter, immunization, patient, write, write_ndjson


@pytest.fixture
def ctx(db_url):  # type: ignore[no-untyped-def]
    db = open_database(db_url)
    yield ServiceContext(db, username="tester")
    db.dispose()


def count(ctx: ServiceContext, model: type) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def two_cases(folder: Path) -> list[Path]:
    """Two test-case bundles that re-use the same resource ids for different patients."""
    paths = []
    for pid in ("case-a", "case-b"):
        paths.append(write(folder / f"{pid}.json", bundle(
            patient(pid),
            encounter("Encounter-1", pid, diagnosis=[{"condition": {"reference": "Condition/Condition-1"}, "rank": 1}]),
            {"resourceType": "Condition", "id": "Condition-1", "code": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.0"}]},
             "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": "Encounter/Encounter-1"},
             "onsetDateTime": "2025-03-01"},
            immunization("Immunization-1", pid),
        )))
    return paths


def test_ids_repeating_across_patients_give_distinct_rows_and_reimport_updates(ctx, tmp_path):  # type: ignore[no-untyped-def]
    paths = two_cases(tmp_path)
    first = import_fhir(ctx, [tmp_path], practice_code="P1")
    assert (first.added, first.updated, first.rejected) == (8, 0, 0)
    assert (count(ctx, Patient), count(ctx, Encounter), count(ctx, Condition), count(ctx, Immunization)) == (2, 2, 2, 2)
    with ctx.db.session() as s:
        # each condition points to its own patient's encounter, each diagnosis to its own condition
        pairs = s.execute(select(Condition.patient_id, Encounter.patient_id)
                          .join(Encounter, Encounter.id == Condition.encounter_id)).all()
        assert sorted(pairs) == sorted((a, a) for a, _ in pairs) and len(pairs) == 2
        diags = s.execute(select(EncounterDiagnosis.code, Condition.patient_id, Encounter.patient_id)
                          .join(Condition, Condition.id == EncounterDiagnosis.condition_id)
                          .join(Encounter, Encounter.id == EncounterDiagnosis.encounter_id)).all()
        assert len(diags) == 2 and all(code == "J02.0" and a == b for code, a, b in diags)
    second = import_fhir(ctx, paths, practice_code="P1")
    assert (second.added, second.updated) == (0, 8)
    assert (count(ctx, Patient), count(ctx, Encounter), count(ctx, Condition), count(ctx, EncounterDiagnosis)) == (2, 2, 2, 2)


def test_reimport_updates_in_place(ctx, tmp_path):  # type: ignore[no-untyped-def]
    path = write(tmp_path / "a.json", bundle(patient("p1"), immunization("i1", "p1", when="2021-01-01")))
    import_fhir(ctx, [path])
    write(path, bundle(patient("p1"), immunization("i1", "p1", when="2021-02-02")))
    import_fhir(ctx, [path])
    with ctx.db.session() as s:
        assert s.scalars(select(Immunization.occurrence)).all() == [dt.datetime(2021, 2, 2)]


def test_malformed_resource_reported_with_file_and_entry_rest_imported(ctx, tmp_path):  # type: ignore[no-untyped-def]
    bad = immunization("i2", "p1")
    bad["occurrenceDateTime"] = "last tuesday"
    path = write(tmp_path / "a.json", bundle(patient("p1"), immunization("i1", "p1"), bad,
                                              encounter("e1", "someone-else")))
    result = import_fhir(ctx, [path])
    assert (result.added, result.rejected) == (2, 2)
    where = [(p.file, p.location.split(" (")[0]) for p in result.problems]
    assert (str(path), "entry 2") in where and (str(path), "entry 3") in where
    assert count(ctx, Immunization) == 1 and count(ctx, Encounter) == 0


def test_strict_mode_imports_nothing_when_a_resource_is_malformed(ctx, tmp_path):  # type: ignore[no-untyped-def]
    good = write(tmp_path / "a.json", bundle(patient("p1"), immunization("i1", "p1")))
    bad_imm = immunization("i2", "p2")
    bad_imm["occurrenceDateTime"] = "??"
    write(tmp_path / "b.json", bundle(patient("p2"), bad_imm))
    with pytest.raises(ServiceError, match="b.json"):
        import_fhir(ctx, [tmp_path], strict=True)
    assert count(ctx, Patient) == 0 and count(ctx, Immunization) == 0
    assert import_fhir(ctx, [good], strict=True).added == 2


def test_ndjson_bulk_export_across_files(ctx, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "bulk"
    write_ndjson(folder / "Immunization.ndjson", [immunization("i1", "p1"), immunization("i2", "p2")])
    write_ndjson(folder / "Encounter.ndjson", [encounter("e1", "p1", start="2025-03-01T22:30:00-04:00")])
    write_ndjson(folder / "Patient.ndjson", [patient("p1"), patient("p2", birth="2019-01-01")])
    result = import_fhir(ctx, [folder])
    assert (result.added, result.rejected) == (5, 0)
    with ctx.db.session() as s:
        assert s.scalar(select(Encounter.start)) == dt.datetime(2025, 3, 1, 22, 30)  # as written (offset dropped)


def test_file_failure_leaves_the_store_unchanged_for_that_file(ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from carenet_desktop.services import fhir_import

    write(tmp_path / "a.json", bundle(patient("p1"), immunization("i1", "p1")))
    write(tmp_path / "b.json", bundle(patient("p2"), encounter("e1", "p2"), immunization("i1", "p2")))
    original = fhir_import._Writer._write_diagnoses

    def fail_for_b(self, s, encounters, written, file, result):  # type: ignore[no-untyped-def]
        if file.endswith("b.json"):
            raise RuntimeError("disk on fire")
        return original(self, s, encounters, written, file, result)

    monkeypatch.setattr(fhir_import._Writer, "_write_diagnoses", fail_for_b)
    result = import_fhir(ctx, [tmp_path])
    assert result.failed_files == 1 and any("b.json" in p.file and "disk on fire" in p.reason for p in result.problems)
    assert count(ctx, Patient) == 1 and count(ctx, Encounter) == 0 and count(ctx, Immunization) == 1


def test_import_batch_audit_practice_and_providers(ctx, tmp_path):  # type: ignore[no-untyped-def]
    doctor = {"resourceType": "Practitioner", "id": "dr1", "identifier": [
        {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567890"}], "name": [{"family": "Who"}]}
    path = write(tmp_path / "a.json", bundle(
        doctor, patient("p1"),
        encounter("e1", "p1", participant=[{"individual": {"reference": "Practitioner/dr1"}}]),
        {"resourceType": "Coverage", "id": "cov1", "status": "active", "beneficiary": {"reference": "Patient/p1"},
         "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": "2"}]},
         "period": {"start": "2025-01-01"}},
    ))
    result = import_fhir(ctx, [path], practice_code="NEWP")
    assert result.rejected == 0
    with ctx.db.session() as s:
        practice = s.scalars(select(Practice).where(Practice.code == "NEWP")).one()
        pat = s.scalars(select(Patient)).one()
        assert pat.practice_id == practice.id and pat.payer == "medicaid" and pat.source_id == "p1"
        provider = s.scalars(select(Provider)).one()
        assert provider.npi == "1234567890" and s.scalar(select(Encounter.provider_id)) == provider.id
        batch = s.scalars(select(DataImport)).one()
        assert (batch.kind, batch.status, batch.added, batch.practice_id) == ("fhir", "done", 4, practice.id)
        assert batch.file_sha256 and len(batch.file_sha256) == 64
        actions = s.execute(select(AuditLog.action, AuditLog.entity)).all()
        assert ("import", "data_import") in actions


def test_default_practice_and_shared_mrns(ctx, tmp_path):  # type: ignore[no-untyped-def]
    write(tmp_path / "a.json", bundle(patient("p1")))
    write(tmp_path / "b.json", bundle(patient("p2")))  # same MRN as p1, a different patient
    import_fhir(ctx, [tmp_path])
    with ctx.db.session() as s:
        rows = s.execute(select(Patient.source_id, Patient.mrn, Practice.code).join(Practice)).all()
    assert sorted(rows) == [("p1", "MRN-1", "FHIR"), ("p2", "p2", "FHIR")]


def test_import_writes_the_change_journal(ctx, tmp_path):  # type: ignore[no-untyped-def]
    from carenet_desktop.models.changes import changes_since

    write(tmp_path / "a.json", bundle(patient("p1"), immunization("i1", "p1")))
    import_fhir(ctx, [tmp_path])
    with ctx.db.session() as s:
        version, wholesale, patients = changes_since(s, 0)
        pid = s.scalar(select(Patient.id))
    assert patients == {pid} and version > 0
    import_fhir(ctx, [tmp_path])  # a re-import is a change too (values may differ)
    with ctx.db.session() as s:
        assert changes_since(s, version)[2] == {pid}


def test_bulk_references_to_later_files_are_linked(ctx, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "bulk"
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.0"}]},
            "encounter": {"reference": "Encounter/e1"}}
    write_ndjson(folder / "Patient.ndjson", [patient("p1")])
    write_ndjson(folder / "Encounter.ndjson", [encounter("e1", "p1", diagnosis=[{"condition": {"reference": "Condition/c1"}}])])
    write_ndjson(folder / "Condition.ndjson", [cond])
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}]}, "encounter": {"reference": "Encounter/e2"}}
    write_ndjson(folder / "Observation.ndjson", [obs])
    write_ndjson(folder / "zz-more-encounters.ndjson", [encounter("e2", "p1")])  # read after the observations
    assert import_fhir(ctx, [folder]).rejected == 0
    from carenet_desktop.models import Observation

    with ctx.db.session() as s:
        diag = s.execute(select(EncounterDiagnosis.condition_id, EncounterDiagnosis.code)).one()
        assert diag == (s.scalar(select(Condition.id)), "J02.0")
        e2 = s.scalar(select(Encounter.id).where(Encounter.source_id == "e2"))
        obs_row = s.execute(select(Observation.encounter_id, Observation.detail)).one()
        assert obs_row.encounter_id == e2 and not (obs_row.detail or {}).get("encounter_ref")


def test_large_ndjson_is_written_in_chunks_within_one_transaction(ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from carenet_desktop.services import fhir_import

    monkeypatch.setattr(fhir_import, "CHUNK_RESOURCES", 3)
    folder = tmp_path / "bulk"
    write_ndjson(folder / "Patient.ndjson", [patient(f"p{i}") for i in range(7)])
    lines = [immunization(f"i{i}", f"p{i % 7}") for i in range(10)]
    lines[5] = "{broken"
    lines.append(immunization("i0", "p0", when="2022-02-02"))  # the same resource again, in a later chunk
    write_ndjson(folder / "Immunization.ndjson", lines)
    result = import_fhir(ctx, [folder])
    assert (result.added, result.updated, result.rejected) == (7 + 9, 1, 1)
    assert [p.location for p in result.problems] == ["line 6"]
    with ctx.db.session() as s:
        assert s.scalar(select(Immunization.occurrence).where(Immunization.source_id == "i0")) == dt.datetime(2022, 2, 2)
        batch = s.scalars(select(DataImport)).one()
        files = {Path(f["file"]).name: f for f in batch.detail["files"]}
        assert len(files["Immunization.ndjson"]["sha256"]) == 64
    # a failure in a later chunk rolls back the earlier chunks of the same file
    original = fhir_import._Writer.write
    calls = {"n": 0}

    def fail_on_third(self, s, records, result, file):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if file.endswith("Encounter.ndjson") and calls["n"] >= 3:
            raise RuntimeError("boom")
        return original(self, s, records, result, file)

    monkeypatch.setattr(fhir_import._Writer, "write", fail_on_third)
    enc_folder = tmp_path / "enc"
    write_ndjson(enc_folder / "Encounter.ndjson", [encounter(f"e{i}", "p1") for i in range(9)])
    calls["n"] = 0
    assert import_fhir(ctx, [enc_folder]).failed_files == 1
    assert count(ctx, Encounter) == 0


# --- an MRN the practice already has (issue 22: a collision must not silently duplicate a patient) ---------


def _csv_patient(ctx: ServiceContext, practice: str, mrn: str, born: dt.date) -> int:
    """A patient the practice has from a spreadsheet (no FHIR id), as the CSV import stores it."""
    from carenet_desktop.services.practices import get_or_create_practice

    practice_id = get_or_create_practice(ctx, practice)
    with ctx.db.session() as s:
        row = Patient(practice_id=practice_id, mrn=mrn, family_name="Test", given_name="Case", birth_date=born,
                      sex="female")
        s.add(row)
        s.flush()
        return row.id


def test_a_fhir_patient_with_the_mrn_of_a_spreadsheet_patient_is_that_patient(ctx, tmp_path):  # type: ignore[no-untyped-def]
    known = _csv_patient(ctx, "P1", "MRN-1", dt.date(2020, 5, 1))
    path = write(tmp_path / "a.json", bundle(patient("p1"), immunization("i1", "p1")))
    result = import_fhir(ctx, [path], practice_code="P1")
    with ctx.db.session() as s:
        rows = s.execute(select(Patient.id, Patient.mrn, Patient.source_id)).all()
        assert rows == [(known, "MRN-1", "p1")]  # linked: one patient, now known by its FHIR id too
        assert s.scalar(select(Immunization.patient_id)) == known
    assert result.rejected == 0 and not result.mrn_kept_apart
    again = import_fhir(ctx, [path], practice_code="P1")  # a re-import finds it by the FHIR id
    assert (again.added, again.updated, count(ctx, Patient)) == (0, 2, 1)


def test_a_fhir_patient_whose_mrn_is_another_childs_is_rejected_with_its_records(ctx, tmp_path):  # type: ignore[no-untyped-def]
    known = _csv_patient(ctx, "P1", "MRN-1", dt.date(2018, 1, 1))  # the same MRN, another birth date
    path = write(tmp_path / "a.json", bundle(patient("p1"), immunization("i1", "p1"), patient("p2", identifier=[
        {"type": {"coding": [{"code": "MR"}]}, "value": "MRN-2"}])))
    result = import_fhir(ctx, [path], practice_code="P1")
    assert (result.added, result.rejected) == (1, 2)
    reasons = {p.location.split(" (")[-1].rstrip(")"): p.reason for p in result.problems}
    assert "its MRN belongs to another patient of this practice" in reasons["Patient/p1"]
    assert "Patient/p1" in reasons["Immunization/i1"] and "was not imported" in reasons["Immunization/i1"]
    with ctx.db.session() as s:
        rows = {mrn: (pid, sid, born) for pid, mrn, sid, born in s.execute(
            select(Patient.id, Patient.mrn, Patient.source_id, Patient.birth_date))}
    assert rows["MRN-1"] == (known, None, dt.date(2018, 1, 1))  # untouched
    assert rows["MRN-2"][1:] == ("p2", dt.date(2020, 5, 1)) and len(rows) == 2
    assert count(ctx, Immunization) == 0


def test_an_mrn_shared_by_two_fhir_ids_is_kept_apart_and_said(ctx, tmp_path, capsys):  # type: ignore[no-untyped-def]
    from carenet_desktop.cli import main

    write(tmp_path / "a.json", bundle(patient("p1")))
    write(tmp_path / "b.json", bundle(patient("p2")))  # eCQM test bundles: one placeholder MRN, many children
    db = str(tmp_path / "cli.db")
    assert main(["import", "fhir", str(tmp_path), "--db", db, "--no-encryption"]) == 0
    out = capsys.readouterr().out
    assert "1 patient(s) stored under their FHIR id as MRN" in out and "Patient/p2" in out
    result = import_fhir(ctx, [tmp_path])
    assert result.mrn_kept_apart == ["p2"] and result.rejected == 0
    with ctx.db.session() as s:
        detail = s.scalars(select(DataImport.detail)).one()
    assert detail["mrn_kept_apart"] == ["p2"]
