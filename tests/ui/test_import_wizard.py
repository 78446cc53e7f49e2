"""The imports page and its wizard driven as a user would: file, columns, check, import, summary, undo."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWizard
from sqlalchemy import func, select

from carenet_desktop.models import Encounter, Patient, Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.intake import list_profiles
from carenet_desktop.ui.import_wizard import CheckPage, ImportWizard, MappingPage, RunPage, SummaryPage
from carenet_desktop.ui.pages.imports import ImportsPage
from carenet_desktop.ui.session import Session

WAIT = 20000
MRNS = ("M001", "M002", "M003")


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A store as the set-up makes it: the shipped code catalogue loaded (the first row of its import
    history), one practice, its patients."""
    from carenet_desktop.services.valuesets import ensure_default_catalogue

    db = open_database(tmp_path / "store.db")
    ensure_default_catalogue(ServiceContext(db, username="setup"))
    with db.session() as s:
        practice = Practice(code="PEDS1", name="Peds One")
        s.add(practice)
        s.flush()
        for i, mrn in enumerate(MRNS):
            s.add(Patient(practice_id=practice.id, mrn=mrn, birth_date=dt.date(2019, 1, 1 + i)))
    yield db
    db.dispose()


@pytest.fixture
def page(store, qtbot):  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(store, username="tester"))
    widget = ImportsPage(session)
    qtbot.addWidget(widget)
    widget.resize(1000, 640)
    widget.show()
    widget.activate()
    qtbot.waitUntil(lambda: widget.state.currentIndex() != widget.STATE_LOADING, timeout=WAIT)
    yield widget
    if widget.wizard is not None:
        widget.wizard.close()
    session.close()


def visits_csv(path: Path, rows: list[tuple[str, str, str]], header: tuple[str, str, str] = (
        "Patient MRN", "Visit Date", "CPT")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def encounters(db) -> int:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Encounter)))


def start_wizard(page: ImportsPage, qtbot, path: Path) -> ImportWizard:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    wizard = page.wizard
    assert wizard is not None and wizard.isVisible()
    choose = wizard.choose_page
    qtbot.waitUntil(lambda: choose.practice_combo.count() > 0, timeout=WAIT)
    qtbot.keyClicks(choose.path_edit, str(path))
    choose.kind_combo.setCurrentIndex(choose.kind_combo.findData("encounters"))
    choose.practice_combo.setCurrentIndex(choose.practice_combo.findData("PEDS1"))
    return wizard


def press(wizard: ImportWizard, qtbot, which: QWizard.WizardButton) -> None:  # type: ignore[no-untyped-def]
    button = wizard.button(which)
    qtbot.waitUntil(button.isEnabled, timeout=WAIT)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def to_mapping(wizard: ImportWizard, qtbot) -> MappingPage:  # type: ignore[no-untyped-def]
    press(wizard, qtbot, QWizard.WizardButton.NextButton)
    page = wizard.currentPage()
    assert isinstance(page, MappingPage)
    qtbot.waitUntil(lambda: bool(page.combos), timeout=WAIT)
    return page


def to_check(wizard: ImportWizard, qtbot) -> CheckPage:  # type: ignore[no-untyped-def]
    press(wizard, qtbot, QWizard.WizardButton.NextButton)
    page = wizard.currentPage()
    assert isinstance(page, CheckPage)
    qtbot.waitUntil(lambda: wizard.plan.preview is not None or page.error_label.isVisible(), timeout=WAIT)
    return page


def run_import(wizard: ImportWizard, qtbot) -> SummaryPage:  # type: ignore[no-untyped-def]
    press(wizard, qtbot, QWizard.WizardButton.CommitButton)
    qtbot.waitUntil(lambda: isinstance(wizard.currentPage(), SummaryPage), timeout=WAIT)
    return wizard.currentPage()


def test_a_clean_file_goes_through_every_step_and_lands_in_the_history(page, store, qtbot, tmp_path):
    path = visits_csv(tmp_path / "visits.csv", [(m, "2025-03-0" + str(i + 1), "99392") for i, m in enumerate(MRNS)])
    wizard = start_wizard(page, qtbot, path)
    mapping = to_mapping(wizard, qtbot)
    assert mapping.combos["mrn"].currentData() == "Patient MRN"  # guessed from the column names
    assert mapping.combos["date"].currentData() == "Visit Date"
    assert wizard.findChild(type(mapping.error_label), "MappingPageError").isHidden()
    check = to_check(wizard, qtbot)
    assert "3 rows; every row is valid" in check.summary.text()
    assert encounters(store) == 0  # checking writes nothing
    summary = run_import(wizard, qtbot)
    assert "3 added" in summary.summary.text()
    assert encounters(store) == 3
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT)  # the newest first, then the catalogue
    record = page.model.record(0)
    assert (record["file_name"], record["status"], record["added"]) == ("visits.csv", "done", 3)


