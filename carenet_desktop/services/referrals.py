"""Open referral loops for the coordination board: who, what kind, each step's date, and what is next.

Patient names and MRNs are returned for the practice's own staff (never logged). The overdue flag and
due date come from :func:`carenet_desktop.services.entry.overdue_referral_steps`, so the board and the
overdue worklist always agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..codes import REFERRAL_STEPS, REFERRAL_TYPE_LABELS
from ..models import Patient, Practice, Referral
from .context import ServiceContext
from .entry import DEFAULT_STEP_DAYS, STEP_COLUMNS, overdue_referral_steps
from .permissions import scope

#: the board's columns: open loops sit in the column of their latest recorded step
BOARD_STEPS = ("placed", "scheduled", "seen", "report-received")
STEP_LABELS = {"placed": "Placed", "scheduled": "Scheduled", "seen": "Seen", "report-received": "Report received",
               "closed": "Closed", "lost": "Lost to follow-up"}
#: the kinds the network tracks as first-class (developmental and social-needs pathways)
HELP_ME_GROW = "help-me-grow"
SOCIAL_NEEDS = "community-service"
FLAGGED_KINDS = (HELP_ME_GROW, SOCIAL_NEEDS)
ACTIVITY_TYPES = {
    "outreach-call": "Outreach call", "care-plan-meeting": "Care-plan meeting",
    "resource-navigation": "Resource navigation", "interpreter-arranged": "Interpreter arranged",
    "transportation-arranged": "Transportation arranged", "family-education": "Family education",
}


@dataclass(frozen=True)
class OpenReferral:
    id: int
    version: int
    patient_id: int
    practice_id: int
    practice_code: str
    patient_name: str
    mrn: str
    birth_date: dt.date | None
    referral_type: str
    destination: str | None
    reason: str | None
    placed_on: dt.date
    scheduled_on: dt.date | None
    seen_on: dt.date | None
    report_received_on: dt.date | None
    step: str  # latest recorded step (a BOARD_STEPS value)
    next_step: str
    due_on: dt.date  # the next step is expected by this day
    days_overdue: int  # > 0 when overdue (from overdue_referral_steps), else 0

    @property
    def type_label(self) -> str:
        return REFERRAL_TYPE_LABELS.get(self.referral_type, self.referral_type)

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    @property
    def help_me_grow(self) -> bool:
        return self.referral_type == HELP_ME_GROW

    @property
    def social_needs(self) -> bool:
        return self.referral_type == SOCIAL_NEEDS

    def date_of(self, step: str) -> dt.date | None:
        return getattr(self, STEP_COLUMNS[step]) if step in STEP_COLUMNS and step != "closed" else None


def list_open_referrals(ctx: ServiceContext, *, practice_code: str | None = None, today: dt.date | None = None,
                        referral_types: tuple[str, ...] | None = None) -> list[OpenReferral]:
    """Every open loop (not closed, lost or cancelled), oldest placed first."""
    today = today or dt.date.today()
    stmt = (select(Referral.id, Referral.version, Referral.patient_id, Patient.practice_id, Practice.code,
                   Patient.family_name, Patient.given_name, Patient.mrn, Patient.birth_date, Referral.referral_type,
                   Referral.destination, Referral.reason_text, Referral.reason_code, Referral.placed_on,
                   Referral.scheduled_on, Referral.seen_on, Referral.report_received_on)
            .join(Patient, Patient.id == Referral.patient_id)
            .join(Practice, Practice.id == Patient.practice_id)
            .where(Referral.status.not_in(("closed", "lost", "cancelled")), Referral.lost_on.is_(None),
                   Referral.closed_on.is_(None))
            .order_by(Referral.placed_on, Referral.id))
    practice_id: int | None = None
    if practice_code is not None:
        with ctx.db.session() as s:
            practice_id = s.scalar(select(Practice.id).where(Practice.code == practice_code))
        if practice_id is None:
            return []
    practices = scope(ctx, "patients.read", None if practice_id is None else [practice_id])
    if practices is not None:
        stmt = stmt.where(Patient.practice_id.in_(practices))
    if referral_types:
        stmt = stmt.where(Referral.referral_type.in_(referral_types))
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    late = {o.referral_id: o for o in overdue_referral_steps(ctx, practice_id=practice_id, today=today)}
    out: list[OpenReferral] = []
    for r in rows:
        dates = {"placed": r.placed_on, "scheduled": r.scheduled_on, "seen": r.seen_on,
                 "report-received": r.report_received_on}
        step = next(st for st in reversed(BOARD_STEPS) if dates[st] is not None)
        next_step = REFERRAL_STEPS[REFERRAL_STEPS.index(step) + 1]
        over = late.get(r.id)
        due = over.due_on if over else dates[step] + dt.timedelta(days=DEFAULT_STEP_DAYS[next_step])
        name = ", ".join(p for p in (r.family_name, r.given_name) if p)
        out.append(OpenReferral(
            r.id, r.version, r.patient_id, r.practice_id, r.code, name, r.mrn or "", r.birth_date, r.referral_type,
            r.destination, r.reason_text or r.reason_code, r.placed_on, r.scheduled_on, r.seen_on,
            r.report_received_on, step, next_step, due, over.days_overdue if over else 0))
    return out
