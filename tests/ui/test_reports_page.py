"""The reports page driven as a user would: choose a report, practice and period, save, cancel."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.pages.reports import ReportsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

TODAY = dt.date(2026, 7, 1)
WAIT = 120000


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, seed=3)


class Chooser:
    """Stands in for the save dialog: answers with the next path and remembers what it was offered."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.offered: list[str] = []

    def __call__(self, kind, suggested: str) -> str:  # type: ignore[no-untyped-def]
        self.offered.append(suggested)
        return str(self.folder / suggested)


@pytest.fixture
def page(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    chooser = Chooser(tmp_path)
    widget = ReportsPage(session, today=TODAY, choose_file=chooser)
    widget.chooser = chooser
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=WAIT):
        widget.activate()
    yield widget
    session.close()


def choose(page: ReportsPage, kind: str, practice: str | None = "first", period: str = "2025") -> None:
    page.kind_combo.setCurrentIndex(page.kind_combo.findData(kind))
    page.period_combo.setCurrentIndex(page.period_combo.findData(period))
    if practice == "first":
        page.practice_combo.setCurrentIndex(1)
    elif practice is None:
        page.practice_combo.setCurrentIndex(page.practice_combo.findData(None))


def create(page: ReportsPage, qtbot) -> Path:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(page.report_done, timeout=WAIT) as blocker:
        qtbot.mouseClick(page.create_button, Qt.MouseButton.LeftButton)
    return blocker.args[0].request.path


def test_a_practice_scorecard_is_saved_as_a_pdf_named_after_practice_and_period(page, qtbot):
    choose(page, "scorecard")
    page.trends_check.setChecked(False)
    code = page.practice_combo.currentData()
    path = create(page, qtbot)
    assert path.name == f"scorecard-{code}-2025.pdf" and page.chooser.offered == [path.name]
    assert path.read_bytes().startswith(b"%PDF") and b"/Type /Page" in path.read_bytes()
    assert page.made.count() == 1 and page.made.item(0).toolTip() == str(path)
    assert "Saved" in page.message.text()


def test_the_period_starts_on_the_windows_one_default_and_offers_its_periods(page):
    """Issue 23: one default on every page, the current measurement period to date, labelled; the same
    years, quarters, months and rolling 12 months as the scorecard."""
    from carenet_desktop.ui import periods

    assert page.period_combo.currentText() == "2026 (year to date)" and page.period_combo.currentData() == "2026"
    offered = [(page.period_combo.itemText(i), page.period_combo.itemData(i)) for i in range(page.period_combo.count())]
    assert offered == periods.choices(TODAY)
    assert {"2025", "2026-Q2", "2026-06"} <= {key for _label, key in offered}
    assert any(label.startswith("12 months to") for label, _key in offered)


def test_a_report_about_one_practice_needs_a_practice(page):
    choose(page, "scorecard", practice=None)
    assert not page.create_button.isEnabled()
    assert "Choose a practice" in page.create_button.toolTip()
    choose(page, "network", practice=None)  # the network report is about every practice
    assert page.create_button.isEnabled() and not page.practice_combo.isVisible()  # not offered at all


@pytest.mark.parametrize(("kind", "practice", "measure", "trends", "named"), [
    ("scorecard", True, False, True, False),
    ("network", False, False, True, True),
    ("results", True, False, False, False),
    ("gaps", True, False, False, False),
    ("submission", True, False, False, False),
    ("measurereport", True, True, False, False),
])
def test_only_what_the_chosen_report_uses_is_offered(page, kind, practice, measure, trends, named):
    page.kind_combo.setCurrentIndex(page.kind_combo.findData(kind))
    assert page.practice_combo.isVisible() == practice and page.measure_combo.isVisible() == measure
    assert page.trends_check.isVisible() == trends and page.named_check.isVisible() == named
    assert page.options_row.isVisible() == (trends or named)
    assert page.period_combo.isVisible()  # every report is of a period


def test_the_submission_package_holds_a_signed_manifest_and_no_patient_identifiers(page, qtbot):
    choose(page, "submission")
    path = create(page, qtbot)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
        text = b"".join(z.read(n) for n in names).decode("utf-8", "replace")
    assert manifest["practice"]["code"] == page.practice_combo.currentData()
    assert manifest["period"]["label"] == "2025"
    assert any("sig" in n for n in names)
    from carenet_desktop.models import Patient

    with page.session.ctx.db.session() as s:
        mrns = [m for (m,) in s.query(Patient.mrn).limit(50)]
    assert not any(m in text for m in mrns)


def test_results_as_csv_for_a_quarter(page, qtbot):
    choose(page, "results")
    page.period_combo.setCurrentIndex(page.period_combo.findData("2025-Q2"))
    page.chooser.folder.mkdir(exist_ok=True)
    page.choose_file = lambda kind, suggested: str(page.chooser.folder / "results.csv")
    path = create(page, qtbot)
    with path.open(encoding="utf-8-sig") as fh:  # a BOM, so Excel reads it as UTF-8
        rows = list(csv.DictReader(fh))
    assert rows and {r["Practice"] for r in rows} == {page.practice_combo.currentData()}


def test_cancel_stops_the_report_and_writes_no_file(page, qtbot):
    choose(page, "network", practice=None)
    page.trends_check.setChecked(True)
    qtbot.mouseClick(page.create_button, Qt.MouseButton.LeftButton)
    assert page.cancel_button.isVisible() and not page.create_button.isEnabled()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.task is not None and page.task.is_done, timeout=WAIT)
    assert page.message.text().startswith("Cancelled")
    assert not (page.chooser.folder / page.chooser.offered[-1]).exists()
    assert page.create_button.isEnabled() and page.made.count() == 0
