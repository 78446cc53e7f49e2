"""A measure's drill-down, driven from the scorecard as a user would: double-click a rate, read the trend,
the other practices (anonymised), the equity strata, the patients behind the rate, open one."""

from __future__ import annotations

from PySide6.QtCore import Qt

from carenet_desktop.ui.itemmodels.scorecard import ROW_ROLE
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from tests.ui import test_scorecard_page as scorecard_fixtures

WAIT = scorecard_fixtures.WAIT
demo_file = scorecard_fixtures.demo_file  # the same small demo network and scorecard page
page = scorecard_fixtures.page


def _open(page: ScorecardsPage, qtbot, measure: str):  # type: ignore[no-untyped-def]
    row = next(i for i in range(page.proxy.rowCount()) if page.proxy.index(i, 0).data(ROW_ROLE)["measure"] == measure)
    index = page.proxy.index(row, 0)
    page.table.setFocus()
    page.table.setCurrentIndex(index)
    detail = page.detail
    with qtbot.waitSignals([detail.trend_loaded, detail.comparison_loaded], timeout=WAIT):
        qtbot.keyClick(page.table, Qt.Key.Key_Return)  # the keyboard way (double-click does the same)
    assert page.views.currentWidget() is detail
    return detail


def test_double_click_opens_trend_practices_and_equity(page, qtbot, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    detail = _open(page, qtbot, "WCV")
    assert "WCV" in detail.title_label.text()
    # every practice of the network is compared; only the shown one is named
    names = [detail.practices_model.index(r, 0).data() for r in range(detail.practices_model.rowCount())]
    assert len(names) == 3
    shown = page.practice_combo.currentData()
    assert sum(1 for n in names if shown in str(n)) == 1
    assert sum(1 for n in names if str(n).startswith("Practice ")) == 2  # the others, anonymised
    qtmodeltester.check(detail.practices_model)
    assert detail.equity_model.rowCount() > 0
    qtmodeltester.check(detail.equity_model)
    for tab in ("trend", "practices", "equity"):
        detail.show_tab(tab)
        detail.grab().save(f"/tmp/detail-{tab}.png")


def test_patients_tab_lists_the_patients_and_opens_one(page, qtbot, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    detail = _open(page, qtbot, "WCV")
    with qtbot.waitSignal(detail.patients_loaded, timeout=WAIT) as blocker:
        detail.show_tab("patients")
    result = blocker.args[0]
    model = detail.patients_model
    assert model.rowCount() == len(result.by_status[detail.status_combo.currentData()])
    assert model.rowCount() > 0
    qtmodeltester.check(model)
    counts = result.counts
    assert sum(counts.values()) == len(result.by_status[""])
    with qtbot.waitSignal(page.patient_requested, timeout=WAIT) as opened:
        index = detail.patients_table.model().index(0, 0)
        detail.patients_table.setFocus()
        detail.patients_table.setCurrentIndex(index)
        qtbot.keyClick(detail.patients_table, Qt.Key.Key_Return)
    assert opened.args[0] == model.patient_id(detail.patients_table.model().mapToSource(index).row()
                                               if hasattr(detail.patients_table.model(), "mapToSource") else 0)


def test_back_returns_to_the_scorecard(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    detail = _open(page, qtbot, "WCV")
    detail.back_requested.emit()
    assert page.views.currentWidget() is page.card_view


def test_equity_small_groups_say_fewer_than_11_and_are_never_best(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: no "★ best" for a group of 1–3 children, and no figure cut short."""
    detail = page.detail
    page.open_measure("CMS117", 0)
    detail.show_tab("equity")
    qtbot.waitUntil(lambda: detail.equity_model.rowCount() > 0, timeout=60000)
    model, table = detail.equity_model, detail.equity_table
    rows = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]
    small = [r for r in rows if r[3] == "fewer than 11"]
    assert small, "the demo practice has small groups"
    assert all(r[2] == "–" and r[4] == "not ranked" for r in small)
    ranked = [r for r in rows if r[3] != "fewer than 11"]
    assert any(r[4] == "★ best" for r in ranked)
    for column in (2, 3, 4):  # rate, counts and gap fit their column
        assert table.sizeHintForColumn(column) <= table.columnWidth(column)
    # the group's name is never cut either: a long one wraps and its row is as tall as it needs
    assert table.textElideMode() == Qt.TextElideMode.ElideNone
    def fitted() -> None:
        for r in range(detail.equity_proxy.rowCount()):
            text = detail.equity_proxy.index(r, 1).data()
            assert table.rowHeight(r) >= scorecard_fixtures._lines_needed(table, 1, text), text

    qtbot.waitUntil(fitted, timeout=5000)  # at the width the layout gave the column
    # a narrow name column (as in a narrow window: the width a layout gives it depends on the screen, the
    # fonts and the widths remembered, so it is set here): the names must wrap and their rows grow
    header = table.horizontalHeader()
    header.setSectionResizeMode(1, header.ResizeMode.Interactive)
    table.setColumnWidth(1, 110)

    def wrapped() -> None:
        fitted()
        one_line = table.verticalHeader().defaultSectionSize()  # the list style's row, made for one line
        assert any(table.rowHeight(r) > one_line for r in range(detail.equity_proxy.rowCount()))

    qtbot.waitUntil(wrapped, timeout=5000)


def test_the_cms136_trend_says_why_it_moves_in_steps(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    detail = page.detail
    page.open_measure("CMS136", 0)
    detail.show_tab("trend")
    assert detail.trend_note.isVisibleTo(detail) and "intake period" in detail.trend_note.text()
    page.close_measure()
    page.open_measure("CMS117", 0)
    assert not detail.trend_note.isVisibleTo(detail)
    row = next(i for i in range(page.proxy.rowCount()) if page.proxy.index(i, 0).data().startswith("CMS136"))
    from carenet_desktop.ui.itemmodels.scorecard import TREND_COLUMN

    qtbot.waitUntil(lambda: page.trend_table is not None, timeout=WAIT)
    assert "intake period" in page.proxy.index(row, TREND_COLUMN).data(Qt.ItemDataRole.ToolTipRole)
