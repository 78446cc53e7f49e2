"""Undo of a manual entry: the last change to a row entered by hand, taken back through the audit trail.

A created row is deleted; an updated row (an aggregate entered again, a referral step) gets the values it
had before. The change undone is the newest one on that row not undone yet, so several saves of the same
row can be undone one after another. Refused, with a one-line reason, when the row changed since (by
someone else, or by an import), or when other records point at it. The undo itself is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Date, DateTime, Table, func, select
from sqlalchemy.orm import Session

from ..models import (
    AggregateEntry,
    AuditLog,
    Base,
    CareActivity,
    DataImport,
    Encounter,
    Immunization,
    ImportChange,
    Observation,
    Patient,
    Referral,
)
from . import audit
from .changes import Area, Change, records_change, writes
from .context import ServiceContext, ServiceError
from .permissions import require

#: entities the entry forms write, as named in the audit trail
UNDOABLE: dict[str, type[Base]] = {
    "encounter": Encounter, "immunization": Immunization, "observation": Observation,
    "care_activity": CareActivity, "aggregate_entry": AggregateEntry, "referral": Referral,
    "patient_contacts": Patient,  # services.contacts: only the contact columns it audited are put back
}
ENTITY_LABELS = {"encounter": "visit", "immunization": "immunization", "observation": "screening",
                 "care_activity": "care coordination activity", "aggregate_entry": "aggregate entry",
                 "referral": "referral", "patient_contacts": "contact details"}
_NOT_RESTORED = {"id", "created_at", "updated_at", "version"}


@dataclass(frozen=True)
class UndoneEntry:
    entity: str
    id: int
    action: str  # "deleted" (the entry had created the row) | "restored" (earlier values back)
    audit_id: int  # the change that was undone
    #: what the undo wrote (for the screens showing it)
    change: Change = field(default_factory=Change.nothing)

    @property
    def message(self) -> str:
        what = ENTITY_LABELS.get(self.entity, self.entity)
        return f"The {what} was removed." if self.action == "deleted" else f"The {what}'s earlier values are back."


def _change_to_undo(session: Session, entity: str, entity_id: int) -> tuple[AuditLog, AuditLog]:
    """The newest create/update of the row not taken back by a later undo, and the newest entry of all."""
    entries = session.scalars(select(AuditLog).where(AuditLog.entity == entity, AuditLog.entity_id == str(entity_id))
                              .order_by(AuditLog.id.desc())).all()
    undos = 0
    for entry in entries:
        if entry.action == "undo":
            undos += 1
        elif entry.action in ("create", "update"):
            if undos == 0:
                return entry, entries[0]
            undos -= 1
    raise ServiceError("Nothing left to undo for this entry.")


def _check_unchanged(session: Session, ctx: ServiceContext, change: AuditLog, newest: AuditLog, row: Any,
                     table: str) -> None:
    if change.username != ctx.username:
        raise ServiceError("Changed by someone else since: not undone.")
    known = newest.after or {}
    if "version" in known and getattr(row, "version", None) != known["version"]:  # a write the trail lacks
        raise ServiceError("Changed since it was saved: not undone.")
    if change.entity == "patient_contacts" and any(getattr(row, k) != v for k, v in known.items()):
        raise ServiceError("Changed since it was saved: not undone.")  # e.g. by an import of the patients
    by_import = session.scalar(select(DataImport.id).join(ImportChange, ImportChange.import_id == DataImport.id)
                               .where(ImportChange.table_name == table, ImportChange.row_id == row.id,
                                      DataImport.status == "done", DataImport.started_at >= change.at).limit(1))
    if by_import is not None:
        raise ServiceError(f"Import {by_import} changed this entry since: undo that import first.")


#: tables whose rows are part of the row they point at and go with it (``ON DELETE CASCADE``): the gaps
#: an outreach attempt kept (``OutreachGap``) do not stop its undo
PART_OF_THE_ENTRY = frozenset({"outreach_gap"})


def _check_no_dependents(session: Session, table: str, row_id: int) -> None:
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table.name != table or other.name == "audit_log" or other.name in PART_OF_THE_ENTRY:
                continue
            n = session.scalar(select(func.count()).select_from(other).where(fk.parent == row_id))
            if n:
                raise ServiceError(f"{n} {other.name.replace('_', ' ')} record(s) refer to this entry: "
                                   "remove those first.")


def _restore(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, DateTime):
        return dt.datetime.fromisoformat(str(value))
    if isinstance(column_type, Date):
        return dt.date.fromisoformat(str(value)[:10])
    return value


@writes(Area.EVENTS, Area.CARE_ACTIVITIES, Area.AGGREGATES, Area.REFERRALS, Area.PATIENTS)
def undo_entry(ctx: ServiceContext, entity: str, entity_id: int) -> UndoneEntry:
    """Take back the newest change to one manually entered row (see the module docstring)."""
    model = UNDOABLE.get(entity)
    if model is None:
        raise ServiceError(f"A {entity.replace('_', ' ')} cannot be undone here.")
    with ctx.db.session() as s:
        change, newest = _change_to_undo(s, entity, entity_id)
        require(ctx, "aggregates.write" if entity == "aggregate_entry" else "patients.write", change.practice_id)
        row = s.get(model, entity_id)
        if row is None:
            raise ServiceError("The entry no longer exists.")
        table = cast(Table, model.__table__)
        _check_unchanged(s, ctx, change, newest, row, table.name)
        current = audit.row_snapshot(row)
        if change.action == "create":
            _check_no_dependents(s, table.name, entity_id)
            s.delete(row)
            s.flush()
            audit.record(s, ctx.username, "undo", entity, entity_id, practice_id=change.practice_id,
                         before=current, after=None, summary=f"undid the entry of a {ENTITY_LABELS[entity]}")
            return UndoneEntry(entity, entity_id, "deleted", change.id, _changed(entity, change))
        for key, value in (change.before or {}).items():
            if key not in _NOT_RESTORED and key in table.c:
                setattr(row, key, _restore(table.c[key].type, value))
        s.flush()
        audit.record(s, ctx.username, "undo", entity, entity_id, practice_id=change.practice_id,
                     before=current, after=audit.row_snapshot(row),
                     summary=f"undid a change to a {ENTITY_LABELS[entity]}")
        return UndoneEntry(entity, entity_id, "restored", change.id, _changed(entity, change))


def _changed(entity: str, undone: AuditLog) -> Change:
    return records_change(["patient" if entity == "patient_contacts" else entity], practices=[undone.practice_id])
