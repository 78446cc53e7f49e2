"""Manual entry: visits, immunizations (given or not), screenings, care coordination, referral loops,
aggregate counts, and the worklist of overdue referral steps.

Every function validates with the same rules as the spreadsheet importer and returns an
``EntryResult``: on failure a list of ``FieldError(field, message)`` the form shows beside each field,
on success the id of the row written and what changed (``change``, for the screens showing it). Every
change is audited with before/after.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..codes import REFERRAL_STEPS, REFERRAL_TYPE_LABELS
from ..interchange.tabular import coding, vocab
from ..interchange.tabular.instruments import BY_KEY, instrument_key
from ..models import (
    AggregateEntry,
    CareActivity,
    Encounter,
    Immunization,
    Observation,
    Patient,
    Practice,
    Provider,
    Referral,
    ValueSetCode,
)
from . import audit
from .changes import Area, Change, records_change, writes
from .context import ServiceContext
from .permissions import require, scope

# days allowed after the previous step before the next one is overdue
DEFAULT_STEP_DAYS: dict[str, int] = {"scheduled": 14, "seen": 30, "report-received": 14, "closed": 7}
STEP_COLUMNS: dict[str, str] = {"placed": "placed_on", "scheduled": "scheduled_on", "seen": "seen_on",
                                "report-received": "report_received_on", "closed": "closed_on"}
NOT_GIVEN_REASONS = {"refusal": "PATOBJ", "contraindication": "MEDPREC", "immunity": "IMMUNE",
                     "out-of-stock": "OSTOCK", "religious": "RELIG", "philosophical": "PHILISOP"}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class EntryResult:
    ok: bool
    id: int | None = None
    errors: list[FieldError] = field(default_factory=list)
    #: what was written (nothing when ``ok`` is False)
    change: Change = field(default_factory=Change.nothing)

    def message_for(self, name: str) -> str | None:
        return next((e.message for e in self.errors if e.field == name), None)


class _Errors(list[FieldError]):
    def add(self, name: str, message: str) -> None:
        self.append(FieldError(name, message))


def _as_date(value: dt.date | dt.datetime | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _as_datetime(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def _check_date(errors: _Errors, name: str, value: Any, *, required: bool = True,
                today: dt.date, birth: dt.date | None = None) -> dt.date | None:
    try:
        day = _as_date(value)
    except (TypeError, ValueError):
        errors.add(name, "Not a valid date.")
        return None
    if day is None:
        if required:
            errors.add(name, "Required.")
        return None
    if day > today:
        errors.add(name, "Cannot be in the future.")
    elif birth is not None and day < birth:
        errors.add(name, "Before the patient's birth.")
    return day


def _patient(ctx: ServiceContext, session: Session, errors: _Errors, patient_id: int | None) -> Patient | None:
    """The patient, checked against the user's practices before anything about it is validated."""
    patient = session.get(Patient, patient_id) if patient_id is not None else None
    if patient is not None:
        require(ctx, "patients.write", patient.practice_id)
    if patient is None:
        errors.add("patient", "Choose a patient." if patient_id is None else "Unknown patient.")
    return patient


def _check_code(session: Session, errors: _Errors, name: str, system: str, code: str | None,
                *, required: bool = True) -> str | None:
    """The normalised code; format checked always, membership when the catalogue has the system."""
    raw = (code or "").strip()
    if not raw:
        if required:
            errors.add(name, "Required.")
        return None
    codes = coding.normalise(pd.Series([raw], dtype=object), pd.Series([system], dtype=object))
    canonical = str(codes.iloc[0])
    if not bool(coding.format_ok(codes, pd.Series([system], dtype=object)).iloc[0]):
        errors.add(name, f"Not a valid {coding.SYSTEM_LABELS.get(system, system)} code.")
        return None
    has_catalogue = session.scalar(select(ValueSetCode.id).where(ValueSetCode.code_system == system).limit(1))
    if has_catalogue is not None and session.scalar(select(ValueSetCode.id).where(
            ValueSetCode.code_system == system, ValueSetCode.code == canonical).limit(1)) is None:
        errors.add(name, "Unknown code: in no loaded value set.")
    return canonical


