"""Scorecards (the home screen): a practice's rates for a period beside the network, the benchmark and
the target, coloured good/bad in each measure's own direction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from PySide6.QtCore import QByteArray, QEvent, QModelIndex, QSortFilterProxyModel, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...metrics.judgement import LEGEND, MEANING, ORDER, Status, counts
from ...metrics.period import Period
from ...services.context import Progress
from ...services.head_start import HeadStart
from ...services.measure_detail import TrendTables, every_sparkline
from ...services.scorecard import ScorecardService
from ...wording import count
from .. import periods
from ..itemmodels.scorecard import (
    COLUMNS,
    ROW_ROLE,
    SORT_ROLE,
    TREND_COLUMN,
    TREND_ROLE,
    ScorecardTableModel,
)
from ..measure_help import describe, short_texts
from ..printing import Printable
from ..session import Session
from ..settings import WindowState
from ..sparklines import SparklineDelegate
from ..widgets import StateStack, StatTile, heading, list_table, paragraph
from ..wrapped_rows import WrappedRows
from .base import NUMBERS, Page
from .measure_key import SPLITTERS, MeasureKey
from .scorecard_load import (
    RESULTS_READY,
    ScorecardData,
    load_scorecard,
    remembered_period,
    take_head_start,
    trends_with_results,
)

if TYPE_CHECKING:
    from .measure_detail import DetailPlace, MeasureDetailView

#: how long after the scorecard is shown its sparklines start computing (ms), unless they were asked for
#: with its results (``scorecard_load.trends_with_results``)
TRENDS_DELAY_MS = 150
#: the Measure column's narrowest width when it fills the table's free width (until the user resizes it;
#: theirs is then remembered)
MEASURE_WIDTH = 216


@dataclass(frozen=True)
class ScorecardPlace:
    """Where the user was on the scorecard (for Back): the period, the practice, the selected rate and the
    table's scroll position, or the drill-down of a rate."""

    period_key: str
    practice_code: str | None
    selected: tuple[str, int] | None
    scroll: int
    detail: DetailPlace | None = None


@dataclass(frozen=True)
class TrendData:
    table: pd.DataFrame  # TrendTables.get
    #: practice code -> its sparklines, built on the worker
    sparks: dict[str, dict[tuple[str, int], list[float | None]]]


def load_trends(progress: Progress, trends: TrendTables, period: Period) -> TrendData:
    """Runs on a worker thread: every practice's rolling 12-month rates and its sparklines."""
    table = trends.get(period, progress)
    return TrendData(table, every_sparkline(table))


