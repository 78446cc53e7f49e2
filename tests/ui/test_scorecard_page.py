"""The scorecard page (home screen) on a small demo network: loads, switches practice without new work,
colours each rate in its measure's direction, marks self-reported rows."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest
from PySide6.QtCore import Qt

from carenet_desktop.metrics.judgement import ORDER, Status, judge
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AggregateEntry
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.itemmodels.scorecard import BAD, GOOD, ROW_ROLE, ScorecardTableModel
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

WAIT = 60000


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    path = demo_store(tmp_path_factory, patients=800, seed=1)
    db = open_database(path)
    with db.session() as s:  # a paper-log measure for the last practice
        s.query(AggregateEntry).delete()
        s.add(AggregateEntry(practice_id=3, measure_id="LSC", group_index=0, period_start=dt.date(2025, 1, 1),
                             period_end=dt.date(2025, 12, 31), denominator=40, numerator=30, entered_by="t"))
    db.dispose()
    return path


@pytest.fixture
def page(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    db = open_database(copy)
    session = Session(ServiceContext(db, username="tester"))
    widget = ScorecardsPage(session, today=dt.date(2026, 11, 24))
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    widget.period_combo.setCurrentIndex(widget.period_combo.findData("2025"))  # the year with the paper log
    with qtbot.waitSignals([widget.loaded, widget.trends_loaded], timeout=WAIT):
        widget.activate()
    yield widget
    session.close()


def _rows(page: ScorecardsPage) -> list[dict]:
    return [page.proxy.index(i, 0).data(ROW_ROLE) for i in range(page.proxy.rowCount())]


def test_offers_years_quarters_months_and_rolling_12_months_from_this_year_to_date(qtbot) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.ui import periods

    today = dt.date(2026, 11, 24)
    offered = periods.choices(today)
    assert offered[0] == ("2026 (year to date)", "2026")  # the one default of every page, labelled
    keys = [k for _, k in offered]
    assert {"2025", "2023", "2026-Q4", "2025-Q1", "2026-11", "2025-12", "2025-11-01..2026-10-31"} <= set(keys)
    assert "2026-12" not in keys and "2027" not in keys  # nothing in the future
    labels = dict((k, label) for label, k in offered)
    assert labels["2026-Q4"] == "2026 Q4 (to date)" and labels["2026-07"] == "Jul 2026"
    assert labels["2025-11-01..2026-10-31"] == "12 months to Oct 2026"
    for key in keys:  # every key reads back as the period it names
        assert periods.key(Period.parse(key)) == key
    assert periods.default_period(today) == Period.year(2026)


def test_loads_the_chosen_period_for_the_first_practice(page) -> None:  # type: ignore[no-untyped-def]
    assert page.period_combo.currentData() == "2025"
    assert page.state.currentIndex() == page.STATE_TABLE
    rows = _rows(page)
    assert rows and {r["practice_code"] for r in rows} == {"P001"}
    assert {"CMS117", "LSC", "W30"} <= {r["measure"] for r in rows}
    statuses = [r["status"] for r in rows]
    assert {s.value for s in ORDER} >= set(statuses)
    for state in ORDER:  # the headline tiles count the judgement of the rows in the table
        assert page.status_tiles[state].value() == str(statuses.count(state.value))
    assert sum(int(t.value()) for t in page.status_tiles.values()) == len(rows)
    shown = [page.proxy.index(i, 2).data() for i in range(page.proxy.rowCount())]
    assert sorted(shown) == sorted(statuses)


def test_switching_practice_uses_the_computed_table(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.select_practice("P003")
    assert page.session.tasks.active == []  # switching started no background work
    rows = _rows(page)
    assert {r["practice_code"] for r in rows} == {"P003"}
    lsc = next(r for r in rows if r["measure"] == "LSC")
    assert lsc["source"] == "self-reported" and (lsc["numerator"], lsc["rate_base"]) == (30, 40)
    index = page.proxy.index(_rows(page).index(lsc), 1)
    assert index.data().endswith("†")
    assert "Self-reported" in index.data(Qt.ItemDataRole.ToolTipRole)


def test_colours_follow_the_judgement_in_the_measure_direction(qtbot, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    base = {"group_index": 0, "group_title": "", "numerator": 90, "rate_base": 100, "ci_low": 0.0, "ci_high": 0.5,
            "benchmark": None, "target": None, "source": "computed", "measure_title": "A measure"}
    rows = [
        {**base, "measure": "UP", "rate": 0.9, "network_rate": 0.5, "direction": "increase"},
        {**base, "measure": "DOWN", "rate": 0.9, "network_rate": 0.5, "direction": "decrease"},
        {**base, "measure": "TGT", "numerator": 40, "rate": 0.4, "network_rate": 0.1, "direction": "increase",
         "target": 0.6},
        {**base, "measure": "NONE", "numerator": None, "rate_base": 0, "rate": None, "network_rate": 0.5,
         "direction": "increase"},
        {**base, "measure": "SAME", "numerator": 48, "rate": 0.48, "network_rate": 0.5, "direction": "increase"},
    ]
    for row, state in zip(rows, judge(pd.DataFrame(rows)), strict=True):
        row["status"] = state
    model = ScorecardTableModel()
    model.set_rows(rows)
    qtmodeltester.check(model)
    assert [model.index(i, 2).data() for i in range(5)] == [
        "Better than network", "Worse than network", "Better than network", "Too few to say", "No difference"]
    colour = [model.index(i, 1).data(Qt.ItemDataRole.BackgroundRole) for i in range(5)]
    # lower is better for DOWN; TGT misses its target but is better than the network beyond chance
    assert colour == [GOOD, BAD, GOOD, None, None]
    assert model.index(3, 1).data() == "–"
    assert model.index(0, 0).data() == "UP ↑ A measure" and model.index(1, 0).data().startswith("DOWN ↓")
    assert "95% interval" in model.index(4, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert Status.TOO_FEW.value in model.headerData(2, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)


def test_a_total_suppressed_in_a_submission_is_shown_as_suppressed(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: a rate whose total the practice's package suppressed (1–10) is listed, "fewer than 11",
    too few to say — not 0 of 0, not dropped."""
    from carenet_desktop.ui.itemmodels.scorecard import COLUMNS

    row = {"measure": "CMS117", "group_index": 0, "group_title": "", "measure_title": "Childhood Immunization",
           "numerator": 0, "rate_base": 0, "rate": None, "ci_low": None, "ci_high": None, "network_rate": 0.4,
           "direction": "increase", "source": "submitted", "suppressed": True, "status": Status.TOO_FEW.value}
    model = ScorecardTableModel()
    model.set_rows([row, {**row, "suppressed": False, "numerator": 30, "rate_base": 40, "rate": 0.75}])
    counts = [c.key for c in COLUMNS].index("counts")
    assert model.index(0, counts).data() == "fewer than 11" and model.index(0, 1).data() == "–"
    assert model.index(0, 2).data() == Status.TOO_FEW.value
    assert model.index(1, counts).data() == "30 / 40"


