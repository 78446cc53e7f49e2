"""The audit trail records changes in the same transaction and detects tampering."""

from __future__ import annotations

from sqlalchemy import select

from carenet_desktop.models import AuditLog
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext, audit
from carenet_desktop.services.practices import get_or_create_practice, list_practices


def test_creating_a_practice_is_audited(db_url):
    db = open_database(db_url)
    ctx = ServiceContext(db, username="alice")
    pid = get_or_create_practice(ctx, "P1", "Practice one")
    assert get_or_create_practice(ctx, "P1") == pid  # idempotent, no second entry
    with db.session() as s:
        entries = s.scalars(select(AuditLog)).all()
        assert [(e.username, e.action, e.entity, e.entity_id) for e in entries] == [("alice", "create", "practice", str(pid))]
        assert entries[0].after["code"] == "P1"
        assert audit.verify_chain(s) == []
    assert [p.code for p in list_practices(ctx)] == ["P1"]
    db.dispose()


def test_tampered_or_deleted_entry_is_detected(db_url):
    db = open_database(db_url)
    ctx = ServiceContext(db, username="bob")
    for code in ("A", "B", "C"):
        get_or_create_practice(ctx, code)
    with db.session() as s:
        assert audit.verify_chain(s) == []
        second = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()[1]
        second.summary = "edited"
    with db.session() as s:
        assert audit.verify_chain(s) == [second.id]
    with db.session() as s:
        s.delete(s.get(AuditLog, second.id))
    with db.session() as s:
        bad = audit.verify_chain(s)
        assert len(bad) == 1 and bad[0] > second.id  # the entry after the gap no longer links
    db.dispose()


def test_failed_transaction_leaves_no_audit_entry(db_url):
    db = open_database(db_url)
    try:
        with db.session() as s:
            audit.record(s, "carol", "create", "thing", 1)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.session() as s:
        assert s.scalars(select(AuditLog)).all() == []
    db.dispose()
