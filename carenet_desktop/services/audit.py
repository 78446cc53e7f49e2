"""The audit trail: who changed what, when, with before/after, hash-chained against tampering."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..models import AuditHead, AuditLog, audit_key, utcnow
from ..models.database import Database
from ..models.write_guard import is_reader
from .context import ServiceError


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def row_snapshot(obj: Any) -> dict[str, Any]:
    """Column values of an ORM object, JSON-ready (for before/after in the audit trail)."""
    mapper = inspect(obj).mapper
    return {attr.key: _jsonable(getattr(obj, attr.key)) for attr in mapper.column_attrs}


def _payload(entry: AuditLog) -> str:
    return json.dumps(
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


def entry_hash(entry: AuditLog, key: bytes | None = None) -> str:
    """The entry's HMAC under the chain's key; without a key, the unkeyed hash of entries written before
    the chain was keyed (``audit_head.keyed_from``)."""
    payload = _payload(entry)
    return hashlib.sha256(payload.encode()).hexdigest() if key is None else audit_key.mac(key, payload)


#: the action of the entry that starts a new key because the head or its key was gone (always damage)
REKEY = "audit-rekey"


def _seal(head: AuditHead, key: bytes) -> None:
    head.head_mac = audit_key.head_mac(key, head.entries, head.last_hash, head.keyed_from, head.key_id)


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
) -> AuditLog | None:
    """Append an audit entry in the caller's transaction (so the change and its record land together).

    On a reader thread (``models.write_guard``: the window's reads) nothing is written: the entry - of a
    read, since a reader cannot write anything else - is kept, with its time, for the writer to append
    (``flush_reads``), and None is returned.

    The chain's head row is locked first, so two writers append one after the other, never from the
    same previous entry. A head row gone (every store has one), or a key not on this computer, does not stop
    the application: a new key is started with an ``audit-rekey`` entry saying why, which ``audit verify``
    reports as damage from then on (the entries before it can no longer be verified here).
    """
    if is_reader():
        _defer(session, _Deferred(username, action, entity, entity_id, practice_id, before, after, summary, utcnow()))
        return None
    return _record(session, username, action, entity, entity_id, practice_id, before, after, summary)


def _record(session: Session, username: str, action: str, entity: str, entity_id: Any, practice_id: int | None,
            before: dict[str, Any] | None, after: dict[str, Any] | None, summary: str | None,
            at: dt.datetime | None = None) -> AuditLog:
    head = session.get(AuditHead, 1, with_for_update=True, populate_existing=True)
    problem: str | None = None
    if head is None:
        count = int(session.scalar(select(func.count()).select_from(AuditLog)) or 0)
        head = AuditHead(id=1, entries=count,
                         last_hash=session.scalar(select(AuditLog.entry_hash).order_by(AuditLog.id.desc()).limit(1)))
        session.add(head)  # every store has its head since migration 0007: a missing one was deleted
        problem = f"the audit head record was missing ({count:,} entries left in the trail)"
    key = audit_key.load_key(head.key_id) if head.key_id else None
    if key is None and head.key_id is not None and problem is None and session.get_bind().dialect.name != "sqlite":
        # a shared server: every desktop needs the one key; starting another here would make the desktops
        # take turns re-keying the trail
        raise ServiceError(f"The audit key of this shared database is not on this computer: set "
                           f"${audit_key.AUDIT_KEY_ENV} (the network administrator has it; see the user guide).")
    if key is None and problem is None and (head.key_id is not None or head.entries):
        problem = ("the audit key of this store is not on this computer" if head.key_id
                   else "the audit head named no key")
    if key is None:
        head.key_id, key = audit_key.new_key()
        head.keyed_from = None
    if problem is not None:  # the marker first, so the entries before it are told apart
        _append(session, head, key, "system", REKEY, "audit", None, None, None, None,
                f"A new audit key was started: {problem}. Entries before this one cannot be verified here.")
    entry = _append(session, head, key, username, action, entity, entity_id, practice_id, before, after, summary, at)
    session.flush()
    return entry


def _append(session: Session, head: AuditHead, key: bytes, username: str, action: str, entity: str,
            entity_id: Any, practice_id: int | None, before: dict[str, Any] | None, after: dict[str, Any] | None,
            summary: str | None, at: dt.datetime | None = None) -> AuditLog:
    entry = AuditLog(
        at=at or utcnow(),
        username=username,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        practice_id=practice_id,
        before=before,
        after=after,
        summary=summary,
        prev_hash=head.last_hash,
    )
    entry.entry_hash = entry_hash(entry, key)
    session.add(entry)
    if head.keyed_from is None:  # the first entry under this key: its id marks where keyed entries begin
        session.flush()
        head.keyed_from = entry.id
    head.entries += 1
    head.last_hash = entry.entry_hash
    _seal(head, key)
    return entry


@dataclass(frozen=True)
class _Deferred:
    """An audit entry made on a reader thread, waiting for the writer."""

    username: str
    action: str
    entity: str
    entity_id: Any
    practice_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    summary: str | None
    at: dt.datetime


_deferred: weakref.WeakKeyDictionary[Engine, list[_Deferred]] = weakref.WeakKeyDictionary()
_deferred_lock = threading.Lock()


def _defer(session: Session, entry: _Deferred) -> None:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _deferred_lock:
        _deferred.setdefault(engine, []).append(entry)


def reads_waiting(db: Database) -> int:
    """How many entries of reads wait for the writer."""
    with _deferred_lock:
        return len(_deferred.get(db.engine, ()))


def flush_reads(db: Database) -> int:
    """Append the entries that reader threads made, in the order they were made, with their own times (on
    the writer: the window's ``Session`` does it after each read, and when it closes). Returns how many."""
    with _deferred_lock:
        entries = _deferred.pop(db.engine, [])
    if not entries:
        return 0
    try:
        with db.session() as s:
            for e in entries:
                _record(s, e.username, e.action, e.entity, e.entity_id, e.practice_id, e.before, e.after, e.summary,
                        e.at)
    except BaseException:  # nothing was written: they wait for the next flush
        with _deferred_lock:
            _deferred.setdefault(db.engine, [])[:0] = entries
        raise
    return len(entries)


def verify_chain(session: Session) -> list[int]:
    """Ids of audit entries whose hash or link to the previous entry does not match (empty = intact).

    Entries from the head's ``keyed_from`` on are checked against the key; earlier ones against the
    unkeyed hash they were written with. Without the key (not on this computer) every keyed entry counts
    as unverifiable, hence listed. An ``audit-rekey`` entry is listed too: it marks a head or key lost.
    """
    head = session.get(AuditHead, 1)
    keyed_from = head.keyed_from if head is not None and head.keyed_from is not None else None
    key = audit_key.load_key(head.key_id) if head is not None and head.key_id else None
    bad: list[int] = []
    prev: str | None = None
    for entry in session.scalars(select(AuditLog).order_by(AuditLog.id).execution_options(yield_per=2000)):
        keyed = keyed_from is not None and entry.id >= keyed_from
        if keyed and key is None:
            ok = False
        else:
            ok = entry.prev_hash == prev and entry.entry_hash == entry_hash(entry, key if keyed else None)
        if not ok or entry.action == REKEY:
            bad.append(entry.id)
        prev = entry.entry_hash
    return bad


def head_problem(session: Session) -> str | None:
    """Why the head row does not vouch for the trail (entries removed from the end, the head edited,
    removed or its key missing), or None."""
    head = session.get(AuditHead, 1)
    count = int(session.scalar(select(func.count()).select_from(AuditLog)) or 0)
    last = session.scalar(select(AuditLog.entry_hash).order_by(AuditLog.id.desc()).limit(1))
    if head is None:  # every store has one from its creation (or migration 0007) on
        return f"the chain's head record is missing ({count:,} entries left)"
    if head.key_id is None:
        return "the chain's head record names no key (it was edited)"
    key = audit_key.load_key(head.key_id)
    if key is None:
        return (f"the audit key {head.key_id} is not on this computer (see the user guide: copy its key file "
                f"or set ${audit_key.AUDIT_KEY_ENV}), so the trail cannot be verified here")
    if head.head_mac != audit_key.head_mac(key, head.entries, head.last_hash, head.keyed_from, head.key_id):
        return "the chain's head record was edited (its seal does not match)"
    if head.entries != count or head.last_hash != last:
        missing = head.entries - count
        return (f"the trail should hold {head.entries:,} entries and end with another entry"
                + (f" ({missing:,} missing)" if missing > 0 else ""))
    return None


def head_anchor(session: Session) -> dict[str, Any]:
    """The head as it stands, for copies that leave the store (backup manifests, submission packages)."""
    head = session.get(AuditHead, 1)
    return {"entries": 0 if head is None else head.entries, "last_hash": None if head is None else head.last_hash}
