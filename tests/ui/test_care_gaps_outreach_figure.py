"""The care-gaps page says how many gaps closed after outreach: outreach logged on the page keeps the child's
open gaps, and a vaccine entered afterwards shows as one gap closed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from PySide6.QtCore import QItemSelectionModel

from carenet_desktop.services import entry
from carenet_desktop.ui.itemmodels.gaps import ROW_ROLE
from carenet_desktop.ui.pages.care_gaps import Attempt, CareGapsPage
from tests.ui import care_gaps_support
from tests.ui.care_gaps_support import AS_OF, WAIT

demo_file = care_gaps_support.demo_file
page = care_gaps_support.page

TDAP = "Tdap dose 1"


def _tdap_child(page: CareGapsPage) -> int:
    assert page.result is not None
    gaps = page.result.worklist.gaps
    due = pd.to_datetime(gaps["due_date"], errors="coerce")
    tdap = gaps[((gaps["item"] == TDAP) & (due >= pd.Timestamp(AS_OF))).to_numpy()]
    assert len(tdap), "the demo practice has no child missing Tdap"
    return int(tdap["patient_id"].iloc[0])


def test_the_page_shows_gaps_closed_after_outreach(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert page.outreach_figure.isVisible()
    assert page.outreach_figure.text().startswith("0 gaps closed after outreach in the last 90 days (of 0 ")
    child = _tdap_child(page)
    row = next(i for i in range(page.proxy.rowCount()) if page.proxy.index(i, 0).data(ROW_ROLE)["patient_id"] == child)
    page.table.selectionModel().select(page.proxy.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                       | QItemSelectionModel.SelectionFlag.Rows)
    on = AS_OF - dt.timedelta(days=7)
    task = page.log_outreach(Attempt("call", "reached", None, "", on))
    assert task is not None
    qtbot.waitUntil(lambda: task.is_done, timeout=WAIT)
    assert entry.record_immunization(page.session.ctx, patient_id=child, date=AS_OF - dt.timedelta(days=2), cvx="115",
                                     today=AS_OF).ok
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.refresh()
    figure = page.outreach_figure.results
    assert figure is not None and (figure.attempts, figure.gaps_closed) == (1, 1) and figure.gaps_recorded >= 1
    assert page.outreach_figure.text().startswith("1 gap closed after outreach in the last 90 days")
    assert page.outreach_figure.text().endswith("; 1 attempt).")
