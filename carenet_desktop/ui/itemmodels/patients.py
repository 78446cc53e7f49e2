"""Patient search results (a lazy table that asks for one page at a time), a patient's timeline and their
status in every measure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from ... import codes
from ...services.patient_measures import DUE, EXCLUDED, MET, NOT_APPLICABLE, NOT_MET, OVERDUE, MeasureStatus
from ...services.patients import PatientRow, TimelineEvent, age_text

#: the whole row object (PatientRow, TimelineEvent, MeasureStatus)
ROW_ROLE = Qt.ItemDataRole.UserRole + 1

AnyIndex = QModelIndex | QPersistentModelIndex
T = TypeVar("T")

STATUS_COLOURS = {OVERDUE: QColor("#b42318"), DUE: QColor("#b54708"), NOT_MET: QColor("#b42318"),
                  MET: QColor("#067647"), EXCLUDED: QColor("#475467"), NOT_APPLICABLE: QColor("#98a2b3")}
STATUS_TIPS = {
    OVERDUE: "The deadline has passed and the child still needs this",
    DUE: "Still missing; the deadline has not passed yet",
    MET: "The patient meets this measure for the period",
    NOT_MET: "The patient has the outcome this lower-is-better measure counts",
    EXCLUDED: "The patient is excluded (or excepted) from this measure's denominator",
    NOT_APPLICABLE: "The measure does not apply to this patient in this period (age, sex, diagnosis ...)",
}
_DIMMED = QColor("#98a2b3")
#: the background of the rate the patient page was opened from (a measure's patient list)
HIGHLIGHT = QColor("#fef0c7")


@dataclass(frozen=True)
class Column(Generic[T]):
    title: str
    tooltip: str
    value: Callable[[T], str]


class _RowsModel(QAbstractTableModel, Generic[T]):
    """A read-only table over a list of row objects, one ``Column`` per column."""

    columns: tuple[Column[Any], ...] = ()

    def __init__(self, rows: Sequence[T] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[T] = list(rows)

    def set_rows(self, rows: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[T]:
        return list(self._rows)

    def row(self, row: int) -> T:
        return self._rows[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def _valid(self, index: AnyIndex) -> bool:
        return index.isValid() and 0 <= index.row() < len(self._rows) and 0 <= index.column() < len(self.columns)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        item = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[index.column()].value(item)
        if role == ROW_ROLE:
            return item
        return self.extra(item, index.column(), role)

    def extra(self, item: T, column: int, role: int) -> Any:
        """Other roles of a cell (override)."""
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[column].value(item) or None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not (0 <= section < len(self.columns)):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].tooltip
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


# ------------------------------------------------------------------------------------ search results


def _patient_columns(today: Callable[[], dt.date]) -> tuple[Column[PatientRow], ...]:
    return (
        Column("Patient", "Family name, given name", lambda r: r.name),
        Column("MRN", "Medical record number at the practice", lambda r: r.mrn),
        Column("Birth date", "Date of birth (YYYY-MM-DD)", lambda r: r.birth_date.isoformat()),
        Column("Age", "Age today (months under two years)", lambda r: age_text(r.birth_date, today())),
        Column("Sex", "Administrative sex", lambda r: codes.SEX_LABELS.get(r.sex, r.sex)),
        Column("Practice", "The practice the patient belongs to", lambda r: r.practice_code),
        Column("Primary care provider", "The attributed primary care provider", lambda r: r.pcp),
        Column("Payer", "Insurance", lambda r: codes.PAYER_LABELS.get(r.payer, r.payer)),
    )


class PatientListModel(_RowsModel[PatientRow]):
    """Search results that load lazily: the first page comes with :meth:`set_results`; when the view
    scrolls to the end, ``fetchMore`` emits ``page_wanted(generation, offset)`` and the page fetches the next
    rows off the GUI thread and hands them to :meth:`add_page`.

    ``generation`` numbers the searches: a page of an older search never lands in a newer one's results.
    """

    #: (generation, offset): the rows from ``offset`` on are wanted
    page_wanted = Signal(int, int)

    def __init__(self, parent: Any = None, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        super().__init__((), parent)
        self.columns = _patient_columns(today)
        self.generation = 0
        self.total = 0
        self._pending = False

    def set_results(self, generation: int, rows: Sequence[PatientRow], total: int) -> None:
        """The first page of search ``generation`` and how many patients match in all."""
        self.beginResetModel()
        self.generation = generation
        self._rows = list(rows)
        self.total = max(total, len(self._rows))
        self._pending = False
        self.endResetModel()

    def clear(self, generation: int) -> None:
        self.set_results(generation, [], 0)

    def add_page(self, generation: int, offset: int, rows: Sequence[PatientRow]) -> bool:
        """Append a page; False (ignored) when it belongs to an older search or does not follow on."""
        if generation != self.generation or offset != len(self._rows):
            return False
        self._pending = False
        if not rows:
            self.total = len(self._rows)  # the store changed under the search: nothing more to fetch
            return True
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()
        self.total = max(self.total, len(self._rows))
        return True

    def page_failed(self, generation: int) -> None:
        """A page could not be read: allow the view to ask again later."""
        if generation == self.generation:
            self._pending = False

    @property
    def pending(self) -> bool:
        return self._pending

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._pending and len(self._rows) < self.total

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._pending = True
        self.page_wanted.emit(self.generation, len(self._rows))

    def extra(self, item: PatientRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return f"{item.name} · MRN {item.mrn} · born {item.birth_date.isoformat()} (Enter or double-click opens)"
        if role == Qt.ItemDataRole.AccessibleTextRole and column == 0:
            return f"{item.name}, MRN {item.mrn}, born {item.birth_date.isoformat()}"
        return super().extra(item, column, role)


# ------------------------------------------------------------------------------------ patient page

#: FHIR status codes (encounter, immunization, observation, condition, request, task) in words
STATUS_WORDS = {
    "finished": "Done", "completed": "Done", "not-done": "Not done", "entered-in-error": "Entered in error",
    "in-progress": "In progress", "cancelled": "Cancelled", "planned": "Planned", "arrived": "Arrived",
    "triaged": "Triaged", "onleave": "On leave", "unknown": "Unknown", "final": "Final",
    "preliminary": "Preliminary", "amended": "Amended", "corrected": "Corrected", "registered": "Registered",
    "active": "Active", "inactive": "Inactive", "resolved": "Resolved", "remission": "In remission",
    "recurrence": "Recurred", "relapse": "Relapsed", "stopped": "Stopped", "on-hold": "On hold", "draft": "Draft",
    "revoked": "Revoked", "intended": "Intended", "not-taken": "Not taken", "requested": "Requested",
    "received": "Received", "accepted": "Accepted", "rejected": "Rejected", "failed": "Failed",
}


def status_in_words(status: str) -> str:
    """A record's status as a person says it ("not-done" → "Not done"); an unknown code made readable."""
    code = status.strip()
    if not code:
        return ""
    return STATUS_WORDS.get(code.casefold(), code.replace("-", " ").capitalize())


