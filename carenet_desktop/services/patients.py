"""Finding a patient and reading one patient's record: demographics, a timeline of events, measure status.

Search is one text box: a birth date (``2019-03-14`` or ``03/14/2019``), an MRN (any text with a digit:
part of the MRN matches) or part of a name (every word must occur in the family or the given name).
Every query is paginated (``offset``/``limit``) and shaped so an index answers it on 250,000 patients:

* birth date: ``ix_patient_practice_birth`` (practice_id, birth_date);
* MRN: the unique (practice_id, mrn) index, scanned as a covering index;
* name (and no text): ``ix_patient_family_given`` walked in name order, the practice filter written as
  ``practice_id + 0`` so SQLite does not pick the practice index and sort every patient instead.

Names, MRNs and birth dates are shown to the practice's own staff and never logged. Opening a patient's
record leaves an audit entry ("viewed patient record") naming the patient's internal id only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, GenerativeSelect, func, literal, or_, select
from sqlalchemy.orm import QueryableAttribute, aliased

from .. import codes
from ..metrics.period import Period
from ..models import (
    CareActivity,
    Condition,
    Coverage,
    Encounter,
    Immunization,
    MedicationDispense,
    MedicationRequest,
    Observation,
    Patient,
    Practice,
    Procedure,
    Provider,
    Referral,
    ServiceRequest,
    ValueSetCode,
)
from . import audit
from .context import ServiceContext, ServiceError
from .permissions import require, scope

SearchKind = Literal["all", "birth_date", "mrn", "name"]
DEFAULT_PAGE = 200
MAX_PAGE = 1000

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class SearchCriteria:
    """What the search text means."""

    kind: SearchKind
    text: str = ""
    birth_date: dt.date | None = None
    words: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        if self.kind == "birth_date" and self.birth_date is not None:
            return f"born {self.birth_date.isoformat()}"
        if self.kind == "mrn":
            return "MRN containing the text"
        if self.kind == "name":
            return "name containing " + " and ".join(f"“{w}”" for w in self.words)
        return "every patient"


def parse_search(text: str) -> SearchCriteria:
    """Read the search box: a date, an MRN (has a digit), words of a name, or nothing (everyone)."""
    text = " ".join(text.split())
    if not text:
        return SearchCriteria("all")
    day = _parse_date(text)
    if day is not None:
        return SearchCriteria("birth_date", text, birth_date=day)
    if any(ch.isdigit() for ch in text):
        return SearchCriteria("mrn", text)
    words = tuple(w for w in re.split(r"[\s,]+", text) if w)
    return SearchCriteria("name", text, words=words) if words else SearchCriteria("all")


def _parse_date(text: str) -> dt.date | None:
    for pattern, order in ((_ISO_DATE, (0, 1, 2)), (_US_DATE, (2, 0, 1))):
        match = pattern.match(text)
        if match:
            parts = [int(g) for g in match.groups()]
            try:
                return dt.date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class PatientRow:
    """One line of the search results."""

    id: int
    practice_id: int
    practice_code: str
    mrn: str
    family_name: str | None
    given_name: str | None
    birth_date: dt.date
    sex: str
    payer: str
    pcp: str

    @property
    def name(self) -> str:
        return ", ".join(p for p in (self.family_name, self.given_name) if p) or f"MRN {self.mrn}"


def age_text(birth: dt.date, on: dt.date) -> str:
    """``"7 y"``, or ``"18 mo"`` under two years (what a pediatric list shows)."""
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    if months < 0:
        return ""
    return f"{months} mo" if months < 24 else f"{months // 12} y"


def _pcp_label(given: str | None, family: str | None, credentials: str | None) -> str:
    name = " ".join(p for p in (given, family) if p)
    return f"{name}, {credentials}" if name and credentials else name


def _like(ctx: ServiceContext, column: QueryableAttribute[str | None], text: str) -> ColumnElement[bool]:
    """``column`` contains ``text``, case-insensitively, with LIKE wildcards in the text taken literally.

    SQLite's LIKE is already case-insensitive (and evaluated on the index entry); ILIKE elsewhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if ctx.db.engine.dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _where(ctx: ServiceContext, criteria: SearchCriteria, practice_ids: Sequence[int]) -> list[ColumnElement[bool]]:
    ids = [int(p) for p in practice_ids]
    if criteria.kind == "birth_date":
        return [Patient.practice_id.in_(ids), Patient.birth_date == criteria.birth_date]
    if criteria.kind == "mrn":
        return [Patient.practice_id.in_(ids), _like(ctx, Patient.mrn, criteria.text)]
    # name order: keep the planner on the name index (see the module docstring)
    terms: list[ColumnElement[bool]] = [(Patient.practice_id + literal(0)).in_(ids)]
    for word in criteria.words:
        terms.append(or_(_like(ctx, Patient.family_name, word), _like(ctx, Patient.given_name, word)))
    return terms


