"""The care-gaps page's parts: the outreach dialog, the selected child's detail panel and the line saying
how many gaps closed after outreach."""


from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...services import outreach as outreach_service
from ...services.outreach_results import OutreachResults
from ..itemmodels.gaps import (
    cell_text,
)
from ..widgets import paragraph
from .care_gaps_jobs import Attempt


class OutreachDialog(QDialog):
    """Asks how the family was contacted, what came of it, when to try again, and a note."""

    def __init__(self, what: str, parent: QWidget | None = None, *, today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log outreach")
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(what))
        form = QFormLayout()
        self.method = QComboBox()
        self.method.setAccessibleName("Contact method")
        for m in outreach_service.METHODS:
            self.method.addItem(m.capitalize(), m)
        form.addRow("&Method", self.method)
        self.outcome = QComboBox()
        self.outcome.setAccessibleName("Outcome")
        for o in outreach_service.OUTCOMES:
            self.outcome.addItem(o.capitalize(), o)
        form.addRow("&Outcome", self.outcome)
        day = today or dt.date.today()
        self.follow_up_check = QCheckBox("Try again on")
        self.follow_up_check.setAccessibleName("Set a follow-up day")
        self.follow_up = QDateEdit()
        self.follow_up.setCalendarPopup(True)
        self.follow_up.setDisplayFormat("yyyy-MM-dd")
        self.follow_up.setAccessibleName("Follow-up day")
        self.follow_up.setMinimumDate(_qdate(day))
        self.follow_up.setDate(_qdate(day + dt.timedelta(days=7)))
        self.follow_up.setEnabled(False)
        self.follow_up_check.toggled.connect(self.follow_up.setEnabled)
        self.outcome.currentIndexChanged.connect(lambda _i: self._suggest_follow_up())
        row = QHBoxLayout()
        row.addWidget(self.follow_up_check)
        row.addWidget(self.follow_up, 1)
        form.addRow("Follow up", row)
        layout.addLayout(form)
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Outreach note")
        self.note.setPlaceholderText("Optional note, e.g. mum asked for an evening call")
        self.note.setTabChangesFocus(True)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Log")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._today = day
        self._suggest_follow_up()
        self.resize(460, 320)

    def _suggest_follow_up(self) -> None:
        """No answer, a message left: try again in a week; reached, scheduled, declined: no follow-up."""
        self.follow_up_check.setChecked(self.outcome.currentData() in ("left message", "no answer", "sent"))

    def attempt(self) -> Attempt:
        qd = self.follow_up.date()
        follow = dt.date(qd.year(), qd.month(), qd.day()) if self.follow_up_check.isChecked() else None
        return Attempt(str(self.method.currentData()), str(self.outcome.currentData()), follow,
                       self.note.toPlainText().strip(), self._today)


class ChildDetail(QWidget):
    """The selected child's gaps and why (measure, rate, what is missing, due) and outreach attempts."""

    GAP_HEADERS = ("Gap", "Measure", "What is missing", "Due by", "Status", "Rate")
    ATTEMPT_HEADERS = ("Day", "Method", "Outcome", "Follow up", "Note", "By")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        self.title = QLabel("")
        self.title.setObjectName("sectionTitle")
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Selected child")
        layout.addWidget(self.title)
        self.gaps = self._table("Gaps of the selected child", self.GAP_HEADERS)
        layout.addWidget(self.gaps, 3)
        self.attempts_title = QLabel("Outreach attempts")
        self.attempts_title.setObjectName("sectionTitle")
        layout.addWidget(self.attempts_title)
        self.attempts = self._table("Outreach attempts of the selected child", self.ATTEMPT_HEADERS)
        layout.addWidget(self.attempts, 2)
        self.show_nothing(0)

    @staticmethod
    def _table(name: str, headers: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setAccessibleName(name)
        table.setHorizontalHeaderLabels(list(headers))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.verticalHeader().setVisible(False)
        table.setWordWrap(True)
        table.setShowGrid(False)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def show_nothing(self, selected: int) -> None:
        self.title.setText("Select a child to see each gap and why." if selected == 0 else
                           f"{selected} children selected: Log outreach records one attempt for each.")
        self.gaps.setRowCount(0)
        self.attempts.setRowCount(0)

    def show_child(self, row: dict[str, Any], gaps: pd.DataFrame, attempts: pd.DataFrame) -> None:
        self.title.setText(f"{cell_text(row.get('patient_name'))} · MRN {cell_text(row.get('mrn'))} · born "
                           f"{cell_text(row.get('birth_date'))} — {cell_text(row.get('gap_count'))} gap(s), from "
                           f"{len(gaps)} measure rate row(s)" + _contact_line(row))
        self._fill(self.gaps, [[g.item, g.measure, g.missing, g.due_date, g.status, g.group_title]
                               for g in gaps.itertuples(index=False)])
        self._fill(self.attempts, [[a.activity_date, a.method, a.outcome, a.follow_up_date, a.note, a.performed_by]
                                   for a in attempts.itertuples(index=False)])
        self.attempts_title.setText(f"Outreach attempts ({len(attempts)})")

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[Any]]) -> None:
        table.setRowCount(len(rows))
        for i, values in enumerate(rows):
            for j, value in enumerate(values):
                item = QTableWidgetItem(cell_text(value))
                item.setToolTip(cell_text(value))
                table.setItem(i, j, item)
        table.resizeColumnsToContents()
        for j in range(table.columnCount()):
            table.setColumnWidth(j, min(table.columnWidth(j), 220))

    def gap_texts(self) -> list[str]:
        items = (self.gaps.item(i, 0) for i in range(self.gaps.rowCount()))
        return [item.text() if item is not None else "" for item in items]


class OutreachFigure(QLabel):
    """One line under the tiles: "12 gaps closed after outreach in the last 90 days (of 40 open when
    contacted; 31 attempts)" for the practice shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("pageText")
        self.setAccessibleName("Gaps closed after outreach")
        self.setToolTip("Gaps open when the family was contacted (calls, texts, letters ...) that new data has "
                        "closed since: the vaccine, visit or screening is now recorded and the child still "
                        "counts in the measure. Gaps that lapsed (a child who aged out or left) are not counted.")
        self.results: OutreachResults | None = None
        self.setVisible(False)

    def show_results(self, results: OutreachResults | None) -> None:
        self.results = results
        self.setText("" if results is None else results.text + ".")
        self.setVisible(results is not None)


def _contact_line(row: dict[str, Any]) -> str:
    """``"\nPhone 555-0101 · Guardian Ana Rivera · Spanish · prefers text"`` (what is known), or ''."""
    parts = [f"Phone {cell_text(row.get('phone'))}" if row.get("phone") else "",
             f"Guardian {cell_text(row.get('guardian'))}" if row.get("guardian") else "",
             cell_text(row.get("language")) if row.get("language") not in (None, "Unknown") else "",
             f"prefers {cell_text(row.get('contact_method'))}" if row.get("contact_method") else ""]
    text = " · ".join(p for p in parts if p)
    return f"\n{text}" if text else ""


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    return label
