"""The scorecard table: one row per measure rate of one practice (a thin model over the service's rows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ...metrics.judgement import LEGEND, ORDER, Status, explain

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
#: the rolling 12-month rates of a row (a list, None where no rate), painted by the sparkline delegate
TREND_ROLE = Qt.ItemDataRole.UserRole + 3

GOOD = QColor("#e3f4e8")
BAD = QColor("#fbe4e4")
GOOD_TEXT = QColor("#1f6f3a")
BAD_TEXT = QColor("#a12622")
NEUTRAL_TEXT = QColor("#52606d")


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value: Any) -> float:
    return -1.0 if value is None else float(value)


def status(row: dict[str, Any]) -> Status:
    """The row's judgement (``metrics.judgement``), computed once with the scorecard table."""
    value = row.get("status")
    return Status(value) if value is not None else Status.TOO_FEW


def verdict(row: dict[str, Any]) -> bool | None:
    """Good (True), bad (False) or neither (None): the tone of the row's judgement."""
    tone = status(row).tone
    return None if tone == "neutral" else tone == "good"


def direction_arrow(row: dict[str, Any]) -> str:
    """↑ higher is better, ↓ lower is better (inverse measures)."""
    return "↓" if row.get("direction") == "decrease" else "↑"


def measure_text(row: dict[str, Any]) -> str:
    """The measure, its direction and the rate's own name first, then the measure's full title and the
    version that computed the rate (wrapped, whole, in the table; the tooltip has the specification)."""
    title = str(row.get("measure_title") or "")
    group = str(row.get("group_title") or "")
    first = f"{row['measure']} {direction_arrow(row)} {group or title}".rstrip()
    text = first + (f" — {title}" if group and title and group.lower() != title.lower() else "")
    version = str(row.get("measure_version") or "")
    return text + (f" · v{version}" if version else "")


def rate_text(row: dict[str, Any]) -> str:
    """The rate over its interval, on two lines ("51.9%", "(44.1–59.7)") of one narrow cell: the room goes
    to the measure's name."""
    if row.get("rate") is None:
        return "–"
    interval = "" if row.get("ci_low") is None else f"\n({row['ci_low'] * 100:.1f}–{_bare(row.get('ci_high'))})"
    return _pct(row.get("rate")) + interval + (" †" if row.get("source") == "self-reported" else "")


#: what a total suppressed in a practice's submission shows instead of its counts (never dropped)
SUPPRESSED = "fewer than 11"


def counts_text(row: dict[str, Any]) -> str:
    """"71 / 189"; "fewer than 11" for a total the practice's submission package suppressed (1–10)."""
    if row.get("suppressed"):
        return SUPPRESSED
    return f"{int(row['numerator']):,} / {int(row['rate_base']):,}"


def _bare(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    tooltip: str
    display: Callable[[dict[str, Any]], str]
    sort: Callable[[dict[str, Any]], Any]
    align_right: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("measure", "Measure", "The measure, its direction (↑ higher is better, ↓ lower is better), its rate and "
           "the version of the measure that computed it (hover for the specification)",
           measure_text, lambda r: (str(r["measure"]), int(r["group_index"])), align_right=False),
    Column("rate", "Rate", "This practice's rate, coloured by its status, over its Wilson 95% confidence "
           "interval", rate_text, lambda r: _num(r.get("rate"))),
    Column("status", "Status", LEGEND, lambda r: status(r).value, lambda r: ORDER.index(status(r)),
           align_right=False),
    Column("counts", "n / N", "Numerator / denominator (less exclusions and exceptions); “fewer than 11” where "
           "the practice's submission suppressed a count of 1–10", counts_text, lambda r: int(r["rate_base"])),
    Column("network", "Network", "The pooled rate of every practice in the network",
           lambda r: _pct(r.get("network_rate")), lambda r: _num(r.get("network_rate"))),
    Column("benchmark", "Benchmark", "Achievable Benchmark of Care (the best practices' pooled rate)",
           lambda r: _pct(r.get("benchmark")), lambda r: _num(r.get("benchmark"))),
    Column("target", "Target", "The network's target for this rate",
           lambda r: _pct(r.get("target")), lambda r: _num(r.get("target"))),
    Column("trend", "Trend", "This practice's rate over the rolling 12-month periods ending each month of the year",
           lambda r: "", lambda r: 0, align_right=False),
)
TREND_COLUMN = len(COLUMNS) - 1


class ScorecardTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._describe: Callable[[str], str | None] = lambda _m: ""
        self._trends: dict[tuple[str, int], list[float | None]] | None = None
        #: measure id -> why its rolling rate behaves unusually (the trend's tooltip says it)
        self.rolling_notes: dict[str, str] = {}
        #: measure id -> What's this? text (``measure_help.short_texts`` of the session's catalogue)
        self.measure_texts: dict[str, str] = {}

    def set_rows(self, rows: list[dict[str, Any]], describe: Callable[[str], str | None] | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if describe is not None:
            self._describe = describe
        self.endResetModel()

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def set_trends(self, trends: dict[tuple[str, int], list[float | None]] | None) -> None:
        """The sparklines ((measure, group) -> rates), or None while they load."""
        self._trends = trends
        if self._rows:
            self.dataChanged.emit(self.index(0, TREND_COLUMN), self.index(len(self._rows) - 1, TREND_COLUMN))

    def trend(self, row: dict[str, Any]) -> list[float | None] | None:
        if self._trends is None:
            return None
        return self._trends.get((str(row["measure"]), int(row["group_index"])), [])

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tooltip
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.WhatsThisRole:  # Help ▸ What's this?, anywhere on the measure's row
            return self.measure_texts.get(str(row["measure"]))
        if column.key == "trend":
            return self._trend_data(row, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == SORT_ROLE:
            return column.sort(row)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignRight if column.align_right else Qt.AlignmentFlag.AlignLeft
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        if column.key in ("rate", "status") and role in (Qt.ItemDataRole.BackgroundRole,
                                                        Qt.ItemDataRole.ForegroundRole):
            good = verdict(row)
            if good is None:
                return NEUTRAL_TEXT if role == Qt.ItemDataRole.ForegroundRole and column.key == "status" else None
            if role == Qt.ItemDataRole.BackgroundRole:
                return GOOD if good else BAD
            return GOOD_TEXT if good else BAD_TEXT
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.key == "measure":
                described = self._describe(str(row["measure"]))
                label = row.get("version_label")
                return f"{described}<p><b>Computed with</b> {label}</p>" if label else described
            if column.key == "status":
                return explain(row)
            if column.key == "rate" and row.get("source") == "self-reported":
                return "† Self-reported by the practice (aggregate counts), not computed from patient records"
            return column.tooltip
        return None

    def _trend_data(self, row: dict[str, Any], role: int) -> Any:
        values = self.trend(row)
        if role == TREND_ROLE:
            return values
        if role == Qt.ItemDataRole.DisplayRole:
            return "…" if values is None else ("" if any(v is not None for v in values) else "–")
        if role == SORT_ROLE:
            last = next((v for v in reversed(values or []) if v is not None), None)
            return _num(last)
        if role == Qt.ItemDataRole.ToolTipRole:
            if values is None:
                return "The trend is being computed…"
            shown = [_pct(v) for v in values]
            note = self.rolling_notes.get(str(row["measure"]))
            text = f"Rolling 12-month rates, oldest first: {', '.join(shown)}" if shown else "No trend"
            return text + (f"\n\nWhy it moves in steps: {note}" if note else "")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None
