"""The data-entry screen's lists: patients matching what is typed (for the completer) and what was saved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from ...services.lookup import PatientMatch

#: the whole PatientMatch / SavedEntry of a row
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex
_DIMMED = QColor("#9aa5b1")


class PatientMatchModel(QAbstractListModel):
    """Patients found for the text typed so far; the display text is the completion text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[PatientMatch] = []

    def set_matches(self, matches: Sequence[PatientMatch]) -> None:
        self.beginResetModel()
        self._rows = list(matches)
        self.endResetModel()

    def matches(self) -> list[PatientMatch]:
        return list(self._rows)

    def by_label(self, text: str) -> PatientMatch | None:
        return next((m for m in self._rows if m.label == text), None)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() != 0 or not (0 <= index.row() < len(self._rows)):
            return None
        match = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, Qt.ItemDataRole.AccessibleTextRole):
            return match.label
        if role == ITEM_ROLE:
            return match
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


@dataclass(frozen=True)
class SavedEntry:
    """One save of this session: what the service wrote, in words, and whether it was undone since."""

    entity: str
    id: int
    description: str
    undone: bool = False


class SavedEntriesModel(QAbstractListModel):
    """This session's saves, newest first; undone ones stay listed, struck through."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SavedEntry] = []

    def add(self, entry: SavedEntry) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, entry)
        self.endInsertRows()

    def last_undoable(self) -> SavedEntry | None:
        return next((e for e in self._rows if not e.undone), None)

    def mark_undone(self, entry: SavedEntry) -> None:
        row = next((i for i, e in enumerate(self._rows) if e is entry), None)
        if row is None:
            return
        self._rows[row] = replace(entry, undone=True)
        index = self.index(row, 0)
        self.dataChanged.emit(index, index)

    def entries(self) -> list[SavedEntry]:
        return list(self._rows)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() != 0 or not (0 <= index.row() < len(self._rows)):
            return None
        entry = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{entry.description} (undone)" if entry.undone else entry.description
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return (f"Undone: {entry.description}" if entry.undone
                    else f"Saved: {entry.description}")
        if role == Qt.ItemDataRole.ForegroundRole and entry.undone:
            return QBrush(_DIMMED)
        if role == Qt.ItemDataRole.FontRole and entry.undone:
            font = QFont()
            font.setStrikeOut(True)
            return font
        if role == ITEM_ROLE:
            return entry
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
