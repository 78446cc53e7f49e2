"""A patient's contact details edited by hand: phone number(s), guardian, preferred language and preferred
contact method (what the outreach worklist, the huddle sheet and the letters use).

The values are checked as the patient import checks them (a phone number has 7 to 15 digits; several are
separated by ";" or ","; the language and method come from fixed lists) and each problem comes back on its
field. A save is audited as an update of the entity ``patient_contacts`` with the four values before and
after, so :func:`.entry_undo.undo_entry` can put the earlier ones back; the summary names no value (they
are patient data). Contacts are never part of a submission.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ..codes import LANGUAGE_LABELS
from ..models import Patient
from . import audit
from .changes import Area, records_change, writes
from .context import ServiceContext, ServiceError
from .entry import EntryResult, FieldError
from .outreach import METHODS
from .permissions import require

#: the entity contact edits are audited (and undone) as
ENTITY = "patient_contacts"
#: the patient columns this service writes
FIELDS = ("phone", "guardian", "language", "contact_method")
PHONE_MAX = 40  # patient.phone's width
GUARDIAN_MAX = 200
_PHONE = re.compile(r"[\d\s()+.\-/x#ext]*")
_SEPARATORS = re.compile(r"\s*[;,]\s*")


def phone_problem(text: str) -> str | None:
    """Why ``text`` is not one or more phone numbers (None when it is, or blank)."""
    if not text:
        return None
    if len(text) > PHONE_MAX:
        return f"At most {PHONE_MAX} characters."
    for number in _SEPARATORS.split(text):
        digits = sum(ch.isdigit() for ch in number)
        if not _PHONE.fullmatch(number) or not 7 <= digits <= 15:
            return f"\"{number}\" is not a phone number (7 to 15 digits; separate several with ;)."
    return None


def _clean(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


@writes(Area.PATIENTS)
def update_contacts(ctx: ServiceContext, patient_id: int, *, phone: str | None, guardian: str | None,
                    language: str | None, contact_method: str | None) -> EntryResult:
    """Set the patient's contact details (blank clears one; a blank language is "unknown"); errors come back
    per field (:data:`FIELDS`) and nothing is written then. ``language`` is a code of ``LANGUAGE_LABELS``,
    ``contact_method`` one of the outreach ``METHODS``."""
    values = {"phone": _clean(phone), "guardian": _clean(guardian), "language": _clean(language) or "unknown",
              "contact_method": _clean(contact_method)}
    errors: list[FieldError] = []
    problem = phone_problem(values["phone"] or "")
    if problem:
        errors.append(FieldError("phone", problem))
    if values["guardian"] is not None and len(values["guardian"]) > GUARDIAN_MAX:
        errors.append(FieldError("guardian", f"At most {GUARDIAN_MAX} characters."))
    if values["language"] is not None and values["language"] not in LANGUAGE_LABELS:
        errors.append(FieldError("language", "Choose a language from the list."))
    if values["contact_method"] is not None and values["contact_method"] not in METHODS:
        errors.append(FieldError("contact_method", f"One of: {', '.join(METHODS)}."))
    with ctx.db.session() as s:
        row = s.scalar(select(Patient).where(Patient.id == patient_id))
        if row is None:
            raise ServiceError("The patient no longer exists.")
        require(ctx, "patients.write", row.practice_id)
        if errors:
            return EntryResult(False, patient_id, errors)
        before = {k: getattr(row, k) for k in FIELDS}
        if before == values:
            return EntryResult(True, patient_id)  # nothing to change: no write, no audit entry
        for key, value in values.items():
            setattr(row, key, value)
        s.flush()
        changed = [k.replace("_", " ") for k in FIELDS if before[k] != values[k]]
        audit.record(s, ctx.username, "update", ENTITY, patient_id, practice_id=row.practice_id, before=before,
                     after=values, summary=f"updated the contact details ({', '.join(changed)})")
        practice_id = row.practice_id
    return EntryResult(True, patient_id, change=records_change(["patient"], practices=[practice_id]))
