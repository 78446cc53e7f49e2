"""The care-gaps page driven as a user would, against a small demo network."""

from __future__ import annotations

import datetime as dt
import shutil

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog
from sqlalchemy import select

from carenet_desktop.models import AuditLog, CareActivity
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.itemmodels.gaps import (
    COLUMN_INDEX,
    DONE_ROLE,
    ROW_ROLE,
    GapFilterProxy,
    GapTableModel,
)
from carenet_desktop.ui.pages.care_gaps import CareGapsPage, OutreachDialog
from tests.ui import care_gaps_support
from tests.ui.care_gaps_support import AS_OF, WAIT

# the page on a copy of a small demo, as every care-gaps test opens it
demo_file = care_gaps_support.demo_file
page = care_gaps_support.page


def _shown(page: CareGapsPage) -> list[dict]:
    return page.visible_rows()


def test_loads_first_practice_one_row_per_child_with_counts(page) -> None:  # type: ignore[no-untyped-def]
    assert page.state.currentIndex() == page.STATE_TABLE
    assert page.practice_combo.currentData() == "P001"
    rows = _shown(page)
    assert len(rows) == len(page.result.table) > 0
    assert len({r["patient_id"] for r in rows}) == len(rows)  # one row per child
    assert {r["practice_code"] for r in rows} == {"P001"}
    assert all(len(r["gaps"].split("; ")) == r["gap_count"] for r in rows)
    statuses = [r["status"] for r in rows]
    assert page.overdue_tile.value() == f"{statuses.count('overdue'):,}"
    assert page.open_tile.value() == f"{statuses.count('open'):,}"
    # without a window, "upcoming" is the children whose soonest gap falls due within 30 days
    assert page.upcoming_tile.value() == f"{statuses.count('upcoming'):,}" != "0"
    assert all(AS_OF <= r["due_date"] <= AS_OF + dt.timedelta(days=30) for r in rows if r["status"] == "upcoming")
    assert page.done_tile.value() == "0" and page.follow_up_tile.value() == "0"
    assert all(r["due_date"] < AS_OF for r in rows if r["status"] == "overdue")


def test_selecting_a_child_shows_each_gap_and_why(page) -> None:  # type: ignore[no-untyped-def]
    rows = _shown(page)
    i = max(range(len(rows)), key=lambda k: rows[k]["gap_count"])
    page.table.selectRow(i)
    child = page.proxy.index(i, 0).data(ROW_ROLE)
    assert child["patient_name"] in page.detail.title.text()
    shown = page.detail.gap_texts()
    assert set(shown) == set(child["gaps"].split("; "))
    assert page.detail.gaps.rowCount() >= child["gap_count"]
    measures = {page.detail.gaps.item(k, 1).text() for k in range(page.detail.gaps.rowCount())}
    assert measures == set(child["measures"].split(", "))
    page.table.selectAll()
    assert page.detail.gaps.rowCount() == 0 and "children selected" in page.detail.title.text()


