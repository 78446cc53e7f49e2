"""The audit trail: who changed what, when, with before/after, hash-chained against tampering."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from ..models import AuditHead, AuditLog, utcnow


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def row_snapshot(obj: Any) -> dict[str, Any]:
    """Column values of an ORM object, JSON-ready (for before/after in the audit trail)."""
    mapper = inspect(obj).mapper
    return {attr.key: _jsonable(getattr(obj, attr.key)) for attr in mapper.column_attrs}


def entry_hash(entry: AuditLog) -> str:
    payload = json.dumps(
        [
            entry.prev_hash,
            entry.at.isoformat(),
            entry.username,
            entry.action,
            entry.entity,
            entry.entity_id,
            entry.practice_id,
            entry.before,
            entry.after,
            entry.summary,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    username: str,
    action: str,
    entity: str,
    entity_id: Any = None,
    *,
    practice_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    summary: str | None = None,
) -> AuditLog:
    """Append an audit entry in the caller's transaction (so the change and its record land together).

    The chain's head row is locked first, so two writers append one after the other, never from the
    same previous entry.
    """
    head = session.get(AuditHead, 1, with_for_update=True, populate_existing=True)
    if head is None:  # a store created before the head existed, or the very first entry
        head = AuditHead(id=1, entries=int(session.scalar(select(func.count()).select_from(AuditLog)) or 0),
                         last_hash=session.scalar(select(AuditLog.entry_hash).order_by(AuditLog.id.desc()).limit(1)))
        session.add(head)
    prev = head.last_hash
    entry = AuditLog(
        at=utcnow(),
        username=username,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        practice_id=practice_id,
        before=before,
        after=after,
        summary=summary,
        prev_hash=prev,
    )
    entry.entry_hash = entry_hash(entry)
    session.add(entry)
    head.entries += 1
    head.last_hash = entry.entry_hash
    session.flush()
    return entry


def verify_chain(session: Session) -> list[int]:
    """Ids of audit entries whose hash or link to the previous entry does not match (empty = intact)."""
    bad: list[int] = []
    prev: str | None = None
    for entry in session.scalars(select(AuditLog).order_by(AuditLog.id).execution_options(yield_per=2000)):
        if entry.prev_hash != prev or entry.entry_hash != entry_hash(entry):
            bad.append(entry.id)
        prev = entry.entry_hash
    return bad


def head_problem(session: Session) -> str | None:
    """Why the end of the chain does not match its head row (entries removed from the end), or None."""
    head = session.get(AuditHead, 1)
    count = int(session.scalar(select(func.count()).select_from(AuditLog)) or 0)
    last = session.scalar(select(AuditLog.entry_hash).order_by(AuditLog.id.desc()).limit(1))
    if head is None:
        return None if count == 0 else "the chain's head record is missing"
    if head.entries != count or head.last_hash != last:
        missing = head.entries - count
        return (f"the trail should hold {head.entries:,} entries and end with another entry"
                + (f" ({missing:,} missing)" if missing > 0 else ""))
    return None
