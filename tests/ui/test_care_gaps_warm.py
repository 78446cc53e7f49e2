"""The window finds the care gaps in the background once its first scorecard (with sparklines) is shown, so
opening Care gaps later only filters them; a write in between leaves them stale, and the page then shows
the store as it is now."""

from __future__ import annotations

import shutil

import pandas as pd
from sqlalchemy import func, select

from carenet_desktop.models import AuditLog, Patient, Practice
from carenet_desktop.models.changes import store_state
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.entry import record_immunization
from carenet_desktop.services.worklist import child_worklist
from carenet_desktop.ui import main_window
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.pages.care_gaps import CareGapsPage
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.ui import care_gaps_support

demo_file = care_gaps_support.demo_file
WAIT = 120_000  # the first scorecard and its twelve rolling periods of a demo, computed in this process


def _care_gap_audits(window: MainWindow) -> int:
    with window.session.ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.entity == "care_gaps")) or 0)


def test_after_the_first_scorecard_the_care_gaps_are_found_in_the_background_and_a_write_makes_them_stale(
        demo_file, tmp_path, qtbot) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    scorecards = window.pages[ScorecardsPage.page_id]
    care_gaps = window.pages["care_gaps"]
    assert isinstance(scorecards, ScorecardsPage) and isinstance(care_gaps, CareGapsPage)
    with qtbot.waitSignals([scorecards.loaded, scorecards.trends_loaded], timeout=WAIT):
        window.show()
    assert care_gaps.warm_task is None  # not in the sparklines' own slot: their paint goes first
    qtbot.waitUntil(lambda: care_gaps.warm_task is not None, timeout=WAIT)  # then started by their arrival,
    # not by opening the page
    qtbot.waitUntil(lambda: care_gaps.warm_task is not None and care_gaps.warm_task.is_done, timeout=WAIT)
    assert care_gaps.warm_task.result is True and not care_gaps.loaded_once
    ctx = session.ctx
    with ctx.db.session() as s:
        state = store_state(s)
    source = care_gaps.gap_source
    (history, version, every, _failures), = source._network_found.values()
    assert (history, version) == state and len(every) > 0
    assert _care_gap_audits(window) == 0  # found, not viewed

    # a write before the page is opened: what was found is of an older state now
    patient_id = int(every["patient_id"].iloc[0])
    assert record_immunization(ctx, patient_id=patient_id, date=care_gaps_support.AS_OF, cvx="03",
                               today=care_gaps_support.AS_OF).ok
    with ctx.db.session() as s:
        now = store_state(s)[1]
        code = str(s.scalar(select(Practice.code).join(Patient, Patient.practice_id == Practice.id)
                            .where(Patient.id == patient_id)))
    assert now > version
    query = care_gaps.current_query()
    with qtbot.waitSignal(care_gaps.loaded, timeout=WAIT) as shown:
        window.show_page("care_gaps")
        if care_gaps.practice_combo.currentData() != code:  # the child's practice, once the list is there
            qtbot.waitUntil(lambda: care_gaps.practice_combo.count() > 0, timeout=WAIT)
    if care_gaps.practice_combo.currentData() != code:
        with qtbot.waitSignal(care_gaps.loaded, timeout=WAIT) as shown:
            care_gaps.practice_combo.setCurrentIndex(care_gaps.practice_combo.findData(code))
    loaded = shown.args[0]
    fresh = child_worklist(ctx, query.period, code, as_of=query.as_of, action=None, fresh=True)
    pd.testing.assert_frame_equal(loaded.worklist.children, fresh.children)
    (_h, caught_up, _every, _f), = source._network_found.values()
    assert caught_up == now  # brought up to date from the journal, not served stale
    window.grab().save(str(tmp_path / "care_gaps_after_warm.png"))
    session.close()


def test_a_screenshot_window_does_not_find_the_care_gaps_after_its_scorecard(demo_file, tmp_path, qtbot) -> None:  # type: ignore[no-untyped-def]
    # a headless run ends right after the first scorecard: it would wait at exit for the finding to stop
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    window = MainWindow(session, remember_state=False, warm_care_gaps=False)
    qtbot.addWidget(window)
    care_gaps = window.pages["care_gaps"]
    assert isinstance(care_gaps, CareGapsPage)
    window.pages[ScorecardsPage.page_id].trends_loaded.emit()  # as when its sparklines arrive
    assert care_gaps.warm_task is None
    session.close()


def test_a_window_closed_before_the_warm_is_due_does_not_find_the_care_gaps(demo_file, tmp_path, qtbot) -> None:  # type: ignore[no-untyped-def]
    # the warm comes a moment after the sparklines arrive: a window closed meanwhile (the user quit; a test
    # opening a second window) reads no patient's rows for a page nobody will see
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    window.show()
    care_gaps = window.pages["care_gaps"]
    assert isinstance(care_gaps, CareGapsPage)
    window.pages[ScorecardsPage.page_id].trends_loaded.emit()  # as when its sparklines arrive
    window.close()
    qtbot.wait(3 * main_window.WARM_AFTER_TRENDS_MS)  # the warm's timer has fired
    assert care_gaps.warm_task is None
    session.close()
