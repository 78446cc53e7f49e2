"""Look-ups the entry forms need: patients by MRN or name within a practice, a practice's providers,
and the choice lists (instruments, not-given reasons, activity types, measures) from the vocabularies.

Patient names and MRNs go back to the practice's own staff only; nothing here logs them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select

from ..interchange.tabular.instruments import INSTRUMENTS
from ..metrics.catalogue import Catalogue
from ..models import Patient, Provider
from .context import ServiceContext
from .entry import NOT_GIVEN_REASONS
from .permissions import scope
from .referrals import ACTIVITY_TYPES

DEFAULT_LIMIT = 20
NOT_GIVEN_LABELS = {"refusal": "Refusal (patient or parent objection)", "contraindication": "Contraindication / "
                    "medical precaution", "immunity": "Immunity (had the disease, titer)",
                    "out-of-stock": "Out of stock", "religious": "Religious exemption",
                    "philosophical": "Philosophical exemption"}


@dataclass(frozen=True)
class PatientMatch:
    id: int
    practice_id: int
    mrn: str
    family_name: str | None
    given_name: str | None
    birth_date: dt.date

    @property
    def name(self) -> str:
        return ", ".join(p for p in (self.family_name, self.given_name) if p) or "(no name)"

    @property
    def label(self) -> str:
        """How a completer lists the patient: name, MRN and birth date (names can repeat)."""
        return f"{self.name} · MRN {self.mrn} · born {self.birth_date:%Y-%m-%d}"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def find_patients(ctx: ServiceContext, text: str, *, practice_id: int | None, limit: int = DEFAULT_LIMIT
                  ) -> list[PatientMatch]:
    """Patients of one practice whose MRN starts with ``text``, or whose names start with its words
    ("smi jo" finds Smith, John); the exact MRN first, then by name."""
    words = [w for w in re.split(r"[\s,]+", text.strip().lower()) if w]
    if not words:
        return []
    allowed = scope(ctx, "patients.read", None if practice_id is None else [practice_id])
    family, given = func.lower(func.coalesce(Patient.family_name, "")), func.lower(func.coalesce(Patient.given_name, ""))
    by_name = and_(*(or_(family.like(_like(w), escape="\\"), given.like(_like(w), escape="\\")) for w in words))
    whole = text.strip()
    by_mrn = func.lower(Patient.mrn).like(_like(whole.lower()), escape="\\")
    query = (select(Patient.id, Patient.practice_id, Patient.mrn, Patient.family_name, Patient.given_name,
                    Patient.birth_date)
             .where(or_(by_mrn, by_name))
             .order_by(case((Patient.mrn == whole, 0), (by_mrn, 1), else_=2), family, given, Patient.mrn)
             .limit(limit))
    if allowed is not None:  # one practice asked for, or the user's own practices
        query = query.where(Patient.practice_id.in_(allowed))
    with ctx.db.session() as s:
        return [PatientMatch(*row) for row in s.execute(query).all()]


@dataclass(frozen=True)
class ProviderChoice:
    id: int
    label: str


def list_providers(ctx: ServiceContext, practice_id: int | None) -> list[ProviderChoice]:
    """The active providers of a practice, by name."""
    if practice_id is None:
        return []
    with ctx.db.session() as s:
        rows = s.execute(select(Provider.id, Provider.family_name, Provider.given_name, Provider.credentials)
                         .where(Provider.practice_id == practice_id, Provider.active.is_(True))
                         .order_by(Provider.family_name, Provider.given_name)).all()
    return [ProviderChoice(r.id, ", ".join(p for p in (r.family_name, r.given_name) if p)
                           + (f" {r.credentials}" if r.credentials else "")) for r in rows]


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    group: str = ""


@dataclass(frozen=True)
class EntryChoices:
    instruments: tuple[Choice, ...]
    not_given_reasons: tuple[Choice, ...]
    activity_types: tuple[Choice, ...]
    measures: tuple[Choice, ...]


def entry_choices(catalogue: Catalogue) -> EntryChoices:
    """The forms' lists, from the same vocabularies the importer validates against."""
    measures: list[Choice] = []
    for m in catalogue.all():
        measures.append(Choice(m.id, f"{m.id} · {m.title}"))
    return EntryChoices(
        instruments=tuple(Choice(i.key, i.label, i.kind) for i in INSTRUMENTS),
        not_given_reasons=tuple(Choice(k, NOT_GIVEN_LABELS.get(k, k)) for k in NOT_GIVEN_REASONS),
        activity_types=tuple(Choice(k, v) for k, v in ACTIVITY_TYPES.items()),
        measures=tuple(measures),
    )
