"""The import wizard: file → columns (saved profiles) → check → import with progress and cancel → summary.

Every step calls the intake services on a worker (the file may hold millions of rows): the pages show a
progress bar while they wait and never block the window. Nothing is written before the fourth step, and
that step writes one transaction: all or nothing by default, or the valid rows with the rest reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ..interchange.tabular import Preview, field_specs
from ..interchange.tabular.dates import DATE_FORMATS
from ..services.context import ServiceError
from ..services.intake import ImportResult
from ..services.intake_mapping import KIND_LABELS, FileMapping, save_rejection_report
from ..services.practices import PracticeSummary
from ..wording import count
from .forms import ERROR_STYLE
from .import_jobs import ImportPlan, import_job, inspect_job, practices_job, preview_job
from .itemmodels.records import RecordColumn, RecordTableModel
from .session import Session
from .tasks import LatestTasks, Task
from .widgets import list_table, paragraph

FILE_FILTER = "EHR exports (*.csv *.txt *.tsv *.xlsx);;All files (*)"
NOT_MAPPED = "— not in this file —"
#: problems shown in the check step (the report file holds every problem)
SHOWN_PROBLEMS = 500


def _problem_table(name: str) -> tuple[RecordTableModel, QTableView]:
    model = RecordTableModel([
        RecordColumn("Row", "The row as your spreadsheet program numbers it (the header row is 1)", lambda r: str(r["row"]),
                     sort=lambda r: int(r["row"]), align_right=True),
        RecordColumn("Column", "The file's column", lambda r: str(r["column"] or "(whole row)")),
        RecordColumn("Value", "What the file holds there", lambda r: "" if pd.isna(r["value"]) else str(r["value"])),
        RecordColumn("Why it was rejected", "What is wrong and how to fix it", lambda r: str(r["reason"])),
    ])
    view = list_table(model, name, "Rejected rows")
    view.horizontalHeader().setStretchLastSection(True)
    model.modelReset.connect(view.resizeColumnsToContents)
    return model, view


def _records(frame: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    return frame.head(limit).to_dict("records") if len(frame) else []


class _WaitingPage(QWizardPage):
    """A step whose content comes from a background call: a progress bar until then, errors in red."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.import_wizard = wizard
        #: the step's background call: a new one (the file or the columns changed) replaces the one running
        self.latest = LatestTasks(wizard.session.tasks, self)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName(f"{type(self).__name__}Progress")
        self.progress_bar.setAccessibleName("Progress")
        self.progress_bar.setRange(0, 1000)
        self.progress_label = paragraph("")
        self.error_label = paragraph("")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setObjectName(f"{type(self).__name__}Error")
        self.error_label.hide()

    @property
    def plan(self) -> ImportPlan:
        return self.import_wizard.plan

    @property
    def task(self) -> Task | None:
        return self.latest.task("step")

    @property
    def busy(self) -> bool:
        return self.latest.running("step")

    def start(self, fn: Any, *args: Any, label: str, write: bool = False) -> Task:
        self.error_label.hide()
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.progress_label.show()
        session = self.import_wizard.session
        # a write announces what it changed to every screen (the result's ``change``) when it ends
        task = self.latest.start("step", fn, session.ctx, *args, label=label, run=session.write if write else None,
                                 on_progress=self._on_progress, on_finished=self._done, on_failed=self._failed,
                                 on_cancelled=self._cancelled)
        self.completeChanged.emit()
        return task

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(int(fraction * 1000))
        if message:
            self.progress_label.setText(f"{message}…")

    def _done(self, result: Any) -> None:
        self.progress_bar.hide()
        self.progress_label.hide()
        self.loaded(result)
        self.completeChanged.emit()

    def _failed(self, message: str) -> None:
        self.progress_bar.hide()
        self.progress_label.hide()
        self.show_error(message)
        self.completeChanged.emit()

    def _cancelled(self) -> None:
        self.progress_bar.hide()
        self.progress_label.hide()
        self.on_cancelled()
        self.completeChanged.emit()

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def loaded(self, result: Any) -> None:  # override
        """The background call's result arrived."""

    def on_cancelled(self) -> None:  # override
        self.show_error("Stopped.")

    def cleanupPage(self) -> None:  # noqa: N802 - Qt's name; going Back stops the work of this step
        self.latest.cancel("step")


