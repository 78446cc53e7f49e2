"""Writing services say what they changed: a :class:`Change` on their result, by area and practice."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import pkgutil
from pathlib import Path

import pytest
from sqlalchemy import select

import carenet_desktop.services as services_package
from carenet_desktop.models import Patient, Practice
from carenet_desktop.services import entry, outreach
from carenet_desktop.services.changes import WRITERS, Area, Change, area_of, declared, records_change
from carenet_desktop.services.entry_undo import undo_entry
from carenet_desktop.services.intake import import_file, undo_import
from carenet_desktop.services.users import create_user

TODAY = dt.date(2026, 6, 30)


def _patient(ctx) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        p = s.scalars(select(Patient).where(Patient.birth_date < dt.date(2025, 1, 1)).order_by(Patient.id)).first()
        return p.id, p.practice_id


def test_records_of_each_kind_belong_to_their_area() -> None:
    assert area_of("patients") is area_of("patient") is Area.PATIENTS
    assert area_of("referrals") is Area.REFERRALS and area_of("immunizations") is Area.EVENTS
    assert records_change(["encounters"], imported=True, practices=[3, None]) == Change.of(
        Area.EVENTS, Area.IMPORTS, practices=[3])
    assert not records_change([])
    assert declared(create_user) == Change.of(Area.USERS)


def test_every_writing_service_is_declared() -> None:
    for module in pkgutil.iter_modules(services_package.__path__):
        importlib.import_module(f"carenet_desktop.services.{module.name}")
    names = {name.rsplit(".", 1)[-1] for name in WRITERS}
    assert {"record_visit", "record_immunization", "record_screening", "record_care_activity", "create_referral",
            "record_referral_step", "record_aggregate", "undo_entry", "record_outreach", "import_file",
            "undo_import", "import_fhir", "load_valuesets", "import_submission", "create_user", "set_active",
            "set_up_practice_store"} <= names


def test_an_entry_and_its_undo_carry_the_events_of_the_patients_practice(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    patient_id, practice_id = _patient(demo_ctx)
    result = entry.record_immunization(demo_ctx, patient_id=patient_id, date=dt.date(2025, 3, 1), cvx="133",
                                       today=TODAY)
    assert result.ok and result.change == Change.of(Area.EVENTS, practices=[practice_id])
    refused = entry.record_immunization(demo_ctx, patient_id=patient_id, date=None, cvx="133", today=TODAY)
    assert not refused.ok and not refused.change
    assert result.id is not None
    undone = undo_entry(demo_ctx, "immunization", result.id)
    assert undone.change == Change.of(Area.EVENTS, practices=[practice_id])


def test_a_referral_step_and_outreach(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    patient_id, practice_id = _patient(demo_ctx)
    placed = entry.create_referral(demo_ctx, patient_id=patient_id, referral_type="specialist",
                                   placed_on=dt.date(2026, 6, 1), today=TODAY)
    assert placed.change == Change.of(Area.REFERRALS, practices=[practice_id]) and placed.id is not None
    step = entry.record_referral_step(demo_ctx, placed.id, "closed", dt.date(2026, 6, 10), today=TODAY)
    assert step.ok and step.change.areas == {Area.REFERRALS}
    done = outreach.record_outreach(demo_ctx, patient_id=patient_id, measure_id="CMS117", note="called",
                                    today=TODAY)
    assert done.change == Change.of(Area.CARE_ACTIVITIES, practices=[practice_id])


def test_an_import_changes_its_records_and_the_history_and_its_undo_too(demo_ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with demo_ctx.db.session() as s:
        code, mrn = s.execute(select(Practice.code, Patient.mrn).join(Patient).limit(1)).one()
    path = tmp_path / "visits.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([("Patient MRN", "Visit Date", "CPT"), (mrn, "2025-03-01", "99392")])
    mapping = {"mrn": "Patient MRN", "date": "Visit Date", "code": "CPT"}
    result = import_file(demo_ctx, path, "encounters", practice_code=code, mapping=mapping)
    assert result.written and result.change.areas == {Area.IMPORTS, Area.EVENTS}
    assert result.import_id is not None
    undone = undo_import(demo_ctx, result.import_id)
    assert undone.change.areas == {Area.IMPORTS, Area.EVENTS} and len(undone.change.practices) == 1
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        csv.writer(fh).writerows([("Patient MRN", "Visit Date", "CPT"), ("nobody", "2025-03-01", "99392")])
    rejected = import_file(demo_ctx, bad, "encounters", practice_code=code, mapping=mapping)
    assert not rejected.written and rejected.change == Change.of(Area.IMPORTS)


@pytest.mark.parametrize("areas", [{Area.STORE}, {Area.USERS}])
def test_a_replaced_store_touches_every_screen_and_users_change_no_numbers(areas) -> None:  # type: ignore[no-untyped-def]
    change = Change(frozenset(areas))
    assert change.touches({Area.EVENTS}) is (Area.STORE in areas)
    assert change.changes_numbers is (Area.STORE in areas)
