"""The daily huddle (pre-visit planning): a practice's scheduled children for one day, each with every care
gap that the visit could close, and the huddle sheet (PDF) printed from it.

The gaps come from the one-row-per-child worklist (:func:`services.worklist.child_worklist` and
:func:`~services.worklist.child_detail`) as of the huddle's day, for the measure year that holds it: what
the worklist lists is what an action can still close in the year (closed episodes are not listed), so a
vaccine due, a screening, a lead test, the well-child visit itself. Each item is named once with the
measures that count it. Viewing and printing are audited (entity ``huddle``), like the worklist.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import pandas as pd
from sqlalchemy import select

from ..codes import APPOINTMENT_ACTIVE, LANGUAGE_LABELS
from ..metrics.period import Period
from ..models import Appointment, Patient, Practice, Provider
from ..reports.huddle_sheet import NO_PROVIDER, Huddle, HuddleGap, HuddleVisit, Paper
from . import audit
from .context import ServiceContext, ServiceError
from .permissions import require
from .worklist import Worklist, child_detail, child_worklist

__all__ = ["Huddle", "HuddleGap", "HuddleVisit", "daily_huddle", "print_huddle", "scheduled_visits"]

#: how the gap statuses rank on the sheet: the most pressing first
_STATUS_ORDER = {"overdue": 0, "upcoming": 1, "open": 2}


def _practice(ctx: ServiceContext, practice_code: str) -> Practice:
    with ctx.db.session() as s:
        practice = s.scalar(select(Practice).where(Practice.code == practice_code))
        if practice is None:
            raise ServiceError(f"No practice with code {practice_code!r}.")
        s.expunge(practice)
    require(ctx, "patients.read", practice.id)
    return practice


def scheduled_visits(ctx: ServiceContext, practice_code: str, day: dt.date) -> pd.DataFrame:
    """The practice's active appointments (booked, arrived, checked in ...) on ``day``, by time: one row per
    appointment with the child's name, MRN, birth date, contacts and the provider's name."""
    practice = _practice(ctx, practice_code)
    start = dt.datetime.combine(day, dt.time.min)
    stmt = (select(Appointment.id, Appointment.start, Appointment.minutes, Appointment.visit_type,
                   Appointment.status, Appointment.provider_name, Provider.given_name, Provider.family_name,
                   Provider.credentials, Patient.id, Patient.mrn, Patient.given_name, Patient.family_name,
                   Patient.birth_date, Patient.language, Patient.guardian, Patient.phone)
            .join(Patient, Patient.id == Appointment.patient_id)
            .outerjoin(Provider, Provider.id == Appointment.provider_id)
            .where(Patient.practice_id == practice.id, Appointment.start >= start,
                   Appointment.start < start + dt.timedelta(days=1), Appointment.status.in_(APPOINTMENT_ACTIVE))
            .order_by(Appointment.start, Appointment.id))
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    columns = ["appointment_id", "start", "minutes", "visit_type", "status", "provider", "patient_id", "mrn",
               "patient_name", "birth_date", "language", "guardian", "phone"]
    out = [[r[0], r[1], r[2], r[3] or "", r[4], _provider(r[6], r[7], r[8], r[5]), int(r[9]), r[10],
            ", ".join(p for p in (r[12], r[11]) if p), r[13], LANGUAGE_LABELS.get(r[14]) if r[14] else None,
            r[15], r[16]] for r in rows]
    return pd.DataFrame(out, columns=columns)


def _provider(given: str | None, family: str | None, credentials: str | None, written: str | None) -> str:
    """The provider's name from the store, else as the schedule wrote it."""
    if family:
        name = " ".join(p for p in (given, family) if p)
        return f"{name}, {credentials}" if credentials else name
    return written or NO_PROVIDER


def daily_huddle(ctx: ServiceContext, practice_code: str, day: dt.date, *, period: Period | None = None,
                 action: Literal["view"] | None = "view") -> Huddle:
    """Each child scheduled at the practice on ``day`` with the gaps the visit could close (gaps as of
    ``day``, in the measure year holding it unless ``period``); audited as a view unless ``action`` is None."""
    practice = _practice(ctx, practice_code)
    period = period or Period.year(day.year)
    visits = scheduled_visits(ctx, practice_code, day)
    worklist: Worklist | None = None
    if len(visits):
        worklist = child_worklist(ctx, period, practice_code, as_of=day, action=None)
    built = tuple(_visit(row, worklist) for row in visits.itertuples(index=False))
    huddle = Huddle(practice.code, practice.name or practice.code, day, period.label, built,
                    dict(worklist.failures) if worklist is not None else {})
    if action is not None:
        _record(ctx, practice.id, "view", f"Viewed the huddle of {_what(huddle)}")
    return huddle


