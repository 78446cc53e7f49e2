"""The daily huddle page (pre-visit planning): today's or tomorrow's scheduled children at a practice, each
with the care gaps the visit could close (expand a child for each gap and why), and the huddle sheet printed
as a PDF (a page per provider, Letter or A4). Loading and printing run off the GUI thread."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...services import huddle as huddle_service
from ...services import practices as practice_service
from ...services.changes import Area
from ...services.context import Progress, ServiceContext
from ...services.huddle import Huddle, HuddleVisit
from ...services.practices import PracticeSummary
from ..session import Session
from ..tasks import Task
from ..widgets import StateStack, heading, paragraph
from .base import NUMBERS, Page

COLUMNS = ("Time", "Child", "Age", "Visit", "Provider", "Gaps this visit could close")
PAPERS = (("Letter", "letter"), ("A4", "a4"))


@dataclass(frozen=True)
class HuddleQuery:
    practice_code: str
    day: dt.date


def _ctx(ctx: ServiceContext, progress: Progress) -> ServiceContext:
    return dataclasses.replace(ctx, progress=progress)


def load_practices(progress: Progress, ctx: ServiceContext) -> list[PracticeSummary]:
    return practice_service.list_practices(_ctx(ctx, progress))


def load_huddle(progress: Progress, ctx: ServiceContext, query: HuddleQuery) -> Huddle:
    """Runs on a worker: the day's huddle (audited as viewed)."""
    return huddle_service.daily_huddle(_ctx(ctx, progress), query.practice_code, query.day)


def write_sheet(progress: Progress, ctx: ServiceContext, huddle: Huddle, path: Path, paper: str) -> Path:
    """Runs on the writer: the huddle sheet shown, to ``path`` (audited as printed)."""
    progress.report(0.1, f"Writing {path.name}")
    huddle_service.print_huddle(_ctx(ctx, progress), huddle.practice_code, huddle.day, path,
                                paper=paper, huddle=huddle)  # type: ignore[arg-type]
    return path