class ChooseFilePage(_WaitingPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self.setTitle("Choose the file")
        self.setSubTitle("An export from your EHR as CSV or Excel, what it holds, and the practice it belongs to.")
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("importPath")
        self.path_edit.setAccessibleName("File to import")
        self.path_edit.setPlaceholderText("Choose a .csv or .xlsx file…")
        self.path_edit.textChanged.connect(self._changed)
        browse = QPushButton("Browse…")
        browse.setObjectName("importBrowse")
        browse.setAccessibleName("Browse for the file")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("importKind")
        self.kind_combo.setAccessibleName("What the file holds")
        for kind, label in KIND_LABELS.items():
            self.kind_combo.addItem(label, kind)
        self.kind_combo.setCurrentIndex(self.kind_combo.findData("encounters"))
        form.addRow("The file holds", self.kind_combo)
        self.practice_combo = QComboBox()
        self.practice_combo.setObjectName("importPractice")
        self.practice_combo.setAccessibleName("Practice")
        self.practice_combo.setEditable(True)
        self.practice_combo.setToolTip("The practice whose records these are. For a patient list you may type "
                                       "the code of a new practice.")
        self.practice_combo.currentTextChanged.connect(self._changed)
        form.addRow("Practice", self.practice_combo)
        form.addRow(self.progress_label)
        form.addRow(self.progress_bar)
        form.addRow(self.error_label)
        self.progress_bar.hide()
        self.progress_label.hide()

    def initializePage(self) -> None:  # noqa: N802
        if self.practice_combo.count() == 0:
            self.progress_label.setText("Reading the practices…")
            self.start(practices_job, label="Loading practices")

    def loaded(self, practices: list[PracticeSummary]) -> None:
        current = self.practice_combo.currentText()
        for p in practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.code)
        if current:
            self.practice_combo.setEditText(current)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the file to import", "", FILE_FILTER)
        if path:
            self.path_edit.setText(path)

    def _changed(self) -> None:
        self.completeChanged.emit()

    def practice_code(self) -> str:
        text = self.practice_combo.currentText().strip()
        index = self.practice_combo.findText(text)
        return str(self.practice_combo.itemData(index)) if index >= 0 else text

    def isComplete(self) -> bool:  # noqa: N802
        return Path(self.path_edit.text().strip()).is_file() and bool(self.practice_code()) and not self.busy

    def validatePage(self) -> bool:  # noqa: N802
        plan = self.plan
        chosen = (self.path_edit.text().strip(), self.kind_combo.currentData(), self.practice_code())
        if chosen != (plan.path, plan.kind, plan.practice):
            plan.inspected = None
        plan.path, plan.kind, plan.practice = chosen
        return True