def test_filters_narrow_the_rows_and_the_counts(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    total = len(_shown(page))
    combo = page.filter_combos["status"]
    combo.setCurrentIndex(combo.findData("overdue"))
    rows = _shown(page)
    assert 0 < len(rows) < total and {r["status"] for r in rows} == {"overdue"}
    # the tiles still count every status (the status filter picks one of them)
    assert page.overdue_tile.value() == f"{len(rows):,}"
    assert page.open_tile.value() == f"{sum(r['status'] == 'open' for r in page.model.rows()):,}" != "0"
    page.set_filter("status", None)
    page.set_filter("measure", "LSC")
    lead = _shown(page)
    assert lead and all("LSC" in r["measures"].split(", ") for r in lead)
    assert all("blood lead test" in r["gaps"] for r in lead)
    assert len(lead) == sum("LSC" in r["measures"].split(", ") for r in page.model.rows())
    page.set_filter("measure", None)
    provider = next(r["provider"] for r in _shown(page) if r["provider"])
    page.set_filter("provider", provider)
    assert {r["provider"] for r in _shown(page)} == {provider}
    payer = _shown(page)[0]["payer"]
    page.set_filter("payer", payer)
    assert {(r["provider"], r["payer"]) for r in _shown(page)} == {(provider, payer)}
    page.set_filter("provider", None)
    page.set_filter("payer", None)
    child = _shown(page)[5]
    family = child["patient_name"].split(",")[0]
    page.search_edit.setFocus()
    qtbot.keyClicks(page.search_edit, family)
    found = _shown(page)
    assert child["patient_id"] in {r["patient_id"] for r in found} and len(found) < total
    assert all(family.casefold() in f"{r['patient_name']} {r['mrn']} {r['gaps']} {r['measures']}".casefold()
               for r in found)
    page.search_edit.clear()
    assert len(_shown(page)) == total


def test_due_within_window_reloads_with_upcoming(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.due_combo.setCurrentIndex(page.due_combo.findData(60))
    rows = _shown(page)
    assert page.result.query.due_within == 60
    assert rows and all(AS_OF <= r["due_date"] <= AS_OF + dt.timedelta(days=60) for r in rows)
    assert {r["status"] for r in rows} == {"upcoming"}
    assert page.upcoming_tile.value() == f"{len(rows):,}"


def test_header_click_sorts(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    header = page.table.horizontalHeader()
    column = COLUMN_INDEX["patient_name"]
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(column) + 10, header.height() // 2))
    names = [r["patient_name"].casefold() for r in _shown(page)]
    assert header.sortIndicatorSection() == column
    assert names == sorted(names) or names == sorted(names, reverse=True)
    page.table.sortByColumn(COLUMN_INDEX["due_date"], Qt.SortOrder.DescendingOrder)
    due = [r["due_date"] for r in _shown(page)]
    assert due == sorted(due, reverse=True) and due[0] > due[-1]


def _log(page, qtbot, monkeypatch, outcome: str, follow_up: bool) -> None:  # type: ignore[no-untyped-def]
    def fill_and_accept(dialog: OutreachDialog) -> QDialog.DialogCode:
        dialog.method.setCurrentIndex(dialog.method.findData("call"))
        dialog.outcome.setCurrentIndex(dialog.outcome.findData(outcome))
        dialog.follow_up_check.setChecked(follow_up)
        if follow_up:  # the earliest day allowed: today, so the child is due for follow-up now
            dialog.follow_up.setDate(dialog.follow_up.minimumDate())
        dialog.note.setPlainText("Asked to call back in the evening")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(OutreachDialog, "exec", fill_and_accept)
    with qtbot.waitSignal(page.outreach_saved, timeout=WAIT):
        qtbot.mouseClick(page.outreach_button, Qt.MouseButton.LeftButton)


def test_log_an_outcome_for_selected_children_and_filter_due_for_follow_up(page, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    today = dt.date.today()
    page.set_filter("status", "overdue")
    page.table.selectRow(0)
    page.table.selectionModel().select(page.proxy.index(1, 0), page.table.selectionModel().SelectionFlag.Select
                                       | page.table.selectionModel().SelectionFlag.Rows)
    chosen = {page.proxy.index(i, 0).data(ROW_ROLE)["patient_id"] for i in (0, 1)}
    assert len(page.selected_rows()) == 2 and page.outreach_button.isEnabled()
    _log(page, qtbot, monkeypatch, "no answer", follow_up=True)
    with page.session.ctx.db.session() as s:
        acts = s.scalars(select(CareActivity).where(CareActivity.activity_type == "outreach")).all()
        assert {a.patient_id for a in acts} == chosen
        assert {(a.contact_method, a.outcome, a.follow_up_date, a.measure_id) for a in acts} == {
            ("call", "no answer", today, None)}
        entries = s.scalars(select(AuditLog).where(AuditLog.entity == "care_activity")).all()
        names = {r["patient_name"].split(",")[0] for r in page.model.rows() if r["patient_id"] in chosen}
        assert len(entries) == 2 and not any(n in (e.summary or "") for e in entries for n in names)
    marked = [r for r in page.model.rows() if r["patient_id"] in chosen]
    assert all(r["last_outreach"] == f"{today.isoformat()} call: no answer" and r["attempts"] == 1 for r in marked)
    assert page.done_tile.value() == "2" and page.follow_up_tile.value() == "2"
    page.set_filter("status", None)
    page.follow_up_check.setChecked(True)
    assert {r["patient_id"] for r in _shown(page)} == chosen
    page.follow_up_check.setChecked(False)
    # the next attempt reaches the family and books the visit: no longer due for follow-up
    first = next(i for i in range(page.proxy.rowCount()) if page.proxy.index(i, 0).data(ROW_ROLE)["patient_id"]
                 in chosen)
    page.table.selectRow(first)
    _log(page, qtbot, monkeypatch, "scheduled", follow_up=False)
    assert page.follow_up_tile.value() == "1"
    assert page.detail.attempts.rowCount() == 2 and page.detail.attempts.item(0, 2).text() == "scheduled"
    assert page.proxy.index(first, 0).data(DONE_ROLE)  # dimmed: a visit is booked
    # read again from the store: the same
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.refresh()
    again = {r["patient_id"]: r for r in page.model.rows() if r["patient_id"] in chosen}
    assert sorted(r["last_outcome"] for r in again.values()) == ["no answer", "scheduled"]
    page.follow_up_check.setChecked(True)
    assert len(_shown(page)) == 1 and _shown(page)[0]["last_outcome"] == "no answer"


def test_cancelled_outreach_dialog_saves_nothing(page, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    page.table.selectRow(0)
    monkeypatch.setattr(OutreachDialog, "exec", lambda _self: QDialog.DialogCode.Rejected)
    assert page.log_outreach() is None
    with page.session.ctx.db.session() as s:
        assert s.scalar(select(CareActivity.id).where(CareActivity.activity_type == "outreach")) is None


def test_export_writes_the_children_shown_with_the_last_attempt(page, qtbot, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    page.set_filter("status", "overdue")
    page.table.selectRow(0)
    _log(page, qtbot, monkeypatch, "left message", follow_up=True)
    shown = page.proxy.rowCount()
    target = tmp_path / "gaps.xlsx"
    with qtbot.waitSignal(page.exported, timeout=WAIT) as done:
        page.export(target)
    assert done.args == [target, shown]
    sheet = load_workbook(target).active
    values = list(sheet.values)
    assert len(values) == shown + 1 and values[0][0] == "Practice" and "MRN" in values[0]
    status = values[0].index("Status")
    assert {v[status] for v in values[1:]} == {"overdue"}
    last = values[0].index("Last outreach")
    assert sum(1 for v in values[1:] if v[last] == f"{dt.date.today().isoformat()} call: left message") == 1
    with page.session.ctx.db.session() as s:
        assert s.scalars(select(AuditLog).where(AuditLog.action == "export")).one().entity == "care_gaps"
    with qtbot.waitSignal(page.exported, timeout=WAIT):
        page.export(tmp_path / "gaps.csv")
    assert (tmp_path / "gaps.csv").read_text(encoding="utf-8-sig").count("\n") == shown + 1


def test_models_pass_qtmodeltester(page, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    rows = page.model.rows()[:40]
    model = GapTableModel(rows)
    qtmodeltester.check(model, force_py=True)
    proxy = GapFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter("status", "overdue")
    proxy.set_follow_up_only(True)
    proxy.sort(COLUMN_INDEX["due_date"])
    qtmodeltester.check(proxy, force_py=True)
    qtmodeltester.check(GapTableModel([]), force_py=True)


def test_a_failing_evaluation_shows_the_error_state_and_retry(page, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.services import worklist as worklist_service
    from carenet_desktop.services.context import ServiceError

    real = worklist_service.child_worklist

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ServiceError("Unknown practice: P001")

    monkeypatch.setattr(worklist_service, "child_worklist", broken)
    with qtbot.waitSignal(page.load_failed, timeout=WAIT):
        page.refresh()
    assert page.state.currentIndex() == page.STATE_ERROR and "Unknown practice" in page.error_label.text()
    monkeypatch.setattr(worklist_service, "child_worklist", real)
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.refresh()
    assert page.state.currentIndex() == page.STATE_TABLE


def test_changing_the_reference_day_reevaluates(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QDate

    earlier = dt.date(2026, 3, 31)
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.as_of_edit.setDate(QDate(2026, 3, 31))
    assert page.result.query.as_of == earlier
    rows = _shown(page)
    assert rows and all((r["status"] == "overdue") == (r["due_date"] < earlier) for r in rows)


def test_outreach_is_audited_under_the_signed_in_account_not_the_computers_user(demo_file, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.models import Patient
    from carenet_desktop.services.context import Progress
    from carenet_desktop.services.users import authenticate, create_user
    from carenet_desktop.ui.pages.care_gaps import Attempt, save_outreach

    copy = tmp_path / "accounts.db"
    shutil.copy(demo_file, copy)
    db = open_database(copy)
    try:
        create_user(ServiceContext(db, username="setup"), "mgarcia", "a long enough pass phrase", "network-admin")
        user = authenticate(db, "mgarcia", "a long enough pass phrase")
        ctx = ServiceContext(db, username="root", user=user)  # as the window makes it: the OS user, then the account
        with db.session() as s:
            patient_id = s.scalars(select(Patient.id).order_by(Patient.id)).first()
        save_outreach(Progress(), ctx, [patient_id], Attempt("letter", "scheduled", None, "Letter sent", AS_OF))
        with db.session() as s:
            entry = s.scalars(select(AuditLog).where(AuditLog.entity == "care_activity")).one()
            act = s.scalars(select(CareActivity).where(CareActivity.activity_type == "outreach")).one()
        assert (entry.username, act.performed_by) == ("mgarcia", "mgarcia")
    finally:
        db.dispose()
