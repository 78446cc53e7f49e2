"""The daily huddle page driven as a user would: today's and tomorrow's scheduled children with their gaps,
a child expanded for each gap, and the huddle sheet printed (off the GUI thread) and audited."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from sqlalchemy import select

from carenet_desktop.models import Appointment, AuditLog, Patient, Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.pages.huddle import HuddlePage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

AS_OF = dt.date(2026, 6, 30)  # the demo's data ends here and its schedule starts the day after
TODAY = dt.date(2026, 7, 2)  # a Thursday
WAIT = 20000


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=800, seed=1, as_of=AS_OF)


@pytest.fixture
def page(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    db = open_database(copy)
    session = Session(ServiceContext(db, username="tester"))
    widget = HuddlePage(session, today=TODAY)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=WAIT):
        widget.activate()
    yield widget
    session.close()


def _booked(page: HuddlePage, day: dt.date) -> list[int]:
    """Patient ids of the first practice's booked visits on ``day``, by time (as the store has them)."""
    with page.session.ctx.db.session() as s:
        practice = s.scalar(select(Practice.id).where(Practice.code == page.practice_combo.currentData()))
        start = dt.datetime.combine(day, dt.time.min)
        return list(s.scalars(select(Appointment.patient_id).join(Patient, Patient.id == Appointment.patient_id)
                              .where(Patient.practice_id == practice, Appointment.start >= start,
                                     Appointment.start < start + dt.timedelta(days=1),
                                     Appointment.status == "booked")
                              .order_by(Appointment.start, Appointment.id)))


def test_today_lists_each_scheduled_child_and_tomorrow_switches(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert page.today_button.isChecked() and not page.tomorrow_button.isChecked()
    assert page.state.currentIndex() == page.STATE_TABLE
    tree = page.tree
    shown = sorted(tree.topLevelItem(i).data(0, 0x0100) for i in range(tree.topLevelItemCount()))
    assert shown == sorted(_booked(page, TODAY)) and shown
    # a child with gaps expands to each gap (item, due, measures, why)
    huddle = page.huddle
    with_gaps = next(i for i in range(tree.topLevelItemCount()) if tree.topLevelItem(i).childCount())
    item = tree.topLevelItem(with_gaps)
    visit = next(v for v in huddle.visits if v.patient_id == item.data(0, 0x0100))
    assert [item.child(k).text(1) for k in range(item.childCount())] == [g.item for g in visit.gaps]
    assert item.text(5).startswith(f"{len(visit.gaps)}: ")
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.tomorrow_button.click()
    assert page.tomorrow_button.isChecked() and not page.today_button.isChecked()
    assert page.huddle.day == TODAY + dt.timedelta(days=1)
    tomorrow = sorted(page.tree.topLevelItem(i).data(0, 0x0100) for i in range(page.tree.topLevelItemCount()))
    assert tomorrow == sorted(_booked(page, TODAY + dt.timedelta(days=1)))


def test_print_writes_the_sheet_off_the_gui_thread_and_audits_it(page, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page.paper_combo.setCurrentIndex(page.paper_combo.findData("a4"))
    target = tmp_path / "huddle.pdf"
    with qtbot.waitSignal(page.printed, timeout=WAIT) as signal:
        task = page.print_sheet(target)
        assert task is not None and not page.print_button.isEnabled()  # one print at a time
    assert signal.args == [target] and target.stat().st_size > 1000
    assert page.print_button.isEnabled()
    assert "huddle.pdf" in page.action_message.text()
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(target)], check=True, capture_output=True, text=True).stdout
        assert "(A4)" in info
        text = subprocess.run(["pdftotext", str(target), "-"], check=True, capture_output=True, text=True).stdout
        for visit in page.huddle.visits:
            assert visit.mrn in text
    with page.session.ctx.db.session() as s:
        entries = s.scalars(select(AuditLog).where(AuditLog.entity == "huddle").order_by(AuditLog.id)).all()
    assert [e.action for e in entries] == ["view", "export"]
    assert "Printed the huddle sheet" in (entries[-1].summary or "")


def test_a_day_without_visits_says_so_and_cannot_print(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.set_day(dt.date(2026, 7, 4))  # a Saturday: the demo books weekdays only
    assert page.state.currentIndex() == page.STATE_EMPTY
    assert "No visits scheduled" in page.empty_view.text()
    assert not page.print_button.isEnabled() and page.print_sheet("/tmp/never.pdf") is None
