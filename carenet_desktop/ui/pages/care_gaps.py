"""Care gaps: the outreach worklist of children who are due or overdue, per practice."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...metrics.period import Period
from ...services import gaps as gap_service
from ...services import outreach as outreach_service
from ...services import practices as practice_service
from ...services.changes import Change
from ...services.context import Progress, ServiceContext, ServiceError
from ...services.practices import PracticeSummary
from ...wording import count
from ..itemmodels.gaps import COLUMN_INDEX, ROW_ROLE, GapFilterProxy, GapTableModel, row_keys, rows_from_frame
from ..printing import Printable
from ..session import Session
from ..tasks import Task
from ..widgets import StateStack, StatTile, heading, paragraph
from .base import NUMBERS, Page

DUE_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("Any due date", None), ("Due within 30 days", 30), ("Due within 60 days", 60), ("Due within 90 days", 90),
)
ANY = "All"


@dataclass(frozen=True)
class GapQuery:
    practice_code: str
    as_of: dt.date
    due_within: int | None

    @property
    def period(self) -> Period:
        return Period.year(self.as_of.year)


@dataclass(frozen=True)
class GapsLoaded:
    query: GapQuery
    table: pd.DataFrame
    #: the table as the model's rows and filter arrays, prepared on the worker
    rows: list[dict[str, Any]]
    keys: dict[str, np.ndarray]


def _ctx(ctx: ServiceContext, progress: Progress) -> ServiceContext:
    return dataclasses.replace(ctx, progress=progress)


def load_practices(progress: Progress, ctx: ServiceContext) -> list[PracticeSummary]:
    return practice_service.list_practices(_ctx(ctx, progress))


def load_gaps(progress: Progress, ctx: ServiceContext, query: GapQuery) -> GapsLoaded:
    """Runs on a worker: the worklist (audited as viewed) with the outreach already recorded this period."""
    sub = _ctx(ctx, progress.sub(0.0, 0.9))
    table = gap_service.care_gaps(sub, query.period, query.practice_code, due_within=query.due_within,
                                  as_of=query.as_of)
    progress.report(0.95, "Outreach recorded")
    done = outreach_service.outreach_done(ctx, practice_code=query.practice_code, since=query.period.start)
    table = outreach_service.mark_done(table, done)
    rows = rows_from_frame(table)
    return GapsLoaded(query, table, rows, row_keys(rows))


@dataclass(frozen=True)
class OutreachSaved:
    pairs: list[tuple[int, str]]  # (patient, measure) recorded
    change: Change


def save_outreach(progress: Progress, ctx: ServiceContext, pairs: list[tuple[int, str]], note: str,
                  on: dt.date) -> OutreachSaved:
    """Runs on the writer: one outreach activity per (patient, measure); returns the pairs recorded."""
    done: list[tuple[int, str]] = []
    change = Change.nothing()
    for i, (patient_id, measure) in enumerate(pairs):
        progress.report(i / max(len(pairs), 1), "Recording outreach")
        result = outreach_service.record_outreach(ctx, patient_id=patient_id, measure_id=measure, note=note,
                                                  date=on, today=max(on, dt.date.today()))
        if result.ok:
            done.append((patient_id, measure))
            change = change | result.change
        else:
            raise ServiceError("; ".join(e.message for e in result.errors))
    return OutreachSaved(done, change)


def write_export(progress: Progress, ctx: ServiceContext, table: pd.DataFrame, path: Path) -> int:
    """Runs on the writer: the shown rows to ``path`` (csv/xlsx), audited as an export."""
    progress.report(0.1, f"Writing {path.name}")
    outreach_service.export_worklist(ctx, table, path)
    return len(table)


class OutreachDialog(QDialog):
    """Asks for the note of an outreach (call, letter, portal message)."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Mark outreach done")
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(what))
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Outreach note")
        self.note.setPlaceholderText("What was done, e.g. called the parent, appointment booked for 12 July")
        self.note.setTabChangesFocus(True)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Mark done")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(460, 220)


