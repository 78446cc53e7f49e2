"""Referrals and care coordination: the open referral loops as a board by step, and the next step recorded."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...services import entry as entry_service
from ...services import practices as practice_service
from ...services import referrals as referral_service
from ...services.context import Progress, ServiceContext
from ...services.entry import EntryResult
from ...services.practices import PracticeSummary
from ...services.referrals import BOARD_STEPS, STEP_LABELS, OpenReferral
from ...wording import count
from ..itemmodels.referrals import KIND_FILTERS, REFERRAL_ROLE, BoardColumnProxy, ReferralListModel
from ..session import Session
from ..tasks import Task
from ..widgets import StateStack, heading, paragraph
from ..widgets_referrals import ReferralCardDelegate, ReferralPanel
from .base import NUMBERS, Page

ALL = ""


@dataclass(frozen=True)
class Board:
    practice_code: str | None
    practices: list[PracticeSummary]
    referrals: list[OpenReferral]


def load_board(progress: Progress, ctx: ServiceContext, practice_code: str | None, today: dt.date) -> Board:
    """Runs on a worker."""
    ctx = dataclasses.replace(ctx, progress=progress)
    progress.report(0.1, "Reading the practices")
    practices = practice_service.list_practices(ctx)
    progress.report(0.4, "Reading the open referrals")
    refs = referral_service.list_open_referrals(ctx, practice_code=practice_code, today=today)
    progress.report(1.0, f"{len(refs)} open referrals")
    return Board(practice_code, practices, refs)


def save_step(progress: Progress, ctx: ServiceContext, ref: OpenReferral, step: str, on: dt.date,
              reason: str | None, today: dt.date) -> EntryResult:
    """Runs on the writer: one step (or 'lost' with its reason) of the loop."""
    progress.report(0.5, "Saving the referral")
    return entry_service.record_referral_step(ctx, ref.id, step, on, lost_reason=reason,
                                              expected_version=ref.version, today=today)


def save_activity(progress: Progress, ctx: ServiceContext, ref: OpenReferral, kind: str, minutes: int | None,
                  on: dt.date, note: str, today: dt.date) -> EntryResult:
    progress.report(0.5, "Saving the activity")
    return entry_service.record_care_activity(
        ctx, practice_id=ref.practice_id, activity_type=kind, date=on, minutes=minutes, patient_id=ref.patient_id,
        referral_id=ref.id, performed_by=ctx.username, notes=note, today=today)


class ReferralsPage(Page):
    page_id = "referrals"
    requires = "patients.read"
    title = "Referrals"
    icon_name = "referrals"
    tooltip = "Open referral loops and care coordination"

    loaded = Signal(object)
    load_failed = Signal(str)
    #: a write finished: (form, EntryResult) with form "step", "lost" or "activity"
    saved = Signal(str, object)

    STATE_LOADING, STATE_BOARD, STATE_EMPTY, STATE_ERROR = range(4)
    watches = NUMBERS

    def __init__(self, session: Session, parent: QWidget | None = None, *, today: dt.date | None = None) -> None:
        super().__init__(session, parent)
        self.today = today or dt.date.today()
        self.board: Board | None = None
        self.write_task: Task | None = None
        self.selected_id: int | None = None
        self._reloading = False  # True while a reload resets the board (see _on_loaded)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(heading("Referrals & care coordination"))
        self.subtitle = paragraph("Every open referral loop, from placed until the report comes back.")
        layout.addWidget(self.subtitle)

        tools = QHBoxLayout()
        tools.setSpacing(8)
        self.practice_combo = QComboBox()
        self.practice_combo.setAccessibleName("Practice")
        self.practice_combo.setToolTip("Show one practice's referrals, or the whole network's")
        self.practice_combo.addItem("All practices", ALL)
        self.practice_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.practice_combo.setMinimumContentsLength(18)
        self.practice_combo.currentIndexChanged.connect(lambda _i: self.reload())
        practice_label = QLabel("&Practice")
        practice_label.setBuddy(self.practice_combo)
        tools.addWidget(practice_label)
        tools.addWidget(self.practice_combo)
        self.kind_combo = QComboBox()
        self.kind_combo.setAccessibleName("Referral kind filter")
        self.kind_combo.setToolTip("Show one kind of referral; Help Me Grow and social-needs referrals are "
                                   "marked with a badge on their card")
        for key, title in KIND_FILTERS.items():
            self.kind_combo.addItem(title, key)
        self.kind_combo.currentIndexChanged.connect(self._apply_filters)
        self.kind_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        tools.addWidget(self.kind_combo)
        self.overdue_check = QCheckBox("Overdue only")
        self.overdue_check.setAccessibleName("Show overdue referrals only")
        self.overdue_check.setToolTip("Only the loops whose next step is later than allowed")
        self.overdue_check.toggled.connect(self._apply_filters)
        tools.addWidget(self.overdue_check)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Find patient, MRN or destination")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("Find referrals")
        self.search_edit.setToolTip("Show only referrals whose patient, MRN, destination or reason contains this")
        self.search_edit.textChanged.connect(self._apply_filters)
        tools.addWidget(self.search_edit, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh referrals")
        self.refresh_button.setToolTip("Read the open referrals again (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        tools.addWidget(self.refresh_button)
        layout.addLayout(tools)

        self.summary = QLabel("")
        self.summary.setObjectName("pageText")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setToolTip("Open loops shown (after filters): overdue, Help Me Grow and social-needs referrals")
        self.summary.setAccessibleName("Referral counts")
        layout.addWidget(self.summary)
        #: the counts in the summary line: open, overdue, help_me_grow, social_needs
        self.counts: dict[str, int] = {}

        self.model = ReferralListModel(parent=self)
        self.delegate = ReferralCardDelegate(self)
        self.columns: dict[str, tuple[QLabel, QListView, BoardColumnProxy]] = {}
        board = QWidget()
        board_layout = QHBoxLayout(board)
        board_layout.setContentsMargins(0, 0, 0, 0)
        board_layout.setSpacing(10)
        for step in BOARD_STEPS:
            column = QVBoxLayout()
            column.setSpacing(6)
            label = QLabel(STEP_LABELS[step])
            label.setObjectName("cardTitle")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setMinimumWidth(1)
            proxy = BoardColumnProxy(step, self)
            proxy.setSourceModel(self.model)
            view = QListView()
            view.setObjectName(f"board_{step}")
            view.setAccessibleName(f"{STEP_LABELS[step]} referrals")
            view.setToolTip(f"Open referrals whose latest step is '{STEP_LABELS[step].lower()}'; "
                            "overdue ones have a red edge. Select one to record its next step.")
            view.setModel(proxy)
            view.setItemDelegate(self.delegate)
            view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
            view.setSpacing(1)
            view.setMinimumWidth(130)
            view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            view.setResizeMode(QListView.ResizeMode.Adjust)
            view.setUniformItemSizes(True)
            view.selectionModel().currentChanged.connect(lambda cur, _prev, v=view: self._on_current(v, cur))
            view.clicked.connect(lambda index, v=view: self._on_current(v, index))
            label.setBuddy(view)
            column.addWidget(label)
            column.addWidget(view, 1)
            board_layout.addLayout(column, 1)
            self.columns[step] = (label, view, proxy)

        self.panel = ReferralPanel(self.today)
        self.panel.record_step.connect(self.record_step)
        self.panel.mark_lost.connect(self.mark_lost)
        self.panel.record_activity.connect(self.record_activity)
        panel_scroll = QScrollArea()
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setFrameShape(QFrame.Shape.NoFrame)
        panel_scroll.setWidget(self.panel)
        panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel_scroll.setMinimumWidth(290)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(board)
        self.splitter.addWidget(panel_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)

        self.state = StateStack(self.splitter, loading="Reading the open referrals…", retry_name="Try loading the referrals again",
                                on_retry=self.refresh)
        self.loading_view, self.empty_view = self.state.loading_view, self.state.empty_view
        self.error_view, self.error_label = self.state.error_view, self.state.error_label
        layout.addWidget(self.state, 1)
        self.action_message = QLabel("")
        self.action_message.setObjectName("pageText")
        self.action_message.setAccessibleName("Last action")
        layout.addWidget(self.action_message)

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        self.reload()

    def reload(self) -> None:
        code = self.practice_combo.currentData() or None
        if self.board is None:
            self.state.setCurrentIndex(self.STATE_LOADING)
        self.refresh_button.setEnabled(False)
        self.run_latest(load_board, self.session.ctx, code, self.today, label="Loading referrals",
                        on_finished=self._on_loaded, on_failed=self._on_failed)

    def _on_loaded(self, board: Board) -> None:
        self.board = board
        self.refresh_button.setEnabled(True)
        self._fill_practices(board.practices, board.practice_code)
        self._reloading = True  # the model reset moves the current row: not a choice of the user's
        try:
            self.model.set_referrals(board.referrals)
            self._apply_filters()
        finally:
            self._reloading = False
        where = board.practice_code or "the network"
        n = len(board.referrals)
        self.subtitle.setText(
            f"{n:,} open referral loop{'s' if n != 1 else ''} in {where}, by their latest step. Overdue loops "
            "have a red edge; select one to record its next step." if n else
            f"No open referral loops in {where}.")
        if n:
            self.state.setCurrentIndex(self.STATE_BOARD)
        else:
            self.empty_view.setText(
                "No open referral loops.\n\nReferrals arrive with imported data (FHIR ServiceRequest and Task) "
                "or are entered on the Data entry screen." if board.practices else
                "This database has no practices yet.\n\nBuild a synthetic demo network with   carenet demo.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
        self._reselect()
        self.status_message.emit(f"{n:,} open referrals")
        self.loaded.emit(board)

    def _fill_practices(self, practices: list[PracticeSummary], current: str | None) -> None:
        self.practice_combo.blockSignals(True)
        while self.practice_combo.count() > 1:
            self.practice_combo.removeItem(1)
        for p in practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.code)
        self.practice_combo.setCurrentIndex(max(self.practice_combo.findData(current or ALL), 0))
        self.practice_combo.blockSignals(False)

    def _on_failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.error_label.setText(f"The referrals could not be read.\n\n{message}")
        self.state.setCurrentIndex(self.STATE_ERROR)
        self.status_message.emit("Could not read the referrals")
        self.load_failed.emit(message)

    # --- board ----------------------------------------------------------------------------------
    def _apply_filters(self, *_args: object) -> None:
        kind = self.kind_combo.currentData() or "all"
        for _label, _view, proxy in self.columns.values():
            proxy.set_kind(kind)
            proxy.set_overdue_only(self.overdue_check.isChecked())
            proxy.set_text(self.search_edit.text())
        shown: list[OpenReferral] = []
        for step, (label, _view, proxy) in self.columns.items():
            refs = [proxy.index(i, 0).data(REFERRAL_ROLE) for i in range(proxy.rowCount())]
            late = sum(r.overdue for r in refs)
            late_text = (f"<span style='color:#b42318'>{late} overdue</span>" if late
                         else "<span style='color:#5f6b7a'>none overdue</span>")
            label.setText(f"{STEP_LABELS[step]} <span style='color:#5f6b7a'>{len(refs)}</span>"
                          f"<br><span style='font-size:9pt; font-weight:400'>{late_text}</span>")
            label.setAccessibleName(f"{STEP_LABELS[step]}: {count(len(refs), 'referral')}, {late} overdue")
            shown.extend(refs)
        self.counts = {"open": len(shown), "overdue": sum(r.overdue for r in shown),
                       "help_me_grow": sum(r.help_me_grow for r in shown),
                       "social_needs": sum(r.social_needs for r in shown)}
        c = self.counts
        self.summary.setText(
            f"<b>{c['open']:,}</b> open loops shown · <b style='color:#b42318'>{c['overdue']:,}</b> overdue · "
            f"<b style='color:#1e6b3a'>{c['help_me_grow']:,}</b> Help Me Grow · "
            f"<b style='color:#5b3a8c'>{c['social_needs']:,}</b> social needs")
        self.summary.setAccessibleDescription(
            f"{c['open']} open, {c['overdue']} overdue, {c['help_me_grow']} Help Me Grow, "
            f"{c['social_needs']} social needs")

    def column_referrals(self, step: str) -> list[OpenReferral]:
        _label, _view, proxy = self.columns[step]
        return [proxy.index(i, 0).data(REFERRAL_ROLE) for i in range(proxy.rowCount())]

    def select_referral(self, referral_id: int) -> bool:
        """Select the card of ``referral_id`` (as a click would); False when it is not shown."""
        found = self._find(referral_id)
        if found is None:
            return False
        view, index = found
        view.setFocus()
        view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._on_current(view, index)
        return True

    def _find(self, referral_id: int) -> tuple[QListView, QModelIndex] | None:
        for _label, view, proxy in self.columns.values():
            for i in range(proxy.rowCount()):
                index = proxy.index(i, 0)
                if index.data(REFERRAL_ROLE).id == referral_id:
                    return view, index
        return None

    def _on_current(self, view: QListView, index: QModelIndex) -> None:
        ref = index.data(REFERRAL_ROLE) if index.isValid() else None
        if ref is None or self._reloading:  # a reload reselects the referral itself, keeping its messages
            return
        for _label, other, _proxy in self.columns.values():
            if other is not view:
                other.selectionModel().clearSelection()
        self.selected_id = ref.id
        self.panel.set_referral(ref)

    def _reselect(self) -> None:
        """After a reload, the referral that was selected, selected again without passing through another:
        focusing a column makes its first card current for a moment, and showing that card would clear the
        messages and the days typed beside the fields of the one the user is working on."""
        found = None if self.selected_id is None else self._find(self.selected_id)
        if found is None:
            self.selected_id = None
            self.panel.set_referral(None)
            return
        view, index = found
        self._reloading = True
        try:
            view.setFocus()
            view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._reloading = False
        self._on_current(view, index)

    def selected(self) -> OpenReferral | None:
        return self.panel.referral

    # --- recording --------------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self.write_task is not None and not self.write_task.is_done

    def record_step(self, step: str, on: dt.date) -> Task | None:
        ref = self.selected()
        if ref is None or self._busy():
            return None
        return self._write("step", save_step, ref, step, on, None, self.today)

    def mark_lost(self, on: dt.date, reason: str) -> Task | None:
        ref = self.selected()
        if ref is None or self._busy():
            return None
        return self._write("lost", save_step, ref, "lost", on, reason, self.today)

    def record_activity(self, kind: str, minutes: int | None, on: dt.date, note: str) -> Task | None:
        ref = self.selected()
        if ref is None or self._busy():
            return None
        return self._write("activity", save_activity, ref, kind, minutes, on, note, self.today)

    def _write(self, form: str, fn: Callable[..., object], *args: object) -> Task:
        self.panel.set_busy(True)
        self.action_message.setText("Saving…")
        task = self.session.write(fn, self.session.ctx, *args, label="Saving the referral",
                                  on_finished=lambda result: self._on_saved(form, result),
                                  on_failed=self._on_write_failed)
        task.done.connect(lambda: self.panel.set_busy(False))
        self.write_task = task
        return task

    def _on_saved(self, form: str, result: EntryResult) -> None:
        if not result.ok:
            self.panel.show_result(form, result)
            self.action_message.setText("Not saved: see the message beside the field.")
            self.saved.emit(form, result)
            return
        self.panel.clear_errors()
        ref = self.selected()
        who = ref.patient_name if ref else "the referral"
        self.action_message.setText({"step": f"Step recorded for {who}.",
                                     "lost": f"Referral of {who} closed as lost to follow-up.",
                                     "activity": f"Care coordination activity recorded for {who}."}[form])
        if form == "activity":
            self.panel.activity_note.clear()
        self.saved.emit(form, result)  # then the session announces result.change: this board reloads

    def _on_write_failed(self, message: str) -> None:
        self.action_message.setText(f"Not saved: {message}")
