"""Every change made in the window reaches every number it shows: the whole window over a real demo store,
driven as a user would (no Refresh pressed), and the latest request wins on the scorecard."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import pkgutil
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from sqlalchemy import select

import carenet_desktop.services as services_package
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Patient, Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.services import entry
from carenet_desktop.services.changes import WRITERS, Area
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.measure_detail import measure_patients
from carenet_desktop.services.scorecard import ScorecardService
from carenet_desktop.ui.import_wizard import CheckPage, MappingPage, SummaryPage
from carenet_desktop.ui.itemmodels.scorecard import ROW_ROLE
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.pages import PAGE_CLASSES, Page
from carenet_desktop.ui.pages.care_gaps import CareGapsPage
from carenet_desktop.ui.pages.network import NetworkPage
from carenet_desktop.ui.pages.patients import PatientsPage
from carenet_desktop.ui.pages.referrals import ReferralsPage
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

WAIT = 90_000
AS_OF = dt.date(2026, 6, 30)
PLACED = dt.date(2026, 6, 20)
#: the pages that show numbers (the measure drill-down is part of the scorecard page, the patient view of
#: the patients page): each must refresh after every change of what a measure reads
NUMBER_PAGES: tuple[type[Page], ...] = (NetworkPage, ScorecardsPage, CareGapsPage, PatientsPage, ReferralsPage)
#: a dose a child still misses for CMS117, by the vaccine's name in the gap's reason -> a CVX code for it
VACCINES = {"PCV": "133", "DTaP": "20", "IPV": "10", "Hib": "49"}


# --- declarations ---------------------------------------------------------------------------------------

def test_every_page_says_which_areas_it_watches() -> None:
    for page_class in PAGE_CLASSES:
        assert "watches" in page_class.__dict__, page_class.__name__
        assert all(isinstance(area, Area) for area in page_class.watches)
    with pytest.raises(TypeError, match="watches"):
        type("Forgetful", (Page,), {"page_id": "x", "title": "X"})


def test_every_area_a_service_can_change_is_watched_by_the_pages_showing_it() -> None:
    for module in pkgutil.iter_modules(services_package.__path__):  # every @writes service registered
        importlib.import_module(f"carenet_desktop.services.{module.name}")
    returned = set().union(*WRITERS.values())
    assert {Area.EVENTS, Area.REFERRALS, Area.IMPORTS, Area.USERS} <= returned
    for area in returned:
        assert any(area in page.watches for page in PAGE_CLASSES), f"nobody watches {area}"
        if area in Area.measured():
            for page in NUMBER_PAGES:
                assert area in page.watches, f"{page.__name__} misses {area}"
    assert all(page in PAGE_CLASSES for page in NUMBER_PAGES)


def test_a_write_announces_what_its_result_says_it_changed_once_its_handlers_ran(qtbot, database) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.services.changes import Change
    from carenet_desktop.services.context import ServiceError

    session = Session(ServiceContext(database, username="tester"))
    heard: list[object] = []
    session.changed.connect(heard.append)
    change = Change.of(Area.EVENTS, practices=[1])

    def fails(_progress: object) -> None:
        raise ServiceError("refused")

    task = session.write(lambda _p: entry.EntryResult(True, 7, change=change), label="Save",
                         on_finished=lambda result: heard.append(result.id))
    qtbot.waitUntil(lambda: task.is_done, timeout=5000)
    failed = session.write(fails, label="Save", on_failed=heard.append)
    qtbot.waitUntil(lambda: failed.is_done, timeout=5000)
    refused = session.write(lambda _p: entry.EntryResult(False), label="Save")
    qtbot.waitUntil(lambda: refused.is_done, timeout=5000)
    qtbot.wait(20)
    assert heard == [7, change, "refused"]
    session.close()


# --- the window over a demo store -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A 3-practice demo, an open Help Me Grow referral of P001, and a child of P001 one dose short of CMS117."""
    path = demo_store(tmp_path_factory, patients=800, seed=1, as_of=AS_OF)
    db = open_database(path)
    ctx = ServiceContext(db)
    with db.session() as s:
        patient_id = s.scalars(select(Patient.id).join(Practice).where(
            Practice.code == "P001", Patient.birth_date < dt.date(2025, 1, 1)).order_by(Patient.id).limit(1)).one()
    referral = entry.create_referral(ctx, patient_id=patient_id, referral_type="help-me-grow", placed_on=PLACED,
                                     destination="Help Me Grow call center", today=AS_OF)
    assert referral.ok
    found = measure_patients(ScorecardService(ctx), Period.year(2025), "CMS117", 0, "P001")
    gaps = found.table[found.table["status"] == "gap"]
    dose = None
    for _, row in gaps.iterrows():  # one dose short, of a vaccine with a plain CVX code
        match = re.fullmatch(r"(\w+) #\d \(has \d of \d\)", str(row["why"]))
        if match and match.group(1) in VACCINES:
            given = dt.date.fromisoformat(str(row["due_date"])[:10]) - dt.timedelta(days=20)
            dose = {"mrn": str(row["mrn"]), "cvx": VACCINES[match.group(1)], "date": given}
            break
    assert dose is not None, "no child of P001 one dose short of CMS117 in 2025"
    db.dispose()
    return {"path": path, "referral_id": referral.id, "dose": dose}


