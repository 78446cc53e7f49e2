"""Imports: the import wizard over the intake services, and the history of imports with undo."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...services.changes import Area
from ...services.context import Progress, ServiceContext
from ...services.fhir_import import ImportResult as FhirResult
from ...services.fhir_import import import_fhir
from ...services.intake import ImportSummary, UndoResult, list_imports, undo_import
from ...services.intake_mapping import KIND_LABELS
from ...services.practices import list_practices
from ...wording import count
from ..import_wizard import ImportWizard
from ..itemmodels.records import RecordColumn, RecordTableModel
from ..session import Session
from ..widgets import StateStack, heading, list_table, paragraph
from .base import Page

STATUS_LABELS = {"done": "Imported", "rejected": "Rejected, nothing written", "undone": "Undone",
                 "failed": "Failed, nothing written", "running": "Running"}


def load_history(progress: Progress, ctx: ServiceContext) -> list[dict[str, Any]]:
    rows: list[ImportSummary] = list_imports(dataclasses.replace(ctx, progress=progress), limit=200)
    return [dataclasses.asdict(r) for r in rows]


def undo_job(progress: Progress, ctx: ServiceContext, import_id: int) -> UndoResult:
    return undo_import(dataclasses.replace(ctx, progress=progress), import_id)


def fhir_job(progress: Progress, ctx: ServiceContext, paths: list[str], practice: str) -> FhirResult:
    return import_fhir(dataclasses.replace(ctx, progress=progress), paths, practice)


HOLDS_LABELS = {**KIND_LABELS, "valueset": "Value sets", "demo": "Demo network", "fhir": "FHIR records",
                "submission": "Submission package"}


def _files(record: dict[str, Any]) -> str:
    """File names only (a value-set load lists whole paths); the whole text is the cell's tooltip."""
    names = [Path(part.strip()).name for part in str(record.get("file_name") or "").split(",") if part.strip()]
    return ", ".join(names)


def _text(key: str) -> Any:
    return lambda r: "" if r.get(key) is None else str(r[key])


HISTORY_COLUMNS = (
    RecordColumn("When", "When the import started (UTC)",
                 lambda r: r["started_at"].strftime("%Y-%m-%d %H:%M"), sort=lambda r: r["started_at"]),
    RecordColumn("File", "The file imported", _files, row_tooltip=lambda r: r.get("file_name")),
    RecordColumn("Holds", "What the file held",
                 lambda r: HOLDS_LABELS.get(str(r.get("records") or r["kind"]), str(r.get("records") or r["kind"]))),
    RecordColumn("Practice", "The practice the rows belong to", _text("practice_code")),
    RecordColumn("By", "Who imported it", _text("username")),
    RecordColumn("Result", "Imported, rejected (nothing written) or undone",
                 lambda r: STATUS_LABELS.get(r["status"], r["status"])),
    RecordColumn("Added", "Rows added", lambda r: f"{r['added']:,}", sort=lambda r: r["added"], align_right=True),
    RecordColumn("Updated", "Rows changed", lambda r: f"{r['updated']:,}", sort=lambda r: r["updated"],
                 align_right=True),
    RecordColumn("Rejected", "Rows rejected", lambda r: f"{r['rejected']:,}", sort=lambda r: r["rejected"],
                 align_right=True),
)


