"""The audit trail: who changed what, when, with before/after, hash-chained against tampering."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ..models import AuditLog, utcnow


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
    """Append an audit entry in the caller's transaction (so the change and its record land together)."""
    prev = session.scalar(select(AuditLog.entry_hash).order_by(AuditLog.id.desc()).limit(1))
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
    session.flush()
    return entry


def verify_chain(session: Session) -> list[int]:
    """Ids of audit entries whose hash or link to the previous entry does not match (empty = intact)."""
    bad: list[int] = []
    prev: str | None = None
    for entry in session.scalars(select(AuditLog).order_by(AuditLog.id)):
        if entry.prev_hash != prev or entry.entry_hash != entry_hash(entry):
            bad.append(entry.id)
        prev = entry.entry_hash
    return bad
