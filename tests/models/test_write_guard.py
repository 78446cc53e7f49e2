"""One writer, as a rule: a thread marked as a reader cannot write, whatever the path; the audit entries
of its reads wait for the writer and keep their own times and order."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from carenet_desktop.models import AuditLog, Practice
from carenet_desktop.models.write_guard import ReaderWrite, is_reader, is_write, reading
from carenet_desktop.services import audit
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.patients import patient_detail


def _practices(db) -> int:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Practice)) or 0)


def _views(db) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "view").order_by(AuditLog.id)).all()
        s.expunge_all()
        return list(rows)


@pytest.mark.parametrize("statement", [
    "INSERT INTO practice (code, name, active) VALUES ('ZZ9', 'Reader practice', 1)",
    "  update practice SET name = 'x'",
    "DELETE FROM practice",
    "CREATE TABLE reader_table (id INTEGER)",
])
def test_a_reader_cannot_write_through_a_raw_connection(hand_store, statement: str) -> None:
    db, _hand = hand_store
    before = _practices(db)
    with reading(), pytest.raises(ReaderWrite, match="reader thread"), db.engine.begin() as conn:
        conn.execute(text(statement))
    assert _practices(db) == before


def test_a_reader_cannot_write_through_the_orm(hand_store) -> None:
    db, _hand = hand_store
    with reading(), pytest.raises(ReaderWrite), db.session() as s:
        s.add(Practice(code="ZZ8", name="Reader practice"))
    assert not is_reader()
    with db.session() as s:
        s.add(Practice(code="ZZ8", name="Writer practice"))  # outside the mark: the writer writes
    assert _practices(db) >= 1


def test_a_reader_reads_and_keeps_its_own_temporary_tables(hand_store) -> None:
    db, _hand = hand_store
    with reading(), db.engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE ids (id INTEGER)"))
        conn.execute(text("INSERT INTO temp.ids VALUES (1)"))
        assert conn.execute(text("SELECT count(*) FROM practice")).scalar() >= 1


def test_the_mark_is_the_threads_own() -> None:
    seen: list[bool] = []
    with reading():
        thread = threading.Thread(target=lambda: seen.append(is_reader()))
        thread.start()
        thread.join()
        assert is_reader()
    assert seen == [False] and not is_reader()


@pytest.mark.parametrize(("statement", "writes"), [
    ("SELECT 1", False), ("WITH x AS (SELECT 1) SELECT * FROM x", False), ("PRAGMA journal_mode", False),
    ("INSERT INTO a VALUES (1)", True), ("REPLACE INTO a VALUES (1)", True), ("DROP TABLE a", True),
    ("ALTER TABLE a ADD b", True), ("CREATE TEMPORARY TABLE t (a)", False), ("COPY a FROM STDIN", True),
    ("WITH x AS (SELECT 1) INSERT INTO a SELECT * FROM x", True), ("COPY (SELECT 1) TO STDOUT", False),
    # the tables of computed results (shared results and their leases) are not store data
    ("INSERT INTO shared_result (key) VALUES (1)", False), ('UPDATE "result_lease" SET holder = 1', False),
    ("DELETE FROM result_lease WHERE key = 1", False), ("INSERT INTO shared_result_x (a) VALUES (1)", True),
    ("UPDATE patient SET mrn = 1 WHERE id IN (SELECT 1 FROM shared_result)", True), ("DROP TABLE shared_result", True),
])
def test_what_counts_as_a_write(statement: str, writes: bool) -> None:
    assert is_write(statement) is writes


def test_a_read_audited_on_a_reader_is_written_by_the_writer_with_its_own_time(hand_store) -> None:
    db, hand = hand_store
    ctx = ServiceContext(db, username="reader-test")
    before = len(_views(db))
    with reading():
        patient_detail(ctx, hand.mateo, with_measures=False)
        patient_detail(ctx, hand.sofia, with_measures=False)
    assert len(_views(db)) == before  # nothing written by the reader
    assert audit.reads_waiting(db) == 2
    assert audit.flush_reads(db) == 2 and audit.reads_waiting(db) == 0
    views = _views(db)[before:]
    assert [(v.entity, v.entity_id, v.username) for v in views] == [
        ("patient", str(hand.mateo), "reader-test"), ("patient", str(hand.sofia), "reader-test")]
    assert views[0].at <= views[1].at
    with db.session() as s:
        assert audit.verify_chain(s) == []


def test_entries_that_could_not_be_written_wait_for_the_next_flush(hand_store, tmp_path) -> None:
    db, hand = hand_store
    ctx = ServiceContext(db, username="reader-test")
    with reading():
        patient_detail(ctx, hand.wei, with_measures=False)
    with reading(), pytest.raises(ReaderWrite):  # a reader cannot flush either: the entry stays
        audit.flush_reads(db)
    assert audit.reads_waiting(db) == 1
    assert audit.flush_reads(db) == 1
