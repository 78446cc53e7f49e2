"""First start (issue 25): the progress dialog says it is building the demo network, of what size, the step
under way and that it happens once, and is wide enough for its percentage; the scorecard's loading state
says which period it computes, the step, and why the first time takes a while."""

from __future__ import annotations

import datetime as dt

from carenet_desktop.demo import build_demo
from carenet_desktop.demo.build import DEFAULT_PATIENTS, DEFAULT_PRACTICES
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import Progress, ServiceContext
from carenet_desktop.ui.first_start import WIDTH, DemoProgressDialog
from carenet_desktop.ui.pages.scorecards import ScorecardsPage, loading_text
from carenet_desktop.ui.resources import read_text
from carenet_desktop.ui.session import Session


def test_the_progress_dialog_says_what_it_builds_and_shows_its_whole_percentage(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = DemoProgressDialog(DEFAULT_PRACTICES, DEFAULT_PATIENTS)
    dialog.setStyleSheet(read_text("style", "light.qss"))  # the window's theme (its other bars are thin)
    qtbot.addWidget(dialog)
    dialog.show()
    step = "Practice 7 of 12, Lakeview Children's Clinic and Family Health Partners: 1,400 of 1,712 children"
    dialog.show_step(step, 0.42)
    text = dialog.text_label.text()
    assert text.startswith(f"Building the demo network: {DEFAULT_PRACTICES} practices, {DEFAULT_PATIENTS:,} children.")
    assert "once" in text and text.endswith(step)
    assert dialog.width() >= WIDTH
    bar = dialog.progress_bar
    assert bar.text() == "42%"
    assert bar.fontMetrics().horizontalAdvance("100%") < bar.width() // 2  # the percentage is never cut
    assert bar.height() >= bar.fontMetrics().height()
    assert dialog.text_label.width() >= WIDTH - 60  # the step's line is not squeezed
    dialog.grab().save("/tmp/first-start-progress.png")


def test_the_demo_builder_names_the_practice_and_counts_children(tmp_path) -> None:  # type: ignore[no-untyped-def]
    messages: list[str] = []
    db = open_database(tmp_path / "demo.db")
    build_demo(db, practices=2, patients=120, as_of=dt.date(2025, 12, 31),
               progress=Progress(lambda _f, m: messages.append(m)))
    db.dispose()
    assert any(m.startswith("Practice 1 of 2, ") and m.endswith(" children") for m in messages)
    assert any(m.startswith("Practice 2 of 2, ") for m in messages)


def test_the_scorecard_says_which_period_it_computes_and_why_the_first_time_is_slow(qtbot, db_path) -> None:  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(open_database(db_path), username="tester"))
    page = ScorecardsPage(session, today=dt.date(2026, 11, 24))
    qtbot.addWidget(page)
    page.activate()
    text = page.loading_view.text()
    assert "Computing the measures for 2026 (year to date) for every practice" in text
    assert "first time" in text and "later starts" in text
    assert page.subtitle.text() == "Computing the measures for 2026 (year to date)…"
    page.grab().save("/tmp/first-start-scorecard.png")
    with qtbot.waitSignal(page.loaded, timeout=60_000):
        pass
    session.close()
    assert "Evaluating CMS117 (45%)" in loading_text("2025", 0.45, "Evaluating CMS117")
    assert "Reading every child's record" in loading_text("2025", 0.1, "Loading data")
