"""Help ▸ What's this? (issue 25): Shift+F1, then a click on a measure shows what it counts, from the
measure's written specification, on the scorecard and on a patient's measures."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QWhatsThis

from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.patient_measures import DUE, MeasureStatus
from carenet_desktop.ui.itemmodels.patients import MeasureStatusModel
from carenet_desktop.ui.itemmodels.scorecard import COLUMNS, ROW_ROLE
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.measure_help import short_texts
from carenet_desktop.ui.measure_help import whats_this as whats_this_in
from carenet_desktop.ui.session import Session
from tests.measure_catalogue import CATALOGUE, get_measure
from tests.ui import test_scorecard_page as scorecard_fixtures

demo_file = scorecard_fixtures.demo_file
page = scorecard_fixtures.page


def whats_this(measure_id: str) -> str | None:
    return whats_this_in(measure_id, CATALOGUE)


def test_every_measure_has_a_short_text_from_its_specification() -> None:
    from tests.measure_catalogue import all_measures

    for measure in all_measures():
        text = whats_this(measure.id)
        assert text is not None and measure.title.split("(")[0].strip()[:30].replace("&", "&amp;") in text
        assert ("Lower is better" in text) == (measure.improvement == "decrease")
    assert whats_this("NOT-A-MEASURE") is None


def test_whats_this_on_a_scorecard_row_shows_what_the_measure_counts(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    row = 0
    measure = page.proxy.index(row, 0).data(ROW_ROLE)["measure"]
    for column in range(len(COLUMNS)):  # anywhere on the row
        assert page.proxy.index(row, column).data(Qt.ItemDataRole.WhatsThisRole) == whats_this(measure)
    view = page.table
    centre = view.visualRect(page.proxy.index(row, 1)).center()
    event = QHelpEvent(QEvent.Type.WhatsThis, centre, view.viewport().mapToGlobal(centre))
    QApplication.sendEvent(view.viewport(), event)
    qtbot.waitUntil(lambda: any(w.isVisible() for w in QApplication.topLevelWidgets()
                                if w.metaObject().className() == "QWhatsThat"), timeout=5000)
    popup = next(w for w in QApplication.topLevelWidgets() if w.metaObject().className() == "QWhatsThat"
                 and w.isVisible())
    popup.grab().save("/tmp/whats-this.png")
    QWhatsThis.hideText()


def test_a_patients_measures_answer_whats_this() -> None:
    model = MeasureStatusModel([MeasureStatus("CMS117", "Childhood Immunization Status", 0, "", DUE, "Missing")])
    model.measure_texts = short_texts(CATALOGUE)  # as the patients page gives them (its session's catalogue)
    assert model.index(0, 2).data(Qt.ItemDataRole.WhatsThisRole) == whats_this("CMS117")
    text = str(whats_this("CMS117"))
    assert "CMS117" in text and str(get_measure("CMS117").description)[:40] in text


def test_help_menu_offers_whats_this_with_shift_f1(qtbot, db_path) -> None:  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(open_database(db_path), username="tester"))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    window.show()
    action = window.whats_this_action
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert action in help_menu.actions() and action.shortcut().toString() == "Shift+F1"
    action.trigger()
    assert QWhatsThis.inWhatsThisMode()
    QWhatsThis.leaveWhatsThisMode()
    assert not QWhatsThis.inWhatsThisMode()
    session.close()
