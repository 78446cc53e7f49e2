"""The loader gives exactly the engine's COLUMNS, typed, per practice, with value-set keys."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from carenet_desktop.metrics.data import COLUMNS, OPTIONAL_COLUMNS
from carenet_desktop.models import Encounter, Patient
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext, ServiceError
from carenet_desktop.services.fhir_import import import_fhir
from carenet_desktop.services.measure_data import load_measure_data
from carenet_desktop.services.practices import get_or_create_practice
from tests.interchange.fhir_samples import bundle, encounter, immunization, patient, write


@pytest.fixture
def ctx(db_url, tmp_path):  # type: ignore[no-untyped-def]
    db = open_database(db_url)
    context = ServiceContext(db, username="tester")
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.0"}]},
            "onsetDateTime": "2025-03-01T10:00:00+01:00"}
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "59576-9"}]}, "effectiveDateTime": "2025-03-01",
           "valueQuantity": {"value": 85, "code": "%"}}
    write(tmp_path / "fhir" / "a.json", bundle(
        patient("p1"), cond, obs, immunization("i1", "p1", cvx="20", when="2021-01-01"),
        encounter("e1", "p1", diagnosis=[{"condition": {"reference": "Condition/c1"}}],
                  hospitalization={"dischargeDisposition": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}}),
    ))
    import_fhir(context, [tmp_path / "fhir"], practice_code="A")
    other = get_or_create_practice(context, "B")
    with db.session() as s:  # a patient entered by hand (no FHIR id) in another practice
        p = Patient(practice_id=other, mrn="X1", birth_date=dt.date(2018, 1, 1))
        s.add(p)
        s.flush()
        s.add(Encounter(patient_id=p.id, code_system="cpt", code="99213", start=dt.datetime(2025, 5, 1)))
    yield context
    db.dispose()


def test_every_frame_has_exactly_the_columns(ctx) -> None:  # type: ignore[no-untyped-def]
    data = load_measure_data(ctx.db)
    for name, frame in data.frames().items():
        own = tuple(c for c in frame.columns if c not in OPTIONAL_COLUMNS)
        assert own == COLUMNS[name], name
    # the observation and the immunization given as dates only: the optional column says so
    assert data.observations["date_only"].tolist() == ["effective_start,effective_end"]
    assert data.immunizations["date_only"].tolist() == ["occurrence"]
    assert "date_only" not in data.conditions.columns  # no row has one: not read at all


def test_types_keys_and_subject_ids(ctx) -> None:  # type: ignore[no-untyped-def]
    data = load_measure_data(ctx.db)
    pats = data.patients.set_index("subject_id")
    assert set(pats.index) == {"p1", str(int(pats.loc[pats.index != "p1", "patient_id"].iloc[0]))}
    assert pats.loc["p1", "birth_date"] == pd.Timestamp("2020-05-01") and pats.loc["p1", "race"] == "black"
    assert pd.api.types.is_datetime64_any_dtype(data.conditions["onset"])
    assert data.conditions["onset"].iloc[0] == pd.Timestamp("2025-03-01 10:00")  # as written (+01:00 dropped)
    assert data.conditions["key"].tolist() == ["icd10cm|J02.0"]
    assert data.immunizations["key"].tolist() == ["cvx|20"]
    obs = data.observations.iloc[0]
    assert (obs["key"], obs["value_num"]) == ("loinc|59576-9", 85.0)
    enc = data.encounters.set_index("patient_id").loc[pats.loc["p1", "patient_id"]]
    assert enc["discharge_key"] == "snomed|1"
    diag = data.encounter_diagnoses.iloc[0]
    assert diag["key"] == "icd10cm|J02.0" and diag["encounter_id"] == enc["event_id"]
    assert diag["condition_id"] == data.conditions["event_id"].iloc[0]
    assert data.patients["patient_id"].dtype == "int64" and data.encounters["event_id"].dtype == "int64"


def test_restricted_to_practices(ctx) -> None:  # type: ignore[no-untyped-def]
    only_a = load_measure_data(ctx.db, ["A"])
    assert only_a.patients["subject_id"].tolist() == ["p1"]
    assert len(only_a.encounters) == 1 and len(only_a.encounter_diagnoses) == 1
    only_b = load_measure_data(ctx.db, ["B"])
    assert len(only_b.patients) == 1 and len(only_b.encounters) == 1 and only_b.conditions.empty
    assert only_b.encounter_diagnoses.empty
    with pytest.raises(ServiceError, match="ZZ"):
        load_measure_data(ctx.db, ["ZZ"])


def test_restricted_to_patients(ctx) -> None:  # type: ignore[no-untyped-def]
    everyone = load_measure_data(ctx.db)
    p1 = int(everyone.patients.loc[everyone.patients["subject_id"] == "p1", "patient_id"].iloc[0])
    only = load_measure_data(ctx.db, patient_id_list=[p1])
    assert only.patients["patient_id"].tolist() == [p1]
    assert set(only.encounters["patient_id"]) == {p1} and len(only.encounter_diagnoses) == 1
    assert load_measure_data(ctx.db, patient_id_list=[]).patients.empty


def test_text_with_separator_characters_is_read_exactly(ctx) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from carenet_desktop.models import Observation

    with ctx.db.session() as s:
        s.execute(update(Observation).values(value_text="a\x1fb\x15c"))
    data = load_measure_data(ctx.db)
    assert data.observations["value_text"].tolist() == ["a\x1fb\x15c"]
    assert data.observations["value_num"].tolist() == [85.0]


def test_fast_and_exact_readers_agree(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.services import sqlite_frames

    fast = load_measure_data(ctx.db)
    monkeypatch.setattr(sqlite_frames, "_plan_sqlite", lambda *a: (_ for _ in ()).throw(sqlite_frames.Fallback("x")))
    exact = load_measure_data(ctx.db)  # SQLite: the fast reader gave up, the exact one was used
    for name, frame in fast.frames().items():
        pd.testing.assert_frame_equal(frame, exact.frames()[name], check_dtype=True, obj=name)


def test_rows_come_in_id_order_when_sqlite_reads_them_by_patient(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Read for some patients, SQLite walks the patient index: the rows of one chunk come patient by patient,
    not in id order. The loader puts them back in id order, every column moved together."""
    from carenet_desktop.services import sqlite_frames

    practice = get_or_create_practice(ctx, "C")
    with ctx.db.session() as s:
        patients = [Patient(practice_id=practice, mrn=f"I{i}", birth_date=dt.date(2018, 1, 1 + i)) for i in range(3)]
        s.add_all(patients)
        s.flush()
        for day in range(1, 13):  # interleaved: patient 0, 1, 2, 0, 1, 2 ...
            s.add(Encounter(patient_id=patients[day % 3].id, code_system="cpt", code=f"9921{day % 3}",
                            start=dt.datetime(2025, 1, day)))
        ids = [p.id for p in patients]
    fast = load_measure_data(ctx.db, patient_id_list=ids)
    assert fast.encounters["event_id"].is_monotonic_increasing
    assert fast.encounters["start"].dt.day.tolist() == list(range(1, 13))
    assert fast.encounters["key"].tolist() == [f"cpt|9921{day % 3}" for day in range(1, 13)]
    monkeypatch.setattr(sqlite_frames, "_plan_sqlite", lambda *a: (_ for _ in ()).throw(sqlite_frames.Fallback("x")))
    exact = load_measure_data(ctx.db, patient_id_list=ids)
    for name, frame in fast.frames().items():
        pd.testing.assert_frame_equal(frame, exact.frames()[name], check_dtype=True, obj=name)
