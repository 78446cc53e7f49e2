"""Small widgets the pages share: page headings, number tiles, a label that elides long paths, the
loading/content/empty/error stack of a page."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)


class ElidedLabel(QLabel):
    """Shows as much of its text as fits, eliding in the middle; the full text is the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle) -> None:
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 40)
        self.setText(QFontMetrics(self.font()).elidedText(self._full, self._mode, width))


def heading(text: str, object_name: str = "pageTitle") -> QLabel:
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setAccessibleName(text)
    return label


def paragraph(text: str, object_name: str = "pageText") -> QLabel:
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class StatTile(QFrame):
    """A labelled number ("Patients  12,345")."""

    def __init__(self, title: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "tile")
        self.setToolTip(tooltip)
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 12)
        layout.setSpacing(2)
        self.title_label = QLabel(title)
        self.title_label.setObjectName("tileTitle")
        self.value_label = QLabel("–")
        self.value_label.setObjectName("tileValue")
        layout.addWidget(self.title_label)
        layout.addWidget(self.value_label)

    def set_value(self, text: str) -> None:
        self.value_label.setText(text)
        self.setAccessibleDescription(f"{self.title_label.text()}: {text}")

    def value(self) -> str:
        return self.value_label.text()


def card(object_name: str = "card") -> QFrame:
    frame = QFrame()
    frame.setProperty("role", "card")
    frame.setObjectName(object_name)
    return frame


class StateStack(QStackedWidget):
    """A page's four states in one stack: loading, the content, empty, and an error with "Try again".

    Indexes: 0 loading, 1 content, 2 empty, 3 error (the pages' STATE_* constants).
    """

    def __init__(self, content: QWidget, *, loading: str, retry_name: str, on_retry: Callable[[], object],
                 empty: str = "") -> None:
        super().__init__()
        self.loading_view = paragraph(loading, "stateMessage")
        self.loading_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_view = paragraph(empty, "stateMessage")
        self.empty_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_view = QWidget()
        error_layout = QVBoxLayout(self.error_view)
        error_layout.addStretch(1)
        self.error_label = paragraph("", "stateMessage")
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        error_layout.addWidget(self.error_label)
        retry = QPushButton("Try again")
        retry.setAccessibleName(retry_name)
        retry.clicked.connect(lambda: on_retry())
        error_layout.addWidget(retry, 0, Qt.AlignmentFlag.AlignHCenter)
        error_layout.addStretch(1)
        for view in (self.loading_view, content, self.empty_view, self.error_view):
            self.addWidget(view)


def list_table(model: QAbstractItemModel, object_name: str, accessible_name: str, *, row_height: int = 30) -> QTableView:
    """A read-only, row-selecting, sortable table in the application's list style (no grid, no row numbers)."""
    table = QTableView()
    table.setObjectName(object_name)
    table.setAccessibleName(accessible_name)
    table.setModel(model)
    table.setSortingEnabled(True)
    table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(row_height)
    table.horizontalHeader().setHighlightSections(False)
    return table
