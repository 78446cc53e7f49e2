"""Data entry: forms for what a practice records by hand (visits, immunizations, screenings, care
coordination, aggregate counts), a patient picker that completes over the practice's patients, and undo
of the last entries saved.

Every save and undo runs a service on the writer thread; the service validates and reports field errors,
which appear under the field they are about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...services import entry as entry_service
from ...services import lookup
from ...services import practices as practice_service
from ...services.changes import Area
from ...services.code_choices import CodeChoices, load_code_choices
from ...services.context import Progress, ServiceContext
from ...services.entry import EntryResult
from ...services.entry_undo import UndoneEntry, undo_entry
from ...services.lookup import EntryChoices, PatientMatch, ProviderChoice
from ...services.practices import PracticeSummary
from ..forms import error_label
from ..itemmodels.entry import PatientMatchModel, SavedEntriesModel, SavedEntry
from ..session import Session
from ..settings import open_settings
from ..tasks import Task
from ..widgets import StateStack, card, heading, paragraph
from ..widgets_entry import ActivityForm, AggregateForm, EntryForm, ImmunizationForm, ScreeningForm, VisitForm
from .base import Page

SEARCH_DELAY_MS = 150
PRACTICE_SETTING = "data_entry/practice"
SAVERS: dict[str, Callable[..., EntryResult]] = {
    "encounter": entry_service.record_visit, "immunization": entry_service.record_immunization,
    "observation": entry_service.record_screening, "care_activity": entry_service.record_care_activity,
    "aggregate_entry": entry_service.record_aggregate,
}


@dataclass(frozen=True)
class EntrySetup:
    practices: list[PracticeSummary]
    choices: EntryChoices
    codes: CodeChoices


def load_setup(progress: Progress, ctx: ServiceContext) -> EntrySetup:
    """Runs on a worker: the practices and the forms' choice lists."""
    progress.report(0.2, "Reading the practices")
    practices = practice_service.list_practices(ctx)
    progress.report(0.6, "Reading the measures")
    choices = lookup.entry_choices(ctx.catalogue)
    progress.report(0.8, "Reading the codes in use")
    return EntrySetup(practices, choices, load_code_choices(ctx))


def find_patients(progress: Progress, ctx: ServiceContext, text: str, practice_id: int | None) -> list[PatientMatch]:
    progress.check()
    return lookup.find_patients(ctx, text, practice_id=practice_id)


def load_providers(progress: Progress, ctx: ServiceContext, practice_id: int | None) -> list[ProviderChoice]:
    progress.check()
    return lookup.list_providers(ctx, practice_id)


def save_entry(progress: Progress, ctx: ServiceContext, entity: str, values: dict[str, Any]) -> EntryResult:
    """Runs on the writer: one entry through its service (which validates it)."""
    progress.report(0.5, "Saving")
    return SAVERS[entity](ctx, **values)


def undo_saved(progress: Progress, ctx: ServiceContext, entity: str, entity_id: int) -> UndoneEntry:
    progress.report(0.5, "Undoing")
    return undo_entry(ctx, entity, entity_id)


