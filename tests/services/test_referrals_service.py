"""Open referral loops for the board: only open loops, their latest step, and the overdue flag of entry.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from carenet_desktop.models import Patient, Practice, Referral
from carenet_desktop.services import entry
from carenet_desktop.services.referrals import BOARD_STEPS, list_open_referrals

TODAY = dt.date(2026, 6, 30)


def test_lists_every_open_loop_and_nothing_else(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    refs = list_open_referrals(demo_ctx, today=TODAY)
    with demo_ctx.db.session() as s:
        open_ids = set(s.scalars(select(Referral.id).where(Referral.closed_on.is_(None), Referral.lost_on.is_(None),
                                                           Referral.status.not_in(("closed", "lost", "cancelled")))))
        total = s.scalar(select(func.count()).select_from(Referral))
    assert refs and {r.id for r in refs} == open_ids and len(open_ids) < total
    for r in refs:
        assert r.step in BOARD_STEPS and r.date_of(r.step) is not None
        later = BOARD_STEPS[BOARD_STEPS.index(r.step) + 1:]
        assert all(r.date_of(st) is None for st in later)
        assert r.patient_name and r.mrn


def test_overdue_agrees_with_overdue_referral_steps(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    refs = {r.id: r for r in list_open_referrals(demo_ctx, today=TODAY)}
    late = entry.overdue_referral_steps(demo_ctx, today=TODAY)
    assert late, "the demo has overdue loops"
    assert {o.referral_id for o in late} == {r.id for r in refs.values() if r.overdue}
    for o in late:
        r = refs[o.referral_id]
        assert (r.next_step, r.due_on, r.days_overdue) == (o.next_step, o.due_on, o.days_overdue)
    for r in refs.values():
        if not r.overdue:
            assert r.due_on >= TODAY


def test_practice_and_type_filters_and_steps_move_the_loop(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    with demo_ctx.db.session() as s:
        patient = s.scalars(select(Patient).join(Practice).where(Practice.code == "P002").limit(1)).one()
        pid, born = patient.id, patient.birth_date
    placed = max(born, TODAY - dt.timedelta(days=3))
    made = entry.create_referral(demo_ctx, patient_id=pid, referral_type="help-me-grow", placed_on=placed,
                                 destination="Help Me Grow line", today=TODAY)
    assert made.ok
    mine = [r for r in list_open_referrals(demo_ctx, practice_code="P002", today=TODAY) if r.id == made.id]
    assert len(mine) == 1 and mine[0].step == "placed" and mine[0].help_me_grow and not mine[0].overdue
    assert mine[0].next_step == "scheduled" and mine[0].practice_code == "P002"
    assert all(r.id != made.id for r in list_open_referrals(demo_ctx, practice_code="P001", today=TODAY))
    only = list_open_referrals(demo_ctx, today=TODAY, referral_types=("help-me-grow",))
    assert {r.referral_type for r in only} == {"help-me-grow"} and made.id in {r.id for r in only}
    assert entry.record_referral_step(demo_ctx, made.id, "scheduled", TODAY, today=TODAY).ok
    moved = next(r for r in list_open_referrals(demo_ctx, today=TODAY) if r.id == made.id)
    assert (moved.step, moved.scheduled_on, moved.next_step) == ("scheduled", TODAY, "seen")
    assert entry.record_referral_step(demo_ctx, made.id, "lost", TODAY, lost_reason="Moved away", today=TODAY).ok
    assert all(r.id != made.id for r in list_open_referrals(demo_ctx, today=TODAY))
    assert list_open_referrals(demo_ctx, practice_code="NOPE", today=TODAY) == []