class ImportsPage(Page):
    page_id = "imports"
    requires = "patients.write"
    title = "Imports"
    icon_name = "imports"
    tooltip = "Bring in EHR exports: choose a file, match its columns, check, import"

    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)
    watches = frozenset({Area.IMPORTS})

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.wizard: ImportWizard | None = None
        self.fhir_task: Any = None
        self.last_fhir_result: FhirResult | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(12)
        layout.addWidget(heading(self.title))
        layout.addWidget(paragraph(
            "Bring in an export from your EHR (CSV or Excel): patients, visits, immunizations, diagnoses, results "
            "and screenings, medications or referrals. Every row is checked before anything is written, and an "
            "import can be undone."))
        buttons = QHBoxLayout()
        self.import_button = QPushButton("Import a file…")
        self.import_button.setObjectName("importFileButton")
        self.import_button.setProperty("primary", True)
        self.import_button.setToolTip("Open the import wizard")
        self.import_button.clicked.connect(lambda: self.open_wizard())
        buttons.addWidget(self.import_button)
        self.fhir_button = QPushButton("Import FHIR files…")
        self.fhir_button.setObjectName("importFhirButton")
        self.fhir_button.setToolTip("FHIR R4 bundles (.json) or a bulk-data export (.ndjson) from the EHR")
        self.fhir_button.clicked.connect(lambda: self.import_fhir_files())
        buttons.addWidget(self.fhir_button)
        self.undo_button = QPushButton("Undo the selected import")
        self.undo_button.setObjectName("undoImportButton")
        self.undo_button.setToolTip("Remove the rows the import added and put back the values it changed")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo_selected)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(heading("History", "sectionTitle"))
        self.model = RecordTableModel(HISTORY_COLUMNS)
        self.table = list_table(self.model, "importHistory", "Import history")
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.model.modelReset.connect(self.table.resizeColumnsToContents)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.state = StateStack(self.table, loading="Reading the import history…", retry_name="Read the history again",
                                on_retry=self.load,
                                empty="No imports yet. Choose “Import a file…” to bring in your EHR's export.")
        layout.addWidget(self.state, 1)

    # --- history ------------------------------------------------------------------------------
    def load(self) -> None:
        self.state.setCurrentIndex(self.STATE_LOADING)
        self.run_latest(load_history, self.session.ctx, label="Reading the import history",
                        on_finished=self._on_history, on_failed=self._on_failed)

    def _on_history(self, rows: list[dict[str, Any]]) -> None:
        self.model.set_records(rows)
        self.state.setCurrentIndex(self.STATE_TABLE if rows else self.STATE_EMPTY)
        self._update_actions()

    def _on_failed(self, message: str) -> None:
        self.state.error_label.setText(message)
        self.state.setCurrentIndex(self.STATE_ERROR)

    def selected(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.record(rows[0].row()) if rows else None

    def _update_actions(self) -> None:
        record = self.selected()
        self.undo_button.setEnabled(record is not None and record["status"] == "done")

    # --- actions ------------------------------------------------------------------------------
    def open_wizard(self, path: str | None = None) -> ImportWizard:
        """Open the wizard (non-modal, so the rest of the window stays usable while a large file imports)."""
        if self.wizard is not None and self.wizard.isVisible():
            self.wizard.raise_()
            return self.wizard
        self.wizard = ImportWizard(self.session, self, path=path)
        self.wizard.imported.connect(self._on_imported)
        self.wizard.show()
        return self.wizard

    def _on_imported(self, result: Any) -> None:
        """The wizard's import ended (the session announces what it wrote: the history here reloads)."""
        self.status_message.emit(f"Imported {result.file_name}" if result.written else "Import rejected")

    def import_fhir_files(self, paths: list[str] | None = None, practice: str | None = None) -> None:
        """FHIR files need no column matching: choose them and the practice, then they import with progress."""
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Choose FHIR files", "",
                                                    "FHIR (*.json *.ndjson);;All files (*)")
        if not paths:
            return
        if practice is None:
            codes = [p.code for p in list_practices(self.session.ctx)]
            if not codes:
                QMessageBox.information(self, "Import FHIR files", "Create the practice first: import its patient "
                                        "list with “Import a file…”, or build the demo network.")
                return
            practice, ok = QInputDialog.getItem(self, "Import FHIR files", "Practice these records belong to:",
                                                codes, 0, False)
            if not ok:
                return
        self.fhir_button.setEnabled(False)
        self.status_message.emit(f"Importing {len(paths)} FHIR file(s)…")
        self.fhir_task = self.session.write(fhir_job, self.session.ctx, list(paths), practice,
                                            label="Importing FHIR files", on_finished=self._on_fhir_done,
                                            on_failed=self._on_fhir_failed)

    def _on_fhir_done(self, result: FhirResult) -> None:
        self.fhir_button.setEnabled(True)
        self.last_fhir_result = result
        self.status_message.emit(f"FHIR import: {result.summary}")

    def _on_fhir_failed(self, message: str) -> None:
        self.fhir_button.setEnabled(True)
        self.last_fhir_result = None
        QMessageBox.warning(self, "Import FHIR files", message)

    def undo_selected(self) -> None:
        record = self.selected()
        if record is None:
            return
        answer = QMessageBox.question(
            self, "Undo the import",
            f"Undo the import of {record['file_name']} ({record['added']:,} added, {record['updated']:,} "
            "updated)? The rows it added are removed and the values it changed are put back.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.undo_button.setEnabled(False)
        self.session.write(undo_job, self.session.ctx, record["id"], label="Undoing the import",
                           on_finished=self._on_undone, on_failed=self._on_undo_failed)

    def _on_undone(self, result: UndoResult) -> None:
        self.status_message.emit(f"Import undone: {count(result.deleted, 'row')} removed, {result.restored:,} restored")

    def _on_undo_failed(self, message: str) -> None:
        QMessageBox.warning(self, "Undo the import", message)
        self._update_actions()
