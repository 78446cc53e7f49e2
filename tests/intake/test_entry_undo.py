"""Undo of manual entries through the audit trail, and the patient look-up the entry forms complete over."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from carenet_desktop.models import AggregateEntry, AuditLog, Encounter, Observation, Patient, Practice
from carenet_desktop.services import entry, lookup
from carenet_desktop.services.audit import verify_chain
from carenet_desktop.services.context import ServiceContext, ServiceError
from carenet_desktop.services.entry_undo import undo_entry
from tests.measure_catalogue import CATALOGUE

from .conftest import TODAY

D = dt.date


def _pid(ctx: ServiceContext, mrn: str) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(Patient.id).where(Patient.mrn == mrn))


def _practice(ctx: ServiceContext) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(Practice.id))


def _count(ctx: ServiceContext, model: type) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_undo_deletes_a_created_entry_and_is_audited(ctx: ServiceContext) -> None:
    saved = entry.record_visit(ctx, patient_id=_pid(ctx, "M001"), date=D(2024, 5, 1), code="99392", today=TODAY)
    assert saved.ok and _count(ctx, Encounter) == 1
    undone = undo_entry(ctx, "encounter", saved.id)
    assert undone.action == "deleted" and _count(ctx, Encounter) == 0
    with ctx.db.session() as s:
        log = s.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).one()
        assert (log.action, log.entity, log.entity_id, log.username) == ("undo", "encounter", str(saved.id), "tester")
        assert log.before["code"] == "99392" and log.after is None
        assert verify_chain(s) == []
    with pytest.raises(ServiceError, match="Nothing left to undo"):
        undo_entry(ctx, "encounter", saved.id)


def test_undo_of_an_update_restores_then_a_second_undo_deletes(ctx: ServiceContext) -> None:
    args = dict(practice_id=_practice(ctx), measure_id="LSC", period_start=D(2025, 1, 1), period_end=D(2025, 1, 31),
                today=TODAY)
    first = entry.record_aggregate(ctx, denominator=10, numerator=4, **args)
    again = entry.record_aggregate(ctx, denominator=12, numerator=9, **args)
    assert first.id == again.id
    assert undo_entry(ctx, "aggregate_entry", again.id).action == "restored"
    with ctx.db.session() as s:
        row = s.get(AggregateEntry, first.id)
        assert (row.denominator, row.numerator, row.period_start) == (10, 4, D(2025, 1, 1))
    assert undo_entry(ctx, "aggregate_entry", first.id).action == "deleted"
    assert _count(ctx, AggregateEntry) == 0


def test_undo_refused_while_other_records_point_at_the_entry(ctx: ServiceContext) -> None:
    pid = _pid(ctx, "M001")
    visit = entry.record_visit(ctx, patient_id=pid, date=D(2024, 5, 1), code="99392", today=TODAY)
    screen = entry.record_screening(ctx, patient_id=pid, date=D(2024, 5, 1), instrument="ASQ-3", result="negative",
                                    encounter_id=visit.id, today=TODAY)
    with pytest.raises(ServiceError, match="observation record"):
        undo_entry(ctx, "encounter", visit.id)
    undo_entry(ctx, "observation", screen.id)
    assert _count(ctx, Observation) == 0
    undo_entry(ctx, "encounter", visit.id)
    assert _count(ctx, Encounter) == 0


def test_undo_refused_for_someone_elses_change(ctx: ServiceContext) -> None:
    saved = entry.record_visit(ctx, patient_id=_pid(ctx, "M001"), date=D(2024, 5, 1), code="99392", today=TODAY)
    other = ServiceContext(ctx.db, username="someone-else")
    with pytest.raises(ServiceError, match="someone else"):
        undo_entry(other, "encounter", saved.id)
    with pytest.raises(ServiceError, match="cannot be undone"):
        undo_entry(ctx, "patient", 1)


def test_find_patients_by_mrn_or_name_within_the_practice(ctx: ServiceContext) -> None:
    practice = _practice(ctx)
    assert [m.mrn for m in lookup.find_patients(ctx, "m00", practice_id=practice)] == ["M001", "M002", "M003", "M004"]
    exact = lookup.find_patients(ctx, "M003", practice_id=practice)
    assert exact[0].mrn == "M003" and exact[0].label.startswith("M003, Test · MRN M003 · born 2012-01-20")
    assert [m.mrn for m in lookup.find_patients(ctx, "test m002", practice_id=practice)] == ["M002"]
    assert lookup.find_patients(ctx, "m00", practice_id=practice + 99) == []
    assert lookup.find_patients(ctx, "%", practice_id=practice) == []
    assert lookup.find_patients(ctx, "  ", practice_id=practice) == []


def test_entry_choices_come_from_the_vocabularies() -> None:
    choices = lookup.entry_choices(CATALOGUE)
    labels = {c.label for c in choices.instruments}
    assert {"ASQ-3", "M-CHAT-R/F", "SWYC", "EPDS", "PHQ-2", "PHQ-9A", "AHC HRSN"} <= labels
    assert {c.key for c in choices.not_given_reasons} == set(entry.NOT_GIVEN_REASONS)
    assert any(c.key == "LSC" for c in choices.measures)
