"""FHIR Appointment resources into the ``appointment`` table: patient and practitioner participants, start and
length, visit type, status; re-imports update; malformed ones rejected with the reason; no journal rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from carenet_desktop.interchange.fhir import MappingError, map_resource
from carenet_desktop.models import Appointment, DataChange, Patient, Provider
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext
from carenet_desktop.services.changes import Area
from carenet_desktop.services.fhir_import import import_fhir
from tests.interchange.fhir_samples import bundle, patient, write


@pytest.fixture
def ctx(db_url):  # type: ignore[no-untyped-def]
    db = open_database(db_url)
    yield ServiceContext(db, username="tester")
    db.dispose()


def appointment(aid: str, pid: str | None, start: str | None = "2026-12-07T09:30:00-05:00", **extra: Any) -> dict:
    participants: list[dict[str, Any]] = [
        {"actor": {"reference": "Practitioner/dr-a", "display": "Dr. Alvarez"}, "status": "accepted"}]
    if pid:
        participants.append({"actor": {"reference": f"Patient/{pid}", "display": "a child"}, "status": "accepted"})
    resource = {"resourceType": "Appointment", "id": aid, "status": "booked", "participant": participants,
                "appointmentType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276",
                                                "code": "CHECKUP", "display": "A routine check-up"}],
                                    "text": "Well child 12 mo"}, **extra}
    if start is not None:
        resource["start"] = start
    return resource


def test_the_mapping_reads_participants_time_length_and_type() -> None:
    record = map_resource(appointment("ap-1", "kid", end="2026-12-07T09:50:00-05:00"))
    assert record is not None
    assert (record.kind, record.source_id, record.patient_ref, record.provider_ref) == (
        "appointment", "ap-1", "kid", "dr-a")
    assert record.values == {"start": dt.datetime(2026, 12, 7, 9, 30), "minutes": 20,
                             "visit_type": "Well child 12 mo", "status": "booked", "provider_name": "Dr. Alvarez",
                             "date_only": None}
    typed_by_service = appointment("ap-2", "kid", minutesDuration=15, appointmentType=None,
                                   serviceType=[{"coding": [{"code": "124", "display": "General Practice"}]}])
    assert map_resource(typed_by_service).values["visit_type"] == "General Practice"  # type: ignore[union-attr]
    assert map_resource(typed_by_service).values["minutes"] == 15  # type: ignore[union-attr]
    for bad, reason in ((appointment("ap-3", None), "no Patient actor"),
                        (appointment("ap-4", "kid", start=None, status="proposed"), "Appointment.start: missing"),
                        (appointment("ap-5", "kid", status="maybe"), "unknown status")):
        with pytest.raises(MappingError, match=reason):
            map_resource(bad)


def test_imported_with_the_practitioner_reimport_updates_and_no_journal_rows(ctx, tmp_path):  # type: ignore[no-untyped-def]
    practitioner = {"resourceType": "Practitioner", "id": "dr-a", "name": [{"family": "Alvarez"}],
                    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}]}
    path = write(tmp_path / "a.json", bundle(practitioner, patient("kid"), appointment("ap-1", "kid"),
                                             appointment("ap-2", "stranger"),
                                             appointment("ap-3", None)))
    result = import_fhir(ctx, [path], practice_code="P1")
    assert result.by_kind["appointment"] == {"added": 1, "updated": 0}
    assert result.rejected == 2
    reasons = sorted(p.reason for p in result.problems)
    assert reasons[0].endswith("no Patient actor")
    assert reasons[1] == "its patient is not in this file or the store"
    assert Area.SCHEDULE in result.change.areas
    with ctx.db.session() as s:
        stored = s.scalars(select(Appointment)).one()
        kid = s.scalar(select(Patient.id).where(Patient.source_id == "kid"))
        doctor = s.scalar(select(Provider.id).where(Provider.source_id == "dr-a"))
        assert (stored.patient_id, stored.provider_id, stored.start, stored.status, stored.visit_type) == (
            kid, doctor, dt.datetime(2026, 12, 7, 9, 30), "booked", "Well child 12 mo")
        journal_before = s.scalar(select(func.count()).select_from(DataChange))

    write(tmp_path / "a.json", bundle(appointment("ap-1", "kid", status="cancelled")))
    again = import_fhir(ctx, [tmp_path / "a.json"], practice_code="P1")
    assert again.by_kind["appointment"] == {"added": 0, "updated": 1}
    with ctx.db.session() as s:
        assert s.scalars(select(Appointment.status)).all() == ["cancelled"]
        assert s.scalar(select(func.count()).select_from(DataChange)) == journal_before
