"""The practice list as a table: code, name, city, patients, providers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ...services.practices import PracticeSummary

#: Role giving the raw value (int for counts) so a proxy sorts numbers as numbers.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: Role giving the whole PracticeSummary of a row.
PRACTICE_ROLE = Qt.ItemDataRole.UserRole + 2

AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    title: str
    tooltip: str
    value: Callable[[PracticeSummary], Any]
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("Code", "The practice's short code, as used in imports and exports", lambda p: p.code),
    Column("Practice", "The practice's name", lambda p: p.name),
    Column("City", "Where the practice is", lambda p: p.city or ""),
    Column("Patients", "Children registered with the practice", lambda p: p.patients, numeric=True),
    Column("Providers", "Clinicians recorded for the practice", lambda p: p.providers, numeric=True),
)


class PracticeTableModel(QAbstractTableModel):
    def __init__(self, practices: Sequence[PracticeSummary] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[PracticeSummary] = list(practices)

    def set_practices(self, practices: Sequence[PracticeSummary]) -> None:
        self.beginResetModel()
        self._rows = list(practices)
        self.endResetModel()

    def practice(self, row: int) -> PracticeSummary:
        return self._rows[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) or not (0 <= index.column() < len(COLUMNS)):
            return None
        practice = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = column.value(practice)
            return f"{value:,}" if column.numeric else value
        if role == SORT_ROLE:
            value = column.value(practice)
            return value if column.numeric else str(value).casefold()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return f"{practice.name} ({practice.code})"
        if role == PRACTICE_ROLE:
            return practice
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not (0 <= section < len(COLUMNS)):
            return None
        column = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
