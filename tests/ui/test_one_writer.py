"""The window's one writer: a read cannot write, and what a read leaves for the audit trail is written by the
writer thread once the read is over."""

from __future__ import annotations

from sqlalchemy import func, select, text

from carenet_desktop.models import AuditLog, Practice
from carenet_desktop.models.write_guard import ReaderWrite
from carenet_desktop.services.context import Progress, ServiceContext
from carenet_desktop.services.patients import patient_detail
from carenet_desktop.ui.session import Session
from carenet_desktop.ui.tasks import ExceptionInfo

WAIT = 20_000


def _count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_read_that_tries_to_write_fails_and_writes_nothing(qtbot, hand_store) -> None:
    db, _hand = hand_store
    session = Session(ServiceContext(db, username="tester"))
    crashes: list[ExceptionInfo] = []
    session.tasks.crash_handler = crashes.append
    before = _count(db, Practice)

    def sneaky_write(_progress: Progress) -> None:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO practice (code, name, active) VALUES ('ZZ7', 'Written by a read', 1)"))

    task = session.tasks.run(sneaky_write, label="A read")
    qtbot.waitUntil(lambda: task.is_done, timeout=WAIT)
    assert [c.exc_type for c in crashes] == [ReaderWrite]
    assert _count(db, Practice) == before
    written = session.tasks.run(sneaky_write, label="A write", write=True)  # the writer may
    qtbot.waitUntil(lambda: written.is_done, timeout=WAIT)
    assert _count(db, Practice) == before + 1
    session.tasks.shutdown()


def test_a_patient_viewed_in_a_read_is_audited_by_the_writer(qtbot, hand_store) -> None:
    db, hand = hand_store
    session = Session(ServiceContext(db, username="tester"))
    viewed = (AuditLog.action == "view", AuditLog.entity == "patient", AuditLog.entity_id == str(hand.ada))
    announced: list[str] = []
    session.tasks.started.connect(lambda t: announced.append(t.label))
    task = session.tasks.run(lambda _p: patient_detail(session.ctx, hand.ada, with_measures=False), label="Patient")
    qtbot.waitUntil(lambda: task.is_done, timeout=WAIT)
    qtbot.waitUntil(lambda: _count(db, AuditLog, *viewed) == 1, timeout=WAIT)
    assert announced == ["Patient"]  # the writer's audit work is not shown in the status bar
    session.tasks.shutdown()


def test_closing_the_session_writes_what_reads_left(qtbot, hand_store) -> None:
    db, hand = hand_store
    session = Session(ServiceContext(db, username="tester"))
    session.tasks.read_done.disconnect(session._write_what_reads_left)  # as if the window closed right away
    task = session.tasks.run(lambda _p: patient_detail(session.ctx, hand.wei, with_measures=False), label="Patient")
    qtbot.waitUntil(lambda: task.is_done, timeout=WAIT)
    viewed = (AuditLog.action == "view", AuditLog.entity_id == str(hand.wei))
    assert _count(db, AuditLog, *viewed) == 0
    session.close()
    from carenet_desktop.models.database import open_database

    reopened = open_database(db.url)
    try:
        assert _count(reopened, AuditLog, *viewed) == 1
    finally:
        reopened.dispose()