def test_a_needed_column_the_guess_cannot_find_keeps_next_off_until_chosen_and_saves_as_a_profile(
        page, store, qtbot, tmp_path):
    path = visits_csv(tmp_path / "odd.csv", [(m, "2025-04-01", "99392") for m in MRNS],
                      header=("Chart", "Visit Date", "CPT"))
    wizard = start_wizard(page, qtbot, path)
    mapping = to_mapping(wizard, qtbot)
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert mapping.combos["mrn"].currentData() == ""
    assert not next_button.isEnabled()
    assert "Medical record number" in mapping.error_label.text()
    mapping.combos["mrn"].setCurrentIndex(mapping.combos["mrn"].findData("Chart"))
    assert wizard.findChild(type(mapping.error_label), "sample_mrn").text() == "M001"
    mapping.save_check.setChecked(True)
    assert not next_button.isEnabled()  # a profile needs a name
    qtbot.keyClicks(mapping.save_name, "Clinic visits")
    assert next_button.isEnabled()
    to_check(wizard, qtbot)
    run_import(wizard, qtbot)
    assert encounters(store) == 3
    saved = list_profiles(ServiceContext(store), practice_code="PEDS1", kind="encounters")
    assert [(p.name, p.mapping["mrn"]) for p in saved] == [("Clinic visits", "Chart")]


def test_rejected_rows_are_shown_with_why_and_only_a_valid_rows_import_goes_ahead(page, store, qtbot, tmp_path):
    path = visits_csv(tmp_path / "mixed.csv", [("M001", "2025-03-01", "99392"), ("NOPE", "2025-03-02", "99392"),
                                               ("M003", "not a date", "99392"), ("M002", "2025-03-04", "99392")])
    wizard = start_wizard(page, qtbot, path)
    to_mapping(wizard, qtbot)
    check = to_check(wizard, qtbot)
    assert "4 rows; 2 would be rejected" in check.summary.text()
    problems = check.problem_model.records()
    assert sorted(int(p["row"]) for p in problems) == [3, 4]  # numbered as a spreadsheet shows them: the header is row 1
    assert any(p["value"] == "NOPE" for p in problems) and any(p["value"] == "not a date" for p in problems)
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert not next_button.isEnabled() and "valid rows only" in check.error_label.text()
    check.valid_only.setChecked(True)
    summary = run_import(wizard, qtbot)
    assert "2 added" in summary.summary.text() and "2 rows were left out" in summary.summary.text()
    assert summary.problem_model.rowCount() == len(problems)
    assert encounters(store) == 2


def test_cancel_during_the_import_writes_nothing(page, store, qtbot, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("Patient MRN", "Visit Date", "CPT", "Encounter ID"))
        writer.writerows((MRNS[i % 3], f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", "99392", f"E{i}")
                         for i in range(30000))
    wizard = start_wizard(page, qtbot, path)
    to_mapping(wizard, qtbot)
    to_check(wizard, qtbot)
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    qtbot.waitUntil(commit.isEnabled, timeout=WAIT)
    commit.click()
    run = wizard.currentPage()
    assert isinstance(run, RunPage) and run.busy
    qtbot.mouseClick(run.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not run.busy, timeout=WAIT)
    assert wizard.plan.result is None
    assert "nothing of this file was written" in run.error_label.text()
    assert encounters(store) == 0


def test_undo_from_the_history_removes_the_rows(page, store, qtbot, tmp_path, monkeypatch):
    path = visits_csv(tmp_path / "visits.csv", [(m, "2025-05-01", "99392") for m in MRNS])
    wizard = start_wizard(page, qtbot, path)
    to_mapping(wizard, qtbot)
    to_check(wizard, qtbot)
    run_import(wizard, qtbot)
    wizard.close()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT)
    page.table.selectRow(0)
    assert page.undo_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(page.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2 and page.model.record(0)["status"] == "undone", timeout=WAIT)
    assert encounters(store) == 0
    page.table.selectRow(0)
    assert not page.undo_button.isEnabled()  # an undone import cannot be undone twice


def test_the_history_and_problem_models_pass_the_model_tester(page, qtbot, qtmodeltester, tmp_path):
    path = visits_csv(tmp_path / "mixed.csv", [("M001", "2025-03-01", "99392"), ("NOPE", "2025-03-02", "99392")])
    wizard = start_wizard(page, qtbot, path)
    to_mapping(wizard, qtbot)
    check = to_check(wizard, qtbot)
    qtmodeltester.check(check.problem_model)
    check.valid_only.setChecked(True)
    run_import(wizard, qtbot)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT)
    qtmodeltester.check(page.model)
