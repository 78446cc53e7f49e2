"""Patients: find a child by name, MRN or birth date; open their page (demographics, measure status, timeline).

Searching runs on a worker 250 ms after typing stops; the latest search wins (an older one's results are
dropped when they arrive late), and each search has a number its further pages are asked for with. The table holds one page of results at first and asks for the
next page when scrolled to its end (:class:`PatientListModel`), so 250,000 patients cost one page.
Other screens open a patient with :meth:`PatientsPage.open_patient` (the main window's ``show_patient``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...metrics.period import Period
from ...services import patients as patient_service
from ...services import practices as practice_service
from ...services.context import Progress, ServiceContext
from ...services.entry import EntryResult
from ...services.patients import PatientDetail, PatientRow
from ...services.permissions import can
from ...services.practices import PracticeSummary
from ...wording import count
from ..itemmodels.patients import ROW_ROLE, PatientListModel
from ..measure_help import short_texts
from ..printing import Printable
from ..session import Session
from ..tasks import Task
from ..widgets import StateStack, heading, list_table, paragraph
from .base import NUMBERS, Page
from .measure_key import MeasureKey
from .patient_contacts import ContactsDialog, save_contacts
from .patient_view import PatientView

DEBOUNCE_MS = 250
PAGE_SIZE = 200


@dataclass(frozen=True)
class SearchResult:
    text: str
    practice_ids: tuple[int, ...]
    rows: list[PatientRow]
    total: int
    description: str


def _ctx(ctx: ServiceContext, progress: Progress) -> ServiceContext:
    return dataclasses.replace(ctx, progress=progress)


def load_practices(progress: Progress, ctx: ServiceContext) -> list[PracticeSummary]:
    return practice_service.list_practices(_ctx(ctx, progress))


def run_search(progress: Progress, ctx: ServiceContext, text: str, practice_ids: tuple[int, ...],
               limit: int) -> SearchResult:
    """Runs on a worker: the first page of matches and how many there are."""
    criteria = patient_service.parse_search(text)
    rows = patient_service.search_patients(ctx, criteria, practice_ids, 0, limit)
    progress.check()
    total = len(rows) if len(rows) < limit else patient_service.count_patients(ctx, criteria, practice_ids)
    return SearchResult(text, practice_ids, rows, total, criteria.description)


def fetch_page(progress: Progress, ctx: ServiceContext, text: str, practice_ids: tuple[int, ...], offset: int,
               limit: int) -> list[PatientRow]:
    progress.check()
    return patient_service.search_patients(ctx, text, practice_ids, offset, limit)


@dataclass(frozen=True)
class PatientsPlace:
    """Where the user was on the Patients page (for Back): a patient's page (its period and the rate it was
    opened from), or the list with its search, selected row and scroll position."""

    patient_id: int | None
    period: Period | None
    origin: MeasureKey | None
    search: str
    practice_id: int | None
    row: int
    scroll: int


def load_patient(progress: Progress, ctx: ServiceContext, patient_id: int, period: Period | None,
                 as_of: dt.date) -> PatientDetail:
    """Runs on a worker: the record and the status in every measure (this patient's data only)."""
    return patient_service.patient_detail(_ctx(ctx, progress), patient_id, period=period, as_of=as_of)


class PatientsPage(Page):
    page_id = "patients"
    requires = "patients.read"
    title = "Patients"
    icon_name = "patients"
    tooltip = "Find a patient; see their history and measure status"

    #: the first page of a search arrived (SearchResult)
    loaded = Signal(object)
    load_failed = Signal(str)
    #: a patient's page is filled (PatientDetail)
    patient_loaded = Signal(object)
    patient_failed = Signal(str)
    #: a further page of results was appended (rows now shown)
    page_loaded = Signal(int)
    #: the patient page's Back when the window has a place behind (it goes there, as its own Back does)
    back_requested = Signal()

    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)
    VIEW_LIST, VIEW_PATIENT = range(2)
    watches = NUMBERS

    def __init__(self, session: Session, parent: QWidget | None = None, *, as_of: dt.date | None = None,
                 page_size: int = PAGE_SIZE) -> None:
        super().__init__(session, parent)
        self.as_of = as_of
        self.page_size = page_size
        self.practices: list[PracticeSummary] = []
        self.generation = 0
        self.result: SearchResult | None = None
        self.patient_id: int | None = None
        self._back_title: str | None = None  # where the window's Back leads (None: nowhere)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.views = QStackedWidget()
        outer.addWidget(self.views)

        list_view = QWidget()
        layout = QVBoxLayout(list_view)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(heading("Patients"))
        layout.addWidget(paragraph("Find a child by name, MRN or birth date; Enter or a double-click opens their "
                                   "page with the timeline of their care and their status in every measure."))
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("patientSearch")
        self.search_edit.setPlaceholderText("Name, MRN or birth date (2019-03-14 or 03/14/2019)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("Search patients")
        self.search_edit.setToolTip("Part of a name (every word must match), part of an MRN, or a birth date as "
                                    "2019-03-14 or 03/14/2019. Down arrow moves to the results.")
        self.search_edit.textChanged.connect(self._on_search_typed)
        self.search_edit.returnPressed.connect(self._on_search_return)
        self._open_single_match = False
        self.search_edit.installEventFilter(self)
        search_label = QLabel("&Find")
        search_label.setBuddy(self.search_edit)
        bar.addWidget(search_label)
        bar.addWidget(self.search_edit, 3)
        self.practice_combo = QComboBox()
        self.practice_combo.setAccessibleName("Practice filter")
        self.practice_combo.setToolTip("Search every practice, or one practice only")
        self.practice_combo.setMinimumWidth(240)
        self.practice_combo.currentIndexChanged.connect(lambda _i: self.search_now())
        practice_label = QLabel("&Practice")
        practice_label.setBuddy(self.practice_combo)
        bar.addWidget(practice_label)
        bar.addWidget(self.practice_combo, 1)
        layout.addLayout(bar)
        self.count_label = QLabel("")
        self.count_label.setObjectName("pageText")
        self.count_label.setAccessibleName("Number of patients found")
        layout.addWidget(self.count_label)

        self._debounce: QTimer = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.search_now)

        self.model = PatientListModel(self, today=self._today)
        self.model.page_wanted.connect(self._fetch_page)
        self.table = list_table(self.model, "patientTable", "Patients found")
        self.table.setSortingEnabled(False)  # the store orders the rows (by name, or by MRN for an MRN search)
        self.table.setToolTip("Enter or double-click opens the patient's page")
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((230, 120, 100, 70, 70, 80, 200)):
            header.resizeSection(column, width)
        self.table.activated.connect(lambda index: self._open_row(index.row()))
        self.state = StateStack(self.table, loading="Reading the patients…", retry_name="Try the search again",
                                on_retry=self.refresh)
        self.loading_view, self.empty_view = self.state.loading_view, self.state.empty_view
        self.error_view, self.error_label = self.state.error_view, self.state.error_label
        layout.addWidget(self.state, 1)
        self.views.addWidget(list_view)

        self.patient_view = PatientView(self._today(), on_retry=self._reload_patient)
        self.patient_view.measure_model.measure_texts = short_texts(session.ctx.catalogue)
        self.patient_view.back.connect(self._on_back)
        self.patient_view.period_changed.connect(lambda _p: self._reload_patient())
        self.patient_view.edit_contacts.connect(lambda: self.edit_contacts())
        self.contacts_dialog: ContactsDialog | None = None
        self.views.addWidget(self.patient_view)

    def _today(self) -> dt.date:
        return self.as_of or dt.date.today()

    # --- loading and searching ----------------------------------------------------------------
    def load(self) -> None:
        self.state.setCurrentIndex(self.STATE_LOADING)
        self.loading_view.setText("Reading the practices…")
        self.run_latest(load_practices, self.session.ctx, slot="practices", label="Loading practices",
                        on_finished=self._on_practices, on_failed=self._on_failed)

    def refresh(self) -> None:
        if not self.practices:
            self.load()
            return
        self.search_now()
        if self.views.currentIndex() == self.VIEW_PATIENT:
            self._reload_patient()

    def _on_practices(self, practices: list[PracticeSummary]) -> None:
        kept = self.practice_combo.currentData()
        self.practices = practices
        self.practice_combo.blockSignals(True)
        self.practice_combo.clear()
        self.practice_combo.addItem(f"All practices ({len(practices)})", None)
        for p in practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.id)
            self.practice_combo.setItemData(self.practice_combo.count() - 1, count(p.patients, "patient"),
                                            Qt.ItemDataRole.ToolTipRole)
        self.practice_combo.setCurrentIndex(max(self.practice_combo.findData(kept), 0) if kept is not None else 0)
        self.practice_combo.blockSignals(False)
        self.search_now()

    def practice_ids(self) -> tuple[int, ...]:
        """The practices searched: the chosen one, or every practice the window shows."""
        chosen = self.practice_combo.currentData()
        return (int(chosen),) if chosen is not None else tuple(p.id for p in self.practices)

    def set_practice(self, practice_id: int | None) -> None:
        self.practice_combo.setCurrentIndex(max(self.practice_combo.findData(practice_id), 0)
                                            if practice_id is not None else 0)

    def _on_search_typed(self, _text: str) -> None:
        self._open_single_match = False  # Enter opens the one match of what it searched, not of what came after
        self._debounce.start()

    def _on_search_return(self) -> None:
        """Enter searches now, and opens the patient when exactly one matches."""
        self._open_single_match = True
        self.search_now()

    def search_now(self) -> Task | None:
        """Search with the box's text now (typing waits ``DEBOUNCE_MS`` first)."""
        self._debounce.stop()
        if not self.practices and not self.loaded_once:
            return None
        self.generation += 1
        generation = self.generation
        text = self.search_edit.text()
        if self.model.rowCount() == 0:
            self.state.setCurrentIndex(self.STATE_LOADING)
            self.loading_view.setText("Searching…")
        self.count_label.setText("Searching…")
        return self.run_latest(
            run_search, self.session.ctx, text, self.practice_ids(), self.page_size, slot="search",
            label="Searching patients",
            on_finished=lambda result, g=generation: self._on_results(g, result),  # type: ignore[misc]
            on_failed=self._on_failed)

    def _on_results(self, generation: int, result: SearchResult) -> None:
        self.result = result
        self.model.set_results(generation, result.rows, result.total)
        if result.total:
            shown = count(result.total, "patient")
            self.count_label.setText(f"{shown} · {result.description}")
            self.state.setCurrentIndex(self.STATE_TABLE)
        else:
            self.count_label.setText(f"No patients · {result.description}")
            where = "this practice" if len(result.practice_ids) == 1 else "any practice"
            self.empty_view.setText(f"No patient of {where} matches “{result.text.strip()}”.\n\nTry part of the "
                                    "family name, the MRN, or the birth date as 2019-03-14."
                                    if result.text.strip() else "No patients yet.\n\nImport an EHR export "
                                    "(carenet import csv / fhir) to see them here.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
        self.status_message.emit(f"{count(result.total, 'patient')} found")
        self.loaded.emit(result)
        open_single, self._open_single_match = self._open_single_match, False
        if open_single and result.total == 1 and self.model.rowCount() == 1:
            self._open_row(0)

    def _fetch_page(self, generation: int, offset: int) -> None:
        if self.result is None or generation != self.generation:
            self.model.page_failed(generation)
            return
        result = self.result
        self.session.tasks.run(
            fetch_page, self.session.ctx, result.text, result.practice_ids, offset, self.page_size,
            label="Reading more patients",
            on_finished=lambda rows, g=generation, o=offset: self._on_page(g, o, rows),  # type: ignore[misc]
            on_failed=lambda _m, g=generation: self.model.page_failed(g))  # type: ignore[misc]

    def _on_page(self, generation: int, offset: int, rows: list[PatientRow]) -> None:
        if self.model.add_page(generation, offset, rows):
            self.page_loaded.emit(self.model.rowCount())

    def _on_failed(self, message: str) -> None:
        self.error_label.setText(f"The patients could not be read.\n\n{message}")
        self.state.setCurrentIndex(self.STATE_ERROR)
        self.count_label.setText("")
        self.status_message.emit("Could not read the patients")
        self.load_failed.emit(message)

    # --- the patient page ---------------------------------------------------------------------
    def _open_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.leaving.emit()
            self.open_patient(self.model.row(row).id)

    def open_patient(self, patient_id: int, year: int | None = None, *, period: Period | None = None,
                     origin: MeasureKey | None = None) -> Task:
        """Show the page of ``patient_id`` (for other screens: one call jumps to a patient) for ``period``
        (or ``year``); opened from a measure's patient list (``origin``), on that rate's period with its row
        highlighted."""
        period = origin.period if origin is not None else period
        if period is None and year is not None:
            period = Period.year(year)
        if period is not None:
            self.patient_view.set_period(period)
        self.patient_view.set_origin(origin, origin.title_in(self.session.ctx.catalogue) if origin is not None else "")
        self.patient_id = int(patient_id)
        self.views.setCurrentIndex(self.VIEW_PATIENT)
        self.patient_view.show_loading()
        self.patient_view.setFocus()
        return self._reload_patient()

    def _reload_patient(self) -> Task:
        assert self.patient_id is not None
        self.patient_view.show_loading()
        return self.run_latest(load_patient, self.session.ctx, self.patient_id, self.patient_view.period, self._today(),
                               slot="patient", label="Opening the patient", on_finished=self._on_patient,
                               on_failed=self._on_patient_failed)

    def _on_patient(self, detail: PatientDetail) -> None:
        self.patient_view.show_detail(detail)
        self.patient_view.contacts_button.setVisible(
            can(self.session.ctx, "patients.write", detail.demographics.practice_id))
        self.patient_view.timeline_table.setFocus()
        self.status_message.emit(f"Patient page: {self.patient_view.summary()}")
        self.patient_loaded.emit(detail)

    def edit_contacts(self) -> ContactsDialog | None:
        """Open the contact-details dialog of the patient shown (non-modal: the window keeps working)."""
        detail = self.patient_view.detail
        if detail is None:
            return None
        dialog = ContactsDialog(detail.demographics, self)
        dialog.save_requested.connect(lambda values: self._save_contacts(dialog, detail.demographics.id, values))
        self.contacts_dialog = dialog
        dialog.open()
        return dialog

    def _save_contacts(self, dialog: ContactsDialog, patient_id: int, values: dict[str, str | None]) -> None:
        def saved(result: EntryResult) -> None:
            if not result.ok:
                dialog.show_errors(result)
                return
            dialog.accept()
            self.status_message.emit("Contact details saved")
            if self.patient_id == patient_id:
                self._reload_patient()

        self.session.write(save_contacts, self.session.ctx, patient_id, values, label="Saving contact details",
                           on_finished=saved, on_failed=dialog.show_failure)

    def _on_patient_failed(self, message: str) -> None:
        self.patient_view.show_error(message)
        self.patient_failed.emit(message)

    def show_list(self) -> None:
        """Back to the search results, with the opened patient's row still selected."""
        self.views.setCurrentIndex(self.VIEW_LIST)
        self.table.setFocus()

    # --- places (Back and Forward) --------------------------------------------------------------
    def _on_back(self) -> None:
        """The patient page's Back (Esc): where the window's Back leads, else the list."""
        if self._back_title is not None:
            self.back_requested.emit()
        else:
            self.show_list()

    def set_back_title(self, title: str | None) -> None:
        self._back_title = title
        self.patient_view.set_back_title(title)

    def place(self) -> PatientsPlace:
        current = self.table.currentIndex()
        patient = self.patient_id if self.is_showing_patient() else None
        practice = self.practice_combo.currentData()
        return PatientsPlace(patient, self.patient_view.period if patient is not None else None,
                             self.patient_view.origin if patient is not None else None, self.search_edit.text(),
                             int(practice) if practice is not None else None,
                             current.row() if current.isValid() else -1, self.table.verticalScrollBar().value())

    def place_title(self) -> str:
        if self.is_showing_patient() and self.patient_view.detail is not None:
            return f"the page of {self.patient_view.detail.demographics.name}"
        text = self.search_edit.text().strip()
        return f"Patients · “{text}”" if text else "Patients"

    def restore_place(self, state: object | None) -> None:
        """Show ``state`` again: that patient's page (period, highlighted rate), or the list with its search,
        selected row and scroll position."""
        if not isinstance(state, PatientsPlace):
            return
        if state.patient_id is not None:
            self.open_patient(state.patient_id, period=state.period, origin=state.origin)
            return
        self.show_list()
        if state.search != self.search_edit.text() or state.practice_id != self.practice_combo.currentData():
            self.search_edit.blockSignals(True)
            self.search_edit.setText(state.search)
            self.search_edit.blockSignals(False)
            self.set_practice(state.practice_id)  # searches when the practice changed
            self.search_now()
            return
        if 0 <= state.row < self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(state.row, 0))
        self.table.verticalScrollBar().setValue(state.scroll)

    def printable(self) -> Printable | None:
        """The search results as listed (the rows read so far), when the list is on screen; a child's
        measure status when the child is."""
        if self.views.currentIndex() == self.VIEW_PATIENT:
            return self.patient_view.printable()
        if self.views.currentIndex() != self.VIEW_LIST or self.state.currentIndex() != self.STATE_TABLE:
            return None
        return Printable("Patients", self.count_label.text(), self.model,
                         note="Confidential: names of children. Shred after use.")

    def is_showing_patient(self) -> bool:
        return self.views.currentIndex() == self.VIEW_PATIENT

    # --- keyboard -----------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Down arrow in the search box moves to the first result."""
        if watched is self.search_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Down and self.model.rowCount():
                self.table.setFocus()
                if not self.table.currentIndex().isValid():
                    self.table.setCurrentIndex(self.model.index(0, 0))
                self.table.selectRow(self.table.currentIndex().row())
                return True
        return super().eventFilter(watched, event)

    def current_patient_row(self) -> PatientRow | None:
        index = self.table.currentIndex()
        return index.siblingAtColumn(0).data(ROW_ROLE) if index.isValid() else None
