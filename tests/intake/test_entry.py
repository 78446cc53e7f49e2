"""Manual entry: validation as (field, message) pairs, audited writes, referral loops and the worklist."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carenet_desktop.models import (
    AggregateEntry,
    AuditLog,
    Immunization,
    Observation,
    Patient,
    Practice,
    Referral,
)
from carenet_desktop.services import entry
from carenet_desktop.services.audit import verify_chain
from carenet_desktop.services.context import ServiceContext

from .conftest import TODAY

D = dt.date


def _pid(ctx: ServiceContext, mrn: str) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(Patient.id).where(Patient.mrn == mrn))


def _fields(result: entry.EntryResult) -> set[str]:
    return {e.field for e in result.errors}


def test_visit_validation_errors_are_per_field(ctx: ServiceContext) -> None:
    result = entry.record_visit(ctx, patient_id=_pid(ctx, "M002"), date=D(2019, 1, 1), code="9939",
                                reason_code="Q", today=TODAY)
    assert not result.ok and result.id is None
    assert _fields(result) == {"date", "code", "reason_code"}
    assert result.message_for("date") == "Before the patient's birth."
    assert entry.record_visit(ctx, patient_id=None, date=D(2030, 1, 1), code="99392", today=TODAY).errors == [
        entry.FieldError("patient", "Choose a patient."), entry.FieldError("date", "Cannot be in the future.")]


def test_visit_is_written_normalised_and_audited(ctx: ServiceContext) -> None:
    result = entry.record_visit(ctx, patient_id=_pid(ctx, "M001"), date=D(2024, 5, 1), code="99392-25",
                                reason_code="z00129", today=TODAY)
    assert result.ok
    with ctx.db.session() as s:
        log = s.scalars(select(AuditLog).where(AuditLog.entity == "encounter")).one()
        assert log.action == "create" and log.entity_id == str(result.id) and log.username == "tester"
        assert log.after["code"] == "99392" and log.after["reason_code"] == "Z00.129"
        assert verify_chain(s) == []


def test_immunization_not_given_needs_a_reason(ctx: ServiceContext) -> None:
    pid = _pid(ctx, "M001")
    missing = entry.record_immunization(ctx, patient_id=pid, date=D(2020, 1, 1), cvx="20", given=False, today=TODAY)
    assert missing.errors == [entry.FieldError("not_given_reason", "Say why it was not given.")]
    refused = entry.record_immunization(ctx, patient_id=pid, date=D(2020, 1, 1), cvx="20", given=False,
                                        not_given_reason="refusal", today=TODAY)
    contra = entry.record_immunization(ctx, patient_id=pid, date=D(2020, 1, 2), cvx="3", given=False,
                                       not_given_reason="Contraindication: anaphylaxis", today=TODAY)
    given = entry.record_immunization(ctx, patient_id=pid, date=D(2020, 1, 3), cvx="008", today=TODAY)
    assert refused.ok and contra.ok and given.ok
    with ctx.db.session() as s:
        rows = {i.id: i for i in s.scalars(select(Immunization))}
    assert (rows[refused.id].status, rows[refused.id].status_reason_code) == ("not-done", "PATOBJ")
    assert (rows[contra.id].code, rows[contra.id].status_reason_code) == ("03", "MEDPREC")
    assert (rows[given.id].status, rows[given.id].code) == ("completed", "08")


def test_screening_with_instrument_and_result(ctx: ServiceContext) -> None:
    pid = _pid(ctx, "M002")
    ok = entry.record_screening(ctx, patient_id=pid, date=D(2022, 1, 10), instrument="M-CHAT-R/F", score=4,
                                result="positive", today=TODAY)
    assert ok.ok
    bad = entry.record_screening(ctx, patient_id=pid, date=D(2022, 1, 10), instrument="ZZZ", score=-1, today=TODAY)
    assert _fields(bad) == {"instrument", "score"}
    none = entry.record_screening(ctx, patient_id=pid, date=D(2022, 1, 10), instrument="phq-9a", today=TODAY)
    assert none.message_for("result") == "Give a score or a result."
    with ctx.db.session() as s:
        obs = s.get(Observation, ok.id)
    assert (obs.code_system, obs.code, obs.category, obs.interpretation, obs.value_num) == (
        "loinc", "72133-2", "survey", "positive", 4.0)
    assert obs.detail["instrument"] == "m-chat-r-f"


def test_referral_loop_in_date_order_and_lost(ctx: ServiceContext) -> None:
    pid = _pid(ctx, "M001")
    ref = entry.create_referral(ctx, patient_id=pid, referral_type="help-me-grow", placed_on=D(2025, 1, 10),
                                destination="HMG line", today=TODAY)
    assert ref.ok
    assert entry.record_referral_step(ctx, ref.id, "scheduled", D(2025, 1, 20), today=TODAY).ok
    early = entry.record_referral_step(ctx, ref.id, "seen", D(2025, 1, 15), today=TODAY)
    assert early.errors == [entry.FieldError("date", "Before the 'scheduled' step (2025-01-20).")]
    assert entry.record_referral_step(ctx, ref.id, "seen", D(2025, 2, 1), today=TODAY).ok
    late = entry.record_referral_step(ctx, ref.id, "scheduled", D(2025, 2, 5), today=TODAY)
    assert late.errors == [entry.FieldError("date", "After the 'seen' step (2025-02-01).")]
    lost = entry.record_referral_step(ctx, ref.id, "lost", D(2025, 3, 1), today=TODAY)
    assert lost.message_for("lost_reason") == "Say why the referral was lost to follow-up."
    assert entry.record_referral_step(ctx, ref.id, "lost", D(2025, 3, 1), lost_reason="family moved",
                                      today=TODAY).ok
    with ctx.db.session() as s:
        row = s.get(Referral, ref.id)
        assert (row.status, row.scheduled_on, row.seen_on, row.lost_reason) == (
            "lost", D(2025, 1, 20), D(2025, 2, 1), "family moved")
        updates = s.scalars(select(AuditLog).where(AuditLog.entity == "referral", AuditLog.action == "update")).all()
        assert [u.after["status"] for u in updates] == ["scheduled", "seen", "lost"]
        assert updates[0].before["status"] == "placed"
    stale = entry.record_referral_step(ctx, ref.id, "seen", D(2025, 2, 2), expected_version=1, today=TODAY)
    assert stale.message_for("referral") == "Changed by someone else meanwhile: reload it."


def test_overdue_referral_steps_worklist(ctx: ServiceContext) -> None:
    pid = _pid(ctx, "M003")
    placed = entry.create_referral(ctx, patient_id=pid, referral_type="specialist", placed_on=D(2025, 6, 1),
                                   today=TODAY).id
    fresh = entry.create_referral(ctx, patient_id=pid, referral_type="dental", placed_on=D(2025, 6, 25),
                                  today=TODAY).id
    seen = entry.create_referral(ctx, patient_id=pid, referral_type="behavioral-health", placed_on=D(2025, 4, 1),
                                 today=TODAY).id
    entry.record_referral_step(ctx, seen, "seen", D(2025, 5, 1), today=TODAY)
    closed = entry.create_referral(ctx, patient_id=pid, referral_type="other", placed_on=D(2025, 1, 1), today=TODAY).id
    entry.record_referral_step(ctx, closed, "closed", D(2025, 2, 1), today=TODAY)
    work = entry.overdue_referral_steps(ctx, today=TODAY)
    assert [(w.referral_id, w.next_step, w.due_on, w.days_overdue) for w in work] == [
        (seen, "report-received", D(2025, 5, 15), 46), (placed, "scheduled", D(2025, 6, 15), 15)]
    assert fresh not in {w.referral_id for w in work}
    custom = entry.overdue_referral_steps(ctx, today=TODAY, days={"scheduled": 3})
    assert {w.referral_id for w in custom} == {seen, placed, fresh}


def test_care_activity_and_aggregate_entry(ctx: ServiceContext) -> None:
    with ctx.db.session() as s:
        practice_id = s.scalar(select(Practice.id))
    act = entry.record_care_activity(ctx, practice_id=None, patient_id=_pid(ctx, "M001"), activity_type="outreach call",
                                     date=D(2025, 6, 1), minutes=15, today=TODAY)
    assert act.ok
    bad = entry.record_care_activity(ctx, practice_id=practice_id, activity_type="", date=None, minutes=5000,
                                     today=TODAY)
    assert _fields(bad) == {"activity_type", "date", "minutes"}
    first = entry.record_aggregate(ctx, practice_id=practice_id, measure_id="LSC", period_start=D(2025, 1, 1),
                                   period_end=D(2025, 1, 31), denominator=20, numerator=12, today=TODAY)
    again = entry.record_aggregate(ctx, practice_id=practice_id, measure_id="LSC", period_start=D(2025, 1, 1),
                                   period_end=D(2025, 1, 31), denominator=20, numerator=15, today=TODAY)
    assert first.ok and again.id == first.id
    wrong = entry.record_aggregate(ctx, practice_id=practice_id, measure_id="LSC", period_start=D(2025, 2, 1),
                                   period_end=D(2025, 1, 1), denominator=5, numerator=6, today=TODAY)
    assert _fields(wrong) == {"period_end"}
    wrong = entry.record_aggregate(ctx, practice_id=practice_id, measure_id="LSC", period_start=D(2025, 2, 1),
                                   period_end=D(2025, 2, 28), denominator=5, numerator=6, today=TODAY)
    assert _fields(wrong) == {"numerator"}
    with ctx.db.session() as s:
        assert s.get(AggregateEntry, first.id).numerator == 15
        log = s.scalars(select(AuditLog).where(AuditLog.entity == "aggregate_entry").order_by(AuditLog.id)).all()
        assert [(entry_.action, (entry_.before or {}).get("numerator"), entry_.after["numerator"]) for entry_ in log] == [
            ("create", None, 12), ("update", 12, 15)]