class TimelineModel(_RowsModel[TimelineEvent]):
    """A patient's events, newest first: date, kind, what, details, status."""

    columns = (
        Column("Date", "When it happened (YYYY-MM-DD)", lambda e: e.day.isoformat()),
        Column("Kind", "Visit, immunization, screening, diagnosis, prescription, referral ...", lambda e: e.kind),
        Column("What", "The vaccine, instrument, diagnosis, medication or referral", lambda e: e.title),
        Column("Details", "Result, dose, reason not given, the referral loop's steps ...", lambda e: e.detail),
        Column("Status", "The record's status as the source system gave it, in words",
               lambda e: status_in_words(e.status)),
    )

    def extra(self, item: TimelineEvent, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and item.not_done:
            return QBrush(STATUS_COLOURS[OVERDUE])
        if role == Qt.ItemDataRole.ToolTipRole:
            text = f"{item.day.isoformat()} · {item.kind}: {item.title}"
            return text + (f"\n{item.detail}" if item.detail else "") + ("\nNot done" if item.not_done else "") \
                + (f"\nStatus in the source record: {item.status}" if item.status else "")
        return super().extra(item, column, role)


def _title(m: MeasureStatus) -> str:
    if not m.group_title or m.group_title == m.measure_title:
        return m.measure_title
    return f"{m.measure_title} — {m.group_title}"


class MeasureStatusModel(_RowsModel[MeasureStatus]):
    """The patient's status in every measure and rate of the catalogue."""

    columns = (
        Column("Measure", "The measure's id", lambda m: m.measure_id),
        Column("Title", "The measure and, when it has several, the rate", lambda m: _title(m)),
        Column("Status", "Met, due, overdue, excluded or not applicable", lambda m: m.label),
        Column("Why", "What decided the status: what is missing and by when, or why the measure does not apply",
               lambda m: m.why),
    )

    def __init__(self, rows: Sequence[MeasureStatus] = (), parent: Any = None) -> None:
        super().__init__(rows, parent)
        #: (measure id, group index) of the rate the page was opened from, shown highlighted
        self.highlighted: tuple[str, int] | None = None
        #: measure id -> What's this? text (``measure_help.short_texts`` of the session's catalogue)
        self.measure_texts: dict[str, str] = {}

    def set_highlighted(self, rate: tuple[str, int] | None) -> None:
        self.highlighted = rate
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.columns) - 1))

    def is_highlighted(self, item: MeasureStatus) -> bool:
        return self.highlighted == (item.measure_id, item.group_index)

    def highlighted_row(self) -> int | None:
        return next((r for r, item in enumerate(self._rows) if self.is_highlighted(item)), None)

    def extra(self, item: MeasureStatus, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.WhatsThisRole:  # Help ▸ What's this?
            return self.measure_texts.get(item.measure_id)
        if self.is_highlighted(item):
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(HIGHLIGHT)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 2:
                return QBrush(STATUS_COLOURS.get(item.status, _DIMMED))
            if item.status == NOT_APPLICABLE:
                return QBrush(_DIMMED)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{item.measure_id} · {item.measure_title}" + (f" — {item.group_title}" if item.group_title else ""),
                     f"{item.label}: {STATUS_TIPS.get(item.status, '')}", item.why]
            if item.rule:
                lines.append(f"Rule: {item.rule}")
            return "\n".join(x for x in lines if x)
        if role == Qt.ItemDataRole.AccessibleTextRole and column == 2:
            return f"{item.measure_id} {item.group_title}: {item.label}"
        return super().extra(item, column, role)
