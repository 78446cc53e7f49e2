"""QI-Core profile claims: a file that claims QI-Core conformance is evaluated as a QI-Core engine would
(resources without a profile of their own are stored but not evaluated); a file without profiles (an
ordinary EHR export) is evaluated in full."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from carenet_desktop.models import Encounter
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.fhir_import import import_fhir
from carenet_desktop.services.measure_data import load_measure_data

QICORE = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-"


def _bundle(with_profiles: bool) -> dict:
    def meta(kind: str) -> dict:
        return {"meta": {"profile": [QICORE + kind]}} if with_profiles else {}

    def encounter(eid: str, profiled: bool) -> dict:
        return {"resourceType": "Encounter", "id": eid, **(meta("encounter") if profiled else {}), "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
                "subject": {"reference": "Patient/p1"},
                "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-01T10:30:00Z"}}

    patient = {"resourceType": "Patient", "id": "p1", **meta("patient"), "gender": "female", "birthDate": "2015-01-01"}
    entries = [patient, encounter("profiled", True), encounter("unprofiled", False)]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in entries]}


@pytest.mark.parametrize(("with_profiles", "evaluated"), [(True, {"profiled"}), (False, {"profiled", "unprofiled"})])
def test_unprofiled_resources_in_a_qicore_file_are_kept_but_not_evaluated(tmp_path, with_profiles, evaluated):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle(with_profiles)))
    db = open_database(tmp_path / "p.db")
    import_fhir(ServiceContext(db), [path], practice_code="P")
    with db.session() as s:
        stored = dict(s.execute(select(Encounter.source_id, Encounter.profile_claim)).all())
    assert set(stored) == {"profiled", "unprofiled"}  # nothing is dropped from the store
    assert stored == ({"profiled": "yes", "unprofiled": "no"} if with_profiles else {"profiled": None, "unprofiled": None})
    data = load_measure_data(db)
    ids = [int(i) for i in data.encounters["event_id"]]
    with db.session() as s:
        loaded = set(s.scalars(select(Encounter.source_id).where(Encounter.id.in_(ids))))
    assert loaded == evaluated
    db.dispose()