def test_columns_fit_every_practices_figures_and_stay_put_on_a_switch(page) -> None:  # type: ignore[no-untyped-def]
    """Sized once for the widest figure of any practice: no practice's numbers are cut off, and a switch
    does not re-measure every cell."""
    from carenet_desktop.ui.itemmodels.scorecard import TREND_COLUMN

    table = page.table
    columns = [c for c in range(1, page.model.columnCount()) if c != TREND_COLUMN]
    widths = [table.columnWidth(c) for c in columns]
    for i in range(page.practice_combo.count()):
        page.practice_combo.setCurrentIndex(i)
        assert [table.columnWidth(c) for c in columns] == widths
        for c, width in zip(columns, widths, strict=True):
            assert table.sizeHintForColumn(c) <= width, (page.practice_combo.currentText(), c)


def test_measure_names_and_the_users_column_width_are_kept(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The measure column shows the rate's name and direction, wraps, and a width the user gives it is
    remembered for the next window."""
    from carenet_desktop.ui.settings import WindowState

    assert page.table.wordWrap()
    first = page.proxy.index(0, 0)
    row = first.data(ROW_ROLE)
    assert first.data().startswith(f"{row['measure']} ↑") or first.data().startswith(f"{row['measure']} ↓")
    free = page.table.viewport().width() - sum(page.table.columnWidth(c) for c in range(1, page.model.columnCount()))
    assert page.table.columnWidth(0) >= min(free - 2, 216)  # the free width goes to the names
    page.table.horizontalHeader().resizeSection(0, 420)  # as the user drags it
    state = WindowState()
    page.save_state(state)
    other = ScorecardsPage(page.session, today=dt.date(2026, 11, 24))
    qtbot.addWidget(other)
    other.restore_state(state)
    other.resize(1100, 700)
    other.show()
    with qtbot.waitSignal(other.loaded, timeout=WAIT):
        other.activate()
    assert other.table.columnWidth(0) == 420


def _lines_needed(table, column: int, text: str) -> int:  # type: ignore[no-untyped-def]
    """The height ``text`` takes wrapped in ``column`` (the cell's padding taken off its width)."""
    from PySide6.QtCore import QRect

    width = table.columnWidth(column) - 26
    return table.fontMetrics().boundingRect(QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap),
                                            text).height()


def test_every_measure_name_is_shown_whole_with_its_version(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: the full name is visible: each row is as tall as its wrapped name (no "…"), after a sort,
    a practice switch and a narrower column too; the name ends with the version that computed the rate."""
    table = page.table
    assert table.textElideMode() == Qt.TextElideMode.ElideNone

    def check() -> None:
        texts = [page.proxy.index(r, 0).data() for r in range(page.proxy.rowCount())]
        for r, text in enumerate(texts):
            assert table.rowHeight(r) >= _lines_needed(table, 0, text), text
        assert max(_lines_needed(table, 0, t) for t in texts) > 2 * table.fontMetrics().lineSpacing()

    table.horizontalHeader().resizeSection(0, 180)  # narrow: names need three lines or more
    qtbot.waitUntil(check, timeout=5000)  # the rows are fitted once the events of the change are handled
    table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(check, timeout=5000)
    page.practice_combo.setCurrentIndex(page.practice_combo.count() - 1)
    qtbot.waitUntil(check, timeout=5000)
    for r in range(page.proxy.rowCount()):
        row = page.proxy.index(r, 0).data(ROW_ROLE)
        if row.get("source") == "computed":
            assert page.proxy.index(r, 0).data().endswith(f" · v{row['measure_version']}")


def test_the_year_to_dates_trend_ends_this_month_not_in_months_to_come() -> None:
    from carenet_desktop.services.measure_detail import trend_periods

    ytd = trend_periods(Period.year(2026), today=dt.date(2026, 7, 15))
    assert ytd[-1] == Period(dt.date(2025, 8, 1), dt.date(2026, 7, 31)) and len(ytd) == 12
    assert trend_periods(Period.year(2025), today=dt.date(2026, 7, 15))[-1] == Period.year(2025)
