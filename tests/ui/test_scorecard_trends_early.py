"""The scorecard's sparklines: asked for as soon as the scorecard's results are in when computes run in worker
processes (their rolling periods go to the worker the scorecard's compute freed while the table is built and
painted), once the table is painted otherwise; once per load either way; every practice's lines as the
one-practice function draws them."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period
from carenet_desktop.models.database import open_database
from carenet_desktop.services import compute_pool
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.measure_detail import every_sparkline, sparklines
from carenet_desktop.ui.pages.scorecards import TRENDS_DELAY_MS, ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

WAIT = 60000
PERIOD = Period.year(2025)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=400, seed=3)


@pytest.fixture
def asked(monkeypatch):  # type: ignore[no-untyped-def]
    """Each request for the sparklines: (its period, whether the scorecard's table had arrived)."""
    calls: list[tuple[Period, bool]] = []
    original = ScorecardsPage._load_trends

    def record(self: ScorecardsPage, period: Period) -> None:
        calls.append((period, self.data is not None))
        original(self, period)

    monkeypatch.setattr(ScorecardsPage, "_load_trends", record)
    return calls


def _open(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    page = ScorecardsPage(session, today=dt.date(2026, 11, 24))
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.period_combo.setCurrentIndex(page.period_combo.findData("2025"))
    with qtbot.waitSignals([page.loaded, page.trends_loaded], timeout=WAIT):
        page.activate()
    qtbot.wait(TRENDS_DELAY_MS + 200)  # a request after the paint would have been made by now
    return session, page


def _shown(page: ScorecardsPage) -> None:
    code = page.practice_combo.currentData()
    assert page.trend_table is not None and page.trend_sparks
    for row in page.model.rows():  # the page's lines are the practice's, as the one-practice function has them
        expected = sparklines(page.trend_table, code).get((str(row["measure"]), int(row["group_index"])), [])
        assert page.model.trend(row) == expected


def test_with_workers_the_sparklines_are_asked_for_with_the_results_before_the_table(demo_file, tmp_path, qtbot,
                                                                                        asked, monkeypatch):
    monkeypatch.setattr(compute_pool, "started", lambda: object())  # as in ``carenet gui`` on a cold store
    session, page = _open(demo_file, tmp_path, qtbot)
    try:
        assert asked == [(PERIOD, False)]  # before the table arrived, and not again once it was painted
        _shown(page)
    finally:
        session.close()


def test_without_workers_the_sparklines_wait_for_the_painted_table(demo_file, tmp_path, qtbot, asked):
    assert compute_pool.started() is None
    session, page = _open(demo_file, tmp_path, qtbot)
    try:
        assert asked == [(PERIOD, True)]  # in this process a trend's compute would take the GIL from the paint
        _shown(page)
    finally:
        session.close()


def test_every_sparkline_is_each_practices_sparklines(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    session, page = _open(demo_file, tmp_path, qtbot)
    try:
        table = page.trend_table
        assert table is not None and len(table)
        codes = [str(c) for c in table["practice_code"].dropna().unique()]
        every = every_sparkline(table)
        assert list(every) == codes
        for code in codes:
            one = sparklines(table, code)
            assert every[code] == one and list(every[code]) == list(one)  # the same lists, in the same order
        # a period without a rate, a row without a practice, another order, a period given twice (the last counts)
        holes = table.copy()
        holes.loc[holes.index[:7], "rate"] = float("nan")
        holes.loc[holes.index[7], "practice_code"] = None
        holes = holes.iloc[::-1].reset_index(drop=True)
        twice = holes.iloc[[3]]
        doubled = pd.concat([holes, twice.assign(rate=0.123), twice.assign(rate=0.456)], ignore_index=True)
        every = every_sparkline(doubled)
        codes = [str(c) for c in doubled["practice_code"].dropna().unique()]
        assert list(every) == codes
        for code in codes:
            one = sparklines(doubled, code)
            assert every[code] == one and list(every[code]) == list(one)
        code, measure, group = twice[["practice_code", "measure", "group_index"]].iloc[0]
        assert 0.456 in every[str(code)][(str(measure), int(group))]
    finally:
        session.close()


def test_the_care_gap_page_is_built_after_the_sparklines_paint_not_in_their_slot(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    from carenet_desktop.ui.main_window import MainWindow

    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    try:
        scorecards = window.pages[ScorecardsPage.page_id]
        assert isinstance(scorecards, ScorecardsPage)
        built_then: list[bool] = []  # (connected after the window's own slot: runs after it)
        scorecards.trends_loaded.connect(lambda: built_then.append("care_gaps" in window.pages.built))
        with qtbot.waitSignals([scorecards.loaded, scorecards.trends_loaded], timeout=WAIT):
            window.show()
        assert built_then == [False]  # the sparklines are painted before the page's imports and widgets
        qtbot.waitUntil(lambda: "care_gaps" in window.pages.built, timeout=WAIT)
        care_gaps = window.pages["care_gaps"]
        qtbot.waitUntil(lambda: care_gaps.warm_task is not None and care_gaps.warm_task.is_done,  # type: ignore[attr-defined]
                        timeout=WAIT)
    finally:
        session.close()
