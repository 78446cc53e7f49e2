"""Care gaps: the outreach worklist of a practice, one row per child with each actionable gap once.

Selecting a child shows each gap and why (which measure and rate, what is missing) and the outreach
attempts so far; "Log outreach" records a method, outcome and follow-up day for the selected children.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...services import letters as letters_service
from ...services import outreach as outreach_service
from ...services import worklist as worklist_service
from ...services.gap_source import GapSource
from ...services.permissions import role_allows
from ...services.practices import PracticeSummary
from ...wording import count
from ..itemmodels.gaps import (
    COLUMN_INDEX,
    ROW_ROLE,
    GapFilterProxy,
    GapTableModel,
)
from ..printing import Printable
from ..session import Session
from ..tasks import Task
from ..widgets import StateStack, StatTile, heading, paragraph
from .base import NUMBERS, Page
from .care_gaps_jobs import Attempt as Attempt
from .care_gaps_jobs import (
    GapQuery,
    GapsLoaded,
    OutreachSaved,
    load_gaps,
    load_practices,
    warm_gaps,
    write_export,
    write_letters,
)
from .care_gaps_jobs import save_outreach as save_outreach
from .care_gaps_widgets import ChildDetail, OutreachFigure, _label, _qdate
from .care_gaps_widgets import OutreachDialog as OutreachDialog

DUE_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("Any due date (upcoming: 30 days)", None), ("Due within 30 days", 30), ("Due within 60 days", 60), ("Due within 90 days", 90),
)
ANY = "All"

class CareGapsPage(Page):
    page_id = "care_gaps"
    requires = "patients.read"
    title = "Care gaps"
    icon_name = "care_gaps"
    tooltip = "Children due or overdue for recommended care: one row per child, with outreach"

    #: the worklist arrived (GapsLoaded)
    loaded = Signal(object)
    load_failed = Signal(str)
    #: outreach was logged for this many children
    outreach_saved = Signal(int)
    letters_written = Signal(object)  # Path
    #: an export finished: (path, rows)
    exported = Signal(object, int)
    export_failed = Signal(str)

    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)
    MISSING_MIN = 240
    watches = NUMBERS

    def __init__(self, session: Session, parent: QWidget | None = None, *, as_of: dt.date | None = None) -> None:
        super().__init__(session, parent)
        self.practices: list[PracticeSummary] = []
        self.result: GapsLoaded | None = None
        self.write_task: Task | None = None
        #: the scorecard's results and the store's frames, kept between loads: a practice switch only
        #: restricts them (services/gap_source.py); brought up to date from the journal after a write.
        #: Until the scorecard has computed the period, only the practice is read and evaluated (not the
        #: whole network a second time beside the scorecard's own computation)
        self.gap_source = GapSource(session.ctx, compute_missing=False)
        #: the background finding of the network's gaps before the page is first opened (:meth:`warm`)
        self.warm_task: Task | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(heading("Care gaps"))
        self.subtitle = paragraph("Children who still need a visit, vaccine or screening: one row per child.")
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
        self.due_combo.setToolTip("Only gaps due within this many days of the reference day (they show as "
                                  "upcoming), plus children whose deadline comes up in that window")
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
        self.overdue_tile = StatTile("Overdue", "Children whose soonest gap is past its due date (rows shown)")
        self.upcoming_tile = StatTile("Upcoming", "Children whose soonest gap falls due within the window "
                                                  "(30 days unless one is chosen)")
        self.open_tile = StatTile("Open", "Children whose gaps are due later (rows shown)")
        self.done_tile = StatTile("Contacted", "Children shown with at least one outreach attempt logged")
        self.follow_up_tile = StatTile("Due for follow-up", "Children whose newest attempt asked to try again "
                                                            "by today")
        for tile in (self.overdue_tile, self.upcoming_tile, self.open_tile, self.done_tile, self.follow_up_tile):
            tiles.addWidget(tile, 1)
        layout.addLayout(tiles)
        self.outreach_figure = OutreachFigure()
        layout.addWidget(self.outreach_figure)

        filters = QHBoxLayout()
        filters.setSpacing(8)
        self.filter_combos: dict[str, QComboBox] = {}
        for key, title, tip in (("measure", "Measure", "Show one measure only"),
                                ("provider", "Provider", "Show one primary care provider's patients"),
                                ("payer", "Payer", "Show one payer's patients"),
                                ("status", "Status", "Overdue, upcoming or open (by the soonest gap)")):
            combo = QComboBox()
            combo.setAccessibleName(f"{title} filter")
            combo.setToolTip(tip)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.addItem(f"{title}: {ANY}", None)
            combo.currentIndexChanged.connect(lambda _i, k=key: self._on_filter(k))
            self.filter_combos[key] = combo
            filters.addWidget(combo)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Find patient, MRN or gap")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("Find in the worklist")
        self.search_edit.setToolTip("Show only the children whose name, MRN or gaps contain this text")
        self.search_edit.textChanged.connect(self._on_search)
        filters.addWidget(self.search_edit, 1)
        self.follow_up_check = QCheckBox("Due for follow-up")
        self.follow_up_check.setAccessibleName("Only children due for follow-up")
        self.follow_up_check.setToolTip("Only the children whose newest outreach attempt asked to try again "
                                        "by today")
        self.follow_up_check.toggled.connect(self._on_follow_up)
        filters.addWidget(self.follow_up_check)
        self.hide_done_check = QCheckBox("Hide contacted")
        self.hide_done_check.setAccessibleName("Hide children already contacted")
        self.hide_done_check.setToolTip("Hide the children with an outreach attempt logged")
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
        self.table.setToolTip("Click a column heading to sort; select a child to see each gap and why; "
                              "select children and press Log outreach")
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
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        self.table.activated.connect(lambda _i: self.log_outreach())

        self.detail = ChildDetail()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        self.state = StateStack(splitter, loading="Evaluating the measures…", retry_name="Try loading the care gaps again",
                                on_retry=self.refresh)
        self.loading_view, self.empty_view = self.state.loading_view, self.state.empty_view
        self.error_view, self.error_label = self.state.error_view, self.state.error_label
        layout.addWidget(self.state, 1)

        actions = QHBoxLayout()
        self.action_message = QLabel("")
        self.action_message.setObjectName("pageText")
        self.action_message.setAccessibleName("Last action")
        actions.addWidget(self.action_message, 1)
        self.outreach_button = QPushButton("Log outreach…")
        self.outreach_button.setAccessibleName("Log outreach")
        self.outreach_button.setToolTip("Record how the families of the selected children were contacted, what "
                                        "came of it and when to try again (Enter on a row does the same)")
        self.outreach_button.clicked.connect(lambda: self.log_outreach())
        actions.addWidget(self.outreach_button)
        self.letters_button = QPushButton("Reminder letters…")
        self.letters_button.setAccessibleName("Reminder letters")
        self.letters_button.setToolTip("Write a reminder letter (PDF) for each selected child, in Spanish for "
                                       "Spanish-speaking families, and log it as letter outreach (sent)")
        letters_menu = QMenu(self.letters_button)
        letters_menu.addAction("One PDF to print (a page per child)…", lambda: self.write_letters())
        letters_menu.addAction("A PDF per child, in a folder…", lambda: self.write_letters(one_per_child=True))
        self.letters_button.setMenu(letters_menu)
        actions.addWidget(self.letters_button)
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the worklist")
        self.export_button.setToolTip("Save the children shown (one row each, with the last outreach) to Excel "
                                      "(.xlsx) or CSV for calls and letters")
        self.export_button.clicked.connect(lambda: self.export())
        actions.addWidget(self.export_button)
        layout.addLayout(actions)
        self._update_actions()

    # --- loading ------------------------------------------------------------------------------
    def warm(self) -> Task | None:
        """Find the network's gaps in the background (the window calls this once its first scorecard is
        shown), so the first worklist opened later only filters them. Quiet (nobody asked for it), a read
        (it cannot race a write: what it finds is keyed by the store's state, and a write since is caught up
        from the journal), cancelled when the window closes; a load of the page started meanwhile waits for
        it instead of finding the same gaps beside it. Nothing to do once the page has loaded itself."""
        if self.loaded_once or (self.warm_task is not None and not self.warm_task.is_done):
            return None
        if not role_allows(self.session.ctx, self.requires or "patients.read"):
            return None
        # the latest warm-up wins (a newer one cancels it); quiet: kept out of the status bar
        self.warm_task = self.latest.start("warm", warm_gaps, self.session.ctx, self.gap_source, self.current_query(),
                                           label="Preparing the care gaps", on_finished=lambda _found: None,
                                           run=functools.partial(self.session.tasks.run, quiet=True))
        return self.warm_task

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
        self.run_latest(load_gaps, self.session.ctx, query, self.gap_source, label="Finding care gaps",
                        on_finished=self._on_loaded,
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
        self.outreach_figure.show_results(result.outreach)
        failures = table.attrs.get("failures") or {}
        note = f" {len(failures)} measure(s) could not be evaluated." if failures else ""
        name = self.practice_combo.currentText()
        gaps = int(table["gap_count"].sum()) if len(table) else 0
        self.subtitle.setText(
            f"{len(table):,} children with {gaps:,} care gaps at {name} in {result.query.period.label}, as of "
            f"{result.query.as_of.isoformat()}. Select a child for each gap and why; log outreach for the "
            f"selected children.{note}")
        if len(table):
            self.state.setCurrentIndex(self.STATE_TABLE)
            self._fit_columns()
        else:
            self.empty_view.setText("No care gaps for this practice and window: every child is up to date.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
        self._update_counts()
        self._update_actions()
        self._on_selection()
        self.status_message.emit(f"{len(table):,} children with care gaps")
        self.loaded.emit(result)

    def _fit_columns(self) -> None:
        """Columns as wide as their content (first rows); "Missing" takes the rest, at least MISSING_MIN."""
        header = self.table.horizontalHeader()
        head_metrics = header.fontMetrics()
        missing = COLUMN_INDEX["gaps"]
        for column in range(self.model.columnCount()):
            if column == missing:
                continue
            title = self.model.headerData(column, Qt.Orientation.Horizontal)
            # sizeHintForColumn reads the first rows only (resize-contents precision) and counts the padding
            width = max(self.table.sizeHintForColumn(column) + 4, head_metrics.horizontalAdvance(title) + 34)
            if column == COLUMN_INDEX["last_outreach"]:  # often empty at first: room for an attempt logged later
                width = max(width, self.table.fontMetrics().horizontalAdvance("2026-12-31 call: no answer") + 16)
            header.resizeSection(column, min(width, 200))
        self._fit_missing()

    def _fit_missing(self) -> None:
        header = self.table.horizontalHeader()
        missing = COLUMN_INDEX["gaps"]
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
            if key == "measure":
                source = self.result.worklist.gaps if self.result is not None else table
                titles = dict(zip(source["measure"], source["measure_title"], strict=True)) if len(source) else {}
                values = sorted(titles)
            else:
                values = sorted({str(v) for v in table[key].dropna() if str(v)}) if key in table else []
            for value in values:
                label = value.capitalize() if key == "status" else value
                combo.addItem(label, value)
                if key == "measure":
                    combo.setItemData(combo.count() - 1, str(titles[value]), Qt.ItemDataRole.ToolTipRole)
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

    def _on_follow_up(self, only: bool) -> None:
        self.proxy.set_follow_up_only(only)
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
        counts["follow_up"] = int(np.count_nonzero(self.model.keys("follow_up")[self.proxy.mask(
            self.model, ignore=("status", "follow_up"))]))
        for tile, key in ((self.overdue_tile, "overdue"), (self.open_tile, "open"),
                          (self.upcoming_tile, "upcoming"), (self.done_tile, "done"),
                          (self.follow_up_tile, "follow_up")):
            tile.set_value(f"{counts[key]:,}")

    def _update_actions(self) -> None:
        busy = self.write_task is not None and not self.write_task.is_done
        selection = self.table.selectionModel()
        self.outreach_button.setEnabled(selection is not None and selection.hasSelection() and not busy)
        self.letters_button.setEnabled(self.outreach_button.isEnabled())
        self.export_button.setEnabled(self.result is not None and self.proxy.rowCount() > 0 and not busy)

    def selected_rows(self) -> list[dict[str, Any]]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [index.data(ROW_ROLE) for index in rows]

    # --- the selected child ------------------------------------------------------------------
    def _on_selection(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1 and self.result is not None:
            pid = int(rows[0]["patient_id"])
            attempts = self.result.attempts
            self.detail.show_child(rows[0], worklist_service.child_detail(self.result.worklist, pid),
                                   attempts[attempts["patient_id"] == pid])
        else:
            self.detail.show_nothing(len(rows))
        self._update_actions()

    # --- outreach -----------------------------------------------------------------------------
    def log_outreach(self, attempt: Attempt | None = None) -> Task | None:
        """Log one outreach attempt for each selected child; asks for method, outcome, follow-up and note
        unless ``attempt`` is given."""
        rows = self.selected_rows()
        if not rows or (self.write_task is not None and not self.write_task.is_done):
            return None
        patients = list(dict.fromkeys(int(r["patient_id"]) for r in rows))
        if attempt is None:
            who = rows[0]["patient_name"] if len(patients) == 1 else f"{len(patients)} children"
            dialog = OutreachDialog(f"Outreach for {who}.", self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            attempt = dialog.attempt()
        self.action_message.setText("Saving outreach…")
        gaps = (self.result.worklist.gaps, self.result.query.period) if self.result is not None else (None, None)
        task = self.session.write(save_outreach, self.session.ctx, patients, attempt, *gaps, label="Recording outreach",
                                  on_finished=self._on_outreach_saved, on_failed=self._on_action_failed)
        task.done.connect(self._update_actions)
        self.write_task = task
        self._update_actions()
        return task

    def write_letters(self, path: Path | str | None = None, one_per_child: bool = False) -> Task | None:
        """A reminder letter per selected child to ``path`` (one PDF, or with ``one_per_child`` a folder of one
        PDF per child; asked for when not given), each logged as a letter outreach attempt."""
        rows = self.selected_rows()
        if not rows or self.result is None or (self.write_task is not None and not self.write_task.is_done):
            return None
        query = self.result.query
        if path is None:
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the letters") if one_per_child else \
                QFileDialog.getSaveFileName(self, "Reminder letters", f"letters-{query.practice_code}-"
                                            f"{query.as_of.isoformat()}.pdf", "PDF (*.pdf)")[0]
            if not chosen:
                return None
            path = chosen
        target = Path(path) if one_per_child else Path(path).with_suffix(".pdf")
        patients = list(dict.fromkeys(int(r["patient_id"]) for r in rows))
        self.action_message.setText(f"Writing {len(patients)} letter(s)…")
        task = self.session.write(write_letters, self.session.ctx, query.practice_code, patients, target, query.as_of,
                                  one_per_child, label="Writing reminder letters", on_finished=self._on_letters_written,
                                  on_failed=self._on_action_failed)
        task.done.connect(self._update_actions)
        self.write_task = task
        self._update_actions()
        return task

    def _on_letters_written(self, written: letters_service.LettersWritten) -> None:
        day = written.letters[0].day
        self._on_outreach_saved(OutreachSaved([letter.patient_id for letter in written.letters], Attempt(
            "letter", letters_service.LETTER_OUTCOME, written.follow_up, "Reminder letter", day), written.change))
        skipped = f"; {len(written.skipped)} without an open gap skipped" if written.skipped else ""
        self.action_message.setText(f"{len(written.letters)} letter(s) written to {written.path.name} and "
                                    f"logged as outreach{skipped}.")
        self.letters_written.emit(written.path)

    def _on_outreach_saved(self, outcome: OutreachSaved) -> None:
        a = outcome.attempt
        text = outreach_service.attempt_text(a.method, a.outcome, a.on)
        today = dt.date.today()
        for patient_id in outcome.patient_ids:
            self.model.mark_attempt(patient_id, text, a.on, a.outcome, a.follow_up, today)
        if self.result is not None and outcome.patient_ids:
            new = pd.DataFrame({"activity_id": pd.Series([-1] * len(outcome.patient_ids), dtype="int64"),
                                "patient_id": pd.Series(outcome.patient_ids, dtype="int64"), "measure": None,
                                "activity_date": a.on, "note": a.note, "performed_by": self.session.ctx.username,
                                "method": a.method, "outcome": a.outcome, "follow_up_date": a.follow_up})
            attempts = pd.concat([new, self.result.attempts], ignore_index=True) if len(self.result.attempts) else new
            self.result = dataclasses.replace(self.result, attempts=attempts)
        if self.hide_done_check.isChecked() or self.follow_up_check.isChecked():
            self.proxy.refresh_filter()
        self._update_counts()
        n = len(outcome.patient_ids)
        self.action_message.setText(f"Outreach logged for {n} child{'ren' if n != 1 else ''}: {a.outcome}.")
        self.shown_already(outcome.change)  # the rows are updated: no need to evaluate the worklist again
        self._on_selection()
        self.outreach_saved.emit(n)

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
        # the children shown, in the order shown, with their outreach as it stands now
        table = pd.DataFrame(self.model.rows()).iloc[np.flatnonzero(self.model.shown_mask())]
        self.action_message.setText(f"Exporting {count(len(table), 'row')}…")
        task = self.session.tasks.run(write_export, self.session.ctx, self.result.worklist, table, target,
                                      label="Exporting care gaps", write=True)
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