@pytest.fixture
def window(demo, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo["path"], copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    main = MainWindow(session, remember_state=False)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()
    session.close()


def scorecard_row(window: MainWindow, measure: str, group_index: int = 0) -> dict[str, Any]:
    page = window.pages["scorecards"]
    rows = [page.proxy.index(i, 0).data(ROW_ROLE) for i in range(page.proxy.rowCount())]
    return next(r for r in rows if r["measure"] == measure and int(r["group_index"]) == group_index)


def show_scorecard(window: MainWindow, qtbot, year: int) -> ScorecardsPage:  # type: ignore[no-untyped-def]
    """The scorecard of P001 for ``year``, computed (the window opens on it)."""
    page: ScorecardsPage = window.pages["scorecards"]  # type: ignore[assignment]
    assert window.current_page() is page
    qtbot.waitUntil(lambda: page.data is not None and not page.loading(), timeout=WAIT)
    if page.period_combo.currentData() != str(year):
        with qtbot.waitSignal(page.loaded, timeout=WAIT):
            page.period_combo.setCurrentIndex(page.period_combo.findData(str(year)))
    page.select_practice("P001")
    assert page.data is not None and page.data.period == Period.year(year)
    return page


def back_to_scorecard(window: MainWindow, qtbot) -> ScorecardsPage:  # type: ignore[no-untyped-def]
    page: ScorecardsPage = window.pages["scorecards"]  # type: ignore[assignment]
    assert page.stale  # told of the change while hidden
    with qtbot.waitSignal(page.loaded, timeout=WAIT):  # shown again, it computes anew (no Refresh pressed)
        window.show_page("scorecards")
    assert not page.stale
    return page


def status_of(detail: Any, mrn: str) -> str:
    return next(r["status"] for r in detail.patients.by_status[""] if r["mrn"] == mrn)


def test_an_immunization_recorded_in_data_entry_changes_the_scorecard_and_its_drill_down(window, demo, qtbot) -> None:  # type: ignore[no-untyped-def]
    scorecard = show_scorecard(window, qtbot, 2025)
    before = scorecard_row(window, "CMS117")
    dose = demo["dose"]
    scorecard.open_measure("CMS117")
    detail = scorecard.detail
    with qtbot.waitSignal(detail.patients_loaded, timeout=WAIT):
        detail.show_tab("patients")
    assert status_of(detail, dose["mrn"]) == "gap"
    window.show_page("data_entry")
    page = window.pages["data_entry"]
    qtbot.waitUntil(lambda: page.setup is not None, timeout=WAIT)
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("P001", Qt.MatchFlag.MatchStartsWith))
    page.patient_edit.setFocus()
    with qtbot.waitSignal(page.patients_found, timeout=WAIT):
        qtbot.keyClicks(page.patient_edit, dose["mrn"])
    qtbot.keyClick(page.patient_edit, Qt.Key.Key_Return)  # the MRN typed in full chooses the child
    assert page.patient is not None and page.patient.mrn == dose["mrn"]
    form = page.forms["immunization"]
    page.tabs.setCurrentWidget(form)
    form.date.set_date(dose["date"])
    qtbot.keyClicks(form.cvx.edit, dose["cvx"])
    with qtbot.waitSignal(page.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert saved.args[1].ok, saved.args[1].errors
    with qtbot.waitSignal(detail.patients_loaded, timeout=WAIT):  # the measure open is read again too
        back_to_scorecard(window, qtbot)
    after = scorecard_row(window, "CMS117")
    assert after["numerator"] == before["numerator"] + 1
    assert after["rate_base"] == before["rate_base"]
    assert scorecard.views.currentWidget() is detail and status_of(detail, dose["mrn"]) == "numerator"
    assert f"{after['numerator']:,} of {after['rate_base']:,}" in detail.summary_label.text()


def test_closing_a_referral_loop_on_the_board_changes_the_ref_row(window, demo, qtbot) -> None:  # type: ignore[no-untyped-def]
    show_scorecard(window, qtbot, PLACED.year)
    before = scorecard_row(window, "REF")  # loops closed within 30 days
    window.show_page("referrals")
    board: ReferralsPage = window.pages["referrals"]  # type: ignore[assignment]
    qtbot.waitUntil(lambda: board.board is not None and not board.loading(), timeout=WAIT)
    assert board.select_referral(demo["referral_id"])
    panel = board.panel
    panel.step_combo.setCurrentIndex(panel.step_combo.findData("closed"))
    closed = PLACED + dt.timedelta(days=10)
    panel.step_date.set_date(dt.date(closed.year, closed.month, closed.day))
    with qtbot.waitSignals([board.saved, board.loaded], timeout=WAIT):  # the board reads the loops again
        qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    assert demo["referral_id"] not in {r.id for step in board.columns for r in board.column_referrals(step)}
    back_to_scorecard(window, qtbot)
    after = scorecard_row(window, "REF")
    assert (after["numerator"], after["rate_base"]) == (before["numerator"] + 1, before["rate_base"])


def test_a_csv_imported_in_the_wizard_changes_the_scorecard(window, demo, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    show_scorecard(window, qtbot, 2025)
    before = scorecard_row(window, "CMS117")
    dose = demo["dose"]
    path = tmp_path / "immunizations.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("Patient MRN", "Administered Date", "CVX"),
                                  (dose["mrn"], dose["date"].isoformat(), dose["cvx"])])
    window.show_page("imports")
    imports = window.pages["imports"]
    wizard = imports.open_wizard()
    choose = wizard.choose_page
    qtbot.waitUntil(lambda: choose.practice_combo.count() > 0, timeout=WAIT)
    qtbot.keyClicks(choose.path_edit, str(path))
    choose.kind_combo.setCurrentIndex(choose.kind_combo.findData("immunizations"))
    choose.practice_combo.setCurrentIndex(choose.practice_combo.findData("P001"))
    for button, step in ((QWizard.WizardButton.NextButton, MappingPage), (QWizard.WizardButton.NextButton, CheckPage),
                         (QWizard.WizardButton.CommitButton, SummaryPage)):
        widget = wizard.button(button)
        qtbot.waitUntil(widget.isEnabled, timeout=WAIT)
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda s=step: isinstance(wizard.currentPage(), s), timeout=WAIT)
        if step is CheckPage:
            qtbot.waitUntil(lambda: wizard.plan.preview is not None, timeout=WAIT)
    assert "1 added" in wizard.currentPage().summary.text()
    wizard.close()
    back_to_scorecard(window, qtbot)
    after = scorecard_row(window, "CMS117")
    assert after["numerator"] == before["numerator"] + 1