class CareGapsPage(Page):
    page_id = "care_gaps"
    requires = "patients.read"
    title = "Care gaps"
    icon_name = "care_gaps"
    tooltip = "Children due or overdue for recommended care"

    #: the worklist arrived (GapsLoaded)
    loaded = Signal(object)
    load_failed = Signal(str)
    #: outreach was saved for this many (patient, measure) pairs
    outreach_saved = Signal(int)
    #: an export finished: (path, rows)
    exported = Signal(object, int)
    export_failed = Signal(str)

    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)
    MISSING_MIN = 200
    watches = NUMBERS

    def __init__(self, session: Session, parent: QWidget | None = None, *, as_of: dt.date | None = None) -> None:
        super().__init__(session, parent)
        self.practices: list[PracticeSummary] = []
        self.result: GapsLoaded | None = None
        self.write_task: Task | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(heading("Care gaps"))
        self.subtitle = paragraph("Children who still need a visit, vaccine or screening this year.")
        layout.addWidget(self.subtitle)

        query = QHBoxLayout()
        query.setSpacing(8)
        self.practice_combo = QComboBox()
        self.practice_combo.setAccessibleName("Practice")
        self.practice_combo.setToolTip("The practice whose worklist is shown")
        self.practice_combo.setMinimumWidth(240)
        self.practice_combo.currentIndexChanged.connect(lambda _i: self.reload())
        query.addWidget(_label("&Practice", self.practice_combo))
        query.addWidget(self.practice_combo, 1)
        self.as_of_edit = QDateEdit()
        self.as_of_edit.setCalendarPopup(True)
        self.as_of_edit.setDisplayFormat("yyyy-MM-dd")
        self.as_of_edit.setAccessibleName("Reference day")
        self.as_of_edit.setToolTip("Gaps are overdue when their due date is before this day; the measurement "
                                   "period is this day's calendar year")
        self.as_of_edit.setDate(_qdate(as_of or dt.date.today()))
        # typing a date changes it digit by digit: evaluate once the user pauses
        self._date_timer = QTimer(self)
        self._date_timer.setSingleShot(True)
        self._date_timer.setInterval(400)
        self._date_timer.timeout.connect(self.reload)
        self.as_of_edit.dateChanged.connect(lambda _d: self._date_timer.start())
        query.addWidget(_label("&As of", self.as_of_edit))
        query.addWidget(self.as_of_edit)
        self.due_combo = QComboBox()
        self.due_combo.setAccessibleName("Due within")
        self.due_combo.setToolTip("Only gaps due within this many days of the reference day, plus children "
                                  "whose deadline comes up in that window")
        for text, days in DUE_CHOICES:
            self.due_combo.addItem(text, days)
        self.due_combo.currentIndexChanged.connect(lambda _i: self.reload())
        query.addWidget(self.due_combo)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh care gaps")
        self.refresh_button.setToolTip("Evaluate the measures and read the worklist again (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        query.addWidget(self.refresh_button)
        query.addStretch(1)
        layout.addLayout(query)

        tiles = QHBoxLayout()
        tiles.setSpacing(12)
        self.overdue_tile = StatTile("Overdue", "Gaps whose due date has passed (rows shown)")
        self.open_tile = StatTile("Open", "Gaps not yet due (rows shown)")
        self.upcoming_tile = StatTile("Upcoming", "Children whose deadline falls within the chosen window")
        self.done_tile = StatTile("Outreach done", "Rows shown whose family was already contacted this year")
        for tile in (self.overdue_tile, self.open_tile, self.upcoming_tile, self.done_tile):
            tiles.addWidget(tile, 1)
        layout.addLayout(tiles)

        filters = QHBoxLayout()
        filters.setSpacing(8)
        self.filter_combos: dict[str, QComboBox] = {}
        for key, title, tip in (("measure", "Measure", "Show one measure only"),
                                ("provider", "Provider", "Show one primary care provider's patients"),
                                ("payer", "Payer", "Show one payer's patients"),
                                ("status", "Status", "Overdue, open or upcoming")):
            combo = QComboBox()
            combo.setAccessibleName(f"{title} filter")
            combo.setToolTip(tip)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.addItem(f"{title}: {ANY}", None)
            combo.currentIndexChanged.connect(lambda _i, k=key: self._on_filter(k))
            self.filter_combos[key] = combo
            filters.addWidget(combo)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Find patient, MRN or what is missing")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("Find in the worklist")
        self.search_edit.setToolTip("Show only the rows whose patient, MRN or missing care contains this text")
        self.search_edit.textChanged.connect(self._on_search)
        filters.addWidget(self.search_edit, 1)
        self.hide_done_check = QCheckBox("Hide done")
        self.hide_done_check.setAccessibleName("Hide rows with outreach done")
        self.hide_done_check.setToolTip("Hide the gaps whose family was already contacted")
        self.hide_done_check.toggled.connect(self._on_hide_done)
        filters.addWidget(self.hide_done_check)
        layout.addLayout(filters)

        self.model = GapTableModel(parent=self)
        self.proxy = GapFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        # counts are refreshed by each action that changes them (not per proxy row signal: a filter
        # change emits one rowsRemoved per range, and each recount is a pass over the whole list)
        self.table = QTableView()
        self.table.setObjectName("careGapTable")
        self.table.setAccessibleName("Care gaps")
        self.table.setToolTip("Click a column heading to sort; select rows and press Mark outreach done")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMN_INDEX["due_date"], Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(56)
        header.setStretchLastSection(False)
        header.setResizeContentsPrecision(300)  # widths from the first rows, not all of them
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.table.activated.connect(lambda _i: self.mark_outreach_done())

        self.state = StateStack(self.table, loading="Evaluating the measures…", retry_name="Try loading the care gaps again",
                                on_retry=self.refresh)
        self.loading_view, self.empty_view = self.state.loading_view, self.state.empty_view
        self.error_view, self.error_label = self.state.error_view, self.state.error_label
        layout.addWidget(self.state, 1)

        actions = QHBoxLayout()
        self.action_message = QLabel("")
        self.action_message.setObjectName("pageText")
        self.action_message.setAccessibleName("Last action")
        actions.addWidget(self.action_message, 1)
        self.outreach_button = QPushButton("Mark outreach done…")
        self.outreach_button.setAccessibleName("Mark outreach done")
        self.outreach_button.setToolTip("Record that the family of the selected rows was contacted, with a note "
                                        "(Enter on a row does the same)")
        self.outreach_button.clicked.connect(lambda: self.mark_outreach_done())
        actions.addWidget(self.outreach_button)
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the worklist")
        self.export_button.setToolTip("Save the rows shown to Excel (.xlsx) or CSV for outreach calls and letters")
        self.export_button.clicked.connect(lambda: self.export())
        actions.addWidget(self.export_button)
        layout.addLayout(actions)
        self._update_actions()

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        self.state.setCurrentIndex(self.STATE_LOADING)
        self.loading_view.setText("Reading the practices…")
        self.run_latest(load_practices, self.session.ctx, slot="practices", label="Loading practices",
                        on_finished=self._on_practices, on_failed=self._on_failed)

    def refresh(self) -> None:
        if not self.practices:
            self.load()
        else:
            self.reload()

    def _on_practices(self, practices: list[PracticeSummary]) -> None:
        current = self.current_query().practice_code if self.practice_combo.count() else None
        self.practices = practices
        self.practice_combo.blockSignals(True)
        self.practice_combo.clear()
        for p in practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.code)
        if current is not None and (i := self.practice_combo.findData(current)) >= 0:
            self.practice_combo.setCurrentIndex(i)
        self.practice_combo.blockSignals(False)
        if not practices:
            self.empty_view.setText("This database has no practices yet.\n\nBuild a synthetic demo network with   "
                                    "carenet demo   or import patient data first.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
            return
        self.reload()

    def printable(self) -> Printable | None:
        """The worklist as filtered and sorted on screen (it holds names: printed for the outreach staff)."""
        if self.state.currentIndex() != self.STATE_TABLE:
            return None
        return Printable(f"Care gaps · {self.practice_combo.currentText()}", self.subtitle.text(), self.proxy,
                         note="Confidential: names of children. Shred after use.")

    def current_query(self) -> GapQuery:
        qd = self.as_of_edit.date()
        return GapQuery(self.practice_combo.currentData() or "", dt.date(qd.year(), qd.month(), qd.day()),
                        self.due_combo.currentData())

    def reload(self) -> None:
        """Evaluate and read the worklist for the chosen practice, day and window (off the GUI thread)."""
        if not self.practices or not self.practice_combo.currentData():
            return
        query = self.current_query()
        self.state.setCurrentIndex(self.STATE_LOADING)
        self.loading_view.setText(f"Evaluating the measures for {query.practice_code}…")
        self.refresh_button.setEnabled(False)
        self.run_latest(load_gaps, self.session.ctx, query, label="Finding care gaps", on_finished=self._on_loaded,
                        on_failed=self._on_failed, on_progress=self._on_progress)

    def _on_progress(self, fraction: float, message: str) -> None:
        if message:
            self.loading_view.setText(f"{message}…")

    def _on_loaded(self, result: GapsLoaded) -> None:
        self.result = result
        self.refresh_button.setEnabled(True)
        table = result.table
        self.model.set_rows(result.rows, result.keys)
        self._fill_filters(table)
        failures = table.attrs.get("failures") or {}
        note = f" {len(failures)} measure(s) could not be evaluated." if failures else ""
        name = self.practice_combo.currentText()
        self.subtitle.setText(
            f"{len(table):,} care gaps at {name} in {result.query.period.label}, as of "
            f"{result.query.as_of.isoformat()}. Select rows and mark outreach done; sort by any column.{note}")
        if len(table):
            self.state.setCurrentIndex(self.STATE_TABLE)
            self._fit_columns()
        else:
            self.empty_view.setText("No care gaps for this practice and window: every child is up to date.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
        self._update_counts()
        self._update_actions()
        self.status_message.emit(f"{len(table):,} care gaps")
        self.loaded.emit(result)

    def _fit_columns(self) -> None:
        """Columns as wide as their content (first rows); "Missing" takes the rest, at least MISSING_MIN."""
        header = self.table.horizontalHeader()
        head_metrics = header.fontMetrics()
        missing = COLUMN_INDEX["missing"]
        for column in range(self.model.columnCount()):
            if column == missing:
                continue
            title = self.model.headerData(column, Qt.Orientation.Horizontal)
            # sizeHintForColumn reads the first rows only (resize-contents precision) and counts the padding
            width = max(self.table.sizeHintForColumn(column) + 4, head_metrics.horizontalAdvance(title) + 34)
            if column == COLUMN_INDEX["outreach_on"]:  # often empty at first: room for a mark made later
                width = max(width, self.table.fontMetrics().horizontalAdvance("✓ 2026-12-31") + 28)
            header.resizeSection(column, min(width, 180))
        self._fit_missing()

    def _fit_missing(self) -> None:
        header = self.table.horizontalHeader()
        missing = COLUMN_INDEX["missing"]
        others = sum(header.sectionSize(c) for c in range(self.model.columnCount()) if c != missing)
        header.resizeSection(missing, max(self.MISSING_MIN, self.table.viewport().width() - others))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.model.rowCount():
            self._fit_missing()

    def _on_failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.error_label.setText(f"The care gaps could not be read.\n\n{message}")
        self.state.setCurrentIndex(self.STATE_ERROR)
        self.status_message.emit("Could not read the care gaps")
        self.load_failed.emit(message)

    # --- filters and counts -------------------------------------------------------------------
    def _fill_filters(self, table: pd.DataFrame) -> None:
        for key, combo in self.filter_combos.items():
            kept = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            values = sorted({str(v) for v in table[key].dropna() if str(v)}) if key in table else []
            for value in values:
                label = value.capitalize() if key == "status" else value
                combo.addItem(label, value)
                if key == "measure":
                    title = table.loc[table["measure"] == value, "measure_title"].iloc[0]
                    combo.setItemData(combo.count() - 1, str(title), Qt.ItemDataRole.ToolTipRole)
            i = combo.findData(kept) if kept is not None else 0
            combo.setCurrentIndex(max(i, 0))
            combo.blockSignals(False)
        self.proxy.set_filters({key: combo.currentData() for key, combo in self.filter_combos.items()})

    def set_filter(self, key: str, value: str | None) -> None:
        """Choose a filter value as the user would in its combo box (``None`` = all)."""
        combo = self.filter_combos[key]
        combo.setCurrentIndex(max(combo.findData(value), 0) if value is not None else 0)

    def _on_filter(self, key: str) -> None:
        self.proxy.set_filter(key, self.filter_combos[key].currentData())
        self._filters_changed()

    def _on_search(self, text: str) -> None:
        self.proxy.set_text(text)
        self._filters_changed()

    def _on_hide_done(self, hide: bool) -> None:
        self.proxy.set_hide_done(hide)
        self._filters_changed()

    def _filters_changed(self) -> None:
        self._update_counts()
        self._update_actions()

    def visible_rows(self) -> list[dict[str, Any]]:
        return [self.proxy.index(i, 0).data(ROW_ROLE) for i in range(self.proxy.rowCount())]

    def _update_counts(self, *_args: object) -> None:
        """Tiles count the rows passing every filter but the status one (the status filter picks a tile)."""
        mask = self.proxy.mask(self.model, ignore=("status",))
        statuses = self.model.keys("status")[mask]
        counts = {status: int(np.count_nonzero(statuses == status)) for status in ("overdue", "open", "upcoming")}
        counts["done"] = int(np.count_nonzero(self.model.keys("done")[mask]))
        for tile, key in ((self.overdue_tile, "overdue"), (self.open_tile, "open"),
                          (self.upcoming_tile, "upcoming"), (self.done_tile, "done")):
            tile.set_value(f"{counts[key]:,}")

    def _update_actions(self) -> None:
        busy = self.write_task is not None and not self.write_task.is_done
        selection = self.table.selectionModel()
        self.outreach_button.setEnabled(selection is not None and selection.hasSelection() and not busy)
        self.export_button.setEnabled(self.result is not None and self.proxy.rowCount() > 0 and not busy)

    def selected_rows(self) -> list[dict[str, Any]]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [index.data(ROW_ROLE) for index in rows]

    # --- outreach -----------------------------------------------------------------------------
    def mark_outreach_done(self, note: str | None = None) -> Task | None:
        """Record outreach for the selected rows' (patient, measure); asks for the note unless given."""
        rows = self.selected_rows()
        if not rows or (self.write_task is not None and not self.write_task.is_done):
            return None
        pairs = list(dict.fromkeys((int(r["patient_id"]), str(r["measure"])) for r in rows))
        if note is None:
            who = rows[0]["patient_name"] if len(pairs) == 1 else f"{len(pairs)} patients/measures"
            dialog = OutreachDialog(f"Outreach for {who} ({', '.join(sorted({m for _, m in pairs}))}).", self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            note = dialog.note.toPlainText()
        on = dt.date.today()  # outreach is recorded on the day it is done, whatever the reference day
        self.action_message.setText("Saving outreach…")
        task = self.session.write(save_outreach, self.session.ctx, pairs, note.strip(), on, label="Recording outreach",
                                  on_finished=lambda saved: self._on_outreach_saved(saved, on, note.strip()),
                                  on_failed=self._on_action_failed)
        task.done.connect(self._update_actions)
        self.write_task = task
        self._update_actions()
        return task

    def _on_outreach_saved(self, outcome: OutreachSaved, on: dt.date, note: str) -> None:
        saved = outcome.pairs
        rows = sum(self.model.mark_outreach(patient_id, measure, on, note) for patient_id, measure in saved)
        if self.hide_done_check.isChecked():
            self.proxy.refresh_filter()
        self._update_counts()
        self.action_message.setText(
            f"Outreach recorded for {len(saved)} patient/measure pair{'s' if len(saved) != 1 else ''} "
            f"({rows} row{'s' if rows != 1 else ''}).")
        self.shown_already(outcome.change)  # the rows are marked: no need to evaluate the worklist again
        self.outreach_saved.emit(len(saved))

    def _on_action_failed(self, message: str) -> None:
        self.action_message.setText(f"Not saved: {message}")
        self.export_failed.emit(message)

    # --- export -------------------------------------------------------------------------------
    def export(self, path: Path | str | None = None) -> Task | None:
        """Save the rows shown to ``path`` (.xlsx or .csv); asks for the file when no path is given."""
        if self.result is None or not self.proxy.rowCount():
            return None
        if path is None:
            suggested = f"care-gaps-{self.result.query.practice_code}-{self.result.query.as_of.isoformat()}.xlsx"
            chosen, _ = QFileDialog.getSaveFileName(self, "Export care gaps", suggested,
                                                    "Excel workbook (*.xlsx);;CSV (*.csv)")
            if not chosen:
                return None
            path = chosen
        target = Path(path)
        if target.suffix.lower() not in (".xlsx", ".csv"):
            target = target.with_suffix(".xlsx")
        table = self.result.table.iloc[self.model.shown_positions()]  # the rows shown, in the order shown
        table.attrs = dict(self.result.table.attrs)
        self.action_message.setText(f"Exporting {count(len(table), 'row')}…")
        task = self.session.tasks.run(write_export, self.session.ctx, table, target, label="Exporting care gaps",
                                      write=True)
        task.finished.connect(lambda n: self._on_exported(target, n))
        task.failed.connect(self._on_action_failed)
        task.done.connect(self._update_actions)
        self.write_task = task
        self._update_actions()
        return task

    def _on_exported(self, path: Path, rows: int) -> None:
        self.action_message.setText(f"Exported {count(rows, 'row')} to {path.name}.")
        self.status_message.emit(f"Exported {rows:,} care gaps to {path}")
        self.exported.emit(path, rows)


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    return label
