"""The patient page: who the child is, their status in every measure, and what happened to them, newest first."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...metrics.period import Period
from ...services.patient_measures import (
    DUE,
    EXCLUDED,
    MET,
    NOT_APPLICABLE,
    NOT_MET,
    OVERDUE,
    STATUS_ORDER,
    MeasureStatus,
)
from ...services.patients import PatientDetail
from ...wording import count
from .. import periods
from ..itemmodels.patients import MeasureStatusModel, TimelineModel
from ..printing import Printable
from ..widgets import StateStack, card, heading, list_table, paragraph
from .measure_key import MeasureKey

#: demographics shown in the card: (key, label)
FIELDS = (
    ("mrn", "MRN"), ("birth", "Born"), ("age", "Age"), ("sex", "Sex"), ("race", "Race"),
    ("ethnicity", "Ethnicity"), ("language", "Language"), ("payer", "Payer"), ("zip", "ZIP code"),
    ("pcp", "Primary care"), ("practice", "Practice"), ("coverage", "Coverage"), ("phone", "Phone"),
    ("guardian", "Guardian"), ("contact", "Contact by"),
)


class PatientView(QWidget):
    """Shows one :class:`PatientDetail`; ``back`` is emitted by the Back button or Esc.

    Opened from a measure's patient list, it shows that rate's period and highlights that rate's row
    (:meth:`set_origin`)."""

    back = Signal()
    #: the measurement period was changed (the page reloads the patient for it)
    period_changed = Signal(object)
    #: "Edit contacts…" was pressed (the page opens the dialog)
    edit_contacts = Signal()

    STATE_LOADING, STATE_CONTENT, STATE_EMPTY, STATE_ERROR = range(4)

    def __init__(self, today: dt.date, on_retry: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientView")
        self.detail: PatientDetail | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 18, 28, 16)
        layout.setSpacing(10)

        top = QHBoxLayout()
        top.setSpacing(10)
        self.back_button = QPushButton("← Back")
        self.back_button.setAccessibleName("Back")
        self.set_back_title("the patient list")
        self.back_button.clicked.connect(self.back.emit)
        top.addWidget(self.back_button)
        self.name_label = heading("Patient")
        self.name_label.setObjectName("pageTitle")
        top.addWidget(self.name_label, 1)
        self.contacts_button = QPushButton("Edit contacts…")
        self.contacts_button.setAccessibleName("Edit contact details")
        self.contacts_button.setToolTip("Phone number(s), guardian, preferred language and contact method")
        self.contacts_button.clicked.connect(self.edit_contacts.emit)
        self.contacts_button.setVisible(False)  # the page shows it to users who may change the patient
        top.addWidget(self.contacts_button)
        self.today = today
        period_label = QLabel("Measurement &period")
        self.period_combo = QComboBox()
        self.period_combo.setAccessibleName("Measurement period")
        self.period_combo.setToolTip("The period whose measure status is shown (measures look back before it as "
                                     "their specifications say)")
        period_label.setBuddy(self.period_combo)
        for year in range(today.year, today.year - 4, -1):  # the current year to date first, as on every page
            self.period_combo.addItem(periods.describe(Period.year(year), today), periods.key(Period.year(year)))
        self.period_combo.currentIndexChanged.connect(lambda _i: self.period_changed.emit(self.period))
        top.addWidget(period_label)
        top.addWidget(self.period_combo)
        layout.addLayout(top)
        #: the rate the page was opened from (a measure's patient list), its row highlighted below
        self.origin: MeasureKey | None = None
        self.origin_label = paragraph("")
        self.origin_label.setObjectName("originNote")
        self.origin_label.setAccessibleName("Opened from")
        self.origin_label.setStyleSheet("background: #fef0c7; color: #7a2e0e; padding: 6px 10px; border-radius: 4px;")
        self.origin_label.setVisible(False)
        layout.addWidget(self.origin_label)

        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(10)
        self.facts = card("demographicsCard")
        self.facts.setAccessibleName("Demographics")
        grid = QGridLayout(self.facts)
        grid.setContentsMargins(16, 10, 16, 10)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(4)
        self.values: dict[str, QLabel] = {}
        per_row = 6
        for i, (key, label) in enumerate(FIELDS):
            r, c = divmod(i, per_row)
            name = QLabel(label)
            name.setObjectName("tileTitle")
            value = QLabel("–")
            value.setObjectName("factValue")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(label)
            grid.addWidget(name, r * 2, c)
            grid.addWidget(value, r * 2 + 1, c)
            self.values[key] = value
        for c in range(per_row):
            grid.setColumnStretch(c, 1)
        body.addWidget(self.facts)

        self.counts_label = paragraph("")
        self.counts_label.setAccessibleName("Measure status summary")
        body.addWidget(self.counts_label)

        self.measure_model = MeasureStatusModel(parent=self)
        self.measure_table = _table(self.measure_model, "patientMeasures", "Measure status")
        self.measure_table.setToolTip("The patient's status in every measure of the catalogue; hover a row for the rule")
        self.timeline_model = TimelineModel(parent=self)
        self.timeline_table = _table(self.timeline_model, "patientTimeline", "Timeline")
        self.timeline_table.setToolTip("Everything recorded for the patient, newest first")
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.show_all_check = QCheckBox("Show measures that do not apply")
        self.show_all_check.setAccessibleName("Show measures that do not apply")
        self.show_all_check.setToolTip("Also list the measures this patient is not in (age, sex, diagnosis ...)")
        self.show_all_check.toggled.connect(lambda _on: self._fill_measures())
        for title, table, extra in (("Measures", self.measure_table, self.show_all_check),
                                    ("Timeline", self.timeline_table, None)):
            box = QWidget()
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(0, 0, 0, 0)
            box_layout.setSpacing(6)
            title_row = QHBoxLayout()
            title_row.addWidget(heading(title, "cardTitle"))
            title_row.addStretch(1)
            if extra is not None:
                title_row.addWidget(extra)
            box_layout.addLayout(title_row)
            box_layout.addWidget(table, 1)
            self.splitter.addWidget(box)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)
        body.addWidget(self.splitter, 1)

        self.state = StateStack(content, loading="Reading the patient's record…",
                                retry_name="Try opening the patient again", on_retry=on_retry)  # type: ignore[arg-type]
        layout.addWidget(self.state, 1)

        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.back.emit)

    @property
    def period(self) -> Period:
        return Period.parse(str(self.period_combo.currentData()))

    def set_period(self, period: Period) -> None:
        """Show ``period`` (a year, or the quarter, month or 12 months a measure's patient list was on)."""
        self.period_combo.blockSignals(True)
        i = self.period_combo.findData(periods.key(period))
        if i < 0:
            self.period_combo.addItem(periods.describe(period, self.today), periods.key(period))
            i = self.period_combo.count() - 1
        self.period_combo.setCurrentIndex(i)
        self.period_combo.blockSignals(False)

    def set_year(self, year: int) -> None:
        self.set_period(Period.year(year))

    def set_back_title(self, title: str | None) -> None:
        """Name where Back leads (the window's last place), or the patient list when nothing is behind."""
        self.back_button.setToolTip(f"Back to {title or 'the patient list'} (Alt+Left, Esc)")

    def set_origin(self, key: MeasureKey | None, title: str = "") -> None:
        """The rate this page was opened from (its period is shown, its row highlighted), or None; ``title``
        is the rate's title (``MeasureKey.title_in``)."""
        self.origin = key
        self.measure_model.set_highlighted((key.measure_id, key.group_index) if key is not None else None)
        self.origin_label.setVisible(key is not None)
        if key is not None:
            self.origin_label.setText(f"Opened from the patients of {title or key.measure_id} · {key.practice_code} · "
                                      f"{periods.describe(key.period, self.today)}: that measure is highlighted below.")

    def show_loading(self) -> None:
        self.state.setCurrentIndex(self.STATE_LOADING)

    def show_error(self, message: str) -> None:
        self.state.error_label.setText(f"The patient's record could not be read.\n\n{message}")
        self.state.setCurrentIndex(self.STATE_ERROR)

    def printable(self) -> Printable | None:
        """The child's measure status for the period shown (names and dates: confidential)."""
        if self.detail is None:
            return None
        d = self.detail.demographics
        return Printable(f"Patient · {d.name}", f"Measure status, {self.period_combo.currentText()} · MRN {d.mrn}",
                         self.measure_model, note="Confidential: a child's record. Shred after use.")

    def show_detail(self, detail: PatientDetail) -> None:
        self.detail = detail
        d = detail.demographics
        labels = d.labels()
        self.name_label.setText(d.name + (" (deceased)" if d.deceased_date else ""))
        self.name_label.setAccessibleName(f"Patient {d.name}")
        coverage = detail.coverages[0] if detail.coverages else None
        coverage_text = "–"
        if coverage is not None:
            since = f" since {coverage.start.isoformat()}" if coverage.start else ""
            until = f" until {coverage.end.isoformat()}" if coverage.end else ""
            coverage_text = f"{coverage.payer_name or labels['payer']}{since}{until}"
        values = {
            "mrn": d.mrn, "birth": d.birth_date.isoformat(), "age": detail.age or "–", "sex": labels["sex"],
            "race": labels["race"], "ethnicity": labels["ethnicity"], "language": labels["language"],
            "payer": labels["payer"], "zip": d.zip_code or "–", "pcp": d.pcp or "–",
            "practice": f"{d.practice_code} · {d.practice_name}", "coverage": coverage_text,
            "phone": d.phone or "–", "guardian": d.guardian or "–", "contact": d.contact_method or "–",
        }
        for key, text in values.items():
            label = self.values[key]
            label.setText(text)
            label.setToolTip(text)
        self._fill_measures()
        self.timeline_model.set_rows(detail.timeline)
        self.counts_label.setText(self.summary())
        self.set_period(detail.period)
        for table in (self.measure_table, self.timeline_table):
            table.resizeColumnsToContents()
            _cap_columns(table)
        self.state.setCurrentIndex(self.STATE_CONTENT)
        self._show_highlighted()

    def _show_highlighted(self) -> None:
        """Select and scroll to the rate the page was opened from."""
        row = self.measure_model.highlighted_row()
        if row is not None:
            self.measure_table.setCurrentIndex(self.measure_model.index(row, 0))
            self.measure_table.scrollTo(self.measure_model.index(row, 0))

    def shown_measures(self) -> list[MeasureStatus]:
        """The statuses listed: the ones that need attention first; "not applicable" only on request."""
        if self.detail is None:
            return []
        rank = {status: i for i, status in enumerate(STATUS_ORDER)}
        rows = [m for m in self.detail.measures if self.show_all_check.isChecked() or m.status != NOT_APPLICABLE
                or self.measure_model.is_highlighted(m)]
        return sorted(rows, key=lambda m: rank.get(m.status, len(rank)))  # stable: catalogue order within a status

    def _fill_measures(self) -> None:
        self.measure_model.set_rows(self.shown_measures())
        self._show_highlighted()

    def summary(self) -> str:
        """``2 overdue · 1 due · 5 met · 1 excluded · 20 not applicable · 31 events`` for the shown year."""
        if self.detail is None:
            return ""
        statuses = [m.status for m in self.detail.measures]
        parts = [f"{statuses.count(s)} {label}" for s, label in (
            (OVERDUE, "overdue"), (DUE, "due"), (NOT_MET, "not met"), (MET, "met"), (EXCLUDED, "excluded"),
            (NOT_APPLICABLE, "not applicable")) if statuses.count(s)]
        failed = self.detail.measure_failures
        text = f"{self.detail.period.label}: " + " · ".join(parts) + f" · {count(len(self.detail.timeline), 'event')}"
        if failed:
            text += f" · not evaluated: {', '.join(sorted(failed))}"
        return text


def _table(model: object, name: str, accessible: str) -> QTableView:
    table = list_table(model, name, accessible, row_height=26)  # type: ignore[arg-type]
    table.setSortingEnabled(False)
    header = table.horizontalHeader()
    header.setSortIndicatorShown(False)
    header.setResizeContentsPrecision(200)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setMinimumSectionSize(48)
    table.setHorizontalScrollMode(QTableView.ScrollMode.ScrollPerPixel)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    return table


def _cap_columns(table: QTableView, widest: int = 260) -> None:
    header = table.horizontalHeader()
    for c in range(header.count() - 1):
        header.resizeSection(c, min(header.sectionSize(c), widest))
