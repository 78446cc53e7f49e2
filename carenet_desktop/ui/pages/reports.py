"""Reports: printable scorecards, the network report, spreadsheets, the submission package, FHIR MeasureReports.

Each report is one service call (``services.reports``, ``results_export``, ``gaps``, ``submissions``,
``measure_report``) run on a worker with a progress bar and cancel; the page only collects the choices
and says where the file went.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...metrics.period import Period
from ...services.changes import Area
from ...services.context import Progress, ServiceContext
from ...services.evaluation import select_measures
from ...services.practices import PracticeSummary, list_practices
from ...wording import count
from .. import periods
from ..forms import ERROR_STYLE
from ..session import Session
from ..tasks import Task
from ..widgets import card, heading, paragraph
from .base import Page


@dataclass(frozen=True)
class ReportKind:
    key: str
    label: str
    description: str
    suffixes: tuple[str, ...]  # the first is the default
    practice: str  # "required" | "optional" | "none"
    measure: bool = False
    patient_level: bool = False


REPORT_KINDS = (
    ReportKind("scorecard", "Practice scorecard (PDF)",
               "A practice's measures beside the network, the benchmark and the target, with trends, the equity "
               "page and care-gap counts. Aggregates only: no patient names.", (".pdf",), "required"),
    ReportKind("network", "Network report (PDF)",
               "Every practice side by side, funnel plots per measure, the network trend, best-practice "
               "benchmarks and the practices outside the control limits.", (".pdf",), "none"),
    ReportKind("results", "Measure results (Excel or CSV)",
               "The numbers behind the scorecards: one row per measure and practice with rate and interval.",
               (".xlsx", ".csv"), "optional"),
    ReportKind("gaps", "Care-gap list for outreach (Excel or CSV)",
               "The children due or overdue for something, with what is missing. Holds patient names: "
               "confidential, recorded in the audit trail.", (".xlsx", ".csv"), "required", patient_level=True),
    ReportKind("submission", "Submission package for the network office (.zip)",
               "The practice's signed, de-identified aggregates for the period (small counts suppressed), to "
               "send to the network office.", (".zip",), "required"),
    ReportKind("measurereport", "FHIR MeasureReport (JSON)",
               "One measure's summary in the FHIR R4 format payers and health-information exchanges accept.",
               (".json",), "optional", measure=True),
)
KIND_BY_KEY = {k.key: k for k in REPORT_KINDS}
FILTERS = {".pdf": "PDF (*.pdf)", ".xlsx": "Excel (*.xlsx)", ".csv": "CSV (*.csv)", ".zip": "Package (*.zip)",
           ".json": "FHIR JSON (*.json)"}


@dataclass(frozen=True)
class ReportRequest:
    kind: str
    path: Path
    period: Period
    practice: str | None = None
    measure: str | None = None
    trends: bool = True
    named: bool = False


@dataclass(frozen=True)
class ReportDone:
    request: ReportRequest
    detail: str


def make_report(progress: Progress, ctx: ServiceContext, request: ReportRequest) -> ReportDone:
    """Runs on a worker: the one service call that writes the report."""
    # imported here: reportlab, signing and FHIR cost start-up time and are wanted only when a report is made
    from ...services.measure_report import export_measure_report
    from ...services.reports import network_pdf, scorecard_pdf
    from ...services.results_export import export_results
    from ...services.submissions import export_submission
    from ...services.worklist import export_child_worklist

    ctx = dataclasses.replace(ctx, progress=progress)
    r, path, period = request, request.path, request.period
    if r.kind == "scorecard":
        done = scorecard_pdf(ctx, r.practice or "", period, path, trends=r.trends)
        detail = f"{done.pages} pages"
    elif r.kind == "network":
        done = network_pdf(ctx, period, path, named=r.named, trends=r.trends)
        detail = f"{done.pages} pages, practices {'named' if r.named else 'anonymised'}"
    elif r.kind == "results":
        table = export_results(ctx, period, path, [r.practice] if r.practice else None)
        detail = count(len(table), "row")
    elif r.kind == "gaps":
        worklist = export_child_worklist(ctx, path, period, r.practice)
        detail = f"{len(worklist.children):,} children with care gaps (confidential)"
    elif r.kind == "submission":
        sub = export_submission(ctx, r.practice or "", period, path)
        detail = f"{count(sub.rows, 'row')}, {count(sub.suppressed, 'small cell')} suppressed, signed"
    elif r.kind == "measurereport":
        export_measure_report(ctx, r.measure or "", period, path, [r.practice] if r.practice else None)
        detail = f"{r.measure} summary"
    else:  # pragma: no cover - the combo only offers the kinds above
        raise ValueError(r.kind)
    return ReportDone(request, detail)


def load_choices(progress: Progress, ctx: ServiceContext) -> tuple[list[PracticeSummary], list[tuple[str, str]]]:
    practices = list_practices(dataclasses.replace(ctx, progress=progress))
    measures, _errors = select_measures(ctx.catalogue, None)
    return practices, [(m.id, m.title) for m in measures]


def suggested_name(kind: ReportKind, practice: str | None, period: Period, measure: str | None) -> str:
    parts = [kind.key, practice or "", measure or "", period.label.replace("..", "-to-")]
    return "-".join(p for p in parts if p) + kind.suffixes[0]


class ReportsPage(Page):
    page_id = "reports"
    title = "Reports"
    icon_name = "reports"
    tooltip = "Printable scorecards, spreadsheets and the network submission"
    #: the practices and measures offered (a report computes its numbers when it is made, never shown here)
    watches = frozenset({Area.PRACTICES, Area.MEASURES})

    #: a report was written (the request and a one-line detail)
    report_done = Signal(object)
    #: the practices and measures arrived
    loaded = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None, *, today: dt.date | None = None,
                 choose_file: Callable[[ReportKind, str], str] | None = None) -> None:
        super().__init__(session, parent)
        self.task: Task | None = None
        self.choose_file = choose_file or self._ask_for_file
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(12)
        layout.addWidget(heading(self.title))
        layout.addWidget(paragraph("Scorecards to print or share, the numbers as a spreadsheet, and the periodic "
                                   "package a practice sends to the network office."))
        box = card("reportCard")
        form = self.form = QFormLayout(box)
        form.setContentsMargins(18, 14, 18, 14)
        self.kind_combo = self._combo("reportKind", "Report", "What to produce")
        for kind in REPORT_KINDS:
            self.kind_combo.addItem(kind.label, kind.key)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._update_form())
        form.addRow("&Report", self.kind_combo)
        self.description = paragraph("")
        self.description.setObjectName("reportDescription")
        form.addRow("", self.description)
        self.practice_combo = self._combo("reportPractice", "Practice", "The practice the report is about")
        form.addRow("&Practice", self.practice_combo)
        self.period_combo = self._combo("reportPeriod", "Reporting period",
                                        "The period reported: the current year to date (the default of every page), "
                                        "a past year, a quarter, a month or the rolling 12 months")
        for label, key in periods.choices(today):  # the window's periods, the shared default first
            self.period_combo.addItem(label, key)
        self.period_combo.setCurrentIndex(0)
        form.addRow("P&eriod", self.period_combo)
        self.measure_combo = self._combo("reportMeasure", "Measure", "The measure of the MeasureReport")
        form.addRow("&Measure", self.measure_combo)
        self.options_row = QWidget()
        options = QHBoxLayout(self.options_row)
        options.setContentsMargins(0, 0, 0, 0)
        self.trends_check = QCheckBox("Include 12-month trends")
        self.trends_check.setObjectName("reportTrends")
        self.trends_check.setChecked(True)
        self.trends_check.setToolTip("Trends take longer the first time (each month is computed once, then kept)")
        self.named_check = QCheckBox("Name the practices")
        self.named_check.setObjectName("reportNamed")
        self.named_check.setToolTip("By default the network report shows practices as letters")
        options.addWidget(self.trends_check)
        options.addWidget(self.named_check)
        options.addStretch(1)
        form.addRow("Options", self.options_row)
        buttons = QHBoxLayout()
        self.create_button = QPushButton("Create…")
        self.create_button.setObjectName("reportCreate")
        self.create_button.setProperty("primary", True)
        self.create_button.setToolTip("Choose where to save it, then create it")
        self.create_button.clicked.connect(self.create_report)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("reportCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        buttons.addWidget(self.create_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        form.addRow("", buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("reportProgress")
        self.progress_bar.setAccessibleName("Report progress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.hide()
        form.addRow("", self.progress_bar)
        self.message = QLabel("")
        self.message.setObjectName("reportMessage")
        self.message.setWordWrap(True)
        form.addRow("", self.message)
        layout.addWidget(box)
        layout.addWidget(heading("Made in this session", "sectionTitle"))
        self.made = QListWidget()
        self.made.setObjectName("reportsMade")
        self.made.setAccessibleName("Reports made in this session")
        self.made.setToolTip("Double-click to open the file")
        self.made.itemDoubleClicked.connect(lambda item: QDesktopServices.openUrl(QUrl.fromLocalFile(item.toolTip())))
        layout.addWidget(self.made, 1)
        for combo in (self.practice_combo, self.measure_combo):
            combo.currentIndexChanged.connect(lambda _i: self._update_form())
        self._update_form()

    def _combo(self, name: str, accessible: str, tip: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setAccessibleName(accessible)
        combo.setToolTip(tip)
        combo.setMinimumContentsLength(28)
        return combo

    # --- data ---------------------------------------------------------------------------------
    def load(self) -> None:
        self.message.setText("Reading the practices…")
        self.run_latest(load_choices, self.session.ctx, slot="choices", label="Loading practices",
                        on_finished=self._on_choices, on_failed=self._show_error)

    def _on_choices(self, choices: tuple[list[PracticeSummary], list[tuple[str, str]]]) -> None:
        practices, measures = choices
        self.practice_combo.clear()
        self.practice_combo.addItem("Every practice I may see", None)
        for p in practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.code)
        if len(practices) >= 1:
            self.practice_combo.setCurrentIndex(1)
        self.measure_combo.clear()
        for measure_id, title in measures:
            self.measure_combo.addItem(f"{measure_id} · {title}", measure_id)
        self.message.setText("" if practices else "This database has no practices yet: build the demo network "
                                                   "or import your EHR's export first.")
        self._update_form()
        self.loaded.emit()

    # --- form ---------------------------------------------------------------------------------
    def kind(self) -> ReportKind:
        return KIND_BY_KEY[self.kind_combo.currentData()]

    def _update_form(self) -> None:
        kind = self.kind()
        self.description.setText(kind.description)
        # only what the chosen report uses is offered (a greyed option it ignores only puzzles)
        self.form.setRowVisible(self.practice_combo, kind.practice != "none")
        self.form.setRowVisible(self.measure_combo, kind.measure)
        self.trends_check.setVisible(kind.key in ("scorecard", "network"))
        self.named_check.setVisible(kind.key == "network")
        self.form.setRowVisible(self.options_row, kind.key in ("scorecard", "network"))
        self.create_button.setEnabled(self.problem() is None and (self.task is None or self.task.is_done))
        self.create_button.setToolTip(self.problem() or "Choose where to save it, then create it")

    def problem(self) -> str | None:
        """Why the report cannot be created with these choices (None: it can)."""
        kind = self.kind()
        if self.practice_combo.count() <= 1:
            return "No practices to report on yet."
        if kind.practice == "required" and not self.practice_combo.currentData():
            return "Choose a practice: this report is about one practice."
        if kind.measure and not self.measure_combo.currentData():
            return "Choose the measure."
        return None

    def request(self, path: Path) -> ReportRequest:
        kind = self.kind()
        return ReportRequest(kind.key, path, Period.parse(self.period_combo.currentData()),
                             self.practice_combo.currentData() if kind.practice != "none" else None,
                             self.measure_combo.currentData() if kind.measure else None,
                             self.trends_check.isChecked(), self.named_check.isChecked() and kind.key == "network")

    def _ask_for_file(self, kind: ReportKind, suggested: str) -> str:
        filters = ";;".join(FILTERS[s] for s in kind.suffixes)
        path, _ = QFileDialog.getSaveFileName(self, f"Save the {kind.label.split(' (')[0].lower()}",
                                              str(Path.home() / suggested), filters)
        return path

    # --- running ------------------------------------------------------------------------------
    def create_report(self) -> None:  # not create(): that is QWidget's
        if (problem := self.problem()) is not None:
            self._show_error(problem)
            return
        kind = self.kind()
        period = Period.parse(self.period_combo.currentData())
        practice = self.practice_combo.currentData() if kind.practice != "none" else None
        chosen = self.choose_file(kind, suggested_name(kind, practice, period,
                                                       self.measure_combo.currentData() if kind.measure else None))
        if not chosen:
            return
        path = Path(chosen)
        if path.suffix.lower() not in kind.suffixes:
            path = path.with_suffix(kind.suffixes[0])
        request = self.request(path)
        self.message.setStyleSheet("")
        self.message.setText(f"Creating {path.name}…")
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.cancel_button.show()
        task = self.session.tasks.run(make_report, self.session.ctx, request, label=f"Creating {path.name}",
                                      write=True, on_progress=self._on_progress)
        task.finished.connect(self._on_done)
        task.failed.connect(self._show_error)
        task.cancelled.connect(lambda: self._show_error("Cancelled: no file was written."
                                                        if not path.exists() else "Cancelled."))
        task.done.connect(self._finished)
        self.task = task
        self._update_form()

    def cancel(self) -> None:
        if self.task is not None and not self.task.is_done:
            self.cancel_button.setEnabled(False)
            self.message.setText("Stopping…")
            self.task.cancel()

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(int(fraction * 1000))
        if message:
            self.message.setText(f"{message}…")

    def _on_done(self, done: ReportDone) -> None:
        path = done.request.path
        self.message.setStyleSheet("")
        self.message.setText(f"Saved {path} ({done.detail}). Double-click it below to open it.")
        self.made.insertItem(0, f"{path.name}  ·  {done.detail}")
        self.made.item(0).setToolTip(str(path))
        self.status_message.emit(f"Saved {path.name}")
        self.report_done.emit(done)

    def _show_error(self, message: str) -> None:
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(message)

    def _finished(self) -> None:
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)
        self._update_form()

    def refresh(self) -> None:
        if self.task is None or self.task.is_done:
            self.load()