_Select = TypeVar("_Select", bound=GenerativeSelect)


def _ordered(criteria: SearchCriteria, stmt: _Select) -> _Select:
    if criteria.kind == "mrn":
        return stmt.order_by(Patient.mrn, Patient.id)
    return stmt.order_by(Patient.family_name, Patient.given_name, Patient.id)


def search_patients(ctx: ServiceContext, text: str | SearchCriteria, practice_ids: Sequence[int],
                    offset: int = 0, limit: int = DEFAULT_PAGE) -> list[PatientRow]:
    """One page of the patients of ``practice_ids`` matching the search text, in name order (MRN order
    for an MRN search)."""
    criteria = text if isinstance(text, SearchCriteria) else parse_search(text)
    if offset < 0 or not 0 < limit <= MAX_PAGE:
        raise ServiceError(f"A page holds 1 to {MAX_PAGE} patients.")
    if not practice_ids:
        return []
    scope(ctx, "patients.read", practice_ids)  # every practice searched must be the user's
    page = _ordered(criteria, select(Patient.id).where(*_where(ctx, criteria, practice_ids))).offset(offset).limit(limit)
    ids = page.subquery()
    pcp = aliased(Provider)
    stmt = _ordered(criteria, (
        select(Patient.id, Patient.practice_id, Practice.code, Patient.mrn, Patient.family_name, Patient.given_name,
               Patient.birth_date, Patient.sex, Patient.payer, pcp.given_name, pcp.family_name, pcp.credentials)
        .join(ids, ids.c.id == Patient.id)
        .join(Practice, Practice.id == Patient.practice_id)
        .outerjoin(pcp, pcp.id == Patient.pcp_provider_id)
    ))
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    return [PatientRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], _pcp_label(r[9], r[10], r[11]))
            for r in rows]


def count_patients(ctx: ServiceContext, text: str | SearchCriteria, practice_ids: Sequence[int]) -> int:
    """How many patients of ``practice_ids`` match the search text."""
    criteria = text if isinstance(text, SearchCriteria) else parse_search(text)
    if not practice_ids:
        return 0
    scope(ctx, "patients.read", practice_ids)
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Patient).where(*_where(ctx, criteria, practice_ids))) or 0)


# ------------------------------------------------------------------------------------- one patient


@dataclass(frozen=True)
class Demographics:
    id: int
    practice_id: int
    practice_code: str
    practice_name: str
    mrn: str
    family_name: str | None
    given_name: str | None
    birth_date: dt.date
    deceased_date: dt.date | None
    sex: str
    race: str
    ethnicity: str
    language: str
    payer: str
    zip_code: str | None
    pcp: str
    active: bool
    phone: str | None = None
    guardian: str | None = None
    contact_method: str | None = None

    @property
    def name(self) -> str:
        return ", ".join(p for p in (self.family_name, self.given_name) if p) or f"MRN {self.mrn}"

    def labels(self) -> dict[str, str]:
        """The coded fields in words."""
        return {
            "sex": codes.SEX_LABELS.get(self.sex, self.sex),
            "race": codes.RACE_LABELS.get(self.race, self.race),
            "ethnicity": codes.ETHNICITY_LABELS.get(self.ethnicity, self.ethnicity),
            "language": codes.LANGUAGE_LABELS.get(self.language, self.language),
            "payer": codes.PAYER_LABELS.get(self.payer, self.payer),
        }


@dataclass(frozen=True)
class TimelineEvent:
    """One thing that happened to the patient (``kind``: visit, immunization, screening, ...)."""

    day: dt.date
    kind: str
    title: str
    detail: str = ""
    status: str = ""
    #: the event was not done (an immunization not given, a screening declined)
    not_done: bool = False


@dataclass(frozen=True)
class CoveragePeriod:
    payer: str
    payer_name: str | None
    start: dt.date | None
    end: dt.date | None
    status: str


@dataclass
class PatientDetail:
    demographics: Demographics
    coverages: list[CoveragePeriod]
    timeline: list[TimelineEvent]  # newest first
    period: Period
    as_of: dt.date
    #: the patient's status in every measure of the catalogue (see ``patient_measures``)
    measures: list[Any] = field(default_factory=list)
    #: measure id -> why it could not be evaluated
    measure_failures: dict[str, str] = field(default_factory=dict)

    @property
    def age(self) -> str:
        return age_text(self.demographics.birth_date, self.as_of)


