"""The change journal: which practice (and which patient) had data changed, in commit order.

Results caches remember the last ``DataChange.id`` they saw; a refresh re-evaluates only the patients
changed since (or a whole practice when a bulk load changed it without naming patients).

``track_changes(sessionmaker)`` (installed by ``open_database``) adds a flush listener: any added,
changed or deleted row that belongs to a patient (a ``patient_id`` column, or a ``Patient`` itself)
writes a ``DataChange`` row in the same transaction, so the journal cannot disagree with the data.
Bulk loaders that bypass the ORM call ``mark_practice_changed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Index, event, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from .base import Base, utcnow
from .coordination import AggregateEntry, CareActivity
from .organisation import Patient
from .terminology import ValueSet, ValueSetCode


class DataChange(Base):
    __tablename__ = "data_change"
    __table_args__ = (Index("ix_data_change_practice", "practice_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    practice_id: Mapped[int | None]  # None: anything may have changed (e.g. value sets reloaded)
    patient_id: Mapped[int | None]  # None: the whole practice changed (bulk import, undo)


PRACTICE_LEVEL = (AggregateEntry, CareActivity)


def _patients_touched(session: Session) -> tuple[set[int], set[int], bool]:
    ids: set[int] = set()
    practices: set[int] = set()
    everything = False
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Patient):
            if obj.id is not None:
                ids.add(obj.id)
        elif isinstance(obj, ValueSet | ValueSetCode):
            everything = True
        else:
            pid = getattr(obj, "patient_id", None)
            if isinstance(pid, int):
                ids.add(pid)
            elif isinstance(obj, PRACTICE_LEVEL) and isinstance(obj.practice_id, int):
                practices.add(obj.practice_id)  # practice-level data, e.g. an aggregate entry
    return ids, practices, everything


def _after_flush(session: Session, _context: object) -> None:
    ids, practices, everything = _patients_touched(session)
    if not ids and not practices and not everything:
        return
    conn = session.connection()
    rows: list[dict[str, int | None]] = []
    if ids:
        practice_of = dict(conn.execute(select(Patient.id, Patient.practice_id).where(Patient.id.in_(ids))).all())
        rows += [{"practice_id": practice_of.get(pid), "patient_id": pid} for pid in sorted(ids)]
    rows += [{"practice_id": p, "patient_id": None} for p in sorted(practices)]
    if everything:
        rows.append({"practice_id": None, "patient_id": None})
    conn.execute(insert(DataChange), rows)


def track_changes(factory: sessionmaker[Session]) -> None:
    if not event.contains(factory, "after_flush", _after_flush):
        event.listen(factory, "after_flush", _after_flush)


def mark_practice_changed(session: Session, practice_ids: Iterable[int | None]) -> None:
    """For bulk writes outside the ORM: the whole practice (None: everything) must be recomputed."""
    session.execute(insert(DataChange), [{"practice_id": p, "patient_id": None} for p in set(practice_ids)])


def current_version(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(DataChange.id), 0))) or 0)


def changes_since(session: Session, version: int) -> tuple[int, set[int | None], set[int]]:
    """(new version, practices changed wholesale (None = everything), patients changed one by one)."""
    rows = session.execute(
        select(DataChange.id, DataChange.practice_id, DataChange.patient_id).where(DataChange.id > version)
    ).all()
    if not rows:
        return version, set(), set()
    wholesale = {r.practice_id for r in rows if r.patient_id is None}
    patients = {r.patient_id for r in rows if r.patient_id is not None}
    return max(r.id for r in rows), wholesale, patients
