"""Never losing your place (issue 25): a child opened from a measure's patient list opens on that rate's
period with that rate highlighted, and Back (the patient page's button, Alt+Left, the mouse's back button)
returns to the drill-down as it was left: the same tab, filter, selected child and scroll position; Forward
goes to the child again."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from carenet_desktop.metrics.period import Period
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.history import History, Place
from carenet_desktop.ui.itemmodels.patients import HIGHLIGHT
from carenet_desktop.ui.itemmodels.scorecard import ROW_ROLE
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.pages.patients import PatientsPage
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

WAIT = 120_000
MEASURE = "WCV"


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=800, seed=1)


@pytest.fixture
def window(store, qtbot):  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(open_database(store), username="tester"))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    yield window
    session.close()


def _drill_down(window: MainWindow, qtbot):  # type: ignore[no-untyped-def]
    """Scorecard 2025 (not the year every page starts on) ▸ WCV ▸ Patients tab ▸ everyone, scrolled down."""
    page = window.pages["scorecards"]
    assert isinstance(page, ScorecardsPage)
    window.show_page("scorecards")
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.period_combo.setCurrentIndex(page.period_combo.findData("2025"))
    row = next(r for r in range(page.proxy.rowCount()) if page.proxy.index(r, 0).data(ROW_ROLE)["measure"] == MEASURE)
    page.table.setFocus()
    page.table.setCurrentIndex(page.proxy.index(row, 0))
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    detail = page.detail
    assert page.views.currentWidget() is detail
    with qtbot.waitSignal(detail.patients_loaded, timeout=WAIT):
        detail.show_tab("patients")
    detail.status_combo.setCurrentIndex(detail.status_combo.findData(""))  # everyone: a list long enough to scroll
    table = detail.patients_table
    qtbot.waitUntil(lambda: table.verticalScrollBar().maximum() > 40, timeout=WAIT)
    scroll = table.verticalScrollBar().maximum() // 2
    table.verticalScrollBar().setValue(scroll)
    chosen = table.rowAt(table.viewport().height() // 2)  # a child in the middle of what is on screen
    assert chosen > 0
    return page, detail, chosen, scroll


def _open_child(window: MainWindow, detail, row: int, qtbot):  # type: ignore[no-untyped-def]
    patients = window.pages["patients"]
    assert isinstance(patients, PatientsPage)
    table = detail.patients_table
    table.setFocus()
    table.setCurrentIndex(detail.patients_model.index(row, 0))
    with qtbot.waitSignal(patients.patient_loaded, timeout=WAIT):
        qtbot.keyClick(table, Qt.Key.Key_Return)
    return patients


def _assert_drill_down_as_left(window: MainWindow, page, detail, row: int, scroll: int, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert window.current_page() is page
    qtbot.waitUntil(lambda: page.views.currentWidget() is detail, timeout=WAIT)  # at once, or once its year is computed
    assert detail.key is not None and detail.key.measure_id == MEASURE and detail.key.period == Period.year(2025)
    assert detail.tabs.currentIndex() == 3  # Patients
    assert detail.status_combo.currentData() == ""
    table = detail.patients_table
    qtbot.waitUntil(lambda: detail.patients is not None and not detail.loading_patients(), timeout=WAIT)
    qtbot.waitUntil(lambda: table.currentIndex().row() == row, timeout=WAIT)
    assert [i.row() for i in table.selectionModel().selectedRows()] == [row]
    assert table.verticalScrollBar().value() == scroll


def test_a_child_opens_on_the_rate_it_came_from_and_back_returns_to_the_drill_down(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    page, detail, row, scroll = _drill_down(window, qtbot)
    child = detail.patients_model.patient_id(row)
    patients = _open_child(window, detail, row, qtbot)

    # the patient page: on the drill-down's period (2025, not this year), that rate highlighted and selected
    assert window.current_page() is patients and patients.is_showing_patient()
    assert patients.patient_id == child
    view = patients.patient_view
    assert view.period == Period.year(2025)
    assert view.detail is not None and view.detail.period == Period.year(2025)
    assert view.origin_label.isVisible() and MEASURE in view.origin_label.text()
    highlighted = view.measure_model.highlighted_row()
    assert highlighted is not None
    status = view.measure_model.row(highlighted)
    assert (status.measure_id, status.group_index) == (MEASURE, 0)
    assert view.measure_table.currentIndex().row() == highlighted
    assert view.measure_model.index(highlighted, 0).data(Qt.ItemDataRole.BackgroundRole).color() == HIGHLIGHT
    view.show_all_check.setChecked(True)  # every measure listed: only that one is highlighted
    model = view.measure_model
    assert [r for r in range(model.rowCount()) if model.index(r, 0).data(Qt.ItemDataRole.BackgroundRole) is not None] \
        == [model.highlighted_row()]
    assert model.rowCount() > 5
    view.show_all_check.setChecked(False)
    assert "WCV" in window.back_action.toolTip() and "WCV" in view.back_button.toolTip()
    window.grab().save("/tmp/back-patient-page.png")

    # Back (Alt+Left): the drill-down exactly as it was left
    qtbot.keyClick(view.measure_table, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    _assert_drill_down_as_left(window, page, detail, row, scroll, qtbot)
    window.grab().save("/tmp/back-drill-down.png")

    # Forward: the child again, on the same period and rate
    assert window.forward_action.isEnabled()
    with qtbot.waitSignal(patients.patient_loaded, timeout=WAIT):
        window.forward_action.trigger()
    assert window.current_page() is patients and patients.patient_id == child
    assert view.period == Period.year(2025) and view.measure_model.highlighted == (MEASURE, 0)

    # the mouse's back button, anywhere in the window
    QTest.mouseClick(window.windowHandle(), Qt.MouseButton.BackButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(window.width() // 2, window.height() // 2))
    _assert_drill_down_as_left(window, page, detail, row, scroll, qtbot)


def test_the_patient_pages_own_back_button_returns_to_the_drill_down(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    page, detail, row, scroll = _drill_down(window, qtbot)
    patients = _open_child(window, detail, row, qtbot)
    qtbot.mouseClick(patients.patient_view.back_button, Qt.MouseButton.LeftButton)
    _assert_drill_down_as_left(window, page, detail, row, scroll, qtbot)
    # from the drill-down, Back goes up to the scorecard table (the drill-down was opened from it)
    assert window.go_back()
    assert page.views.currentWidget() is page.card_view
    assert page.table.currentIndex().data(ROW_ROLE)["measure"] == MEASURE


def test_back_reopens_a_drill_down_left_for_another_measure_and_year(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    page, detail, row, scroll = _drill_down(window, qtbot)
    _open_child(window, detail, row, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # Go ▸ Scorecards
    assert window.current_page() is page and page.views.currentWidget() is detail
    qtbot.mouseClick(detail.back_button, Qt.MouseButton.LeftButton)  # "← Scorecard": up to the table
    assert page.views.currentWidget() is page.card_view
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.period_combo.setCurrentIndex(page.period_combo.findData("2026"))
    other = next(r for r in range(page.proxy.rowCount()) if page.proxy.index(r, 0).data(ROW_ROLE)["measure"] != MEASURE)
    page.table.setCurrentIndex(page.proxy.index(other, 0))
    qtbot.keyClick(page.table, Qt.Key.Key_Return)  # another measure's drill-down replaces the list
    with qtbot.waitSignal(detail.patients_loaded, timeout=WAIT):
        detail.show_tab("patients")
    assert detail.key is not None and detail.key.measure_id != MEASURE
    assert window.go_back() and page.views.currentWidget() is page.card_view  # the table it was opened from
    window.go_back()  # 2025 computed again, WCV opened, its patients listed, the child selected and scrolled to
    _assert_drill_down_as_left(window, page, detail, row, scroll, qtbot)


def test_back_between_pages_and_a_child_opened_from_the_list(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert not window.back_action.isEnabled()  # nothing behind the first page
    window.show_page("referrals")
    window.show_page("patients")
    patients = window.pages["patients"]
    assert isinstance(patients, PatientsPage)
    qtbot.waitUntil(lambda: patients.model.rowCount() > 3, timeout=WAIT)
    patients.table.setFocus()
    patients.table.setCurrentIndex(patients.model.index(2, 0))
    with qtbot.waitSignal(patients.patient_loaded, timeout=WAIT):
        qtbot.keyClick(patients.table, Qt.Key.Key_Return)
    assert not patients.patient_view.origin_label.isVisible()  # opened from the list: no rate highlighted
    assert patients.patient_view.measure_model.highlighted is None
    assert window.go_back()
    assert window.current_page() is patients and not patients.is_showing_patient()
    assert patients.table.currentIndex().row() == 2
    assert window.go_back()
    assert window.current_page() is window.pages["referrals"]
    assert window.go_forward() and window.current_page() is patients


def test_history_walks_back_and_forward_and_a_new_visit_forgets_what_was_ahead() -> None:
    history = History(limit=3)
    a, b, c, d = (Place(p, None, p) for p in "abcd")
    history.visit(a)
    history.visit(a)  # the same place twice is one step
    history.visit(b)
    assert history.back(c) == b and history.ahead() == c
    assert history.back(b) == a and history.behind() is None and history.back(a) is None
    assert history.forward(a) == b and history.forward(b) == c and history.forward(c) is None
    history.back(c)
    history.visit(d)  # a new place from b: what was ahead (c) is forgotten
    assert history.ahead() is None and history.forward(d) is None
    for place in (a, b, c, d):
        history.visit(place)
    assert [history.back(Place("x", None, "x")) for _ in range(4)][-1] is None  # only the last 3 are kept


def test_ctrl_p_prints_the_drill_downs_patients_and_then_the_childs_page(window, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    from carenet_desktop.ui.printing import pdf_printer

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")

    def printed(name: str) -> str:
        out = tmp_path / name
        assert window.print_current(pdf_printer(str(out)))
        return subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout

    page, detail, row, _scroll = _drill_down(window, qtbot)
    printable = page.printable()
    assert printable is not None and printable.model is detail.patients_model
    mrn = str(detail.patients_model.index(row, 2).data(Qt.ItemDataRole.DisplayRole))
    text = printed("drill-down.pdf")
    assert detail.key is not None and detail.key.title_in(detail.session.ctx.catalogue).split()[0] in text
    assert mrn in text and "names of children" in text  # (the PDF's text has "fi" as one ligature)

    patients = _open_child(window, detail, row, qtbot)
    printable = patients.printable()
    assert printable is not None and printable.model is patients.patient_view.measure_model
    text = printed("patient.pdf")
    assert "Patient" in text and mrn in text and MEASURE in text and "a child's record" in text