def _visit(row: tuple[object, ...], worklist: Worklist | None) -> HuddleVisit:
    r = row._asdict()  # type: ignore[attr-defined]
    gaps: tuple[HuddleGap, ...] = ()
    if worklist is not None:
        gaps = bundle_gaps(child_detail(worklist, int(r["patient_id"])))
    birth = r["birth_date"]
    return HuddleVisit(
        appointment_id=int(r["appointment_id"]), start=pd.Timestamp(r["start"]).to_pydatetime(),
        minutes=None if pd.isna(r["minutes"]) else int(r["minutes"]), provider=str(r["provider"]),
        visit_type=str(r["visit_type"]), status=str(r["status"]), patient_id=int(r["patient_id"]), mrn=str(r["mrn"]),
        patient_name=str(r["patient_name"]), birth_date=birth if isinstance(birth, dt.date) else None,
        language=_text(r["language"]), guardian=_text(r["guardian"]), phone=_text(r["phone"]), gaps=gaps)


def _text(value: object) -> str | None:
    """A text cell of a frame row, None where blank (pandas hands a missing one over as NaN)."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) or value == "" else str(value)


def bundle_gaps(detail: pd.DataFrame) -> tuple[HuddleGap, ...]:
    """One gap per item of a child's ``child_detail`` rows: the soonest due date, the most pressing status,
    the measures that count it and what each says is missing; overdue first, then by due date."""
    if detail.empty:
        return ()
    out = []
    for item, rows in detail.groupby("item", sort=False):
        due = pd.to_datetime(rows["due_date"], errors="coerce").min()
        status = min(rows["status"].astype(str), key=lambda s: _STATUS_ORDER.get(s, 3))
        measures = ", ".join(sorted(set(rows["measure"].astype(str))))
        why = "; ".join(dict.fromkeys(rows["missing"].astype(str)))
        out.append(HuddleGap(str(item), None if pd.isna(due) else due.date(), status, measures, why))
    out.sort(key=lambda g: (_STATUS_ORDER.get(g.status, 3), g.due_date or dt.date.max, g.item))
    return tuple(out)


def print_huddle(ctx: ServiceContext, practice_code: str, day: dt.date, path: Path | str, *,
                 paper: Paper = "letter", huddle: Huddle | None = None) -> Huddle:
    """Write the huddle sheet of ``day`` to ``path`` (PDF; Letter or A4), audited as a print; ``huddle``:
    the one already on screen (otherwise it is gathered now)."""
    from ..reports.pdf_huddle import PAPER_SIZES, render_huddle  # reportlab: when a sheet is printed

    path = Path(path)
    if path.suffix.lower() != ".pdf":
        raise ServiceError(f"Cannot write {path.name}: use a .pdf file name")
    if paper not in PAPER_SIZES:
        raise ServiceError(f"Unknown paper size {paper!r}: use letter or a4")
    practice = _practice(ctx, practice_code)
    require(ctx, "patients.export", practice.id)
    if huddle is None or huddle.practice_code != practice_code or huddle.day != day:
        huddle = daily_huddle(ctx, practice_code, day, action=None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        render_huddle(huddle, path, paper)
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    _record(ctx, practice.id, "export", f"Printed the huddle sheet of {_what(huddle)} to {path.name}")
    return huddle


def _what(huddle: Huddle) -> str:
    children = len({v.patient_id for v in huddle.visits})
    return (f"{huddle.practice_code} on {huddle.day.isoformat()}: {len(huddle.visits)} visits, {children} children, "
            f"{huddle.gap_count} care gaps")


def _record(ctx: ServiceContext, practice_id: int, action: str, summary: str) -> None:
    with ctx.db.session() as s:
        audit.record(s, ctx.username, action, "huddle", None, practice_id=practice_id, summary=summary)
