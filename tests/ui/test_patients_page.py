"""The patients screen driven as a user would: type a search, choose a practice, open a patient with the
keyboard, read their record and measure statuses, go back; the lazy list model fetches pages on scroll."""

from __future__ import annotations

from PySide6.QtCore import Qt

from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.patients import search_patients
from carenet_desktop.ui.itemmodels.patients import PatientListModel, status_in_words
from carenet_desktop.ui.pages.patients import PatientsPage
from carenet_desktop.ui.session import Session
from carenet_desktop.wording import count
from tests.patient_records import AS_OF

WAIT = 20_000


def _page(qtbot, db, page_size: int = 200) -> PatientsPage:  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(db, username="tester"))
    page = PatientsPage(session, as_of=AS_OF, page_size=page_size)
    qtbot.addWidget(page)
    page.resize(1100, 720)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.activate()
    return page


def _shown_names(page: PatientsPage) -> list[str]:
    return [page.model.index(r, 0).data() for r in range(page.model.rowCount())]


def _search(qtbot, page: PatientsPage, text: str) -> None:  # type: ignore[no-untyped-def]
    page.search_edit.clear()
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        qtbot.keyClicks(page.search_edit, text)  # typing waits for a pause before it searches


def test_typing_a_name_finds_the_patients_of_every_practice_then_of_one(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    page = _page(qtbot, db)
    assert page.model.rowCount() == 5  # everyone, before anything is typed
    _search(qtbot, page, "rivera")
    assert _shown_names(page) == ["Rivera, Lucia", "Rivera, Mateo", "Rivera, Sofia"]
    assert page.count_label.text().startswith("3 patients")
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.practice_combo.setCurrentIndex(page.practice_combo.findData(hand.practice_id))
    assert _shown_names(page) == ["Rivera, Mateo", "Rivera, Sofia"]


def test_a_birth_date_or_mrn_search_and_a_search_that_finds_nobody(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, _hand = hand_store
    page = _page(qtbot, db)
    _search(qtbot, page, "03/14/2024")
    assert _shown_names(page) == ["Rivera, Mateo"]
    _search(qtbot, page, "H-2")
    assert _shown_names(page) == ["Chen, Wei"]
    _search(qtbot, page, "nobody-here")
    assert page.state.currentIndex() == PatientsPage.STATE_EMPTY
    assert "matches “nobody-here”" in page.empty_view.text()


def test_the_keyboard_opens_a_patient_with_their_record_and_statuses(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.models import Patient

    db, hand = hand_store
    with db.session() as s:
        sofia = s.get(Patient, hand.sofia)
        sofia.phone, sofia.guardian, sofia.contact_method = "555-0101", "Ana Rivera", "text"
    page = _page(qtbot, db)
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.set_practice(hand.practice_id)
    _search(qtbot, page, "sofia")
    assert _shown_names(page) == ["Rivera, Sofia"]
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Down)  # down arrow moves to the first result
    assert page.table.currentIndex().row() == 0
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT) as loaded:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert page.is_showing_patient() and loaded.args[0].demographics.id == hand.sofia
    view = page.patient_view
    assert view.name_label.text() == "Rivera, Sofia"
    assert view.values["mrn"].text() == "H-1002"
    assert [view.values[k].text() for k in ("phone", "guardian", "contact")] == ["555-0101", "Ana Rivera", "text"]
    statuses = {view.measure_model.index(r, 0).data(): view.measure_model.index(r, 2).data()
                for r in range(view.measure_model.rowCount())}
    assert statuses["LSC"] == "Overdue"
    assert view.measure_model.index(0, 2).data() == "Overdue"  # what needs attention comes first
    assert "overdue" in view.counts_label.text()
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # back to the list
    assert not page.is_showing_patient()


def test_a_patient_page_lists_not_given_doses_and_hides_measures_that_do_not_apply(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    page = _page(qtbot, db)
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT):
        page.open_patient(hand.mateo)
    view = page.patient_view
    timeline = [[view.timeline_model.index(r, c).data() for c in range(view.timeline_model.columnCount())]
                for r in range(view.timeline_model.rowCount())]
    assert any("Not given: patient objection" in " ".join(str(x) for x in row) for row in timeline)
    shown = view.measure_model.rowCount()
    assert all(m.status != "not applicable" for m in view.shown_measures())
    view.show_all_check.click()
    assert view.measure_model.rowCount() > shown
    view.back_button.click()
    assert not page.is_showing_patient()


def test_the_list_fetches_more_rows_as_it_scrolls(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, _hand = hand_store
    page = _page(qtbot, db, page_size=2)
    assert page.model.rowCount() == 2 and page.model.total == 5
    while page.model.rowCount() < 5:
        with qtbot.waitSignal(page.page_loaded, timeout=WAIT):
            page.table.scrollToBottom()
            page.model.fetchMore()
    every = [r.name for r in search_patients(page.session.ctx, "", page.practice_ids(), limit=10)]
    assert _shown_names(page) == every


def test_the_patient_models_pass_qt_model_tester(qtbot, qtmodeltester, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    page = _page(qtbot, db)
    qtmodeltester.check(page.model)
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT):
        page.open_patient(hand.mateo)
    qtmodeltester.check(page.patient_view.timeline_model)
    qtmodeltester.check(page.patient_view.measure_model)
    empty = PatientListModel()
    qtmodeltester.check(empty)


def test_statuses_on_the_timeline_are_words_not_fhir_codes(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    page = _page(qtbot, db)
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT) as loaded:
        page.open_patient(hand.mateo)
    view = page.patient_view
    raw = {e.status for e in loaded.args[0].timeline}
    assert "not-done" in raw  # the store keeps FHIR's codes ...
    status_column = view.timeline_model.columnCount() - 1
    shown = {view.timeline_model.index(r, status_column).data() for r in range(view.timeline_model.rowCount())}
    assert "Not done" in shown  # ... the page says them in words
    assert not shown & {"not-done", "finished", "completed", "entered-in-error", "in-progress"}
    assert status_in_words("finished") == "Done" and status_in_words("some-new-code") == "Some new code"


def test_enter_opens_the_only_patient_found_and_counts_are_singular(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    page = _page(qtbot, db)
    messages: list[str] = []
    page.status_message.connect(messages.append)
    _search(qtbot, page, "rivera")
    assert not page.is_showing_patient()
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)  # three found: Enter does not choose for you
    assert not page.is_showing_patient() and messages[-1] == "3 patients found"
    page.search_edit.clear()
    qtbot.keyClicks(page.search_edit, "H-1002")
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT) as loaded:
        qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
    assert page.is_showing_patient() and loaded.args[0].demographics.id == hand.sofia
    assert "1 patient found" in messages and "1 patients found" not in messages
    assert page.count_label.text().startswith("1 patient · ")


def test_counts_in_words() -> None:
    assert (count(0, "patient"), count(1, "patient"), count(2345, "patient"), count(1, "entry", "entries"),
            count(2, "entry", "entries")) == ("0 patients", "1 patient", "2,345 patients", "1 entry", "2 entries")
