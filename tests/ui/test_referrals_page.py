"""The referrals board driven as a user would, against a small demo network (plus one Help Me Grow loop)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from carenet_desktop.models import AuditLog, CareActivity, Patient, Practice, Referral
from carenet_desktop.models.database import open_database
from carenet_desktop.services import entry
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.referrals import BOARD_STEPS, list_open_referrals
from carenet_desktop.ui.itemmodels.referrals import BoardColumnProxy, ReferralListModel
from carenet_desktop.ui.pages.referrals import ReferralsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

TODAY = dt.date(2026, 6, 30)
PLACED = dt.date(2026, 6, 20)
WAIT = 15000


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    path = demo_store(tmp_path_factory, patients=800, seed=1, as_of=TODAY)
    db = open_database(path)
    ctx = ServiceContext(db)
    with db.session() as s:
        pid = s.scalars(select(Patient.id).join(Practice).where(Practice.code == "P001",
                                                                Patient.birth_date < dt.date(2025, 1, 1))
                        .order_by(Patient.id).limit(1)).one()
    assert entry.create_referral(ctx, patient_id=pid, referral_type="help-me-grow", placed_on=PLACED,
                                 destination="Help Me Grow call center", today=TODAY).ok
    db.dispose()
    return path


@pytest.fixture
def page(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    db = open_database(copy)
    session = Session(ServiceContext(db, username="tester"))
    widget = ReferralsPage(session, today=TODAY)
    qtbot.addWidget(widget)
    widget.resize(1100, 760)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=WAIT):
        widget.activate()
    yield widget
    session.close()


def _hmg(page: ReferralsPage):  # type: ignore[no-untyped-def]
    return next(r for st in BOARD_STEPS for r in page.column_referrals(st) if r.referral_type == "help-me-grow")


def _on_board(page: ReferralsPage) -> dict[int, str]:
    return {r.id: st for st in BOARD_STEPS for r in page.column_referrals(st)}


def test_board_shows_open_loops_by_step_with_overdue_and_kinds(page) -> None:  # type: ignore[no-untyped-def]
    ctx = page.session.ctx
    expected = {r.id: r.step for r in list_open_referrals(ctx, today=TODAY)}
    assert page.state.currentIndex() == page.STATE_BOARD
    assert _on_board(page) == expected and len(expected) > 5
    late = entry.overdue_referral_steps(ctx, today=TODAY)
    assert page.counts["overdue"] == len(late) and page.counts["open"] == len(expected)
    assert {r.id for st in BOARD_STEPS for r in page.column_referrals(st) if r.overdue} == {o.referral_id for o in late}
    assert page.counts["help_me_grow"] == 1 and page.counts["social_needs"] > 0
    assert f"<b>{len(expected)}</b> open loops shown" in page.summary.text()
    # overdue cards first in each column
    for st in BOARD_STEPS:
        flags = [r.overdue for r in page.column_referrals(st)]
        assert flags == sorted(flags, reverse=True)


def test_kind_and_overdue_filters(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("help-me-grow"))
    assert set(_on_board(page)) == {_hmg(page).id} and page.counts["open"] == 1
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("flagged"))
    kinds = {r.referral_type for st in BOARD_STEPS for r in page.column_referrals(st)}
    assert kinds == {"help-me-grow", "community-service"}
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("all"))
    page.overdue_check.click()
    shown = [r for st in BOARD_STEPS for r in page.column_referrals(st)]
    assert shown and all(r.overdue for r in shown)
    page.overdue_check.click()
    name = _hmg(page).patient_name.split(",")[0]
    qtbot.keyClicks(page.search_edit, name)
    assert _hmg(page).id in _on_board(page) and all(name in r.patient_name for st in BOARD_STEPS
                                                     for r in page.column_referrals(st))


def test_practice_picker_reloads_one_practice(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.practice_combo.setCurrentIndex(page.practice_combo.findData("P002"))
    assert {r.practice_code for st in BOARD_STEPS for r in page.column_referrals(st)} == {"P002"}


def test_out_of_order_step_shows_inline_error_then_valid_step_moves_card(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    ref = _hmg(page)
    assert page.select_referral(ref.id) and page.panel.referral.id == ref.id
    assert page.panel.step_combo.currentData() == "scheduled"
    page.panel.step_date.set_date(dt.date(2026, 6, 10))  # before it was placed
    with qtbot.waitSignal(page.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(page.panel.step_button, Qt.MouseButton.LeftButton)
    assert not saved.args[1].ok
    assert page.panel.step_date_error.isVisible()
    assert "Before the 'placed' step (2026-06-20)" in page.panel.step_date_error.text()
    with page.session.ctx.db.session() as s:
        assert s.get(Referral, ref.id).scheduled_on is None

    page.panel.step_date.set_date(dt.date(2026, 6, 25))
    with qtbot.waitSignals([page.saved, page.loaded], timeout=WAIT):
        qtbot.mouseClick(page.panel.step_button, Qt.MouseButton.LeftButton)
    assert not page.panel.step_date_error.isVisible()
    with page.session.ctx.db.session() as s:
        row = s.get(Referral, ref.id)
        assert (row.scheduled_on, row.status) == (dt.date(2026, 6, 25), "scheduled")
        audit = s.scalars(select(AuditLog).where(AuditLog.entity == "referral", AuditLog.entity_id == str(ref.id),
                                                 AuditLog.action == "update")).one()
        assert audit.username == "tester"
    assert _on_board(page)[ref.id] == "scheduled"
    assert page.panel.referral.id == ref.id and page.panel.step_combo.currentData() == "seen"


def test_an_impossible_step_date_is_refused_beside_it_and_not_saved(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    ref = _hmg(page)
    page.select_referral(ref.id)
    panel = page.panel
    assert panel.step_date.date() == TODAY
    panel.step_date.setFocus()
    qtbot.keyClick(panel.step_date.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(panel.step_date.edit, "2026-06-31")
    assert panel.step_date.note.text() == "June 2026 has 30 days, not 31." and panel.step_date.note.isVisible()
    asked: list[object] = []
    panel.record_step.connect(lambda *args: asked.append(args))
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    assert asked == [] and panel.step_date.hasFocus()  # nothing sent: not saved as another day
    panel.clear_errors()
    assert panel.step_date.note.isVisible()  # the field's own note is not one of the service's messages
    qtbot.keyClick(panel.step_date.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(panel.step_date.edit, "6/25/2026")
    with qtbot.waitSignals([page.saved, page.loaded], timeout=WAIT):
        qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    with page.session.ctx.db.session() as s:
        assert s.get(Referral, ref.id).scheduled_on == dt.date(2026, 6, 25)


def test_lost_to_follow_up_needs_a_reason_and_leaves_the_board(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    ref = _hmg(page)
    page.select_referral(ref.id)
    with qtbot.waitSignal(page.saved, timeout=WAIT):
        qtbot.mouseClick(page.panel.lost_button, Qt.MouseButton.LeftButton)
    assert page.panel.lost_reason_error.isVisible() and "why" in page.panel.lost_reason_error.text()
    page.panel.lost_reason.lineEdit().setFocus()
    qtbot.keyClicks(page.panel.lost_reason.lineEdit(), "Family could not be reached")
    with qtbot.waitSignals([page.saved, page.loaded], timeout=WAIT):
        qtbot.mouseClick(page.panel.lost_button, Qt.MouseButton.LeftButton)
    with page.session.ctx.db.session() as s:
        row = s.get(Referral, ref.id)
        assert (row.status, row.lost_on, row.lost_reason) == ("lost", TODAY, "Family could not be reached")
    assert ref.id not in _on_board(page)
    assert page.panel.referral is None and page.counts["help_me_grow"] == 0


def test_record_care_coordination_activity(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    ref = _hmg(page)
    page.select_referral(ref.id)
    panel = page.panel
    panel.activity_type.setCurrentIndex(panel.activity_type.findData("resource-navigation"))
    panel.activity_minutes.setValue(25)
    panel.activity_date.set_date(dt.date(2026, 6, 29))
    qtbot.keyClicks(panel.activity_note, "Gave the family the HMG number")
    # the saved activity changes the board: it reloads (as the other saves here, wait for that too)
    with qtbot.waitSignal(page.saved, timeout=WAIT) as saved, qtbot.waitSignal(page.loaded, timeout=WAIT):
        qtbot.mouseClick(panel.activity_button, Qt.MouseButton.LeftButton)
    assert saved.args[0] == "activity" and saved.args[1].ok
    with page.session.ctx.db.session() as s:
        act = s.get(CareActivity, saved.args[1].id)
        assert (act.activity_type, act.minutes, act.activity_date, act.referral_id, act.patient_id, act.notes) == (
            "resource-navigation", 25, dt.date(2026, 6, 29), ref.id, ref.patient_id, "Gave the family the HMG number")
    # a future date is refused beside the field
    panel.activity_date.set_date(dt.date(2026, 7, 5))
    with qtbot.waitSignal(page.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(panel.activity_button, Qt.MouseButton.LeftButton)
    assert not saved.args[1].ok and panel.activity_date_error.text() == "Cannot be in the future."


def test_a_reload_keeps_the_message_and_the_day_typed_beside_the_fields(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    """A reload (after a save, or another window's change) must not pass through another card on its way
    back to the selected one: that cleared the messages and reset the days of the referral being worked on."""
    ref = _hmg(page)
    page.select_referral(ref.id)
    panel = page.panel
    panel.activity_date.set_date(dt.date(2026, 7, 5))
    with qtbot.waitSignal(page.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(panel.activity_button, Qt.MouseButton.LeftButton)
    assert not saved.args[1].ok and panel.activity_date_error.text() == "Cannot be in the future."
    panel.step_date.set_date(dt.date(2026, 6, 20))
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.reload()
    assert page.panel.referral is not None and page.panel.referral.id == ref.id
    assert panel.activity_date_error.text() == "Cannot be in the future."
    assert panel.step_date.date() == dt.date(2026, 6, 20)


def test_models_pass_qtmodeltester(page, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = ReferralListModel(page.model.referrals())
    qtmodeltester.check(model, force_py=True)
    proxy = BoardColumnProxy("placed")
    proxy.setSourceModel(model)
    proxy.set_kind("flagged")
    qtmodeltester.check(proxy, force_py=True)
    qtmodeltester.check(ReferralListModel([]), force_py=True)


def test_empty_state_without_referrals(database, qtbot) -> None:  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(database, username="tester"))
    widget = ReferralsPage(session, today=TODAY)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=WAIT):
        widget.activate()
    assert widget.state.currentIndex() == widget.STATE_EMPTY
    assert "No open referral loops" in widget.empty_view.text()
    assert widget.practice_combo.count() == 1 + 3  # all practices + the sample's three
    session.tasks.shutdown()