def patient_detail(ctx: ServiceContext, patient_id: int, *, period: Period | None = None,
                   as_of: dt.date | None = None, with_measures: bool = True) -> PatientDetail:
    """The patient's record: demographics, coverage, timeline (newest first) and, with ``with_measures``,
    the status in every measure for ``period`` (default: the calendar year of ``as_of``, default today).

    Only this patient's rows are read (every query goes through a ``patient_id`` index). Audited as a view.
    """
    as_of = as_of or dt.date.today()
    period = period or Period.year(as_of.year)
    pcp = aliased(Provider)
    with ctx.db.session() as s:
        row = s.execute(
            select(Patient, Practice.code, Practice.name, pcp.given_name, pcp.family_name, pcp.credentials)
            .join(Practice, Practice.id == Patient.practice_id)
            .outerjoin(pcp, pcp.id == Patient.pcp_provider_id)
            .where(Patient.id == int(patient_id))
        ).first()
        if row is None:
            raise ServiceError("This patient is no longer in the database.")
        p: Patient = row[0]
        require(ctx, "patients.read", p.practice_id)  # before anything of the record leaves this function
        demographics = Demographics(
            p.id, p.practice_id, row[1], row[2], p.mrn, p.family_name, p.given_name, p.birth_date, p.deceased_date,
            p.sex, p.race, p.ethnicity, p.language, p.payer, p.zip_code, _pcp_label(row[3], row[4], row[5]), p.active,
            p.phone, p.guardian, p.contact_method)
        coverages = [CoveragePeriod(c.payer, c.payer_name, c.start, c.end, c.status) for c in s.scalars(
            select(Coverage).where(Coverage.patient_id == p.id).order_by(Coverage.start.desc()))]
        timeline = _timeline(s, p.id)
        audit.record(s, ctx.username, "view", "patient", p.id, practice_id=p.practice_id,
                     summary="Viewed patient record")
    detail = PatientDetail(demographics, coverages, timeline, period, as_of)
    if with_measures:
        from .patient_measures import patient_measures

        detail.measures, detail.measure_failures = patient_measures(ctx, p.id, period, as_of)
    return detail