class HuddlePage(Page):
    page_id = "huddle"
    requires = "patients.read"
    title = "Daily huddle"
    icon_name = "huddle"
    tooltip = "Today's and tomorrow's scheduled children with the care gaps each visit could close"
    watches = NUMBERS | frozenset({Area.SCHEDULE})
    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)

    loaded = Signal(object)  # Huddle
    printed = Signal(object)  # Path
    print_failed = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None, *, today: dt.date | None = None) -> None:
        super().__init__(session, parent)
        self.today = today or dt.date.today()
        self.practices: list[PracticeSummary] = []
        self.huddle: Huddle | None = None
        self.print_task: Task | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(heading("Daily huddle"))
        self.subtitle = paragraph("The children on the schedule and what each visit could close.")
        layout.addWidget(self.subtitle)

        query = QHBoxLayout()
        query.setSpacing(8)
        self.practice_combo = QComboBox()
        self.practice_combo.setAccessibleName("Practice")
        self.practice_combo.setMinimumWidth(240)
        self.practice_combo.currentIndexChanged.connect(lambda _i: self.reload())
        query.addWidget(QLabel("Practice"))
        query.addWidget(self.practice_combo, 1)
        self.today_button = QPushButton("Today")
        self.tomorrow_button = QPushButton("Tomorrow")
        for button, offset in ((self.today_button, 0), (self.tomorrow_button, 1)):
            button.setCheckable(True)
            button.setAccessibleName(f"Show {button.text().lower()}'s huddle")
            button.clicked.connect(lambda _c=False, o=offset: self.set_day(self.today + dt.timedelta(days=o)))
            query.addWidget(button)
        self.day_edit = QDateEdit()
        self.day_edit.setCalendarPopup(True)
        self.day_edit.setDisplayFormat("ddd yyyy-MM-dd")
        self.day_edit.setAccessibleName("Day of the visits")
        self.day_edit.setDate(_qdate(self.today))
        self.day_edit.dateChanged.connect(lambda _d: self._on_day())
        query.addWidget(self.day_edit)
        query.addStretch(1)
        self.paper_combo = QComboBox()
        self.paper_combo.setAccessibleName("Paper size")
        for text, key in PAPERS:
            self.paper_combo.addItem(text, key)
        query.addWidget(self.paper_combo)
        self.print_button = QPushButton("Print huddle sheet…")
        self.print_button.setAccessibleName("Print huddle sheet")
        self.print_button.setToolTip("Write the huddle sheet as a PDF: a page per provider")
        self.print_button.clicked.connect(lambda: self.print_sheet())
        query.addWidget(self.print_button)
        layout.addLayout(query)

        self.tree = QTreeWidget()
        self.tree.setObjectName("huddleTree")
        self.tree.setAccessibleName("Scheduled children")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setWordWrap(True)
        header = self.tree.header()
        for i in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.state = StateStack(self.tree, loading="Reading the schedule…", retry_name="Try loading the huddle again",
                                on_retry=self.refresh)
        self.loading_view, self.empty_view, self.error_label = (self.state.loading_view, self.state.empty_view,
                                                                self.state.error_label)
        layout.addWidget(self.state, 1)
        self.action_message = paragraph("")
        layout.addWidget(self.action_message)
        self._mark_day_buttons()
        self._update_actions()

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        self.state.setCurrentIndex(self.STATE_LOADING)
        self.run_latest(load_practices, self.session.ctx, slot="practices", label="Loading practices",
                        on_finished=self._on_practices, on_failed=self._on_failed)

    def refresh(self) -> None:
        if not self.practices:
            self.load()
        else:
            self.reload()

    def _on_practices(self, practices: list[PracticeSummary]) -> None:
        current = self.practice_combo.currentData()
        self.practices = practices
        self.practice_combo.blockSignals(True)
        self.practice_combo.clear()
        for p in practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.code)
        if current is not None and (i := self.practice_combo.findData(current)) >= 0:
            self.practice_combo.setCurrentIndex(i)
        self.practice_combo.blockSignals(False)
        if not practices:
            self.empty_view.setText("This database has no practices yet.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
            return
        self.reload()

    def current_query(self) -> HuddleQuery:
        qd = self.day_edit.date()
        return HuddleQuery(self.practice_combo.currentData() or "", dt.date(qd.year(), qd.month(), qd.day()))

    def set_day(self, day: dt.date) -> None:
        self.day_edit.setDate(_qdate(day))  # -> _on_day
        self._mark_day_buttons()

    def _on_day(self) -> None:
        self._mark_day_buttons()
        self.reload()

    def _mark_day_buttons(self) -> None:
        day = self.current_query().day
        self.today_button.setChecked(day == self.today)
        self.tomorrow_button.setChecked(day == self.today + dt.timedelta(days=1))

    def reload(self) -> None:
        """Read the schedule of the chosen practice and day and the gaps of its children (off the GUI thread)."""
        if not self.practices or not self.practice_combo.currentData():
            return
        query = self.current_query()
        self.huddle = None
        self._update_actions()
        self.state.setCurrentIndex(self.STATE_LOADING)
        self.loading_view.setText(f"Reading the schedule of {query.practice_code} for {query.day.isoformat()}…")
        self.run_latest(load_huddle, self.session.ctx, query, label="Preparing the huddle",
                        on_finished=self._on_loaded, on_failed=self._on_failed)

    def _on_loaded(self, huddle: Huddle) -> None:
        self.huddle = huddle
        self.tree.clear()
        for visit in sorted(huddle.visits, key=lambda v: (v.start, v.provider, v.patient_name)):
            self.tree.addTopLevelItem(_visit_item(visit, huddle.day))
        children = len({v.patient_id for v in huddle.visits})
        with_gaps = len({v.patient_id for v in huddle.visits if v.gaps})
        failures = f" {len(huddle.failures)} measure(s) could not be evaluated." if huddle.failures else ""
        self.subtitle.setText(
            f"{len(huddle.visits)} visits on {huddle.day:%A} {huddle.day.isoformat()} at {huddle.practice_name}: "
            f"{children} children, {with_gaps} with care gaps ({huddle.gap_count} in all) that these visits "
            f"could close. Expand a child for each gap and why.{failures}")
        if huddle.visits:
            self.state.setCurrentIndex(self.STATE_TABLE)
        else:
            self.empty_view.setText(f"No visits scheduled on {huddle.day.isoformat()}. Import the schedule "
                                    "(appointments) from the Imports page.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
        self._update_actions()
        self.status_message.emit(f"{len(huddle.visits)} visits on {huddle.day.isoformat()}")
        self.loaded.emit(huddle)

    def _on_failed(self, message: str) -> None:
        self.error_label.setText(f"The huddle could not be prepared: {message}")
        self.state.setCurrentIndex(self.STATE_ERROR)

    # --- printing -----------------------------------------------------------------------------
    def _update_actions(self) -> None:
        busy = self.print_task is not None and not self.print_task.is_done
        self.print_button.setEnabled(self.huddle is not None and bool(self.huddle.visits) and not busy)

    def print_sheet(self, path: Path | str | None = None) -> Task | None:
        """Write the huddle shown as a PDF to ``path``; asks for the file when no path is given."""
        huddle = self.huddle
        if huddle is None or not huddle.visits:
            return None
        if path is None:
            suggested = f"huddle-{huddle.practice_code}-{huddle.day.isoformat()}.pdf"
            chosen, _ = QFileDialog.getSaveFileName(self, "Print huddle sheet", suggested, "PDF (*.pdf)")
            if not chosen:
                return None
            path = chosen
        target = Path(path)
        if target.suffix.lower() != ".pdf":
            target = target.with_suffix(".pdf")
        self.action_message.setText(f"Writing {target.name}…")
        task = self.session.tasks.run(write_sheet, self.session.ctx, huddle, target, self.paper_combo.currentData(),
                                      label="Printing the huddle sheet", write=True)
        task.finished.connect(self._on_printed)
        task.failed.connect(self._on_print_failed)
        task.done.connect(self._update_actions)
        self.print_task = task
        self._update_actions()
        return task

    def _on_printed(self, path: Path) -> None:
        self.action_message.setText(f"Huddle sheet written to {path.name}.")
        self.status_message.emit(f"Huddle sheet written to {path}")
        self.printed.emit(path)

    def _on_print_failed(self, message: str) -> None:
        self.action_message.setText(f"Not written: {message}")
        self.print_failed.emit(message)


def _visit_item(visit: HuddleVisit, day: dt.date) -> QTreeWidgetItem:
    gaps = "; ".join(g.item for g in visit.gaps) if visit.gaps else "No open care gaps"
    status = "" if visit.status == "booked" else f" ({visit.status})"
    item = QTreeWidgetItem([visit.start.strftime("%H:%M"), f"{visit.patient_name} · MRN {visit.mrn}",
                            visit.age_label(day), f"{visit.visit_type}{status}", visit.provider,
                            f"{len(visit.gaps)}: {gaps}" if visit.gaps else gaps])
    contact = " · ".join(p for p in (visit.guardian, visit.language, visit.phone) if p)
    item.setToolTip(1, contact or "No contact details on file")
    item.setData(0, Qt.ItemDataRole.UserRole, visit.patient_id)
    for gap in visit.gaps:
        due = ""
        if gap.due_date is not None:
            due = f"{gap.status}, due {gap.due_date.isoformat()}" if gap.status != "overdue" else (
                f"overdue since {gap.due_date.isoformat()}")
        child = QTreeWidgetItem(["", gap.item, "", due, gap.measures, gap.why])
        child.setToolTip(5, gap.why)
        item.addChild(child)
    return item


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)