def test_the_latest_year_asked_for_is_the_one_shown(demo, tmp_path, qtbot) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo["path"], copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    page = ScorecardsPage(session, today=dt.date(2026, 11, 24))
    qtbot.addWidget(page)
    page.show()
    shown: list[Period] = []
    page.loaded.connect(lambda data: shown.append(data.period))
    page.activate()  # 2026 (the year to date) starts computing ...
    assert page.loading() and page.period_combo.currentData() == "2026"
    page.period_combo.setCurrentIndex(page.period_combo.findData("2024"))  # ... and 2024 is asked for meanwhile
    qtbot.waitUntil(lambda: bool(shown) and not page.loading(), timeout=WAIT)
    qtbot.wait(300)  # the superseded load may still end: nothing of it is shown
    assert shown == [Period.year(2024)]
    assert page.data is not None and page.data.period == Period.year(2024)
    expected = ScorecardService(session.ctx).network_table(Period.year(2024))
    expected = expected[expected["practice_code"] == page.practice_combo.currentData()]
    rows = [page.proxy.index(i, 0).data(ROW_ROLE) for i in range(page.proxy.rowCount())]
    assert sorted((r["measure"], r["group_index"], r["numerator"], r["rate_base"]) for r in rows) == sorted(
        zip(expected["measure"], expected["group_index"], expected["numerator"], expected["rate_base"], strict=True))
    assert "2024" in page.subtitle.text()
    session.close()
