"""Care-gap outreach: "we contacted this family about this measure", so the team does not call twice.

An outreach is a :class:`~carenet_desktop.models.CareActivity` of type ``"outreach"`` for the patient.
The measure goes in ``care_activity.measure_id``; everything else is an ordinary, audited care activity.
Notes written by earlier versions as ``[MEASURE] note`` are still read (:func:`split_note`).

An attempt may carry the child's open gap items at that moment (``open_gaps``, rows of the worklist's
``gaps``): they are kept with it (``OutreachGap``) so that a gap closed later by new data is credited to
the outreach before it (:mod:`services.outreach_results`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from ..metrics.period import Period
from ..models import CareActivity, OutreachGap, Patient, Practice
from . import audit
from .changes import Area, records_change, writes
from .context import ServiceContext, ServiceError
from .entry import EntryResult, FieldError
from .gaps import write_worklist
from .permissions import require, require_practice_codes, scope

OUTREACH_TYPE = "outreach"
NOTE_MAX = 2000
_TAG = re.compile(r"^\[([A-Za-z0-9_.\-]{1,32})\] ?")

#: how the family was contacted
METHODS = ("call", "text", "letter", "portal", "in person")
#: what came of the attempt ("sent": a letter or portal message went out; no answer expected at once)
OUTCOMES = ("reached", "left message", "no answer", "wrong number", "declined", "scheduled", "sent")

#: columns of :func:`outreach_done`
DONE_COLUMNS = ("activity_id", "patient_id", "measure", "activity_date", "note", "performed_by",
                "method", "outcome", "follow_up_date")


def tag_note(measure_id: str, note: str) -> str:
    return f"[{measure_id}] {note}".rstrip()


def split_note(text: str | None) -> tuple[str | None, str]:
    """``"[CMS155] left a voicemail"`` -> ``("CMS155", "left a voicemail")``; untagged -> ``(None, text)``."""
    text = text or ""
    match = _TAG.match(text)
    if match is None:
        return None, text
    return match.group(1), text[match.end():]


@writes(Area.CARE_ACTIVITIES)
def record_outreach(ctx: ServiceContext, *, patient_id: int | None, measure_id: str | None, note: str | None,
                    date: dt.date | None = None, minutes: int | None = None,
                    today: dt.date | None = None, method: str | None = None, outcome: str | None = None,
                    follow_up: dt.date | None = None, open_gaps: pd.DataFrame | None = None,
                    period: Period | None = None) -> EntryResult:
    """Record one outreach attempt for a patient (audited); errors come back per field.

    An attempt with an ``outcome`` is about the child's care gaps as a whole: its ``measure_id`` may be
    left out. ``method`` is one of :data:`METHODS`, ``outcome`` one of :data:`OUTCOMES`, ``follow_up``
    the day to try again (not before the attempt). ``open_gaps``: the worklist's gap item rows (``patient_id``,
    ``measure``, ``group_index``, ``item``, ``due_date``) of ``period``; the patient's rows are kept with the
    attempt."""
    today = today or dt.date.today()
    day = date or today
    errors: list[FieldError] = []
    measure = (measure_id or "").strip()
    text = (note or "").strip()
    if measure and not _TAG.match(f"[{measure}]") or not measure and outcome is None:
        errors.append(FieldError("measure", "Choose the measure the outreach was about."))
    if method is not None and method not in METHODS:
        errors.append(FieldError("method", f"One of: {', '.join(METHODS)}."))
    if outcome is not None and outcome not in OUTCOMES:
        errors.append(FieldError("outcome", f"One of: {', '.join(OUTCOMES)}."))
    if follow_up is not None and follow_up < day:
        errors.append(FieldError("follow_up", "Cannot be before the attempt."))
    if len(text) > NOTE_MAX:
        errors.append(FieldError("note", f"At most {NOTE_MAX} characters."))
    if day > today:
        errors.append(FieldError("date", "Cannot be in the future."))
    if minutes is not None and not (0 <= minutes <= 24 * 60):
        errors.append(FieldError("minutes", "Between 0 and 1440 minutes."))
    with ctx.db.session() as s:
        patient = s.get(Patient, patient_id) if patient_id is not None else None
        if patient is not None:
            require(ctx, "patients.write", patient.practice_id)
        if patient is None:
            errors.append(FieldError("patient", "Choose a patient." if patient_id is None else "Unknown patient."))
        elif day < patient.birth_date:
            errors.append(FieldError("date", "Before the patient's birth."))
        if errors or patient is None:
            return EntryResult(False, errors=errors)
        act = CareActivity(practice_id=patient.practice_id, patient_id=patient.id, activity_type=OUTREACH_TYPE,
                           activity_date=day, minutes=minutes, performed_by=ctx.username[:100] or None,
                           measure_id=measure or None, notes=text or None, contact_method=method,
                           outcome=outcome, follow_up_date=follow_up)
        s.add(act)
        s.flush()
        if open_gaps is not None and period is not None:
            s.add_all(_gap_rows(act, open_gaps, period))
        # the summary names the measure and outcome, never the patient
        about = measure or "care gaps"
        summary = f"care-gap outreach for {about}" + (f": {outcome}" if outcome else "")
        audit.record(s, ctx.username, "create", "care_activity", act.id, practice_id=patient.practice_id,
                     after=audit.row_snapshot(act), summary=summary)
        return EntryResult(True, act.id, change=records_change(["care_activity"], practices=[patient.practice_id]))


def _gap_rows(act: CareActivity, gaps: pd.DataFrame, period: Period) -> list[OutreachGap]:
    """The attempt's patient's gap items, each (measure, rate, item) once."""
    mine = gaps[(gaps["patient_id"] == act.patient_id).to_numpy()]
    mine = mine.drop_duplicates(["measure", "group_index", "item"])
    out = []
    for measure, group_index, item, due in zip(mine["measure"], mine["group_index"], mine["item"], mine["due_date"],
                                               strict=True):
        day = pd.Timestamp(due) if due is not None and not pd.isna(due) else None
        out.append(OutreachGap(activity_id=act.id, patient_id=act.patient_id, practice_id=act.practice_id,
                               measure_id=str(measure)[:32], group_index=int(group_index), item=str(item)[:200],
                               due_date=None if day is None else day.date(), period_start=period.start,
                               period_end=period.end))
    return out


def outreach_done(ctx: ServiceContext, *, practice_code: str | None = None, since: dt.date | None = None,
                  patient_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Outreach recorded (``DONE_COLUMNS``), newest first; one row per activity."""
    stmt = (select(CareActivity.id, CareActivity.patient_id, CareActivity.activity_date, CareActivity.notes,
                   CareActivity.performed_by, CareActivity.measure_id, CareActivity.contact_method,
                   CareActivity.outcome, CareActivity.follow_up_date)
            .where(CareActivity.activity_type == OUTREACH_TYPE, CareActivity.patient_id.is_not(None)))
    if practice_code is not None:
        with ctx.db.session() as s:
            practice_id = s.scalar(select(Practice.id).where(Practice.code == practice_code))
        stmt = stmt.where(CareActivity.practice_id == (practice_id if practice_id is not None else -1))
    practices = scope(ctx, "patients.read", None if practice_code is None or practice_id is None else [practice_id])
    if practices is not None:
        stmt = stmt.where(CareActivity.practice_id.in_(practices))
    if since is not None:
        stmt = stmt.where(CareActivity.activity_date >= since)
    if patient_ids is not None:
        stmt = stmt.where(CareActivity.patient_id.in_(list(patient_ids)))
    stmt = stmt.order_by(CareActivity.activity_date.desc(), CareActivity.id.desc())
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    split = [(r.measure_id, r.notes or "") if r.measure_id else split_note(r.notes) for r in rows]
    return pd.DataFrame({
        "activity_id": pd.Series([r.id for r in rows], dtype="int64"),
        "patient_id": pd.Series([r.patient_id for r in rows], dtype="int64"),
        "measure": pd.Series([m for m, _ in split], dtype=object),
        "activity_date": pd.Series([r.activity_date for r in rows], dtype=object),
        "note": pd.Series([n for _, n in split], dtype=object),
        "performed_by": pd.Series([r.performed_by for r in rows], dtype=object),
        "method": pd.Series([r.contact_method for r in rows], dtype=object),
        "outcome": pd.Series([r.outcome for r in rows], dtype=object),
        "follow_up_date": pd.Series([r.follow_up_date for r in rows], dtype=object),
    }, columns=list(DONE_COLUMNS))


