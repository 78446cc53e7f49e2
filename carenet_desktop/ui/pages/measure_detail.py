"""One measure rate of one practice, in four tabs: its trend (p-chart), every practice of the network
(funnel plot and ranking), the equity strata, and the patients behind the numbers.

Opened from the scorecard (double-click or Enter on a row); Esc or "Back" returns. Each tab loads off
the GUI thread from the scorecard's caches (``services.measure_detail``) and shows its own loading state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from PySide6.QtCore import QByteArray, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...services import measure_detail as detail
from ...services.context import Progress
from ...services.scorecard import STRATA, ScorecardService
from ...wording import count
from ..charts import EquityChart, FunnelChart, TrendChart
from ..itemmodels.measure_patients import EPISODE_COLUMN, MeasurePatientsModel
from ..itemmodels.records import SORT_ROLE, RecordColumn, RecordTableModel, number, pct
from ..measure_help import whats_this
from ..printing import Printable
from ..session import Session
from ..tasks import LatestTasks
from ..widgets import StateStack, heading, list_table, paragraph
from ..wrapped_rows import WrappedRows
from .measure_key import SPLITTERS, MeasureKey

STATE_LOADING, STATE_CONTENT, STATE_EMPTY, STATE_ERROR = range(4)
TABS = ("trend", "practices", "equity", "patients")
#: what the tabs load (the practices and equity tabs share one load)
TABS_LOADED = ("trend", "comparison", "patients")


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain Python records (built on the worker, so the GUI thread only reads them)."""
    return [{k: _plain(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


@dataclass(frozen=True)
class Comparison:
    comparison: detail.PracticeComparison
    practices: list[dict[str, Any]]
    equity: list[dict[str, Any]]


@dataclass(frozen=True)
class PatientList:
    by_status: dict[str, list[dict[str, Any]]]  # "" = all
    counts: dict[str, int]
    version: str = ""  # the measure version that computed the rate


@dataclass(frozen=True)
class DetailPlace:
    """Where the user was in the drill-down (for Back): the rate, the tab, the patient list's filter, the
    selected patient and how far the list was scrolled."""

    key: MeasureKey
    summary: str
    tab: str
    status: str
    patient_id: int | None
    row: int
    scroll: int


def load_trend(progress: Progress, trends: detail.TrendTables, key: MeasureKey) -> detail.TrendSeries:
    table = trends.get(key.period, progress)
    return detail.measure_trend(trends.service.ctx.catalogue, table, key.practice_code, key.measure_id, key.group_index)


def load_comparison(progress: Progress, service: ScorecardService, key: MeasureKey) -> Comparison:
    table = service.network_table(key.period, progress=progress.sub(0, 0.5))
    comparison = detail.practice_comparison(service.ctx.catalogue, table, key.measure_id, key.group_index,
                                            detail.visible_only(key.visible_codes))
    equity = detail.equity_table(service, key.period, key.measure_id, key.group_index, key.practice_code,
                                 progress=progress.sub(0.5, 1))
    return Comparison(comparison, records(comparison.table), records(equity))


def load_patients(progress: Progress, service: ScorecardService, key: MeasureKey) -> PatientList:
    found = detail.measure_patients(service, key.period, key.measure_id, key.group_index, key.practice_code, progress)
    everyone = records(found.table)
    by_status: dict[str, list[dict[str, Any]]] = {"": everyone}
    for status in detail.STATUS_ORDER:
        by_status[status] = [r for r in everyone if r["status"] == status]
    return PatientList(by_status, found.counts, found.version)


PRACTICE_COLUMNS = (
    RecordColumn("Practice", "Practices you may see are named; the others are anonymised",
                 lambda r: str(r["label"])),
    RecordColumn("Rate", "The practice's rate", lambda r: pct(r.get("rate")), lambda r: number(r.get("rate")), True),
    RecordColumn("95% interval", "Wilson 95% confidence interval",
                 lambda r: f"{pct(r.get('ci_low'))} – {pct(r.get('ci_high'))}", lambda r: number(r.get("ci_low")), True),
    RecordColumn("n / N", "Numerator / denominator (less exclusions and exceptions)",
                 lambda r: f"{int(r['numerator']):,} / {int(r['rate_base']):,}", lambda r: int(r["rate_base"]), True),
    RecordColumn("Funnel", "Where the rate lies against the 2σ/3σ limits around the network rate",
                 lambda r: str(r["position"])),
)

#: what a group under the small-cell threshold shows instead of its figures (never ranked)
FEWER = "fewer than 11"


def _small(r: dict[str, Any]) -> bool:
    return bool(r.get("small"))


def _bare(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


def _gap_text(r: dict[str, Any]) -> str:
    if _small(r):
        return "not ranked"
    if r.get("gap") is None:
        return "–"
    return "★ best" if r.get("gap") == 0 else f"{r['gap'] * 100:.1f} pts" + (" !" if r.get("significant") else "")


EQUITY_COLUMNS = (
    RecordColumn("Stratum", "Payer, race, ethnicity, language, sex or age band", lambda r: str(r["stratum_title"]),
                 lambda r: STRATA.index(str(r["stratum"]))),
    RecordColumn("Group", "The patients of this value of the stratum", lambda r: str(r["value_title"])),
    RecordColumn("Rate (95% interval)", "The group's rate and its Wilson 95% confidence interval (groups of "
                 "fewer than 11 are not shown or ranked)",
                 lambda r: "–" if _small(r) else f"{pct(r.get('rate'))} ({_bare(r.get('ci_low'))}–"
                 f"{_bare(r.get('ci_high'))})", lambda r: number(r.get("rate")), True),
    RecordColumn("n / N", "Numerator / denominator", lambda r: FEWER if _small(r) else
                 f"{int(r['numerator']):,} / {int(r['rate_base']):,}", lambda r: int(r["rate_base"]), True),
    RecordColumn("Gap to best", "How far the group is from the best-served group of the same stratum "
                 "(★ the best-served; ! beyond chance: the intervals do not overlap; groups of fewer than 11 "
                 "are not ranked)", _gap_text, lambda r: number(r.get("gap")), True,
                 row_tooltip=lambda r: "Fewer than 11 children: too few to rank" if _small(r) else
                 None if r.get("gap") in (0, None) else
                 f"{r['gap'] * 100:.1f} percentage points below {r['best_title']}"
                 + (" (beyond chance)" if r.get("significant") else " (within chance)")),
)


TREND_CAPTION = ("Each point is the rate over the 12 months ending that month, with its 95% interval. The p-chart "
                 "limits (2σ, 3σ) around the practice's mean widen where the denominator is small: a point beyond 3σ "
                 "is unlikely to be chance.")


class MeasureDetailView(QWidget):
    back_requested = Signal()
    #: the user asked to open a patient (its internal id, and the MeasureKey of the rate it is listed in)
    patientRequested = Signal(int, object)  # noqa: N815 - Qt signal naming
    trend_loaded = Signal(object)
    comparison_loaded = Signal(object)
    patients_loaded = Signal(object)

    def __init__(self, session: Session, service: ScorecardService, trends: detail.TrendTables,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("measureDetail")
        self.session = session
        self.service = service
        self.trends = trends
        self.key: MeasureKey | None = None
        self.patients: PatientList | None = None
        #: each tab's load, the latest request winning (a measure opened meanwhile drops the older one's)
        self.latest = LatestTasks(session.tasks, self)
        self._started: set[str] = set()
        #: a place to show again once its patient list is read (Back to a drill-down)
        self._pending_place: DetailPlace | None = None
        self.summary = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        top = QHBoxLayout()
        self.back_button = QPushButton("← Scorecard")
        self.back_button.setAccessibleName("Back to the scorecard")
        self.back_button.setToolTip("Back to the scorecard (Esc)")
        self.back_button.clicked.connect(self.back_requested)
        top.addWidget(self.back_button)
        self.title_label = heading("", "cardTitle")
        top.addWidget(self.title_label, 1)
        layout.addLayout(top)
        self.summary_label = paragraph("")
        layout.addWidget(self.summary_label)
        back = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        back.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        back.activated.connect(self.back_requested)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("measureTabs")
        self.tabs.setDocumentMode(True)
        layout.addWidget(self.tabs, 1)
        self._build_trend_tab()
        self._build_practices_tab()
        self._build_equity_tab()
        self._build_patients_tab()
        self.tabs.currentChanged.connect(lambda _i: self._on_tab())

    # --- construction -------------------------------------------------------------------------
    def _stack(self, content: QWidget, loading: str, retry: str, on_retry: Any) -> StateStack:
        return StateStack(content, loading=loading, retry_name=retry, on_retry=on_retry)

    def _build_trend_tab(self) -> None:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 8, 0, 0)
        self.trend_chart = TrendChart()
        self.trend_state = self._stack(self.trend_chart, "Computing the rolling 12-month rates…",
                                       "Try computing the trend again", lambda: self._start("trend"))
        box.addWidget(self.trend_state, 1)
        self.trend_caption = paragraph(TREND_CAPTION)
        box.addWidget(self.trend_caption)
        self.trend_note = paragraph("")  # why this measure's rolling rate behaves unusually, if it does
        self.trend_note.setObjectName("trendNote")
        self.trend_note.setStyleSheet("color: #8a4b08; font-weight: 600;")
        self.trend_note.setVisible(False)
        box.addWidget(self.trend_note)
        self.tabs.addTab(page, "Trend")

    def _build_practices_tab(self) -> None:
        self.funnel_chart = FunnelChart()
        self.practices_model = RecordTableModel(PRACTICE_COLUMNS, self)
        self.practices_proxy = QSortFilterProxyModel(self)
        self.practices_proxy.setSourceModel(self.practices_model)
        self.practices_proxy.setSortRole(SORT_ROLE)
        self.practices_table = list_table(self.practices_proxy, "practiceRanking", "Practices ranked by rate")
        self.practices_table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.practices_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.practices_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.practices_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.practices_splitter.setObjectName("practicesSplitter")
        self.practices_splitter.addWidget(self.funnel_chart)
        self.practices_splitter.addWidget(self.practices_table)
        self.practices_splitter.setSizes([520, 480])
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 8, 0, 0)
        self.practices_state = self._stack(self.practices_splitter, "Comparing every practice…",
                                           "Try the comparison again", lambda: self._start("comparison"))
        box.addWidget(self.practices_state, 1)
        box.addWidget(paragraph("Funnel plot: each practice's rate against its denominator; the lines are the network "
                                "rate and its 2σ/3σ limits. Green: better than chance would explain, red: worse. "
                                "Practices other than this one are anonymised."))
        self.tabs.addTab(page, "Practices")

    def _build_equity_tab(self) -> None:
        self.equity_chart = EquityChart()
        self.equity_model = RecordTableModel(EQUITY_COLUMNS, self)
        self.equity_proxy = QSortFilterProxyModel(self)
        self.equity_proxy.setSourceModel(self.equity_model)
        self.equity_proxy.setSortRole(SORT_ROLE)
        self.equity_table = list_table(self.equity_proxy, "equityTable", "Rates by stratum")
        self.equity_table.setSortingEnabled(False)  # the service's order: by stratum, best-served first
        header = self.equity_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # no figure is ever cut
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the group's name takes what is left
        header.setStretchLastSection(False)
        self.equity_rows = WrappedRows(self.equity_table, 1)  # a long group name wraps, never elided
        self.equity_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.equity_splitter.setObjectName("equitySplitter")
        equity_scroll = QScrollArea()  # one readable row per group: the chart grows, the area scrolls
        equity_scroll.setWidgetResizable(True)
        equity_scroll.setFrameShape(QFrame.Shape.NoFrame)
        equity_scroll.setWidget(self.equity_chart)
        self.equity_splitter.addWidget(equity_scroll)
        self.equity_splitter.addWidget(self.equity_table)
        self.equity_splitter.setSizes([380, 640])
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 8, 0, 0)
        self.equity_state = self._stack(self.equity_splitter, "Computing the rates by stratum…",
                                        "Try the strata again", lambda: self._start("comparison"))
        box.addWidget(self.equity_state, 1)
        box.addWidget(paragraph("This practice's rate by payer, race, ethnicity, language, sex and age band. Green "
                                "dot: the best-served group of its stratum; red: a gap beyond chance (the "
                                "intervals do not overlap). Groups of fewer than 11 children are shown as "
                                "“fewer than 11” and never ranked."))
        self.tabs.addTab(page, "Equity")

    def _build_patients_tab(self) -> None:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 8, 0, 0)
        filters = QHBoxLayout()
        label = QLabel("&Show")
        self.status_combo = QComboBox()
        self.status_combo.setAccessibleName("Which patients to show")
        label.setBuddy(self.status_combo)
        for status, title in (("gap", "Gaps"), ("", "Everyone"), ("numerator", "Met"), ("exclusion", "Excluded"),
                              ("exception", "Exceptions")):
            self.status_combo.addItem(title, status)
        self.status_combo.currentIndexChanged.connect(lambda _i: self._show_patients())
        filters.addWidget(label)
        filters.addWidget(self.status_combo)
        self.patients_count = QLabel("")
        self.patients_count.setObjectName("pageText")
        filters.addWidget(self.patients_count, 1)
        box.addLayout(filters)
        self.patients_model = MeasurePatientsModel(self)
        self.patients_table = QTableView()
        self.patients_table.setObjectName("measurePatients")
        self.patients_table.setAccessibleName("Patients behind the rate")
        self.patients_table.setModel(self.patients_model)  # no proxy: tens of thousands of rows stay instant
        self.patients_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.patients_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.patients_table.setAlternatingRowColors(True)
        self.patients_table.setShowGrid(False)
        self.patients_table.setWordWrap(False)
        self.patients_table.verticalHeader().setVisible(False)
        self.patients_table.verticalHeader().setDefaultSectionSize(28)
        header = self.patients_table.horizontalHeader()
        header.setHighlightSections(False)
        for column, width in enumerate((80, 180, 110, 105, 150, 80, 105, 360)):
            self.patients_table.setColumnWidth(column, width)
        header.setStretchLastSection(True)
        self.patients_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.patients_table.activated.connect(self._on_patient_activated)
        self.patients_state = self._stack(self.patients_table, "Listing the patients…", "Try listing the patients again",
                                          lambda: self._start("patients"))
        box.addWidget(self.patients_state, 1)
        self.tabs.addTab(page, "Patients")

    # --- opening ------------------------------------------------------------------------------
    def open(self, key: MeasureKey, summary: str = "") -> None:
        """Show ``key``: the trend and the comparison load now, the patients when their tab is opened."""
        self.cancel()
        self.key = key
        self.summary = summary
        self.patients = None
        if self._pending_place is not None and self._pending_place.key != key:
            self._pending_place = None
        catalogue = self.session.ctx.catalogue
        measure = catalogue.get(key.measure_id)
        self.patients_table.setColumnHidden(EPISODE_COLUMN, measure.basis != "episode")
        note = getattr(measure, "rolling_note", None)
        self.trend_note.setText(f"Why this trend moves in steps: {note}" if note else "")
        self.trend_note.setVisible(bool(note))
        self.title_label.setText(key.title_in(catalogue))
        self.title_label.setAccessibleName(key.title_in(catalogue))
        self.title_label.setWhatsThis(whats_this(key.measure_id, catalogue) or "")
        self.summary_label.setText(summary or f"{key.practice_code} · {key.period.label}")
        self._start("trend")
        self._start("comparison")
        for state in (self.patients_state,):
            state.setCurrentIndex(STATE_LOADING)
        self._on_tab()

    def cancel(self) -> None:
        for what in TABS_LOADED:
            self.latest.drop(what)
        self._started.clear()

    def loading_patients(self) -> bool:
        return self.latest.running("patients")

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    def _on_tab(self) -> None:
        if TABS[self.tabs.currentIndex()] == "patients" and self.patients is None and "patients" not in self._started:
            self._start("patients")

    def _start(self, what: str) -> None:
        key = self.key
        if key is None:
            return
        self._started.add(what)
        start = self.latest.start
        if what == "trend":
            self.trend_state.setCurrentIndex(STATE_LOADING)
            start(what, load_trend, self.trends, key, label="Computing the trend",
                  on_finished=lambda r, k=key: self._on_trend(k, r),  # type: ignore[misc]
                  on_failed=lambda m: self._fail(self.trend_state, m))
        elif what == "comparison":
            self.practices_state.setCurrentIndex(STATE_LOADING)
            self.equity_state.setCurrentIndex(STATE_LOADING)
            start(what, load_comparison, self.service, key, label="Comparing practices",
                  on_finished=lambda r, k=key: self._on_comparison(k, r),  # type: ignore[misc]
                  on_failed=self._fail_comparison)
        else:
            self.patients_state.setCurrentIndex(STATE_LOADING)
            start(what, load_patients, self.service, key, label="Listing the patients",
                  on_finished=lambda r, k=key: self._on_patients(k, r),  # type: ignore[misc]
                  on_failed=lambda m: self._fail(self.patients_state, m))

    def _fail(self, state: StateStack, message: str) -> None:
        state.error_label.setText(f"This could not be loaded.\n\n{message}")
        state.setCurrentIndex(STATE_ERROR)

    def _fail_comparison(self, message: str) -> None:
        self._fail(self.practices_state, message)
        self._fail(self.equity_state, message)

    # --- showing ------------------------------------------------------------------------------
    def _on_trend(self, key: MeasureKey, series: detail.TrendSeries) -> None:
        if key != self.key:
            return
        if not (series.base > 0).any():
            self.trend_state.empty_view.setText("No patients in this rate in the 12 months before any month of the year.")
            self.trend_state.setCurrentIndex(STATE_EMPTY)
        else:
            self.trend_chart.set_series(series)
            self.trend_state.setCurrentIndex(STATE_CONTENT)
        self.trend_loaded.emit(series)

    def _on_comparison(self, key: MeasureKey, result: Comparison) -> None:
        if key != self.key:
            return
        self.practices_model.set_records(result.practices)
        if result.practices:
            self.funnel_chart.set_comparison(result.comparison)
            self.practices_state.setCurrentIndex(STATE_CONTENT)
        else:
            self.practices_state.empty_view.setText("No practice has a rate for this measure in this period.")
            self.practices_state.setCurrentIndex(STATE_EMPTY)
        self.equity_model.set_records(result.equity)
        if result.equity:
            self.equity_chart.set_rows(result.equity)
            self.equity_state.setCurrentIndex(STATE_CONTENT)
        else:
            self.equity_state.empty_view.setText("No patients of this practice are in this rate.")
            self.equity_state.setCurrentIndex(STATE_EMPTY)
        self.comparison_loaded.emit(result)

    def _on_patients(self, key: MeasureKey, result: PatientList) -> None:
        if key != self.key:
            return
        self.patients = result
        if not result.by_status[""]:
            self.status_combo.setCurrentIndex(self.status_combo.findData(""))
        self._show_patients()
        self._apply_pending_place()
        self.patients_loaded.emit(result)

    def _show_patients(self) -> None:
        if self.patients is None:
            return
        status = self.status_combo.currentData()
        rows = self.patients.by_status.get(status, [])
        self.patients_model.set_records(rows)
        counts = self.patients.counts
        self.patients_count.setText(
            f"{count(counts.get('gap', 0), 'gap')} · {counts.get('numerator', 0):,} met · "
            f"{counts.get('exclusion', 0):,} excluded · {count(counts.get('exception', 0), 'exception')} — "
            "double-click a patient to open the record")
        self.patients_count.setToolTip(f"Computed with {self.patients.version}" if self.patients.version else "")
        if rows:
            self.patients_state.setCurrentIndex(STATE_CONTENT)
        else:
            self.patients_state.empty_view.setText("No patients here." if status else "No patients in this rate.")
            self.patients_state.setCurrentIndex(STATE_EMPTY)

    def _on_patient_activated(self, index: Any) -> None:
        if index.isValid():
            self.patientRequested.emit(self.patients_model.patient_id(index.row()), self.key)

    # --- places (Back) --------------------------------------------------------------------------
    def printable(self, practice: str) -> Printable | None:
        """The open tab's table as shown (the practices, the strata, or the patients behind the rate); the
        trend is a chart: nothing to print as a table."""
        if self.key is None:
            return None
        tab = TABS[self.tabs.currentIndex()]
        title = f"{self.key.title_in(self.session.ctx.catalogue)} · {practice}"
        if tab == "practices":
            return Printable(title, "Practices ranked by rate", self.practices_proxy)
        if tab == "equity":
            return Printable(title, "Rates by stratum", self.equity_proxy)
        if tab == "patients" and self.patients is not None:
            return Printable(title, self.patients_count.text(), self.patients_model,
                             note="Confidential: names of children. Shred after use.")
        return None

    def place(self) -> DetailPlace | None:
        """Where the user is in the drill-down now (None: nothing opened)."""
        if self.key is None:
            return None
        current = self.patients_table.currentIndex()
        row = current.row() if current.isValid() else -1
        patient_id = self.patients_model.patient_id(row) if 0 <= row < self.patients_model.rowCount() else None
        return DetailPlace(self.key, self.summary, TABS[self.tabs.currentIndex()], str(self.status_combo.currentData()),
                           patient_id, row, self.patients_table.verticalScrollBar().value())

    def restore_place(self, place: DetailPlace) -> None:
        """Show ``place`` again: its rate (opened when another is shown), tab, filter, selected patient and
        scroll position, at once when its patient list is read, else when it arrives."""
        if self.key != place.key:
            self.open(place.key, place.summary)
        self._pending_place = place
        self.status_combo.setCurrentIndex(max(self.status_combo.findData(place.status), 0))
        self.show_tab(place.tab)
        self._apply_pending_place()

    def _apply_pending_place(self) -> None:
        place = self._pending_place
        if place is None or self.patients is None or self.key != place.key:
            return
        self._pending_place = None
        table, model = self.patients_table, self.patients_model
        row = place.row
        if place.patient_id is not None:  # the same child, even when the list changed meanwhile
            row = next((r for r in range(model.rowCount()) if model.patient_id(r) == place.patient_id), row)
        table.doItemsLayout()  # the scroll range of the rows just read, before scrolling
        if 0 <= row < model.rowCount():
            table.setCurrentIndex(model.index(row, 0))
        table.verticalScrollBar().setValue(place.scroll)

    # --- remembered state ---------------------------------------------------------------------
    def _splitters(self) -> dict[str, QSplitter]:
        return dict(zip(SPLITTERS, (self.practices_splitter, self.equity_splitter), strict=True))

    def splitter_states(self) -> dict[str, QByteArray]:
        return {name: splitter.saveState() for name, splitter in self._splitters().items()}

    def restore_splitters(self, states: dict[str, QByteArray | None]) -> None:
        for name, splitter in self._splitters().items():
            state = states.get(name)
            if state is not None:
                splitter.restoreState(state)
