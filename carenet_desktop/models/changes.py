"""The change journal: which practice (and which patient) had data changed, in commit order.

Results caches remember the last ``DataChange.id`` they saw; a refresh re-evaluates only the patients
changed since (or a whole practice when a bulk load changed it without naming patients).

The rows are written by database triggers (``models.journal``), whatever wrote the data. A cache is keyed
by the store's history id as well (:class:`StoreIdentity`, renewed when a backup is restored or the demo
network is rebuilt): a journal version alone cannot tell a restored store from the one it replaced.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, Index, String, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, utcnow


class DataChange(Base):
    __tablename__ = "data_change"
    __table_args__ = (Index("ix_data_change_practice", "practice_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    practice_id: Mapped[int | None]  # None: anything may have changed (e.g. value sets reloaded)
    patient_id: Mapped[int | None]  # None: the whole practice changed (bulk import, undo)


class StoreIdentity(Base):
    """One row: this store's history. A new history id means "not the store the caches knew"."""

    __tablename__ = "store_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    history_id: Mapped[str] = mapped_column(String(36))


class JournalState(Base):
    """One row: ``suspended`` is 1 only inside ``journal.bulk_rewrite`` (within its own transaction)."""

    __tablename__ = "journal_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    suspended: Mapped[int] = mapped_column(default=0)


def history_id(session: Session) -> str:
    return str(session.scalar(select(StoreIdentity.history_id).where(StoreIdentity.id == 1)) or "")


def renew_history(session: Session) -> str:
    """Give the store a new history (after a restore, or when its data was replaced wholesale)."""
    new = str(uuid.uuid4())
    done = session.execute(update(StoreIdentity).where(StoreIdentity.id == 1).values(history_id=new))
    if cast("CursorResult[Any]", done).rowcount == 0:
        session.add(StoreIdentity(id=1, history_id=new))
    return new


def store_state(session: Session) -> tuple[str, int]:
    """(history id, journal version): what every cache of this store is keyed on."""
    return history_id(session), current_version(session)


def mark_practice_changed(session: Session, practice_ids: Iterable[int | None]) -> None:
    """Declare a practice (None: everything) changed wholesale, e.g. when its data was replaced. The
    triggers journal every row anyway; this only says it coarser."""
    session.execute(insert(DataChange), [{"practice_id": p, "patient_id": None, "at": utcnow()}
                                         for p in set(practice_ids)])


def current_version(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(DataChange.id), 0))) or 0)


def changes_since(session: Session, version: int) -> tuple[int, set[int | None], set[int]]:
    """(new version, practices changed wholesale (None = everything), patients changed one by one).

    A journal that ends *before* ``version`` is not this store's continuation (a restored backup, a
    rebuilt store): everything changed."""
    newest = current_version(session)
    if newest < version:
        return newest, {None}, set()
    if newest == version:
        return version, set(), set()
    after = DataChange.id > version
    wholesale = set(session.scalars(select(DataChange.practice_id).where(after, DataChange.patient_id.is_(None))
                                    .distinct()))
    patients = set(session.scalars(select(DataChange.patient_id).where(after, DataChange.patient_id.is_not(None))
                                   .distinct()))
    return newest, wholesale, {int(p) for p in patients if p is not None}