def attempt_text(method: object, outcome: object, day: object) -> str:
    """``"2026-06-30 call: left message"``; an older attempt without method or outcome reads
    ``"2026-06-30 outreach"``."""
    what = ": ".join(str(v) for v in (method, outcome) if isinstance(v, str) and v)
    when = day.isoformat() if isinstance(day, dt.date) else ""
    return f"{when} {what or 'outreach'}".strip()


def latest_attempts(done: pd.DataFrame) -> pd.DataFrame:
    """Per patient, the newest attempt of ``outreach_done`` (which is newest first): ``patient_id``,
    ``last_outreach`` (text), ``last_outreach_on``, ``last_outcome``, ``follow_up_date``, ``attempts``."""
    counts = done.groupby("patient_id").size()
    latest = done.drop_duplicates("patient_id")
    return pd.DataFrame({
        "patient_id": latest["patient_id"].to_numpy(dtype="int64"),
        "last_outreach": [attempt_text(m, o, d) for m, o, d in
                          zip(latest["method"], latest["outcome"], latest["activity_date"], strict=True)],
        "last_outreach_on": latest["activity_date"].to_numpy(dtype=object),
        "last_outcome": latest["outcome"].to_numpy(dtype=object),
        "follow_up_date": latest["follow_up_date"].to_numpy(dtype=object),
        "attempts": counts.reindex(latest["patient_id"].to_numpy()).to_numpy(dtype="int64"),
    })


def mark_done(worklist: pd.DataFrame, done: pd.DataFrame) -> pd.DataFrame:
    """The worklist with ``outreach_on`` / ``outreach_note`` of the latest outreach per (patient, measure)."""
    latest = (done.dropna(subset=["measure"]).drop_duplicates(["patient_id", "measure"])
              [["patient_id", "measure", "activity_date", "note"]]
              .rename(columns={"activity_date": "outreach_on", "note": "outreach_note"}))
    out = worklist.merge(latest, on=["patient_id", "measure"], how="left")
    out.attrs = dict(worklist.attrs)
    return out


def export_worklist(ctx: ServiceContext, table: pd.DataFrame, path: Path) -> int:
    """Write the rows of a ``care_gaps`` worklist the user is looking at (after filters) to .csv/.xlsx,
    audited as an export like ``gaps.export_care_gaps``; returns the number of rows."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ServiceError(f"Cannot write {path.name}: use a .csv or .xlsx file name")
    codes = table["practice_code"].dropna().astype(str).unique().tolist() if "practice_code" in table else []
    require_practice_codes(ctx, "patients.export", codes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_worklist(table, path)
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    info = table.attrs.get("audit") or {"entity_id": "network", "practice_id": None, "what": "care gaps"}
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "care_gaps", info["entity_id"], practice_id=info["practice_id"],
                     summary=f"Exported {len(table)} rows of {info['what']} to {path.name}")
    return len(table)
