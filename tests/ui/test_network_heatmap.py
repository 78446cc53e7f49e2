"""The Network page as a user meets it (issue 23): titled as its menu item, a practice × measure heat map
coloured by the one judgement, sortable, and a double-click that opens the rate on the scorecard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from carenet_desktop.metrics.judgement import Status
from carenet_desktop.metrics.period import Period
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.scorecard import ScorecardService
from carenet_desktop.ui.itemmodels.heatmap import ROW_ROLE
from carenet_desktop.ui.itemmodels.scorecard import BAD, GOOD
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

WAIT = 120_000


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=800, seed=5)


def test_heat_map_colours_sorts_and_drills_in(store, qtbot) -> None:  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(open_database(store), username="tester"))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.show_page("network")
    page = window.network_page
    item = window.navigation.currentItem()
    assert item.text() == page.title_label.text() == "Network"  # the page's title matches its menu item
    assert page.tabs.tabText(page.tabs.currentIndex()) == "Heat map"
    assert page.period_combo.currentText().endswith("(year to date)")  # the one default of every page
    with qtbot.waitSignal(page.heatmap_loaded, timeout=WAIT):
        page.period_combo.setCurrentIndex(page.period_combo.findData("2025"))

    table = ScorecardService(session.ctx).network_table(Period.year(2025))
    proxy, model = page.heat_proxy, page.heat_model
    assert proxy.rowCount() == table["practice_code"].nunique()
    assert proxy.columnCount() == 1 + len(table[["measure", "group_index"]].drop_duplicates())
    expected = {(r["practice_code"], r["measure"], int(r["group_index"])): r["status"] for r in table.to_dict("records")}
    tones = {"good": GOOD, "bad": BAD}
    seen = set()
    for r in range(proxy.rowCount()):
        for c in range(1, proxy.columnCount()):
            index = proxy.index(r, c)
            row = index.data(ROW_ROLE)
            if row is None:
                continue
            status = expected[(row["practice_code"], row["measure"], int(row["group_index"]))]
            assert row["status"] == status
            seen.add(status)
            colour = index.data(Qt.ItemDataRole.BackgroundRole)
            assert (colour == tones[Status(status).tone]) if Status(status).tone in tones else colour not in (GOOD, BAD)
            assert status in index.data(Qt.ItemDataRole.ToolTipRole)
    assert len(seen) >= 3

    column = next(c for c in range(1, proxy.columnCount()) if "CMS117" in str(proxy.headerData(c, Qt.Orientation.Horizontal)))
    page.heat_table.sortByColumn(column, Qt.SortOrder.DescendingOrder)  # as a click on the heading does
    rates = [proxy.index(r, column).data(ROW_ROLE)["rate"] for r in range(proxy.rowCount())
             if proxy.index(r, column).data(ROW_ROLE) is not None]
    assert rates == sorted(rates, reverse=True)

    cell = proxy.index(0, column)
    target = cell.data(ROW_ROLE)
    view = page.heat_table
    view.scrollTo(cell)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(cell).center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(cell).center())
    scorecard = window.pages["scorecards"]
    qtbot.waitUntil(lambda: scorecard._detail is not None and scorecard._detail.key is not None
                    and scorecard._detail.key.practice_code == target["practice_code"], timeout=WAIT)
    key = scorecard.detail.key
    assert window.current_page() is scorecard
    assert (key.measure_id, key.group_index, key.period) == ("CMS117", 0, Period.year(2025))
    assert model.rowCount() == proxy.rowCount()
    session.close()