class DataEntryPage(Page):
    page_id = "data_entry"
    requires = "patients.write"
    title = "Data entry"
    icon_name = "data_entry"
    tooltip = "Record visits, immunizations, screenings and activities by hand"

    loaded = Signal(object)
    load_failed = Signal(str)
    patients_found = Signal(list)
    #: a save finished: (entity, EntryResult)
    saved = Signal(str, object)
    #: an undo finished: UndoneEntry, or the message why not
    undone = Signal(object)

    STATE_LOADING, STATE_FORMS, STATE_EMPTY, STATE_ERROR = range(4)
    #: the practices and their clinicians offered (what is entered is announced, never shown back here)
    watches = frozenset({Area.PRACTICES})

    def __init__(self, session: Session, parent: QWidget | None = None, *, today: dt.date | None = None) -> None:
        super().__init__(session, parent)
        self.today = today or dt.date.today()
        self.setup: EntrySetup | None = None
        self.patient: PatientMatch | None = None
        self.forms: dict[str, EntryForm] = {}
        self.write_task: Task | None = None
        self._search_text = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(heading("Data entry"))
        layout.addWidget(paragraph("Record what is not in an EHR export. Choose the practice and the patient, "
                                   "fill in a form and press Enter; a mistake can be undone."))

        picker = QGridLayout()
        picker.setHorizontalSpacing(10)
        picker.setVerticalSpacing(4)
        self.practice_combo = QComboBox()
        self.practice_combo.setAccessibleName("Practice")
        self.practice_combo.setToolTip("The practice the entries are for")
        self.practice_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.practice_combo.setMinimumContentsLength(22)
        self.practice_combo.currentIndexChanged.connect(self._on_practice)
        practice_label = QLabel("P&ractice")
        practice_label.setBuddy(self.practice_combo)
        self.patient_edit = QLineEdit()
        self.patient_edit.setAccessibleName("Patient")
        self.patient_edit.setPlaceholderText("Type an MRN or a name, then choose from the list")
        self.patient_edit.setToolTip("Find the patient by medical record number or name (family, given)")
        self.patient_edit.setClearButtonEnabled(True)
        self.patient_edit.textEdited.connect(self._on_patient_typed)
        self.patient_edit.returnPressed.connect(self._on_patient_return)
        patient_label = QLabel("Pa&tient")
        patient_label.setBuddy(self.patient_edit)
        self.patient_model = PatientMatchModel(self)
        self.completer = QCompleter(self.patient_model, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(10)
        self.completer.activated[str].connect(self._on_patient_chosen)  # type: ignore[index]
        self.patient_edit.setCompleter(self.completer)
        self.patient_info = QLabel("No patient chosen")
        self.patient_info.setObjectName("pageText")
        self.patient_info.setAccessibleName("Chosen patient")
        self.patient_info.setTextFormat(Qt.TextFormat.RichText)
        self.patient_error = error_label("Patient")
        picker.addWidget(practice_label, 0, 0)
        picker.addWidget(self.practice_combo, 0, 1)
        picker.addWidget(patient_label, 0, 2)
        picker.addWidget(self.patient_edit, 0, 3)
        picker.addWidget(self.patient_info, 1, 3)
        picker.addWidget(self.patient_error, 2, 3)
        picker.setColumnStretch(3, 1)
        layout.addLayout(picker)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search)

        body = QWidget()
        body_layout = QHBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.setSpacing(14)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("entryTabs")
        self.tabs.setAccessibleName("Entry forms")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        body_layout.addWidget(self.tabs, 3)
        history = card("savedCard")
        history_layout = QVBoxLayout(history)
        history_layout.setContentsMargins(16, 14, 16, 14)
        history_layout.addWidget(heading("Saved in this session", "cardTitle"))
        self.saved_model = SavedEntriesModel(self)
        self.saved_view = QListView()
        self.saved_view.setObjectName("savedEntries")
        self.saved_view.setAccessibleName("Entries saved in this session")
        self.saved_view.setModel(self.saved_model)
        self.saved_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.saved_view.setWordWrap(True)
        self.saved_view.setFrameShape(QFrame.Shape.NoFrame)
        self.saved_empty = paragraph("Nothing saved yet. What you save appears here; the last entry can be "
                                     "undone with the button below or Ctrl+Z.", "stateMessage")
        history_layout.addWidget(self.saved_empty)
        history_layout.addWidget(self.saved_view, 1)
        self.saved_model.rowsInserted.connect(lambda *_a: self.saved_empty.hide())
        self.undo_button = QPushButton("&Undo last entry")
        self.undo_button.setObjectName("undoEntry")
        self.undo_button.setAccessibleName("Undo last entry")
        self.undo_button.setToolTip("Remove the last entry saved, or put back what it replaced (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo_last)
        self.undo_button.setEnabled(False)
        history_layout.addWidget(self.undo_button)
        body_layout.addWidget(history, 2)
        self.undo_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        self.undo_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_shortcut.activated.connect(self.undo_last)

        self.state = StateStack(body, loading="Opening the forms…", retry_name="Try opening the forms again",
                                on_retry=self.refresh)
        layout.addWidget(self.state, 1)
        self.action_message = QLabel("")
        self.action_message.setObjectName("pageText")
        self.action_message.setAccessibleName("Last action")
        self.action_message.setWordWrap(True)
        layout.addWidget(self.action_message)

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        if self.setup is None:
            self.state.setCurrentIndex(self.STATE_LOADING)
        self.run_latest(load_setup, self.session.ctx, label="Opening the entry forms", on_finished=self._on_loaded,
                        on_failed=self._on_load_failed)

    def refresh(self) -> None:
        """Read the practices again; the practice and patient chosen stay when the practice is still there."""
        self.load()

    def _on_loaded(self, setup: EntrySetup) -> None:
        kept = self.practice_id()
        self.setup = setup
        if not self.forms:
            self._build_forms(setup.choices)
        for form in self.forms.values():
            form.set_code_choices(setup.codes)
        remembered = open_settings().value(PRACTICE_SETTING)
        self.practice_combo.blockSignals(True)
        self.practice_combo.clear()
        for p in setup.practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.id)
        self.practice_combo.setCurrentIndex(max(0, next(
            (i for i, p in enumerate(setup.practices) if p.code == remembered), 0)))
        still = self.practice_combo.findData(kept) if kept is not None else -1
        if still >= 0:
            self.practice_combo.setCurrentIndex(still)
        self.practice_combo.blockSignals(False)
        if setup.practices:
            self.state.setCurrentIndex(self.STATE_FORMS)
            if still < 0:  # a new practice: its patients and clinicians
                self._on_practice()
        else:
            self.state.empty_view.setText("This database has no practices yet.\n\nCreate one on the Network screen, "
                                          "or build a synthetic demo network with   carenet demo.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
        self.status_message.emit("Ready for data entry")
        self.loaded.emit(setup)

    def _on_load_failed(self, message: str) -> None:
        self.state.error_label.setText(f"The forms could not be opened.\n\n{message}")
        self.state.setCurrentIndex(self.STATE_ERROR)
        self.load_failed.emit(message)

    def _build_forms(self, choices: EntryChoices) -> None:
        forms: list[tuple[str, EntryForm]] = [
            ("&Visit", VisitForm(self.today)),
            ("&Immunization", ImmunizationForm(self.today, choices)),
            ("&Screening", ScreeningForm(self.today, choices)),
            ("&Care coordination", ActivityForm(self.today, choices, self.session.ctx.username)),
            ("A&ggregate", AggregateForm(self.today, choices)),
        ]
        for title, form in forms:
            form.errors.labels.setdefault("patient", self.patient_error)
            form.submitted.connect(lambda f=form: self.submit(f))
            self.forms[form.entity] = form
            self.tabs.addTab(form, title)

    def _on_tab_changed(self, _index: int) -> None:
        """Another form: a message about the last one's failed save does not follow (its own stay on it)."""
        if self.action_message.text().startswith("Not saved"):
            self.action_message.clear()
        self.patient_error.hide()

    # --- practice and patient -----------------------------------------------------------------
    def practice_id(self) -> int | None:
        value = self.practice_combo.currentData()
        return int(value) if value is not None else None

    def _on_practice(self, *_args: object) -> None:
        self.choose_patient(None)
        code = next((p.code for p in (self.setup.practices if self.setup else []) if p.id == self.practice_id()), None)
        if code:
            open_settings().setValue(PRACTICE_SETTING, code)
        self.run_latest(load_providers, self.session.ctx, self.practice_id(), slot="providers",
                        label="Reading clinicians", on_finished=self._on_providers)

    def _on_providers(self, providers: list[ProviderChoice]) -> None:
        for form in self.forms.values():
            form.set_providers(providers)

    def _on_patient_typed(self, text: str) -> None:
        if self.patient is not None:
            self.choose_patient(None, keep_text=True)
        self._search_timer.start()

    def _search(self) -> None:
        text = self.patient_edit.text().strip()
        self._search_text = text
        if not text:
            self.patient_model.set_matches([])
            return
        self.run_latest(find_patients, self.session.ctx, text, self.practice_id(), slot="patients",
                        label="Finding patients", on_finished=lambda matches, t=text: self._on_found(t, matches))  # type: ignore[misc]

    def _on_found(self, text: str, matches: list[PatientMatch]) -> None:
        if text != self.patient_edit.text().strip() or self.patient is not None:
            return  # typed on meanwhile: a newer search is coming
        self.patient_model.set_matches(matches)
        if matches and self.patient_edit.hasFocus():
            self.completer.complete()
        if not matches:
            self.patient_info.setText("No patient of this practice matches.")
        self.patients_found.emit(matches)

    def _on_patient_chosen(self, label: str) -> None:
        match = self.patient_model.by_label(label)
        if match is not None:
            self.choose_patient(match)

    def _on_patient_return(self) -> None:
        text = self.patient_edit.text().strip().casefold()
        matches = self.patient_model.matches()
        exact = [m for m in matches if m.mrn.casefold() == text or m.label.casefold() == text]
        if self.patient is None and (exact or len(matches) == 1):
            self.choose_patient((exact or matches)[0])

    def choose_patient(self, match: PatientMatch | None, *, keep_text: bool = False) -> None:
        self.patient = match
        self.patient_error.hide()
        for form in self.forms.values():
            form.set_birth_date(match.birth_date if match else None)
        if match is None:
            if not keep_text:
                self.patient_edit.clear()
            self.patient_info.setText("No patient chosen")
            return
        self.patient_edit.setText(match.label)
        self.patient_info.setText(f"Entries are for <b>{_esc(match.name)}</b>, MRN {_esc(match.mrn)}, born "
                                  f"{match.birth_date:%Y-%m-%d}.")
        self.completer.popup().hide()  # type: ignore[union-attr]

    # --- saving -------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.write_task is not None and not self.write_task.is_done

    def submit(self, form: EntryForm) -> Task | None:
        if self.busy():
            return None
        to_fix = form.field_to_fix()
        if to_fix is not None:  # an impossible date, a code that names nothing: the note beside it says why
            field, problem = to_fix
            self.action_message.setText(f"Not saved: {problem}")
            field.setFocus()
            return None
        values = form.values()
        description = form.describe(values)
        if form.entity in ("care_activity", "aggregate_entry"):
            values["practice_id"] = self.practice_id()
        if form.entity == "care_activity":
            chosen = self.patient if form.for_patient.isChecked() else None  # type: ignore[attr-defined]
            values["patient_id"] = chosen.id if chosen else None
        elif form.needs_patient:
            values["patient_id"] = self.patient.id if self.patient else None
            chosen = self.patient
        else:
            chosen = None
        if chosen is not None:
            description += f" — {chosen.name} (MRN {chosen.mrn})"
        values["today"] = self.today
        for f in self.forms.values():
            f.set_busy(True)
        self.action_message.setText("Saving…")
        task = self.session.write(save_entry, self.session.ctx, form.entity, values, label="Saving the entry",
                                  on_finished=lambda result: self._on_saved(form, description, result),
                                  on_failed=lambda message: self.action_message.setText(f"Not saved: {message}"))
        task.done.connect(self._on_write_done)
        self.write_task = task
        return task

    def _on_saved(self, form: EntryForm, description: str, result: EntryResult) -> None:
        form.show_result(result)
        if not result.ok:
            self.action_message.setText("Not saved: see the message beside the field.")
            first = result.errors[0].field if result.errors else None
            target = form.errors.labels.get(first) if first else None
            if target is not None:  # focus the field the first message is about
                buddy = self._field_for(form, target)
                if buddy is not None:
                    buddy.setFocus()
            self.saved.emit(form.entity, result)
            return
        assert result.id is not None
        self.saved_model.add(SavedEntry(form.entity, result.id, description))
        form.reset()
        self.action_message.setText(f"Saved: {description}.")
        self.status_message.emit(f"Saved: {form.title.lower()}")
        self.saved.emit(form.entity, result)  # then the session announces result.change to the other screens

    @staticmethod
    def _field_for(form: EntryForm, error: QLabel) -> QWidget | None:
        """The field whose error line ``error`` is (the row above it in the form)."""
        row, _role = cast("tuple[int, object]", form.form.getWidgetPosition(error))  # PySide types it object
        if row <= 0:
            return None
        item = form.form.itemAt(row - 1, form.form.ItemRole.FieldRole)
        widget = item.widget() if item is not None else None
        return widget

    def _on_write_done(self) -> None:
        for f in self.forms.values():
            f.set_busy(False)
        self.undo_button.setEnabled(self.saved_model.last_undoable() is not None)

    # --- undo ---------------------------------------------------------------------------------
    def undo_last(self) -> Task | None:
        entry = self.saved_model.last_undoable()
        if entry is None or self.busy():
            return None
        self.undo_button.setEnabled(False)
        self.action_message.setText("Undoing…")
        task = self.session.write(undo_saved, self.session.ctx, entry.entity, entry.id, label="Undoing the entry",
                                  on_finished=lambda done: self._on_undone(entry, done), on_failed=self._on_undo_failed)
        task.done.connect(self._on_write_done)
        self.write_task = task
        return task

    def _on_undone(self, entry: SavedEntry, done: UndoneEntry) -> None:
        self.saved_model.mark_undone(entry)
        self.action_message.setText(f"Undone: {entry.description}. {done.message}")
        self.status_message.emit("Entry undone")
        self.undone.emit(done)

    def _on_undo_failed(self, message: str) -> None:
        self.action_message.setText(f"Not undone: {message}")
        self.undone.emit(message)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

