"""Several people writing at once: no update is silently lost (optimistic version column), and the audit
chain stays one chain (its head row is locked while an entry is appended). Runs on SQLite and, in CI, on
a real PostgreSQL server, where the writers truly overlap."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from carenet_desktop.models import AuditHead, AuditLog, Patient, Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.services import audit
from carenet_desktop.services.audit_export import verify_audit
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.practices import get_or_create_practice


def _patient(db) -> int:  # type: ignore[no-untyped-def]
    with db.session() as s:
        practice = Practice(code="P1", name="One")
        s.add(practice)
        s.flush()
        patient = Patient(practice_id=practice.id, mrn="M1", birth_date=dt.date(2024, 1, 1), given_name="A")
        s.add(patient)
        s.flush()
        return patient.id


def test_a_stale_write_is_refused_not_lost(db_url) -> None:  # type: ignore[no-untyped-def]
    db = open_database(db_url)
    try:
        pid = _patient(db)
        first, second = db.sessions(), db.sessions()
        a, b = first.get(Patient, pid), second.get(Patient, pid)
        a.payer = "medicaid"
        first.commit()
        b.payer = "commercial"  # edited from the same version the first writer started from
        with pytest.raises(StaleDataError):
            second.commit()
        second.rollback()
        first.close()
        second.close()
        with db.session() as s:
            row = s.get(Patient, pid)
            assert (row.payer, row.version) == ("medicaid", 2)
    finally:
        db.dispose()


def test_concurrent_writers_keep_one_audit_chain(db_url) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite takes one writer at a time; the PostgreSQL lane runs writers in parallel")
    db = open_database(db_url)
    errors: list[BaseException] = []
    writers, each = 4, 15
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        ctx = ServiceContext(db, username=f"analyst{n}")
        try:
            start.wait()
            for i in range(each):
                get_or_create_practice(ctx, f"W{n}-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Practice)) == writers * each
            entries = s.scalar(select(func.count()).select_from(AuditLog))
            assert entries == writers * each
            assert audit.verify_chain(s) == []
            assert s.get(AuditHead, 1).entries == entries
            links = s.scalars(select(AuditLog.prev_hash)).all()
            assert len(set(links)) == len(links)  # no two entries follow the same one: no fork
        assert verify_audit(ServiceContext(db)).intact
    finally:
        db.dispose()


def test_removing_the_last_entries_is_detected(db_url) -> None:  # type: ignore[no-untyped-def]
    db = open_database(db_url)
    try:
        ctx = ServiceContext(db, username="bob")
        for code in ("A", "B", "C"):
            get_or_create_practice(ctx, code)
        assert verify_audit(ctx).intact
        with db.session() as s:
            last = s.scalar(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
            s.delete(last)  # the tail: no later entry's link breaks
        with db.session() as s:
            assert audit.verify_chain(s) == []
            assert "should hold 3 entries" in (audit.head_problem(s) or "")
        report = verify_audit(ctx)
        assert not report.intact and report.broken == [] and "1 missing" in (report.end_problem or "")
    finally:
        db.dispose()