def _day(value: dt.date | dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def _value_text(o: Observation, reasons: dict[tuple[str, str], str]) -> str:
    if o.value_text:
        value = o.value_text
    elif o.value_code:
        value = reasons.get((o.value_system or "", o.value_code), o.value_code)
    elif o.value_num is not None:
        value = f"{o.value_num:g}{(' ' + o.value_unit) if o.value_unit else ''}"
    else:
        value = ""
    if o.interpretation:
        value = f"{value} ({o.interpretation})" if value else o.interpretation
    return value


def _timeline(s: Any, patient_id: int) -> list[TimelineEvent]:
    """Every event of the patient, newest first (ties: by kind, then title)."""
    def mine(model: Any) -> list[Any]:
        return list(s.scalars(select(model).where(model.patient_id == patient_id)))

    encounters, immunizations, observations = mine(Encounter), mine(Immunization), mine(Observation)
    conditions, procedures, prescriptions = mine(Condition), mine(Procedure), mine(MedicationRequest)
    dispenses, orders, referrals, activities = mine(MedicationDispense), mine(ServiceRequest), mine(Referral), mine(CareActivity)
    reasons = _code_displays(s, [(x.status_reason_system, x.status_reason_code) for x in
                                 (*immunizations, *observations, *procedures, *prescriptions, *orders)]
                             + [(o.value_system, o.value_code) for o in observations])
    providers = _provider_names(s, {x.provider_id for x in (*encounters, *immunizations, *referrals)
                                    if getattr(x, "provider_id", None)})
    out: list[TimelineEvent] = []

    def reason_of(x: Any) -> str:
        code = getattr(x, "status_reason_code", None)
        return reasons.get((x.status_reason_system or "", code), code) if code else ""

    def add(day: Any, kind: str, title: str | None, detail: str = "", status: str | None = "", not_done: bool = False) -> None:
        d = _day(day)
        if d is not None:
            out.append(TimelineEvent(d, kind, title or "", detail, status or "", not_done))

    for e in encounters:
        who = providers.get(e.provider_id or -1, "")
        add(e.start, "Visit", e.display or e.code, ", ".join(x for x in (e.class_code, who) if x), e.status)
    for i in immunizations:
        not_given = (i.status or "") in ("not-done", "entered-in-error") or bool(i.status_reason_code)
        why = reason_of(i)
        add(i.occurrence or i.recorded, "Immunization", i.display or f"CVX {i.code}",
            f"Not given: {why}" if not_given and why else ("Not given" if not_given else f"CVX {i.code}"),
            i.status, not_given)
    for o in observations:
        kind = {"survey": "Screening", "laboratory": "Lab result", "vital-signs": "Vital sign"}.get(o.category or "", "Observation")
        not_done = (o.status or "") in ("cancelled", "not-done")
        detail = f"Not done: {reason_of(o)}" if not_done and o.status_reason_code else _value_text(o, reasons)
        add(o.effective_start or o.issued, kind, o.display or o.code, detail, o.status, not_done)
    for c in conditions:
        span = f"until {_day(c.abatement).isoformat()}" if c.abatement else ""  # type: ignore[union-attr]
        add(c.onset or c.recorded, "Diagnosis", c.display or c.code,
            ", ".join(x for x in (c.code, c.clinical_status, span) if x), c.verification_status)
    for pr in procedures:
        not_done = (pr.status or "") == "not-done"
        add(pr.performed_start or pr.recorded, "Procedure", pr.display or pr.code,
            f"Not done: {reason_of(pr)}" if not_done else (pr.code or ""), pr.status, not_done)
    for m in prescriptions:
        supply = f"{m.supply_days:g} days" if m.supply_days else ""
        dose = f"{m.dose_quantity:g} {m.dose_unit or ''}".strip() if m.dose_quantity else ""
        add(m.authored_on, "Prescription", m.display or m.code, ", ".join(x for x in (dose, supply) if x), m.status,
            bool(m.do_not_perform))
    for d in dispenses:
        add(d.when_start, "Dispense" if d.kind == "dispense" else "Medication given", d.display or d.code,
            f"{d.days_supply:g} days" if d.days_supply else "", d.status)
    for sr in orders:
        add(sr.authored_on or sr.occurrence, "Order", sr.display or sr.code, reason_of(sr), sr.status,
            bool(sr.do_not_perform))
    for r in referrals:
        add(r.placed_on, "Referral", _referral_title(r), _referral_steps(r), r.status)
    for a in activities:
        from .referrals import ACTIVITY_TYPES

        parts = [f"{a.minutes} min" if a.minutes else "", a.performed_by or "",
                 f"about {a.measure_id}" if a.measure_id else "", a.notes or ""]
        add(a.activity_date, "Care coordination", ACTIVITY_TYPES.get(a.activity_type, a.activity_type),
            ", ".join(x for x in parts if x))
    out.sort(key=lambda e: (e.day, e.kind, e.title), reverse=True)
    return out


def _referral_title(r: Referral) -> str:
    kind = codes.REFERRAL_TYPE_LABELS.get(r.referral_type, r.referral_type)
    to = f" to {r.destination}" if r.destination else ""
    why = f" for {r.reason_text or r.reason_code}" if (r.reason_text or r.reason_code) else ""
    return f"{kind}{to}{why}"


def _referral_steps(r: Referral) -> str:
    """The loop in order: ``Placed 2024-02-01 → Scheduled 2024-02-07 → ... → Closed 2024-02-24``."""
    steps = [("Placed", r.placed_on), ("Scheduled", r.scheduled_on), ("Seen", r.seen_on),
             ("Report received", r.report_received_on), ("Closed", r.closed_on), ("Lost to follow-up", r.lost_on)]
    text = " → ".join(f"{label} {day.isoformat()}" for label, day in steps if day is not None)
    if r.lost_on is not None and r.lost_reason:
        text += f" ({r.lost_reason})"
    return text


def _code_displays(s: Any, pairs: list[tuple[str | None, str | None]]) -> dict[tuple[str, str], str]:
    """Display text of codes from the loaded value sets (one query for the few codes of one patient)."""
    wanted = {(system or "", code) for system, code in pairs if code}
    if not wanted:
        return {}
    code_values = sorted({code for _, code in wanted})
    rows = s.execute(select(ValueSetCode.code_system, ValueSetCode.code, ValueSetCode.display)
                     .where(ValueSetCode.code.in_(code_values), ValueSetCode.display.is_not(None))).all()
    found = {(system, code): display for system, code, display in rows}
    by_code = {code: display for _, code, display in rows}
    return {(system, code): found.get((system, code)) or by_code.get(code) or code for system, code in wanted}


def _provider_names(s: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = s.execute(select(Provider.id, Provider.given_name, Provider.family_name, Provider.credentials)
                     .where(Provider.id.in_(sorted(ids)))).all()
    return {r[0]: _pcp_label(r[1], r[2], r[3]) for r in rows}


__all__ = [
    "CoveragePeriod", "Demographics", "PatientDetail", "PatientRow", "SearchCriteria", "TimelineEvent", "age_text",
    "count_patients", "parse_search", "patient_detail", "search_patients",
]
