"""A date field that takes what a person types and says what it understood.

A ``QDateEdit`` edits sections in place: typing ``2025-06-15`` over the year section kept 2026, an impossible
``2026-13-45`` became another date and nothing said so. :class:`DateField` is a text field instead: it reads
ISO (``2025-06-15``) and the US short forms (``6/15/2025``, ``06/15/25``), shows the day it read beneath
("Sunday 15 June 2025"), refuses an impossible date there in red and warns (amber) when the day is in the
future or before the patient's birth. What is typed is never replaced by another day: an unreadable text
stays as typed, and the form refuses to save it (:meth:`DateField.date` is None).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCalendarWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

ERROR_STYLE = "color: #b42318;"
WARNING_STYLE = "color: #8a5a00;"
UNDERSTOOD_STYLE = "color: #52606d;"
EARLIEST_YEAR = 1900
LATEST_YEAR = 2199
HOW_TO_TYPE = "type it as 2025-06-15 or 6/15/2025"

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_ISO_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})")
_US = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})")
_WORDS = {"today": 0, "yesterday": -1}


@dataclass(frozen=True)
class DateReading:
    """What a typed text means: the day, or why it is not one."""

    day: dt.date | None
    error: str = ""


def full_year(two_digits: int, today: dt.date) -> int:
    """A two-digit year's century: this century unless that is more than a year ahead (then the last)."""
    year = today.year // 100 * 100 + two_digits
    return year if year <= today.year + 1 else year - 100


def read_date(text: str, today: dt.date) -> DateReading:
    """The day ``text`` names, in ISO or US month/day/year order; an impossible one says what is wrong."""
    text = text.strip()
    if not text:
        return DateReading(None, "Enter a date.")
    if text.casefold() in _WORDS:
        return DateReading(today + dt.timedelta(days=_WORDS[text.casefold()]))
    if match := _ISO.fullmatch(text) or _ISO_BASIC.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _US.fullmatch(text):
        month, day, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            year = full_year(year, today)
    else:
        return DateReading(None, f"Not a date: {HOW_TO_TYPE}.")
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return DateReading(None, f"The year {year} is not plausible.")
    if not 1 <= month <= 12:
        return DateReading(None, f"There is no month {month}: {HOW_TO_TYPE}.")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return DateReading(None, f"{calendar.month_name[month]} {year} has {days} days, not {day}.")
    return DateReading(dt.date(year, month, day))


def spoken(day: dt.date) -> str:
    """A day as a person reads it, unmistakably: "Sunday 15 June 2025"."""
    return f"{calendar.day_name[day.weekday()]} {day.day} {calendar.month_name[day.month]} {day.year}"


class DateField(QWidget):
    """A typed date with a calendar button and, beneath, the day understood or what is wrong with it."""

    #: the text changed (read the day with :meth:`date`)
    changed = Signal()

    def __init__(self, name: str, tip: str, day: dt.date | None, today: dt.date, *, warn_future: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.today = today
        self.birth_date: dt.date | None = None
        self.warn_future = warn_future
        self.setAccessibleName(f"{name} field")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.edit = QLineEdit()
        self.edit.setAccessibleName(name)
        self.edit.setToolTip(f"{tip}. Type 2025-06-15, 6/15/2025 or 06/15/25; Alt+Down opens a calendar")
        self.edit.setPlaceholderText("YYYY-MM-DD or M/D/YYYY")
        self.edit.setMaxLength(24)
        self.edit.setMinimumWidth(self.edit.fontMetrics().horizontalAdvance("0000-00-00") + 24)
        row.addWidget(self.edit, 1)
        self.calendar_button = QToolButton()
        self.calendar_button.setArrowType(Qt.ArrowType.DownArrow)  # compact beside a narrow field
        self.calendar_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.calendar_button.setAccessibleName(f"{name}: choose on a calendar")
        self.calendar_button.setToolTip("Choose the day on a calendar (Alt+Down)")
        self.calendar_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes from the date to the next field
        self.calendar_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.calendar = QCalendarWidget()
        self.calendar.setGridVisible(True)
        self.calendar.clicked.connect(self._on_calendar)
        self.calendar.activated.connect(self._on_calendar)
        menu = QMenu(self.calendar_button)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.calendar)
        menu.addAction(action)
        menu.aboutToShow.connect(self._sync_calendar)
        self.calendar_menu = menu
        self.calendar_button.setMenu(menu)
        row.addWidget(self.calendar_button)
        outer.addLayout(row)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setAccessibleName(f"{name}: the date understood")
        outer.addWidget(self.note)
        self.setFocusProxy(self.edit)
        opener = QShortcut(QKeySequence(Qt.KeyboardModifier.AltModifier | Qt.Key.Key_Down), self.edit)
        opener.setContext(Qt.ShortcutContext.WidgetShortcut)
        opener.activated.connect(self.calendar_button.showMenu)
        self.edit.textChanged.connect(self._on_text)
        self.edit.editingFinished.connect(self._tidy)
        if day is not None:
            self.set_date(day)
        else:
            self._on_text()

    # --- value ----------------------------------------------------------------------------------
    def reading(self) -> DateReading:
        return read_date(self.edit.text(), self.today)

    def date(self) -> dt.date | None:
        """The day typed, or None when the text is not a date (the note beneath says why)."""
        return self.reading().day

    def set_date(self, day: dt.date) -> None:
        self.edit.setText(day.isoformat())

    def text(self) -> str:
        return self.edit.text()

    def set_birth_date(self, birth: dt.date | None) -> None:
        """The patient's birth date, to warn about a day before it (None: no patient)."""
        self.birth_date = birth
        self._on_text()

    # --- messages -------------------------------------------------------------------------------
    def message(self) -> tuple[str, str]:
        """(kind, text) of the note beneath: "understood", "warning" or "error"."""
        reading = self.reading()
        if reading.day is None:
            return "error", reading.error
        day = reading.day
        if self.warn_future and day > self.today:
            return "warning", f"{spoken(day)}: in the future (today is {self.today:%Y-%m-%d})."
        if self.birth_date is not None and day < self.birth_date:
            return "warning", f"{spoken(day)}: before the patient's birth ({self.birth_date:%Y-%m-%d})."
        return "understood", spoken(day)

    def is_valid(self) -> bool:
        return self.date() is not None

    def _on_text(self, *_args: object) -> None:
        kind, text = self.message()
        self.note.setText(text)
        self.note.setStyleSheet({"error": ERROR_STYLE, "warning": WARNING_STYLE}.get(kind, UNDERSTOOD_STYLE))
        self.edit.setProperty("invalid", kind == "error")
        self.changed.emit()

    def _tidy(self) -> None:
        """On leaving the field, a readable date is written in ISO: the same day, in the app's own form."""
        day = self.date()
        if day is not None and self.edit.text() != day.isoformat():
            self.edit.setText(day.isoformat())

    # --- calendar -------------------------------------------------------------------------------
    def _sync_calendar(self) -> None:
        day = self.date() or self.today
        self.calendar.setSelectedDate(QDate(day.year, day.month, day.day))

    def _on_calendar(self, chosen: QDate) -> None:
        self.set_date(dt.date(chosen.year(), chosen.month(), chosen.day()))
        self.calendar_menu.close()
        self.edit.setFocus()