class MappingPage(_WaitingPage):
    """One row per field of the kind: the file's column that holds it (guessed, or from a saved profile)."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self.setTitle("Match the columns")
        self.setSubTitle("Which column of the file holds each field. Fields marked * are needed; a column left "
                         "out is not imported.")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Saved mapping"))
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("importProfile")
        self.profile_combo.setAccessibleName("Saved mapping profile")
        self.profile_combo.activated.connect(self._profile_chosen)
        top.addWidget(self.profile_combo, 1)
        layout.addLayout(top)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnMinimumWidth(2, 180)
        scroll.setWidget(self.grid_host)
        layout.addWidget(scroll, 1)
        save_row = QHBoxLayout()
        self.save_check = QCheckBox("Save this mapping as")
        self.save_check.setObjectName("importSaveProfile")
        self.save_name = QLineEdit()
        self.save_name.setObjectName("importProfileName")
        self.save_name.setAccessibleName("Name of the saved mapping")
        self.save_name.setPlaceholderText("e.g. Epic visits export")
        self.save_name.textChanged.connect(lambda _t: self.completeChanged.emit())
        self.save_check.toggled.connect(lambda _c: self.completeChanged.emit())
        save_row.addWidget(self.save_check)
        save_row.addWidget(self.save_name, 1)
        layout.addLayout(save_row)
        layout.addWidget(self.error_label)
        self.combos: dict[str, QComboBox] = {}

    def initializePage(self) -> None:  # noqa: N802
        plan = self.plan
        if plan.inspected is None:
            self.profile_combo.clear()
            self._inspect(None)

    def _inspect(self, profile: str | None) -> None:
        self.progress_label.setText("Reading the file's columns…")
        plan = self.plan
        self.start(inspect_job, plan.path, plan.kind, plan.practice, profile, label="Reading the file")

    def _profile_chosen(self, index: int) -> None:
        name = self.profile_combo.itemData(index)
        self._inspect(name or None)

    def loaded(self, inspected: FileMapping) -> None:
        self.plan.inspected = inspected
        chosen = self.profile_combo.currentData()
        self.profile_combo.clear()
        self.profile_combo.addItem("(guessed from the column names)", "")
        for name in inspected.profiles:
            self.profile_combo.addItem(name, name)
        if chosen and (i := self.profile_combo.findData(chosen)) >= 0:
            self.profile_combo.setCurrentIndex(i)
        self.profile_combo.setEnabled(bool(inspected.profiles))
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        self.combos = {}
        for col, title in enumerate(("Field", "Column of the file", "First value")):
            header = QLabel(f"<b>{title}</b>")
            self.grid.addWidget(header, 0, col)
        for row, field in enumerate(inspected.fields, start=1):
            label = QLabel(f"{field.label}{' *' if field.required else ''}")
            self.grid.addWidget(label, row, 0)
            combo = QComboBox()
            combo.setObjectName(f"map_{field.name}")
            combo.setAccessibleName(f"Column for {field.label}")
            combo.addItem(NOT_MAPPED, "")
            for h in inspected.headers:
                combo.addItem(h, h)
            combo.setCurrentIndex(max(0, combo.findData(inspected.mapping.get(field.name, ""))))
            sample = QLabel()
            sample.setObjectName(f"sample_{field.name}")
            sample.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            combo.currentIndexChanged.connect(lambda _i, c=combo, s=sample: self._mapping_changed(c, s))
            self._mapping_changed(combo, sample)
            label.setBuddy(combo)
            self.grid.addWidget(combo, row, 1)
            self.grid.addWidget(sample, row, 2)
            self.combos[field.name] = combo
        self.grid.setRowStretch(len(inspected.fields) + 1, 1)

    def _mapping_changed(self, combo: QComboBox, sample: QLabel) -> None:
        inspected = self.plan.inspected
        header = combo.currentData() or ""
        text = inspected.samples.get(header, "") if inspected is not None and header else ""
        sample.setText(text[:40])
        self.completeChanged.emit()

    def mapping(self) -> dict[str, str]:
        return {name: combo.currentData() or "" for name, combo in self.combos.items()}

    def missing(self) -> list[str]:
        inspected = self.plan.inspected
        if inspected is None:
            return []
        mapping = self.mapping()
        out = [f.label for f in inspected.fields if f.required and not mapping.get(f.name)]
        if inspected.kind == "observations" and mapping.get("instrument"):  # the instrument names the code
            out = [m for m in out if m != next(f.label for f in inspected.fields if f.name == "code")]
        return out

    def isComplete(self) -> bool:  # noqa: N802
        if self.busy or self.plan.inspected is None:
            return False
        missing = self.missing()
        if missing:
            self.show_error("Choose the column for: " + ", ".join(missing) + ".")
            return False
        if self.save_check.isChecked() and not self.save_name.text().strip():
            self.show_error("Give the saved mapping a name, or untick “Save this mapping”.")
            return False
        self.error_label.hide()
        return True

    def validatePage(self) -> bool:  # noqa: N802
        plan = self.plan
        plan.mapping = self.mapping()
        plan.save_as = self.save_name.text().strip() if self.save_check.isChecked() else None
        plan.preview = None
        return True


class CheckPage(_WaitingPage):
    """Every row of the file validated (nothing written): the rejected rows, why, and the choice of what to do."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self.setTitle("Check the rows")
        self.setSubTitle("Every row is checked before anything is written.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        self.summary = paragraph("")
        self.summary.setObjectName("importCheckSummary")
        layout.addWidget(self.summary)
        self.problem_model, self.problem_view = _problem_table("importProblems")
        layout.addWidget(self.problem_view, 1)
        choice = QHBoxLayout()
        self.all_or_nothing = QRadioButton("Import only if every row is valid")
        self.all_or_nothing.setObjectName("importAllOrNothing")
        self.valid_only = QRadioButton("Import the valid rows; leave out the rejected ones")
        self.valid_only.setObjectName("importValidOnly")
        self.all_or_nothing.setChecked(True)
        self.valid_only.toggled.connect(lambda _c: self.completeChanged.emit())
        choice.addWidget(self.all_or_nothing)
        choice.addWidget(self.valid_only)
        choice.addStretch(1)
        self.save_report = QPushButton("Save the rejection report…")
        self.save_report.setObjectName("importSaveReport")
        self.save_report.clicked.connect(lambda: self.import_wizard.save_report(self.plan.preview.problems
                                                                                if self.plan.preview else None))
        choice.addWidget(self.save_report)
        layout.addLayout(choice)
        layout.addWidget(self.error_label)

    def initializePage(self) -> None:  # noqa: N802
        plan = self.plan
        self.summary.setText("")
        self.problem_model.set_records([])
        self.progress_label.setText("Checking the rows…")
        self.start(preview_job, plan.path, plan.kind, plan.practice, dict(plan.mapping), label="Checking the file")

    def loaded(self, preview: Preview) -> None:
        self.plan.preview = preview
        rejected = preview.rejected_rows
        labels = {f.name: f.label for f in field_specs(preview.mapping.kind)}
        formats = ", ".join(f"{labels.get(name, name)} as {DATE_FORMATS.get(fmt, (fmt,))[0]}"
                            for name, fmt in sorted(preview.mapping.date_formats.items()))
        text = f"{count(preview.total_rows, 'row')}; "
        text += f"{rejected:,} would be rejected (below, with why)." if rejected else "every row is valid."
        if formats:
            text += f" Dates read: {formats}."
        self.summary.setText(text)
        self.problem_model.set_records(_records(preview.problems, SHOWN_PROBLEMS))
        self.problem_view.setVisible(rejected > 0)
        for widget in (self.all_or_nothing, self.valid_only, self.save_report):
            widget.setVisible(rejected > 0)

    def isComplete(self) -> bool:  # noqa: N802
        preview = self.plan.preview
        if self.busy or preview is None:
            return False
        if preview.total_rows == 0:
            self.show_error("The file has no rows under its headers.")
            return False
        if preview.rejected_rows and not self.valid_only.isChecked():
            self.show_error("Some rows would be rejected: fix them in the file and start again, or choose to "
                            "import the valid rows only.")
            return False
        if preview.rejected_rows >= preview.total_rows:
            self.show_error("No row of the file is valid.")
            return False
        self.error_label.hide()
        return True

    def validatePage(self) -> bool:  # noqa: N802
        self.plan.valid_rows_only = self.valid_only.isChecked()
        return True


class RunPage(_WaitingPage):
    """The import itself: one transaction, with progress and a cancel that leaves the store as it was."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self.setTitle("Import")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Import")
        layout = QVBoxLayout(self)
        self.intro = paragraph("")
        layout.addWidget(self.intro)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        self.cancel_button = QPushButton("Cancel the import")
        self.cancel_button.setObjectName("importCancel")
        self.cancel_button.setToolTip("Stop now: nothing of this file is written")
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.cancelled_by_user = False

    def initializePage(self) -> None:  # noqa: N802
        plan = self.plan
        self.cancelled_by_user = False
        plan.result = None
        self.intro.setText(f"Importing {Path(plan.path).name} into {plan.practice}. Nothing is kept if you "
                           "cancel or the import fails.")
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.progress_label.setText("Starting…")
        self.start(import_job, plan.path, plan.kind, plan.practice, dict(plan.mapping), plan.valid_rows_only,
                   plan.save_as, label="Importing", write=True)

    def cancel(self) -> None:
        if self.busy:
            assert self.task is not None
            self.cancelled_by_user = True
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Stopping…")
            self.task.cancel()

    def loaded(self, result: ImportResult) -> None:
        self.plan.result = result
        self.cancel_button.hide()
        self.import_wizard.imported.emit(result)
        self.import_wizard.next()

    def on_cancelled(self) -> None:
        self.cancel_button.hide()
        self.show_error("Import cancelled: nothing of this file was written. Close the wizard or go through "
                        "it again.")

    def isComplete(self) -> bool:  # noqa: N802
        return self.plan.result is not None


class SummaryPage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.import_wizard = wizard
        self.setTitle("Done")
        layout = QVBoxLayout(self)
        self.summary = paragraph("")
        self.summary.setObjectName("importSummary")
        layout.addWidget(self.summary)
        self.problem_model, self.problem_view = _problem_table("importSummaryProblems")
        layout.addWidget(self.problem_view, 1)
        self.save_report = QPushButton("Save the rejection report…")
        self.save_report.setObjectName("importSummarySaveReport")
        self.save_report.clicked.connect(self._save)
        layout.addWidget(self.save_report, 0, Qt.AlignmentFlag.AlignLeft)

    def initializePage(self) -> None:  # noqa: N802
        result = self.import_wizard.plan.result
        if result is None:
            return
        self.summary.setText(summary_text(result))
        self.problem_model.set_records(_records(result.problems, SHOWN_PROBLEMS))
        self.problem_view.setVisible(result.rejected > 0)
        self.save_report.setVisible(result.rejected > 0)

    def _save(self) -> None:
        result = self.import_wizard.plan.result
        self.import_wizard.save_report(result.problems if result else None)


def summary_text(result: ImportResult) -> str:
    if not result.written:
        return (f"Nothing was written: {result.rejected:,} of {count(result.rows, 'row')} "
                f"{'was' if result.rejected == 1 else 'were'} rejected. Fix them in the "
                "file and import it again.")
    text = (f"Imported {result.file_name}: {result.added:,} added, {result.updated:,} updated, "
            f"{result.unchanged:,} already up to date, in {result.seconds:.1f} s.")
    if result.rejected:
        text += (f" {count(result.rejected, 'row')} {'was' if result.rejected == 1 else 'were'} left out (below, "
                 "with why); save the report to fix them.")
    return text + " The import can be undone from the import history."


class ImportWizard(QWizard):
    """Emits :attr:`imported` with the service's result once rows reached the store (or were all rejected)."""

    imported = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None, *, path: str | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.plan = ImportPlan()
        self.setObjectName("importWizard")
        self.setWindowTitle("Import a file")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.resize(860, 620)
        self.choose_page = ChooseFilePage(self)
        self.mapping_page = MappingPage(self)
        self.check_page = CheckPage(self)
        self.run_page = RunPage(self)
        self.summary_page = SummaryPage(self)
        for page in (self.choose_page, self.mapping_page, self.check_page, self.run_page, self.summary_page):
            self.addPage(page)
        if path:
            self.choose_page.path_edit.setText(path)

    def save_report(self, problems: pd.DataFrame | None) -> Path | None:
        if problems is None:
            return None
        name = Path(self.plan.path).stem + "-rejected.csv"
        target, _ = QFileDialog.getSaveFileName(
            self, "Save the rejection report (it quotes patient data: keep it private)", name, "CSV (*.csv)")
        if not target:
            return None
        try:
            return save_rejection_report(problems, target)
        except ServiceError as exc:
            self.currentPage().setSubTitle(str(exc))
            return None

    def reject(self) -> None:
        """Cancel while importing stops the import first (nothing is written), then closes."""
        if self.run_page.busy:
            self.run_page.cancel()
            assert self.run_page.task is not None
            self.run_page.task.done.connect(super().reject)
            return
        for page in (self.choose_page, self.mapping_page, self.check_page):
            page.cleanupPage()
        super().reject()
