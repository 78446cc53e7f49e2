"""The data-entry screen driven from the keyboard: pick a patient, type, tab, Enter, see the message
beside the wrong field, fix it, save, undo."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from sqlalchemy import func, select

from carenet_desktop.models import (
    AggregateEntry,
    AuditLog,
    CareActivity,
    Encounter,
    Immunization,
    Observation,
    Patient,
)
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.itemmodels.entry import PatientMatchModel, SavedEntriesModel, SavedEntry
from carenet_desktop.ui.pages.data_entry import DataEntryPage
from carenet_desktop.ui.session import Session

from .conftest import fill_database

TODAY = dt.date(2026, 6, 30)
WAIT = 10000


@pytest.fixture
def page(tmp_path, qtbot):  # type: ignore[no-untyped-def]
    db = open_database(tmp_path / "entry.db")
    fill_database(db)
    with db.session() as s:
        for i, p in enumerate(s.scalars(select(Patient).order_by(Patient.id))):
            p.family_name, p.given_name = ("Garcia", "Sofia") if i == 1 else (f"Family{i}", f"Given{i}")
    session = Session(ServiceContext(db, username="clerk"))
    widget = DataEntryPage(session, today=TODAY)
    qtbot.addWidget(widget)
    widget.resize(1100, 760)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    with qtbot.waitSignal(widget.loaded, timeout=WAIT):
        widget.activate()
    yield widget
    session.close()


def _count(page: DataEntryPage, model: type) -> int:
    with page.session.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _pick_patient(page: DataEntryPage, qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
    page.patient_edit.setFocus()
    with qtbot.waitSignal(page.patients_found, timeout=WAIT):
        qtbot.keyClicks(page.patient_edit, text)
    popup = page.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.patient is not None, timeout=WAIT)


def _submit_with_enter(page: DataEntryPage, qtbot, widget) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    widget.setFocus()
    with qtbot.waitSignal(page.saved, timeout=WAIT) as blocker:
        qtbot.keyClick(widget, Qt.Key.Key_Return)
    return tuple(blocker.args)  # type: ignore[return-value]


def test_visit_typed_with_inline_error_fixed_saved_and_undone(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert page.practice_combo.currentText().startswith("ELM")  # the practices in code order
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "garc")
    assert page.patient.mrn == "NORTH-1" and "Garcia, Sofia" in page.patient_info.text()
    form = page.forms["encounter"]
    assert page.tabs.currentWidget() is form and form.date.date() == TODAY  # today by default
    form.date.setFocus()
    qtbot.waitUntil(form.date.hasFocus)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # from the date straight on to the code
    assert QApplication.focusWidget() is form.code.edit  # the tab order follows the form
    qtbot.keyClicks(form.code.edit, "9939")  # one digit short: five visits start so, none is chosen
    assert form.code.problem() == "5 visits match “9939”: choose one from the list (Down arrow)."
    assert form.code.note.text() == form.code.problem()  # said beside the field as typed
    qtbot.keyClick(form.code.edit, Qt.Key.Key_Return)
    assert page.write_task is None and _count(page, Encounter) == 0  # not saved: nothing sent to the service
    assert page.action_message.text().startswith("Not saved: 5 visits match")
    qtbot.keyClicks(form.code.edit, "X")  # the shape of a code, not in the list: the service checks it
    qtbot.keyClick(form.code.edit, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is form.system
    entity, result = _submit_with_enter(page, qtbot, form.code)
    assert entity == "encounter" and not result.ok
    assert form.errors.shown() == {"code": "Not a valid CPT code."}
    error = form.errors.labels["code"]
    row, _ = form.form.getWidgetPosition(error)
    row_code, _ = form.form.getWidgetPosition(form.code.parentWidget())
    assert row == row_code + 1 and error.isVisible()  # right under the code field
    assert form.code.hasFocus() and _count(page, Encounter) == 0
    qtbot.keyClick(form.code.edit, Qt.Key.Key_Backspace)
    assert not error.isVisible()  # the message about the old code goes as it is changed
    qtbot.keyClicks(form.code.edit, "2")
    assert form.code.note.text().startswith("Well-child visit, established, 1-4 years: ")
    _, result = _submit_with_enter(page, qtbot, form.code)
    assert result.ok and form.errors.shown() == {} and not error.isVisible()
    with page.session.ctx.db.session() as s:
        visit = s.get(Encounter, result.id)
        assert (visit.code, visit.start.date(), visit.patient_id) == ("99392", TODAY, page.patient.id)
    assert form.code.edit.text() == "" and page.saved_model.rowCount() == 1
    assert "Visit 99392 on 2026-06-30 — Garcia, Sofia (MRN NORTH-1)" in page.action_message.text()
    assert page.undo_button.isEnabled()
    with qtbot.waitSignal(page.undone, timeout=WAIT) as blocker:
        page.saved_view.setFocus()
        qtbot.keyClick(page.saved_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0].action == "deleted" and _count(page, Encounter) == 0
    assert not page.undo_button.isEnabled() and "(undone)" in page.saved_model.index(0, 0).data()
    with page.session.ctx.db.session() as s:
        assert s.scalar(select(AuditLog.action).order_by(AuditLog.id.desc()).limit(1)) == "undo"


def test_saving_without_a_patient_says_so_beside_the_patient_field(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    form = page.forms["encounter"]
    form.code.setFocus()
    qtbot.keyClicks(form.code.edit, "99392")
    _, result = _submit_with_enter(page, qtbot, form.code)
    assert not result.ok and page.patient_error.text() == "Choose a patient." and page.patient_error.isVisible()


def test_immunization_not_given_needs_its_reason(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("LAKE", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "LAKE-2")
    page.tabs.setCurrentWidget(page.forms["immunization"])
    form = page.forms["immunization"]
    form.cvx.setFocus()
    qtbot.keyClicks(form.cvx.edit, "20")
    qtbot.keyClick(form.cvx.edit, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)  # the "Not given" mnemonic
    qtbot.waitUntil(form.not_given.isChecked, timeout=WAIT)  # a mnemonic "clicks" after a short animation
    assert form.reason.isEnabled()
    _, result = _submit_with_enter(page, qtbot, form.cvx)
    assert form.errors.shown() == {"not_given_reason": "Say why it was not given."}
    form.reason.setCurrentIndex(form.reason.findData("refusal"))
    _, result = _submit_with_enter(page, qtbot, form.lot)
    assert result.ok
    with page.session.ctx.db.session() as s:
        imm = s.get(Immunization, result.id)
        assert (imm.status, imm.status_reason_code, imm.code) == ("not-done", "PATOBJ", "20")


def test_screening_instruments_from_the_vocabulary_and_score_checked(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "NORTH-3")
    form = page.forms["observation"]
    page.tabs.setCurrentWidget(form)
    names = [c.label for c in form.instrument.choices]
    for label in ("ASQ-3", "M-CHAT-R/F", "SWYC", "EPDS", "PHQ-2", "PHQ-9A", "AHC HRSN", "PRAPARE"):
        assert any(n.startswith(label + " (") for n in names), label
    form.instrument.edit.setText("M-CHAT")
    form.score.setFocus()
    qtbot.keyClicks(form.score, "many")
    _submit_with_enter(page, qtbot, form.score)
    assert form.errors.shown() == {"score": "A score is a number, 0 or more."}
    form.score.clear()
    qtbot.keyClicks(form.score, "3")
    form.result.setCurrentIndex(form.result.findData("positive"))
    _, result = _submit_with_enter(page, qtbot, form.score)
    assert result.ok
    with page.session.ctx.db.session() as s:
        obs = s.get(Observation, result.id)
        assert (obs.code, obs.value_num, obs.interpretation) == ("72133-2", 3.0, "positive")


def test_activity_and_aggregate_then_undo_twice(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("LAKE", Qt.MatchFlag.MatchStartsWith))
    activity = page.forms["care_activity"]
    page.tabs.setCurrentWidget(activity)
    assert activity.minutes.maximum() == 24 * 60
    activity.activity_type.setCurrentText("")
    _submit_with_enter(page, qtbot, activity.notes)
    assert activity.errors.shown() == {"activity_type": "Required."}
    activity.activity_type.setCurrentIndex(activity.activity_type.findData("outreach-call"))
    activity.minutes.setValue(25)
    _, result = _submit_with_enter(page, qtbot, activity.notes)
    assert result.ok
    with page.session.ctx.db.session() as s:
        act = s.get(CareActivity, result.id)
        assert (act.minutes, act.patient_id, act.activity_date, act.performed_by) == (25, None, TODAY, "clerk")

    agg = page.forms["aggregate_entry"]
    page.tabs.setCurrentWidget(agg)
    assert (agg.period_start.date(), agg.period_end.date()) == (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    agg.measure.setCurrentIndex(agg.measure.findData("LSC"))
    agg.denominator.setValue(10)
    agg.numerator.setValue(12)
    _submit_with_enter(page, qtbot, agg.note)
    assert agg.errors.shown() == {"numerator": "Cannot exceed the denominator."}
    agg.numerator.setValue(7)
    _, result = _submit_with_enter(page, qtbot, agg.note)
    assert result.ok and _count(page, AggregateEntry) == 1
    for expected in ("deleted", "deleted"):  # the aggregate, then the activity
        with qtbot.waitSignal(page.undone, timeout=WAIT) as blocker:
            qtbot.mouseClick(page.undo_button, Qt.MouseButton.LeftButton)
        assert blocker.args[0].action == expected
    assert _count(page, AggregateEntry) == 0 and _count(page, CareActivity) == 0


def test_every_field_has_a_mnemonic_label(page) -> None:  # type: ignore[no-untyped-def]
    for form in page.forms.values():
        buddies = [lb for lb in form.findChildren(QLabel) if lb.buddy() is not None]
        assert len(buddies) >= 4 and all("&" in lb.text() for lb in buddies), form.entity


def test_models_pass_qtmodeltester(page, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.services.lookup import find_patients

    matches = PatientMatchModel()
    matches.set_matches(find_patients(page.session.ctx, "NORTH", practice_id=None))
    assert matches.rowCount() == 5
    qtmodeltester.check(matches, force_py=True)
    saved = SavedEntriesModel()
    saved.add(SavedEntry("encounter", 1, "Visit 99392"))
    saved.add(SavedEntry("immunization", 2, "Vaccine 20"))
    saved.mark_undone(saved.last_undoable())
    qtmodeltester.check(saved, force_py=True)
    assert saved.last_undoable().id == 1