class ScorecardsPage(Page):
    page_id = "scorecards"
    title = "Scorecards"
    icon_name = "scorecards"
    tooltip = "Quality measures per practice and period"

    loaded = Signal(object)
    load_failed = Signal(str)
    #: the sparklines of the shown period arrived
    trends_loaded = Signal()
    #: a measure's detail view was opened (its MeasureKey)
    measure_opened = Signal(object)
    #: the user asked to open a patient (internal id, and the MeasureKey of the rate listing it)
    patient_requested = Signal(int, object)

    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)
    watches = NUMBERS

    def __init__(self, session: Session, parent: QWidget | None = None, *, today: dt.date | None = None) -> None:
        super().__init__(session, parent)
        taken = take_head_start(session)
        #: the first scorecard's compute, started with the window; joined by the loads until one finishes
        self._head: HeadStart | None = taken[1] if taken is not None else None
        self.service = taken[0] if taken is not None else ScorecardService(session.ctx)
        self.trends = TrendTables(self.service)
        self.data: ScorecardData | None = None
        self.trend_table: pd.DataFrame | None = None
        self._trends_period: Period | None = None  # the period whose sparklines were asked for since the last load
        self.trend_sparks: dict[str, dict[tuple[str, int], list[float | None]]] = {}
        self._remembered_practice: str | None = None
        self._descriptions = {m.id: describe(m) for m in session.ctx.catalogue.all()}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 20)
        self.views = QStackedWidget()
        outer.addWidget(self.views)
        self.card_view = QWidget()
        self.views.addWidget(self.card_view)
        layout = QVBoxLayout(self.card_view)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        layout.addWidget(heading("Scorecard"))
        self.subtitle = paragraph("Computing the measures…")
        layout.addWidget(self.subtitle)

        pickers = QHBoxLayout()
        pickers.setSpacing(8)
        practice_label = QLabel("&Practice")
        self.practice_combo = QComboBox()
        self.practice_combo.setAccessibleName("Practice")
        self.practice_combo.setToolTip("The practice whose scorecard is shown")
        self.practice_combo.setMinimumWidth(280)
        practice_label.setBuddy(self.practice_combo)
        self.practice_combo.currentIndexChanged.connect(lambda _i: self._show_practice())
        period_label = QLabel("P&eriod")
        self.period_combo = QComboBox()
        self.period_combo.setAccessibleName("Reporting period")
        self.period_combo.setToolTip("The period reported: the current year to date (the default of every page), "
                                     "a past year, a quarter, a month or the last 12 complete months (measures look "
                                     "back before it as their specifications say)")
        period_label.setBuddy(self.period_combo)
        self._today = today or dt.date.today()
        for label, key in periods.choices(self._today):
            self.period_combo.addItem(label, key)
        self.period_combo.setCurrentIndex(0)  # the current measurement period to date
        self.period_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh the scorecard")
        self.refresh_button.setToolTip("Recompute with the latest data (only what changed is recomputed)")
        self.refresh_button.clicked.connect(self.refresh)
        for widget in (practice_label, self.practice_combo, period_label, self.period_combo):
            pickers.addWidget(widget)
        pickers.addStretch(1)
        pickers.addWidget(self.refresh_button)
        layout.addLayout(pickers)

        tiles = QHBoxLayout()
        tiles.setSpacing(12)
        # the headline: how many rates have each status of the one judgement (metrics.judgement)
        self.status_tiles = {s: StatTile(s.value, f"Rates whose status is “{s.value}”: {MEANING[s]}") for s in ORDER}
        for tile in self.status_tiles.values():
            tiles.addWidget(tile, 1)
        self.good_tile = self.status_tiles[Status.MEETS_TARGET]
        self.bad_tile = self.status_tiles[Status.WORSE]
        layout.addLayout(tiles)

        self.model = ScorecardTableModel(self)
        self.model.rolling_notes = session.ctx.catalogue.rolling_notes()
        self.model.measure_texts = short_texts(session.ctx.catalogue)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = list_table(self.proxy, "scorecardTable", "Scorecard")
        header = self.table.horizontalHeader()
        # sized to fit every practice's figures when data arrives (``_size_columns``), then left alone
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(TREND_COLUMN, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(TREND_COLUMN, 96)
        # the measure's full name wraps, whole, in a column the user may widen (remembered): each row is as
        # tall as its name needs (two lines at least), nothing elided
        self.table.verticalHeader().setDefaultSectionSize(2 * self.table.fontMetrics().lineSpacing() + 12)
        self.measure_rows = WrappedRows(self.table, 0, min_lines=2)
        self.table.setColumnWidth(0, MEASURE_WIDTH)
        self._measure_width: int | None = None  # the user's own width of the Measure column
        self._fitting = False
        header.sectionResized.connect(self._on_section_resized)
        self.table.viewport().installEventFilter(self)
        self.table.setItemDelegateForColumn(TREND_COLUMN, SparklineDelegate(TREND_ROLE, self.table))
        self.table.activated.connect(self._on_row_activated)
        self.table.setToolTip("Double-click a measure (or press Enter) for its trend, every practice, equity and patients")
        self.state = StateStack(self.table, loading="Computing the measures for every practice…",
                                retry_name="Try computing the scorecard again", on_retry=self.refresh)
        self.loading_view, self.empty_view = self.state.loading_view, self.state.empty_view
        self.error_view, self.error_label = self.state.error_view, self.state.error_label
        layout.addWidget(self.state, 1)
        self.footnote = paragraph("Green: meets the target, or better than the network beyond chance; red: worse than "
                                  "the network beyond chance; grey: no difference, or too few to say (hover “Status” "
                                  "for the rule). ↑ higher is better, ↓ lower is better. † self-reported counts. "
                                  "Double-click a measure (or press Enter) for its trend, the other practices, "
                                  "equity and the patients behind it.")
        self.footnote.setToolTip(LEGEND)
        layout.addWidget(self.footnote)

        self._detail: MeasureDetailView | None = None  # built when a measure is first opened
        self._pending: tuple[str, str, int] | None = None  # a rate to open once its period is computed
        self._pending_place: ScorecardPlace | None = None  # a place to show again once its period is computed
        self._splitter_states: dict[str, QByteArray | None] = {}

    # --- loading ------------------------------------------------------------------------------
    @property
    def period(self) -> Period:
        return Period.parse(str(self.period_combo.currentData()))

    def show_rate(self, practice_code: str, period: Period, measure_id: str, group_index: int = 0) -> None:
        """Open one practice's rate for ``period`` (from the network heat map): at once when that period is
        shown, else once it is computed."""
        self._remembered_practice = practice_code
        if self.data is not None and self.data.period == period and not self.loading("load"):
            self.close_measure()
            self.select_practice(practice_code)
            self.open_measure(measure_id, group_index)
            return
        self._pending = (practice_code, measure_id, group_index)
        if self.period_combo.findData(periods.key(period)) == self.period_combo.currentIndex() and self.loaded_once:
            return  # that period is being computed
        self.select_period(period)
        if not self.loaded_once:
            self.activate()

    def printable(self) -> Printable | None:
        """The scorecard as shown: the chosen practice's rates, sorted as on screen (not the trend sparklines);
        in a measure's detail, the table of its open tab."""
        if self._detail is not None and self.views.currentWidget() is self._detail:
            return self._detail.printable(self.practice_combo.currentText())
        if self.data is None or self.state.currentIndex() != self.STATE_TABLE:
            return None
        return Printable(f"Scorecard · {self.practice_combo.currentText()}", self.subtitle.text(), self.proxy,
                         frozenset({TREND_COLUMN}), "Status: " + "; ".join(f"{s.value}: {MEANING[s]}" for s in ORDER))

    def select_period(self, period: Period) -> None:
        """Show ``period`` (one the combo offers)."""
        index = self.period_combo.findData(periods.key(period))
        if index >= 0:
            self.period_combo.setCurrentIndex(index)

    def load(self) -> None:
        """Compute the chosen period's table; a load still running (another year, older data) is cancelled
        and its result never shown."""
        self.state.setCurrentIndex(self.STATE_LOADING)
        self.refresh_button.setEnabled(False)
        self.latest.drop("trends")  # of the table being replaced
        self._trends_period = None
        self.trend_table = None
        self.model.set_trends(None)
        shown = periods.describe(self.period, self._today)
        self.subtitle.setText(f"Computing the measures for {shown}…")
        self._on_load_progress(0.0, "")
        self.run_latest(load_scorecard, self.service, self.period, self._head, label="Computing the scorecard",
                        on_finished=self._on_loaded, on_failed=self._on_failed, on_progress=self._on_load_progress,
                        on_cancelled=lambda: self.refresh_button.setEnabled(True))

    def _on_load_progress(self, fraction: float, message: str) -> None:
        """Say what the load is doing: a period computed for the first time reads every child's record.
        Its results in, the sparklines may be asked for at once (:func:`trends_with_results`)."""
        if message == RESULTS_READY:
            if self._trends_period != self.period and trends_with_results():
                self._load_trends(self.period)
            return
        self.loading_view.setText(loading_text(periods.describe(self.period, self._today), fraction, message))

    def _on_loaded(self, data: ScorecardData) -> None:
        self.data = data
        self._head = None  # joined, or cancelled by a load of another period
        self.refresh_button.setEnabled(True)
        current = self.practice_combo.currentData() or self._remembered_practice
        self.practice_combo.blockSignals(True)
        self.practice_combo.clear()
        for p in data.practices:
            self.practice_combo.addItem(f"{p.code} · {p.name}", p.code)
        index = self.practice_combo.findData(current)
        self.practice_combo.setCurrentIndex(max(index, 0))
        self.practice_combo.blockSignals(False)
        if self._pending is not None:
            index = self.practice_combo.findData(self._pending[0])
            if index >= 0:
                self.practice_combo.blockSignals(True)
                self.practice_combo.setCurrentIndex(index)
                self.practice_combo.blockSignals(False)
        self._size_columns(data)
        self._show_practice()
        if self._pending is not None:
            _code, measure_id, group_index = self._pending
            self._pending = None
            self.open_measure(measure_id, group_index)
        if self._detail is not None and self.views.currentWidget() is self._detail and self._detail.key is not None:
            kept = self._detail.place()  # the measure open stays open, read again from the new table, and
            key = self._detail.key       # its patient list keeps its filter, selection and scroll
            self.open_measure(key.measure_id, key.group_index, focus=False)
            if kept is not None:
                self._detail.restore_place(kept)
        if self._pending_place is not None:
            place, self._pending_place = self._pending_place, None
            self._restore_now(place)
        self.loaded.emit(data)
        # the sparklines' compute starts once the table has painted (unless it was asked for with the results):
        # started at once in this process, it would hold the GIL against the first paint of the table and the
        # window would stall for a moment
        QTimer.singleShot(TRENDS_DELAY_MS, self, lambda d=data: self._trends_after_paint(d))

    def _trends_after_paint(self, data: ScorecardData) -> None:
        if self.data is data and not self.loading("load") and self._trends_period != data.period:
            self._load_trends(data.period)

    def _load_trends(self, period: Period) -> None:
        """The sparklines come after the scorecard: the rolling periods may take a while the first time."""
        self._trends_period = period
        self.run_latest(load_trends, self.trends, period, slot="trends", label="Computing the trends",
                        on_finished=self._on_trends, on_failed=self._on_trends_failed)

    def _on_trends(self, trends: TrendData) -> None:
        self.trend_table = trends.table
        self.trend_sparks = trends.sparks
        self.model.set_trends(trends.sparks.get(self.practice_combo.currentData(), {}))
        self.trends_loaded.emit()

    def _on_trends_failed(self, message: str) -> None:
        self.model.set_trends({})
        self.status_message.emit("The trends could not be computed")

    def _on_failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.error_label.setText(f"The scorecard could not be computed.\n\n{message}")
        self.state.setCurrentIndex(self.STATE_ERROR)
        self.status_message.emit("Could not compute the scorecard")
        self.load_failed.emit(message)

    # --- showing ------------------------------------------------------------------------------
    def select_practice(self, code: str) -> None:
        index = self.practice_combo.findData(code)
        if index >= 0:
            self.practice_combo.setCurrentIndex(index)

    # --- drilling into a measure ----------------------------------------------------------------
    def _on_row_activated(self, index: QModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if row is not None:
            self.leaving.emit()
            self.open_measure(str(row["measure"]), int(row["group_index"]))

    def open_measure(self, measure_id: str, group_index: int = 0, *, focus: bool = True) -> MeasureKey | None:
        """Show the detail of one rate of the current practice (trend, practices, equity, patients)."""
        if self.data is None:
            return None
        code = str(self.practice_combo.currentData())
        key = MeasureKey(measure_id, group_index, code, self.data.period, frozenset({code}))
        row = next((r for r in self.model.rows() if r["measure"] == measure_id and int(r["group_index"]) == group_index), None)
        summary = self.practice_combo.currentText() + f" · {periods.describe(self.data.period, self._today)}"
        if row is not None and row.get("rate") is not None:
            summary += (f" · rate {row['rate'] * 100:.1f}% ({int(row['numerator']):,} of {int(row['rate_base']):,}),"
                        f" network {_pct(row.get('network_rate'))}, target {_pct(row.get('target'))}")
        self.detail.open(key, summary)
        self.views.setCurrentWidget(self.detail)
        if focus:
            self.detail.tabs.setFocus()
        self.status_message.emit(f"{measure_id} · {code} · {self.data.period.label}")
        self.measure_opened.emit(key)
        return key

    @property
    def detail(self) -> MeasureDetailView:
        """The drill-in view (trend, practices, equity, patients), built on first use: its charts need
        pyqtgraph, which the scorecard itself does not, so the home screen opens sooner."""
        if self._detail is None:
            from .measure_detail import MeasureDetailView

            self._detail = MeasureDetailView(self.session, self.service, self.trends)
            self._detail.back_requested.connect(self._back_to_card)
            self._detail.patientRequested.connect(self.patient_requested)
            self._detail.restore_splitters(self._splitter_states)
            self.views.addWidget(self._detail)
        return self._detail

    def close_measure(self) -> None:
        if self._detail is None:
            return
        self.detail.cancel()
        self.views.setCurrentWidget(self.card_view)
        self.table.setFocus()
        if self.data is not None:
            self.status_message.emit(f"Scorecard {self.practice_combo.currentData()} · {self.data.period.label}")

    def _back_to_card(self) -> None:
        """The drill-down's own "← Scorecard" (Esc): up to the table, a step the window's Back undoes."""
        self.leaving.emit()
        self.close_measure()

    # --- places (Back and Forward) --------------------------------------------------------------
    def detail_shown(self) -> bool:
        return self._detail is not None and self.views.currentWidget() is self._detail

    def place(self) -> ScorecardPlace:
        current = self.table.currentIndex()
        row = current.data(ROW_ROLE) if current.isValid() else None
        selected = (str(row["measure"]), int(row["group_index"])) if row is not None else None
        detail = self.detail.place() if self.detail_shown() else None
        return ScorecardPlace(str(self.period_combo.currentData()), self.practice_combo.currentData(), selected,
                              self.table.verticalScrollBar().value(), detail)

    def place_title(self) -> str:
        if self.detail_shown() and self.detail.key is not None:
            key = self.detail.key
            tab = self.detail.tabs.tabText(self.detail.tabs.currentIndex())
            return f"{key.measure_id} · {key.practice_code} · {key.period.label} · {tab}"
        return f"Scorecard · {self.practice_combo.currentData() or ''} · {self.period_combo.currentText()}"

    def restore_place(self, state: object | None) -> None:
        """Show ``state`` again: a drill-down as it was left, or the table with its rate selected and scrolled;
        when its period is not the one computed, once it is."""
        if not isinstance(state, ScorecardPlace):
            return
        period_key = periods.key(state.detail.key.period) if state.detail is not None else state.period_key
        drilled_in = state.detail is not None and self.detail_shown() and self.detail.key == state.detail.key
        if not drilled_in and (str(self.period_combo.currentData()) != period_key or self.data is None
                               or self.loading("load")):
            self._pending_place = state  # shown by _on_loaded
            self.period_combo.setCurrentIndex(max(self.period_combo.findData(period_key), 0))
            return
        self._restore_now(state)

    def _restore_now(self, state: ScorecardPlace) -> None:
        """:meth:`restore_place` once the place's period is computed."""
        if state.detail is not None:
            key = state.detail.key
            if not (self.detail_shown() and self.detail.key == key):
                self.select_practice(key.practice_code)
                self.open_measure(key.measure_id, key.group_index)
            self.detail.restore_place(state.detail)
            return
        self.close_measure()
        if state.practice_code:
            self.select_practice(state.practice_code)
        if state.selected is not None:
            for r in range(self.proxy.rowCount()):
                row = self.proxy.index(r, 0).data(ROW_ROLE)
                if (str(row["measure"]), int(row["group_index"])) == state.selected:
                    self.table.setCurrentIndex(self.proxy.index(r, 0))
                    break
        self.table.verticalScrollBar().setValue(state.scroll)

    # --- remembered state (the main window calls these) -----------------------------------------
    def restore_state(self, state: WindowState) -> None:
        """The practice and year last shown, and the detail view's splitters; before the first load."""
        remembered = remembered_period(state)
        index = self.period_combo.findData(remembered) if remembered is not None else -1
        if index >= 0:
            self.period_combo.blockSignals(True)
            self.period_combo.setCurrentIndex(index)
            self.period_combo.blockSignals(False)
        self._remembered_practice = state.last_practice()
        width = state.measure_column_width()
        if width is not None:
            self._measure_width = max(120, width)
            self._fit_measure_column()
        self._splitter_states = {name: state.splitter_state(f"measure_{name}") for name in SPLITTERS}
        if self._detail is not None:
            self._detail.restore_splitters(self._splitter_states)

    def save_state(self, state: WindowState) -> None:
        code = self.practice_combo.currentData()
        if code:
            state.set_last_practice(str(code))
        state.set_last_period(str(self.period_combo.currentData()))
        if self._measure_width is not None:
            state.set_measure_column_width(self._measure_width)
        states = self._detail.splitter_states() if self._detail is not None else self._splitter_states
        for name, value in states.items():
            if value is not None:
                state.set_splitter_state(f"measure_{name}", value)

    def _size_columns(self, data: ScorecardData) -> None:
        """Fit the columns to the widest figure of any practice, once per load. Columns sized to their
        contents on every switch would ask each cell for its size (~2,500 calls into Python per switch,
        each waiting for the GIL while a worker computes); fixed, a switch only repaints (~900). Only the
        widest row of each column is measured by the view: measuring every practice's rows would itself
        stall the window (~16,000 calls)."""
        every = [r for rows in data.rows.values() for r in rows]
        if not every:
            return
        metrics = self.table.fontMetrics()
        columns = [c for c in range(1, len(COLUMNS)) if c != TREND_COLUMN]
        def width(row: dict[str, Any], column: int) -> int:  # a cell's widest line (the rate sits over its interval)
            return max(metrics.horizontalAdvance(line) for line in str(COLUMNS[column].display(row)).split("\n"))

        widest = {id(max(every, key=lambda r, c=c: width(r, c))) for c in columns}  # type: ignore[misc]
        self.model.set_rows([r for r in every if id(r) in widest], self._descriptions.get)
        bold = self.table.horizontalHeader().fontMetrics()
        for column in columns:  # the cells' widths, and the header's title (its sort arrow may overlap)
            self.table.setColumnWidth(column, max(self.table.sizeHintForColumn(column),
                                                  bold.horizontalAdvance(COLUMNS[column].title) + 20))
        self._fit_measure_column()

    def _fit_measure_column(self) -> None:
        """The Measure column takes the table's free width (at least ``MEASURE_WIDTH``), unless the user
        gave it a width of their own."""
        others = sum(self.table.columnWidth(c) for c in range(1, len(COLUMNS)))
        free = self.table.viewport().width() - others - 2
        self._fitting = True
        self.table.setColumnWidth(0, self._measure_width or max(MEASURE_WIDTH, free))
        self._fitting = False

    def _on_section_resized(self, section: int, _old: int, new: int) -> None:
        if section == 0 and not self._fitting:
            self._measure_width = new

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 (Qt)
        """The table's viewport resized (the window, the table first shown after loading, its scroll bar
        appearing): the Measure column takes the free width again (it was fitted to a hidden table)."""
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize and self.data is not None:
            self._fit_measure_column()
        return super().eventFilter(watched, event)

    def _show_practice(self) -> None:
        """Switching practice filters the rows already computed for the whole network (no new work)."""
        if self.data is None:
            return
        code = self.practice_combo.currentData()
        rows = self.data.rows.get(code, [])
        self.model.set_rows(rows, self._descriptions.get)
        self.model.set_trends(self.trend_sparks.get(code, {}) if self.trend_table is not None else None)
        tally = counts(r.get("status") for r in rows)
        for state, tile in self.status_tiles.items():
            tile.set_value(f"{tally[state]:,}")
        practice = next((p for p in self.data.practices if p.code == code), None)
        name = practice.name if practice else "this practice"
        patients = f" ({practice.patients:,} children)" if practice else ""
        self.subtitle.setText(
            f"{name}{patients} in {periods.describe(self.data.period, self._today)}: {count(len(rows), 'rate')} of "
            f"{count(len({r['measure'] for r in rows}), 'measure')}, beside the network rate, the best-practice "
            "benchmark and the network target."
        )
        if rows:
            self.state.setCurrentIndex(self.STATE_TABLE)
        else:
            self.empty_view.setText("No results for this practice and period.\n\nImport data for it, or choose "
                                    "another period.")
            self.state.setCurrentIndex(self.STATE_EMPTY)
        self.status_message.emit(f"Scorecard {code} · {self.data.period.label}")


def loading_text(period: str, fraction: float, message: str) -> str:
    """The scorecard's loading state: the period, the step under way, and why the first time is slow."""
    step = ""
    if message.startswith("Evaluating "):
        step = f"\n\n{message} ({fraction:.0%})"
    elif message == "Loading data":
        step = "\n\nReading every child's record…"
    return (f"Computing the measures for {period} for every practice…{step}\n\nThe first time a period is shown "
            "it is computed from every child's record: a minute or so for a large network. The results are kept, "
            "so later starts show it at once and only what changed is computed again.")


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