def _check_text(errors: _Errors, name: str, value: str | None, max_len: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            errors.add(name, "Required.")
        return None
    if len(text) > max_len:
        errors.add(name, f"At most {max_len} characters.")
    return text


def _check_provider(session: Session, errors: _Errors, provider_id: int | None) -> None:
    if provider_id is not None and session.get(Provider, provider_id) is None:
        errors.add("provider", "Unknown provider.")


def _save(ctx: ServiceContext, session: Session, obj: Any, entity: str, practice_id: int | None,
          before: dict[str, Any] | None = None, summary: str | None = None) -> EntryResult:
    require(ctx, "aggregates.write" if entity == "aggregate_entry" else "patients.write", practice_id)
    session.add(obj)
    session.flush()
    audit.record(session, ctx.username, "update" if before else "create", entity, obj.id, practice_id=practice_id,
                 before=before, after=audit.row_snapshot(obj), summary=summary)
    return EntryResult(True, obj.id, change=records_change([entity], practices=[practice_id]))


def _today(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


# --- clinical events ----------------------------------------------------------------------------------

@writes(Area.EVENTS)
def record_visit(ctx: ServiceContext, *, patient_id: int | None, date: dt.date | dt.datetime | None,
                 code: str | None, code_system: str = "cpt", display: str | None = None, class_code: str = "AMB",
                 provider_id: int | None = None, reason_code: str | None = None,
                 today: dt.date | None = None) -> EntryResult:
    """A visit (Encounter) with its CPT/HCPCS/SNOMED code and an optional ICD-10 reason."""
    errors = _Errors()
    with ctx.db.session() as s:
        patient = _patient(ctx, s, errors, patient_id)
        day = _check_date(errors, "date", date, today=_today(today), birth=patient.birth_date if patient else None)
        canonical = _check_code(s, errors, "code", code_system, code)
        reason = _check_code(s, errors, "reason_code", "icd10cm", reason_code, required=False)
        display = _check_text(errors, "display", display, 255)
        _check_provider(s, errors, provider_id)
        if errors or patient is None or day is None:
            return EntryResult(False, errors=list(errors))
        when = date if isinstance(date, dt.datetime) else _as_datetime(day)
        # a visit recorded by its date is a point in time: end = start (an open end would mean "ongoing")
        enc = Encounter(patient_id=patient.id, status="finished", class_code=class_code, start=when, end=when,
                        code_system=code_system, code=canonical, display=display, provider_id=provider_id,
                        reason_system="icd10cm" if reason else None, reason_code=reason)
        return _save(ctx, s, enc, "encounter", patient.practice_id)


@writes(Area.EVENTS)
def record_immunization(ctx: ServiceContext, *, patient_id: int | None, date: dt.date | dt.datetime | None,
                        cvx: str | None, given: bool = True, not_given_reason: str | None = None,
                        lot_number: str | None = None, provider_id: int | None = None, display: str | None = None,
                        today: dt.date | None = None) -> EntryResult:
    """A vaccine given, or not given with its reason (refusal, contraindication, immunity, out-of-stock ...)."""
    errors = _Errors()
    with ctx.db.session() as s:
        patient = _patient(ctx, s, errors, patient_id)
        day = _check_date(errors, "date", date, today=_today(today), birth=patient.birth_date if patient else None)
        canonical = _check_code(s, errors, "cvx", "cvx", cvx)
        lot = _check_text(errors, "lot_number", lot_number, 40)
        reason_code = None
        if not given:
            text = (not_given_reason or "").strip()
            reason_code = NOT_GIVEN_REASONS.get(text.lower())
            if reason_code is None and text:
                reason_code = vocab.not_given_reason(pd.Series([text], dtype=object)).iloc[0]
            if not text:
                errors.add("not_given_reason", "Say why it was not given.")
            elif reason_code is None:
                errors.add("not_given_reason", "Unknown reason (refusal, contraindication, immunity, out of stock, "
                                               "religious, philosophical).")
        elif not_given_reason:
            errors.add("not_given_reason", "Only for a vaccine not given.")
        _check_provider(s, errors, provider_id)
        if errors or patient is None or day is None:
            return EntryResult(False, errors=list(errors))
        imm = Immunization(patient_id=patient.id, status="completed" if given else "not-done", code_system="cvx",
                           code=canonical, display=_check_text(errors, "display", display, 255),
                           occurrence=_as_datetime(day), recorded=_as_datetime(_today(today)), primary_source=True,
                           status_reason_system=vocab.ACT_REASON if reason_code else None,
                           status_reason_code=reason_code, lot_number=lot, provider_id=provider_id)
        return _save(ctx, s, imm, "immunization", patient.practice_id)


@writes(Area.EVENTS)
def record_screening(ctx: ServiceContext, *, patient_id: int | None, date: dt.date | dt.datetime | None,
                     instrument: str | None, score: float | None = None, result: str | None = None,
                     encounter_id: int | None = None, provider_id: int | None = None,
                     today: dt.date | None = None) -> EntryResult:
    """A screening (ASQ-3, M-CHAT-R/F, SWYC, EPDS, PHQ-2/PHQ-9A, social-needs screens) with score/result."""
    errors = _Errors()
    with ctx.db.session() as s:
        patient = _patient(ctx, s, errors, patient_id)
        day = _check_date(errors, "date", date, today=_today(today), birth=patient.birth_date if patient else None)
        key = instrument_key(instrument or "")
        if key is None:
            errors.add("instrument", "Choose an instrument." if not instrument else "Unknown instrument.")
        if score is not None and (not isinstance(score, int | float) or score < 0 or score != score):
            errors.add("score", "A score is a number, 0 or more.")
        interpretation = None
        if result:
            interpretation = vocab.interpretation(pd.Series([result], dtype=object)).iloc[0]
            if interpretation not in ("positive", "negative", "normal", "abnormal"):
                errors.add("result", "Result is positive, negative, normal or abnormal.")
        if score is None and not result:
            errors.add("result", "Give a score or a result.")
        if encounter_id is not None and s.get(Encounter, encounter_id) is None:
            errors.add("encounter", "Unknown visit.")
        _check_provider(s, errors, provider_id)
        if errors or patient is None or day is None or key is None:
            return EntryResult(False, errors=list(errors))
        inst = BY_KEY[key]
        obs = Observation(patient_id=patient.id, status="final", category="survey", code_system="loinc",
                          code=inst.loinc, display=inst.display, effective_start=_as_datetime(day),
                          effective_end=_as_datetime(day),
                          value_num=float(score) if score is not None else None, interpretation=interpretation,
                          encounter_id=encounter_id, provider_id=provider_id,
                          detail={"instrument": key, "instrument_kind": inst.kind})
        return _save(ctx, s, obs, "observation", patient.practice_id, summary=f"{inst.label} screening")


# --- care coordination -------------------------------------------------------------------------------

@writes(Area.CARE_ACTIVITIES)
def record_care_activity(ctx: ServiceContext, *, practice_id: int | None, activity_type: str | None,
                         date: dt.date | None, minutes: int | None = None, patient_id: int | None = None,
                         referral_id: int | None = None, performed_by: str | None = None,
                         notes: str | None = None, today: dt.date | None = None) -> EntryResult:
    errors = _Errors()
    with ctx.db.session() as s:
        patient = _patient(ctx, s, errors, patient_id) if patient_id is not None else None
        if practice_id is None and patient is not None:
            practice_id = patient.practice_id
        if practice_id is not None:
            require(ctx, "patients.write", practice_id)
        if practice_id is None or s.get(Practice, practice_id) is None:
            errors.add("practice", "Choose a practice.")
        elif patient is not None and patient.practice_id != practice_id:
            errors.add("patient", "The patient belongs to another practice.")
        kind = _check_text(errors, "activity_type", activity_type, 40, required=True)
        day = _check_date(errors, "date", date, today=_today(today), birth=patient.birth_date if patient else None)
        if minutes is not None and not (0 <= minutes <= 24 * 60):
            errors.add("minutes", "Between 0 and 1440 minutes.")
        if referral_id is not None:
            ref = s.get(Referral, referral_id)
            if ref is None or (patient is not None and ref.patient_id != patient.id):
                errors.add("referral", "Unknown referral for this patient.")
        by = _check_text(errors, "performed_by", performed_by, 100)
        if errors or day is None or practice_id is None or kind is None:
            return EntryResult(False, errors=list(errors))
        act = CareActivity(practice_id=practice_id, patient_id=patient.id if patient else None, referral_id=referral_id,
                           activity_type=kind, activity_date=day, minutes=minutes, performed_by=by,
                           notes=(notes or "").strip() or None)
        return _save(ctx, s, act, "care_activity", practice_id)


@writes(Area.REFERRALS)
def create_referral(ctx: ServiceContext, *, patient_id: int | None, referral_type: str | None,
                    placed_on: dt.date | None, destination: str | None = None, reason_code: str | None = None,
                    reason_text: str | None = None, provider_id: int | None = None, notes: str | None = None,
                    today: dt.date | None = None) -> EntryResult:
    errors = _Errors()
    with ctx.db.session() as s:
        patient = _patient(ctx, s, errors, patient_id)
        day = _check_date(errors, "placed_on", placed_on, today=_today(today),
                          birth=patient.birth_date if patient else None)
        if referral_type not in REFERRAL_TYPE_LABELS:
            errors.add("referral_type", "Choose a referral type.")
        dest = _check_text(errors, "destination", destination, 200)
        reason = _check_code(s, errors, "reason_code", "icd10cm", reason_code, required=False)
        why = _check_text(errors, "reason_text", reason_text, 255)
        _check_provider(s, errors, provider_id)
        if errors or patient is None or day is None:
            return EntryResult(False, errors=list(errors))
        ref = Referral(patient_id=patient.id, provider_id=provider_id, referral_type=referral_type, destination=dest,
                       reason_system="icd10cm" if reason else None, reason_code=reason, reason_text=why,
                       status="placed", placed_on=day, notes=(notes or "").strip() or None)
        return _save(ctx, s, ref, "referral", patient.practice_id)


@writes(Area.REFERRALS)
def record_referral_step(ctx: ServiceContext, referral_id: int, step: str, on: dt.date | None, *,
                         lost_reason: str | None = None, expected_version: int | None = None,
                         today: dt.date | None = None) -> EntryResult:
    """One step of the loop (scheduled, seen, report-received, closed) or 'lost' with its reason.

    Steps must be in date order: a step cannot be dated before an earlier step or after a later one.
    """
    errors = _Errors()
    with ctx.db.session() as s:
        ref = s.get(Referral, referral_id)
        if ref is None:
            return EntryResult(False, errors=[FieldError("referral", "Unknown referral.")])
        require(ctx, "patients.write", s.scalar(select(Patient.practice_id).where(Patient.id == ref.patient_id)))
        if expected_version is not None and ref.version != expected_version:
            return EntryResult(False, errors=[FieldError("referral", "Changed by someone else meanwhile: reload it.")])
        patient = s.get(Patient, ref.patient_id)
        day = _check_date(errors, "date", on, today=_today(today), birth=patient.birth_date if patient else None)
        if step not in (*REFERRAL_STEPS[1:], "lost"):
            errors.add("step", "Choose a step: scheduled, seen, report received, closed, or lost to follow-up.")
        elif day is not None:
            if step == "lost":
                if ref.closed_on is not None:
                    errors.add("step", "The referral is closed; it cannot be lost to follow-up.")
                if day < ref.placed_on:
                    errors.add("date", f"Before the referral was placed ({ref.placed_on:%Y-%m-%d}).")
                if not (lost_reason or "").strip():
                    errors.add("lost_reason", "Say why the referral was lost to follow-up.")
                _check_text(errors, "lost_reason", lost_reason, 200)
            else:
                if ref.lost_on is not None:
                    errors.add("step", "The referral was lost to follow-up; record a new referral instead.")
                _check_step_order(errors, ref, step, day)
        if errors or day is None:
            return EntryResult(False, errors=list(errors))
        before = audit.row_snapshot(ref)
        if step == "lost":
            ref.lost_on, ref.lost_reason, ref.status = day, (lost_reason or "").strip(), "lost"
        else:
            setattr(ref, STEP_COLUMNS[step], day)
            ref.status = _latest_status(ref)
        practice_id = patient.practice_id if patient else None
        return _save(ctx, s, ref, "referral", practice_id, before=before, summary=f"referral step {step}")


def _check_step_order(errors: _Errors, ref: Referral, step: str, day: dt.date) -> None:
    order = list(STEP_COLUMNS)
    i = order.index(step)
    for earlier in reversed(order[:i]):
        value = getattr(ref, STEP_COLUMNS[earlier])
        if value is not None and day < value:
            errors.add("date", f"Before the '{earlier}' step ({value:%Y-%m-%d}).")
            break
    for later in order[i + 1:]:
        value = getattr(ref, STEP_COLUMNS[later])
        if value is not None and day > value:
            errors.add("date", f"After the '{later}' step ({value:%Y-%m-%d}).")
            break


def _latest_status(ref: Referral) -> str:
    for step in reversed(list(STEP_COLUMNS)):
        if getattr(ref, STEP_COLUMNS[step]) is not None:
            return step
    return "placed"


# --- aggregate entries -------------------------------------------------------------------------------

@writes(Area.AGGREGATES)
def record_aggregate(ctx: ServiceContext, *, practice_id: int | None, measure_id: str | None,
                     period_start: dt.date | None, period_end: dt.date | None, denominator: int | None,
                     numerator: int | None, exclusions: int = 0, exceptions: int = 0, group_index: int = 0,
                     note: str | None = None, today: dt.date | None = None) -> EntryResult:
    """A practice's count without patient detail; entering the same practice/measure/period again updates it."""
    if practice_id is not None:
        require(ctx, "aggregates.write", practice_id)
    errors = _Errors()
    with ctx.db.session() as s:
        if practice_id is None or s.get(Practice, practice_id) is None:
            errors.add("practice", "Choose a practice.")
        measure = _check_text(errors, "measure_id", measure_id, 32, required=True)
        start = _check_date(errors, "period_start", period_start, today=_today(today))
        try:
            end = _as_date(period_end)
        except (TypeError, ValueError):
            end = None
            errors.add("period_end", "Not a valid date.")
        if end is None and not any(e.field == "period_end" for e in errors):
            errors.add("period_end", "Required.")
        if start and end and end < start:
            errors.add("period_end", "Ends before it starts.")
        counts = {"denominator": denominator, "numerator": numerator, "exclusions": exclusions,
                  "exceptions": exceptions}
        for name, value in counts.items():
            if value is None or not isinstance(value, int) or value < 0:
                errors.add(name, "A whole number, 0 or more.")
        if not errors:
            assert denominator is not None and numerator is not None
            if numerator > denominator:
                errors.add("numerator", "Cannot exceed the denominator.")
            if exclusions + exceptions > denominator:
                errors.add("exclusions", "Exclusions and exceptions cannot exceed the denominator.")
        if errors or practice_id is None or start is None or end is None:
            return EntryResult(False, errors=list(errors))
        assert denominator is not None and numerator is not None  # checked above
        entry = s.scalar(select(AggregateEntry).where(
            AggregateEntry.practice_id == practice_id, AggregateEntry.measure_id == measure,
            AggregateEntry.group_index == group_index, AggregateEntry.period_start == start,
            AggregateEntry.period_end == end))
        before = audit.row_snapshot(entry) if entry is not None else None
        if entry is None:
            entry = AggregateEntry(practice_id=practice_id, measure_id=measure, group_index=group_index,
                                   period_start=start, period_end=end, denominator=0, numerator=0)
        entry.denominator, entry.numerator = denominator, numerator
        entry.exclusions, entry.exceptions = exclusions, exceptions
        entry.note, entry.entered_by = (note or "").strip() or None, ctx.username
        return _save(ctx, s, entry, "aggregate_entry", practice_id, before=before)


# --- worklist ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueStep:
    referral_id: int
    patient_id: int
    patient_name: str
    mrn: str
    referral_type: str
    destination: str | None
    last_step: str
    last_date: dt.date
    next_step: str
    due_on: dt.date
    days_overdue: int


def overdue_referral_steps(ctx: ServiceContext, *, practice_id: int | None = None, today: dt.date | None = None,
                           days: dict[str, int] | None = None) -> list[OverdueStep]:
    """Open referrals whose next step is later than allowed (days after the previous step), most overdue first."""
    allowed = {**DEFAULT_STEP_DAYS, **(days or {})}
    practices = scope(ctx, "patients.read", None if practice_id is None else [practice_id])
    now = pd.Timestamp(_today(today))
    query = (select(Referral.id, Referral.patient_id, Patient.mrn, Patient.family_name, Patient.given_name,
                    Referral.referral_type, Referral.destination, *(getattr(Referral, c) for c in STEP_COLUMNS.values()))
             .join(Patient, Patient.id == Referral.patient_id)
             .where(Referral.status.not_in(("closed", "lost", "cancelled")), Referral.lost_on.is_(None),
                    Referral.closed_on.is_(None)))
    if practices is not None:
        query = query.where(Patient.practice_id.in_(practices))
    with ctx.db.session() as s:
        frame = pd.read_sql(query, s.connection())
    if frame.empty:
        return []
    steps = list(STEP_COLUMNS)
    dates = frame[[STEP_COLUMNS[st] for st in steps]].apply(pd.to_datetime, errors="coerce")
    recorded = dates.notna().to_numpy()
    last_idx = recorded.shape[1] - 1 - recorded[:, ::-1].argmax(axis=1)  # latest recorded step
    last_date = dates.to_numpy()[range(len(frame)), last_idx]
    next_idx = last_idx + 1
    frame = frame.assign(last_step=[steps[i] for i in last_idx], last_date=pd.to_datetime(last_date),
                         next_step=[steps[i] if i < len(steps) else None for i in next_idx])
    frame = frame[frame["next_step"].notna()]
    frame["due_on"] = frame["last_date"] + pd.to_timedelta(frame["next_step"].map(allowed).astype(float), unit="D")
    frame = frame[frame["due_on"] < now].sort_values("due_on")
    return [OverdueStep(int(r.id), int(r.patient_id), ", ".join(p for p in (r.family_name, r.given_name) if p) or "",
                        r.mrn, r.referral_type, r.destination, r.last_step, r.last_date.date(), r.next_step,
                        r.due_on.date(), int((now - r.due_on).days)) for r in frame.itertuples(index=False)]
