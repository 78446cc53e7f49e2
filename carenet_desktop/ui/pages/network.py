"""The Network page: the network's totals, a practice × measure heat map coloured by the one judgement
(click a heading to sort, double-click a cell to open that rate on the scorecard), and the practice list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QRegularExpression, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...metrics.period import Period
from ...services import practices as practice_service
from ...services.context import Progress, ServiceContext
from ...services.practices import PracticeSummary
from ...services.scorecard import ScorecardService
from ...wording import count
from .. import periods
from ..itemmodels.heatmap import HEATMAP_LEGEND, HEATMAP_TOOLTIP, HeatMapModel
from ..itemmodels.heatmap import ROW_ROLE as CELL_ROLE
from ..itemmodels.heatmap import SORT_ROLE as HEAT_SORT_ROLE
from ..itemmodels.practices import PRACTICE_ROLE, SORT_ROLE, PracticeTableModel
from ..session import Session
from ..widgets import StateStack, StatTile, heading, list_table, paragraph
from .base import NUMBERS, Page
from .scorecards import ScorecardData, load_scorecard


@dataclass(frozen=True)
class Overview:
    network_name: str | None
    practices: list[PracticeSummary]

    @property
    def patients(self) -> int:
        return sum(p.patients for p in self.practices)

    @property
    def providers(self) -> int:
        return sum(p.providers for p in self.practices)


def load_overview(progress: Progress, ctx: ServiceContext) -> Overview:
    """Runs on a worker thread."""
    progress.report(0.0, "Reading the network")
    name = practice_service.network_name(ctx)
    progress.report(0.3, "Counting patients per practice")
    practices = practice_service.list_practices(ctx)
    progress.report(1.0, "Practices loaded")
    return Overview(name, practices)


EMPTY_NETWORK = (
    "This database has no practices yet.\n\n"
    "Build a synthetic demo network with   carenet demo   or import data with   "
    "carenet import fhir FILE   or   carenet import csv FILE."
)


class NetworkPage(Page):
    page_id = "network"
    title = "Network"
    icon_name = "network"
    tooltip = "Every practice's rates side by side (a heat map), and the network's practices"

    #: the overview was read from the store
    loaded = Signal(object)
    #: reading failed; the message is for the user
    load_failed = Signal(str)
    #: a practice was double-clicked or Enter was pressed on it
    practice_activated = Signal(object)
    #: a heat-map cell was opened: (practice code, measure id, group index, period)
    rate_activated = Signal(str, str, int, object)
    #: the heat map of the chosen period arrived
    heatmap_loaded = Signal()

    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)
    watches = NUMBERS

    def __init__(self, session: Session, parent: QWidget | None = None, *, today: Any = None) -> None:
        super().__init__(session, parent)
        self.overview: Overview | None = None
        self.heat: ScorecardData | None = None
        self._heat_stale = True
        self._service: ScorecardService | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)

        self.title_label = heading("Network")
        layout.addWidget(self.title_label)
        self.subtitle = paragraph("Reading the practices of this network…")
        layout.addWidget(self.subtitle)

        tiles = QHBoxLayout()
        tiles.setSpacing(12)
        self.practices_tile = StatTile("Practices", "Practices in this network")
        self.providers_tile = StatTile("Providers", "Clinicians recorded across all practices")
        self.patients_tile = StatTile("Patients", "Children registered across all practices")
        for tile in (self.practices_tile, self.providers_tile, self.patients_tile):
            tiles.addWidget(tile, 1)
        layout.addLayout(tiles)

        tools = QHBoxLayout()
        tools.setSpacing(8)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by code, name or city")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter practices")
        self.filter_edit.setToolTip("Show only the practices whose code, name or city contains this text")
        self.filter_edit.textChanged.connect(self._apply_filter)
        tools.addWidget(self.filter_edit, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh practices")
        self.refresh_button.setToolTip("Read the practice list from the database again (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        tools.addWidget(self.refresh_button)

        self.model = PracticeTableModel(parent=self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = list_table(self.proxy, "practiceTable", "Practices")
        self.table.setToolTip("Click a column heading to sort by it")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(70)
        for column, width in ((0, 110), (2, 180), (3, 110), (4, 110)):
            header.resizeSection(column, width)
        self.table.activated.connect(self._on_activated)

        self.state = StateStack(self.table, loading="Loading practices…", retry_name="Try loading the practices again",
                                on_retry=self.refresh, empty=EMPTY_NETWORK)
        self.loading_view, self.empty_view = self.state.loading_view, self.state.empty_view
        self.error_view, self.error_label = self.state.error_view, self.state.error_label
        self.tabs = QTabWidget()
        self.tabs.setObjectName("networkTabs")
        self.tabs.addTab(self._build_heatmap(today), "Heat map")
        practices = QWidget()
        box = QVBoxLayout(practices)
        box.setContentsMargins(0, 8, 0, 0)
        box.addLayout(tools)
        box.addWidget(self.state, 1)
        self.tabs.addTab(practices, "Practices")
        self.tabs.currentChanged.connect(lambda _i: self._load_heatmap_if_shown())
        layout.addWidget(self.tabs, 1)

    def _build_heatmap(self, today: Any) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 8, 0, 0)
        box.setSpacing(8)
        row = QHBoxLayout()
        label = QLabel("P&eriod")
        self.period_combo = QComboBox()
        self.period_combo.setAccessibleName("Heat map period")
        self.period_combo.setToolTip("The period of the heat map (the current year to date by default, as on "
                                     "every page)")
        label.setBuddy(self.period_combo)
        for text, key in periods.choices(today):
            self.period_combo.addItem(text, key)
        self.period_combo.currentIndexChanged.connect(lambda _i: self._load_heatmap(force=True))
        row.addWidget(label)
        row.addWidget(self.period_combo)
        row.addStretch(1)
        box.addLayout(row)
        self.heat_model = HeatMapModel(self)
        self.heat_proxy = QSortFilterProxyModel(self)
        self.heat_proxy.setSourceModel(self.heat_model)
        self.heat_proxy.setSortRole(HEAT_SORT_ROLE)
        self.heat_table = list_table(self.heat_proxy, "heatMap", "Practice by measure heat map", row_height=28)
        self.heat_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.heat_table.setShowGrid(True)
        self.heat_table.setToolTip(HEATMAP_TOOLTIP)
        header = self.heat_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.heat_table.activated.connect(self._on_cell_activated)
        self.heat_state = StateStack(self.heat_table, loading="Computing every practice's rates…",
                                     retry_name="Try computing the heat map again",
                                     on_retry=lambda: self._load_heatmap(force=True))
        box.addWidget(self.heat_state, 1)
        box.addWidget(paragraph(HEATMAP_LEGEND))
        return page

    # --- the heat map ---------------------------------------------------------------------------
    @property
    def period(self) -> Period:
        return Period.parse(str(self.period_combo.currentData()))

    def _load_heatmap_if_shown(self) -> None:
        if self._heat_stale and self.isVisible() and self.on_screen() and self.tabs.currentIndex() == 0:
            self._load_heatmap()

    def _load_heatmap(self, force: bool = False) -> None:
        if not force and not self._heat_stale:
            return
        if not (self.isVisible() and self.on_screen()):
            self._heat_stale = True
            return
        self._heat_stale = False
        if self._service is None:
            self._service = ScorecardService(self.session.ctx)
        self.heat_state.setCurrentIndex(0)
        self.run_latest(load_scorecard, self._service, self.period, slot="heatmap", label="Computing the heat map",
                        on_finished=self._on_heatmap, on_failed=self._on_heatmap_failed)

    def _on_heatmap(self, data: ScorecardData) -> None:
        self.heat = data
        self.heat_model.set_rows([r for rows in data.rows.values() for r in rows])
        self.heat_state.setCurrentIndex(1 if self.heat_model.rowCount() else 2)
        if not self.heat_model.rowCount():
            self.heat_state.empty_view.setText("No results for this period.")
        self.heatmap_loaded.emit()

    def _on_heatmap_failed(self, message: str) -> None:
        self._heat_stale = True
        self.heat_state.error_label.setText(f"The heat map could not be computed.\n\n{message}")
        self.heat_state.setCurrentIndex(3)

    def _on_cell_activated(self, index: QModelIndex) -> None:
        row = index.data(CELL_ROLE)
        if row is not None and self.heat is not None:
            self.rate_activated.emit(str(row["practice_code"]), str(row["measure"]), int(row["group_index"]),
                                     self.heat.period)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self._load_heatmap_if_shown()

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        self._heat_stale = True  # the numbers may have changed: the heat map reads them again when shown
        self._load_heatmap_if_shown()
        if self.overview is None:
            self.state.setCurrentIndex(self.STATE_LOADING)
        self.refresh_button.setEnabled(False)
        self.run_latest(load_overview, self.session.ctx, label="Loading practices", on_finished=self._on_loaded,
                        on_failed=self._on_failed, on_cancelled=lambda: self.refresh_button.setEnabled(True))

    def _on_loaded(self, overview: Overview) -> None:
        self.overview = overview
        self.refresh_button.setEnabled(True)
        self.model.set_practices(overview.practices)
        name = overview.network_name or "this network"
        n = len(overview.practices)
        self.subtitle.setText(
            f"The {n:,} practice{'s' if n != 1 else ''} of {name}: every practice's rates side by side (Heat map), "
            "and the practices with their patients and providers (Practices)." if n
            else f"{overview.network_name or 'This network'} has no practices yet."
        )
        self.practices_tile.set_value(f"{n:,}")
        self.providers_tile.set_value(f"{overview.providers:,}")
        self.patients_tile.set_value(f"{overview.patients:,}")
        self.state.setCurrentIndex(self.STATE_TABLE if n else self.STATE_EMPTY)
        self.status_message.emit(f"{count(n, 'practice')} · {count(overview.patients, 'patient')}")
        self.loaded.emit(overview)

    def _on_failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.error_label.setText(f"The practices could not be read.\n\n{message}")
        self.state.setCurrentIndex(self.STATE_ERROR)
        self.status_message.emit("Could not read the practices")
        self.load_failed.emit(message)

    # --- interaction --------------------------------------------------------------------------
    def _apply_filter(self, text: str) -> None:
        pattern = QRegularExpression(
            QRegularExpression.escape(text.strip()), QRegularExpression.PatternOption.CaseInsensitiveOption
        )
        self.proxy.setFilterRegularExpression(pattern)

    def _on_activated(self, index: QModelIndex) -> None:
        practice = index.data(PRACTICE_ROLE)
        if practice is not None:
            self.practice_activated.emit(practice)
