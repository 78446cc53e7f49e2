"""The network heat map: one row per practice, one column per rate, each cell the practice's rate coloured by
its status (``metrics.judgement``: the same words and colours as the scorecard)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ...metrics.judgement import LEGEND, ORDER, Status, explain
from .scorecard import BAD, BAD_TEXT, GOOD, GOOD_TEXT, direction_arrow

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the cell's scorecard row (a dict), None in the practice column
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
NEUTRAL = QColor("#f1f4f8")
FEW_TEXT = QColor("#9aa5b1")


def _rate_key(row: dict[str, Any]) -> tuple[str, int]:
    return str(row["measure"]), int(row["group_index"])


class HeatMapModel(QAbstractTableModel):
    """Rows: practices (code · name); columns: the practice, then every measure × rate."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._practices: list[tuple[str, str]] = []
        self._rates: list[dict[str, Any]] = []  # one representative row per rate (titles, direction)
        self._cells: dict[tuple[str, str, int], dict[str, Any]] = {}

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        """``rows``: the scorecard table's records for every practice (ScorecardService.network_table)."""
        self.beginResetModel()
        self._practices = sorted({(str(r["practice_code"]), str(r.get("practice_name") or "")) for r in rows})
        rates: dict[tuple[str, int], dict[str, Any]] = {}
        for r in rows:
            rates.setdefault(_rate_key(r), r)
        self._rates = [rates[k] for k in sorted(rates)]
        self._cells = {(str(r["practice_code"]), *_rate_key(r)): r for r in rows}
        self.endResetModel()

    def rates(self) -> list[tuple[str, int]]:
        return [_rate_key(r) for r in self._rates]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._practices)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1 + len(self._rates)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < self.columnCount():
            return None
        if section == 0:
            return {Qt.ItemDataRole.DisplayRole: "Practice",
                    Qt.ItemDataRole.ToolTipRole: "Click a heading to sort; double-click a rate to drill in"}.get(
                        Qt.ItemDataRole(role))
        rate = self._rates[section - 1]
        many = sum(1 for r in self._rates if r["measure"] == rate["measure"]) > 1
        if role == Qt.ItemDataRole.DisplayRole:
            suffix = f" {int(rate['group_index']) + 1}" if many else ""
            return f"{rate['measure']}{suffix} {direction_arrow(rate)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            group = f" — {rate['group_title']}" if rate.get("group_title") else ""
            return f"{rate['measure']} · {rate.get('measure_title') or ''}{group}"
        return None

    def cell(self, row: int, column: int) -> dict[str, Any] | None:
        if column == 0 or not 0 <= row < len(self._practices):
            return None
        code = self._practices[row][0]
        return self._cells.get((code, *_rate_key(self._rates[column - 1])))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        code, name = self._practices[index.row()]
        if index.column() == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{code} · {name}" if name else code
            if role == SORT_ROLE:
                return code
            return None
        row = self.cell(index.row(), index.column())
        if role == ROW_ROLE:
            return row
        if row is None:
            return "–" if role == Qt.ItemDataRole.DisplayRole else (-1.0 if role == SORT_ROLE else None)
        status = Status(row["status"]) if row.get("status") else Status.TOO_FEW
        rate = row.get("rate")
        if role == Qt.ItemDataRole.DisplayRole:
            return "–" if rate is None else f"{rate * 100:.0f}%"
        if role == SORT_ROLE:
            return -1.0 if rate is None else float(rate)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            return {"good": GOOD, "bad": BAD}.get(status.tone, NEUTRAL)
        if role == Qt.ItemDataRole.ForegroundRole:
            tone = status.tone
            return GOOD_TEXT if tone == "good" else BAD_TEXT if tone == "bad" else (
                FEW_TEXT if status is Status.TOO_FEW else None)
        if role == Qt.ItemDataRole.ToolTipRole:
            counts = ("fewer than 11 (suppressed in the practice's submission)" if row.get("suppressed") else
                      f"{int(row.get('numerator') or 0):,} of {int(row.get('rate_base') or 0):,}")
            return f"{code} · {row['measure']} {row.get('group_title') or ''}\n{counts}. {explain(row)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{code} {row['measure']}: {'no rate' if rate is None else f'{rate * 100:.0f}%'}, {status.value}"
        return None


#: the legend under the heat map, in the scorecard's words
HEATMAP_LEGEND = ("Each cell is the practice's rate, coloured by its status: green "
                  + " or ".join(s.value.lower() for s in ORDER if s.tone == "good") + "; red "
                  + " or ".join(s.value.lower() for s in ORDER if s.tone == "bad")
                  + "; grey no difference; pale text too few to say. ↑ higher is better, ↓ lower is better. "
                  "Click a heading to sort, double-click a cell to open that rate. ")
HEATMAP_TOOLTIP = LEGEND
