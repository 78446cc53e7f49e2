"""Network overview: the network's name, totals, and the table of its practices."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QRegularExpression, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...services import practices as practice_service
from ...services.context import Progress, ServiceContext
from ...services.practices import PracticeSummary
from ..itemmodels.practices import PRACTICE_ROLE, SORT_ROLE, PracticeTableModel
from ..session import Session
from ..widgets import StateStack, StatTile, heading, list_table, paragraph
from .base import NUMBERS, Page


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
    tooltip = "The network's practices with their patients and providers"

    #: the overview was read from the store
    loaded = Signal(object)
    #: reading failed; the message is for the user
    load_failed = Signal(str)
    #: a practice was double-clicked or Enter was pressed on it
    practice_activated = Signal(object)

    STATE_LOADING, STATE_TABLE, STATE_EMPTY, STATE_ERROR = range(4)
    watches = NUMBERS

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.overview: Overview | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)

        self.title_label = heading("Practices")
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
        layout.addLayout(tools)

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
        layout.addWidget(self.state, 1)

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> None:
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
            f"The {n:,} practice{'s' if n != 1 else ''} of {name}, with their registered patients and "
            "providers. Click a column heading to sort; type below to filter." if n
            else f"{overview.network_name or 'This network'} has no practices yet."
        )
        self.practices_tile.set_value(f"{n:,}")
        self.providers_tile.set_value(f"{overview.providers:,}")
        self.patients_tile.set_value(f"{overview.patients:,}")
        self.state.setCurrentIndex(self.STATE_TABLE if n else self.STATE_EMPTY)
        self.status_message.emit(f"{n:,} practices · {overview.patients:,} patients")
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
