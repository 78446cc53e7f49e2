"""The care-gap worklist (one row per child) as a table, and the proxy that filters it by measure, provider,
payer, status, contacted and due for follow-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

#: raw value for sorting (numbers as numbers, dates as ISO text)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: the row as a dict of the worklist's columns
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
#: True when the newest attempt closed the loop for now (visit scheduled, or declined)
DONE_ROLE = Qt.ItemDataRole.UserRole + 3

AnyIndex = QModelIndex | QPersistentModelIndex

STATUS_LABELS = {"overdue": "Overdue", "open": "Open", "upcoming": "Upcoming"}
STATUS_TIPS = {
    "overdue": "The soonest due date has passed: the child still needs this",
    "open": "Still missing; not due within the window",
    "upcoming": "Falls due within the chosen window (30 days by default): act before it is overdue",
}
#: outcomes after which the row is dimmed: nothing more to do until the visit
CLOSED_OUTCOMES = frozenset({"scheduled", "declined"})
_OVERDUE = QColor("#b42318")
_UPCOMING = QColor("#0b6e99")
_DIMMED = QColor("#9aa5b1")


def _text(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


#: a cell's text (dates as ISO, missing values as ''), for other widgets showing worklist values
cell_text = _text


def _days(value: Any) -> int | None:
    text = _text(value)
    return int(value) if text else None


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    tooltip: str
    display: Callable[[dict[str, Any]], str]
    sort: Callable[[dict[str, Any]], Any]
    numeric: bool = False


def _col(key: str, title: str, tooltip: str, numeric: bool = False) -> Column:
    return Column(key, title, tooltip, lambda r: _text(r.get(key)), lambda r: _text(r.get(key)).casefold(), numeric)



COLUMNS: tuple[Column, ...] = (
    Column("status", "Status", "Overdue, upcoming (due soon) or open, by the child's soonest gap",
           lambda r: STATUS_LABELS.get(str(r.get("status")), _text(r.get("status"))),
           lambda r: {"overdue": 0, "upcoming": 1, "open": 2}.get(str(r.get("status")), 3)),
    _col("due_date", "Soonest due", "The last day to close the child's soonest gap (hover for the days left)"),
    _col("patient_name", "Patient", "Family name, given name"),
    _col("mrn", "MRN", "Medical record number"),
    Column("gaps", "Gaps", "Each thing the child still needs, once, soonest due first (select the row for why)",
           lambda r: _text(r.get("gaps")), lambda r: _text(r.get("gaps")).casefold()),
    Column("gap_count", "#", "How many gaps", lambda r: _text(r.get("gap_count")),
           lambda r: int(r.get("gap_count") or 0), numeric=True),
    _col("last_visit", "Last visit", "The child's last encounter up to the reference day"),
    _col("next_visit", "Next visit", "The next scheduled visit (when appointments are known)"),
    _col("provider", "Provider", "Primary care provider"),
    Column("last_outreach", "Last outreach", "The newest outreach attempt: day, method and outcome",
           lambda r: _text(r.get("last_outreach")), lambda r: _text(r.get("last_outreach_on"))),
    _col("follow_up_date", "Follow up", "When to try again (from the newest attempt)"),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}


#: the filterable fields of a row, kept as arrays so filters and counts are vectorised
FILTER_FIELDS = ("measure", "provider", "payer", "status")
_HAY_FIELDS = ("patient_name", "mrn", "gaps", "measures")


def rows_from_frame(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Worklist rows as dicts (missing values as None); run it on the worker for big lists."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def row_keys(rows: list[dict[str, Any]], as_of: dt.date | None = None) -> dict[str, np.ndarray]:
    """The arrays the model filters and counts on (one pass; run it on the worker for big lists).

    ``measure`` holds the child's measures as ", "-joined text (the filter matches one of them);
    ``follow_up`` marks the rows whose newest attempt asked to try again by ``as_of`` (today)."""
    keys = {k: np.array([_text(r.get(k)) for r in rows], dtype=object) for k in FILTER_FIELDS if k != "measure"}
    keys["measure"] = np.array([f", {_text(r.get('measures'))}, " for r in rows], dtype=object)
    keys["done"] = np.array([int(r.get("attempts") or 0) > 0 for r in rows], dtype=bool)
    day = as_of or dt.date.today()
    keys["follow_up"] = np.array([isinstance(r.get("follow_up_date"), dt.date) and r["follow_up_date"] <= day
                                  for r in rows], dtype=bool)
    keys["hay"] = np.array([" ".join(_text(r.get(k)) for k in _HAY_FIELDS).casefold() for r in rows], dtype=object)
    keys["pos"] = np.arange(len(rows), dtype=np.intp)  # the row's position in the worklist it came from
    return keys


class GapTableModel(QAbstractTableModel):
    """A thin model over the worklist rows (dicts). It sorts itself (one Python key pass + ``list.sort``,
    not a comparison callback per pair) and keeps the filter result as a boolean array the proxy reads."""

    def __init__(self, rows: list[dict[str, Any]] | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._keys: dict[str, np.ndarray] = row_keys([])
        self._accepted = np.ones(0, dtype=bool)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        #: set by the filter proxy: computes the accepted-rows mask of this model
        self.mask_fn: Callable[[GapTableModel], np.ndarray] | None = None
        if rows:
            self.set_rows(rows)

    @staticmethod
    def rows_from_frame(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return rows_from_frame(frame)

    def set_rows(self, rows: list[dict[str, Any]], keys: dict[str, np.ndarray] | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._keys = keys if keys is not None else row_keys(self._rows)
        if self._sort is not None:
            self._reorder(self._order(*self._sort))
        self._accepted = self.mask_fn(self) if self.mask_fn is not None else np.ones(len(self._rows), dtype=bool)
        self.endResetModel()

    def row(self, i: int) -> dict[str, Any]:
        return self._rows[i]

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def keys(self, name: str) -> np.ndarray:
        return self._keys[name]

    def accepted(self, row: int) -> bool:
        return bool(self._accepted[row]) if 0 <= row < len(self._accepted) else True

    def shown_positions(self) -> np.ndarray:
        """Worklist positions (``keys("pos")``) of the accepted rows, in the model's current order."""
        return self._keys["pos"][self._accepted] if len(self._accepted) == len(self._rows) else self._keys["pos"]

    def shown_mask(self) -> np.ndarray:
        """Which rows (in the model's current order) pass the filters."""
        return self._accepted if len(self._accepted) == len(self._rows) else np.ones(len(self._rows), dtype=bool)

    def set_accepted(self, mask: np.ndarray) -> None:
        self._accepted = np.asarray(mask, dtype=bool)

    def mark_attempt(self, patient_id: int, text: str, on: dt.date, outcome: str | None,
                     follow_up: dt.date | None, as_of: dt.date) -> bool:
        """Show a newly logged attempt on the child's row; returns whether the child is listed."""
        for i, r in enumerate(self._rows):
            if r.get("patient_id") == patient_id:
                r.update(last_outreach=text, last_outreach_on=on, last_outcome=outcome, follow_up_date=follow_up,
                         attempts=int(r.get("attempts") or 0) + 1)
                self._keys["done"][i] = True
                self._keys["follow_up"][i] = follow_up is not None and follow_up <= as_of
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
                return True
        return False

    # --- sorting (the proxy forwards its sort here) -------------------------------------------
    def _order(self, column: int, order: Qt.SortOrder) -> list[int]:
        if not (0 <= column < len(COLUMNS)):
            return list(range(len(self._rows)))
        key = COLUMNS[column].sort
        values = [key(r) for r in self._rows]
        return sorted(range(len(values)), key=values.__getitem__,
                      reverse=order == Qt.SortOrder.DescendingOrder)

    def _reorder(self, perm: list[int]) -> None:
        self._rows = [self._rows[i] for i in perm]
        index = np.asarray(perm, dtype=np.intp)
        self._keys = {k: v[index] for k, v in self._keys.items()}
        if len(self._accepted) == len(index):
            self._accepted = self._accepted[index]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if not self._rows:
            return
        perm = self._order(column, order)
        self.layoutAboutToBeChanged.emit()
        new_row = np.empty(len(perm), dtype=np.intp)
        new_row[np.asarray(perm, dtype=np.intp)] = np.arange(len(perm))
        old = self.persistentIndexList()
        self._reorder(perm)
        self.changePersistentIndexList(old, [self.index(int(new_row[i.row()]), i.column()) for i in old])
        self.layoutChanged.emit()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) or not (0 <= index.column() < len(COLUMNS)):
            return None
        r = self._rows[index.row()]
        column = COLUMNS[index.column()]
        done = r.get("last_outcome") in CLOSED_OUTCOMES
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(r)
        if role == SORT_ROLE:
            return column.sort(r)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if done:
                return QBrush(_DIMMED)
            if column.key == "status" and r.get("status") == "overdue":
                return QBrush(_OVERDUE)
            if column.key == "status" and r.get("status") == "upcoming":
                return QBrush(_UPCOMING)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r, column.key, done)
        if role == ROW_ROLE:
            return r
        if role == DONE_ROLE:
            return done
        return None

    @staticmethod
    def _tooltip(r: dict[str, Any], key: str, done: bool) -> str | None:
        if key == "gaps":
            return f"{_text(r.get('gaps'))}\nMeasures: {_text(r.get('measures'))}"
        if key == "status":
            return STATUS_TIPS.get(str(r.get("status")))
        if key == "due_date" and (d := _days(r.get("days_left"))) is not None:
            return f"{-d:,} days overdue" if d < 0 else f"{d:,} days left"
        if key in ("patient_name", "mrn"):
            return (f"{_text(r.get('patient_name'))} · MRN {_text(r.get('mrn'))} · born {_text(r.get('birth_date'))}"
                    f" · payer {_text(r.get('payer')) or 'unknown'}")
        if key == "last_outreach" and _text(r.get("last_outreach")):
            return f"{int(r.get('attempts') or 0)} attempt(s); newest {_text(r.get('last_outreach'))}"
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


class GapFilterProxy(QSortFilterProxyModel):
    """Keeps the rows matching every set filter (``None`` = any); ``text`` matches patient, MRN or missing.

    Filters are evaluated as numpy masks over the model's key arrays; sorting is forwarded to the model,
    so neither costs a Python callback per row pair on the GUI thread."""

    FILTER_KEYS = FILTER_FIELDS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._filters: dict[str, str | None] = dict.fromkeys(self.FILTER_KEYS)
        self._text = ""
        self._hide_done = False
        self._follow_up = False

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        if isinstance(model, GapTableModel):
            model.mask_fn = self.mask
            model.set_accepted(self.mask(model))
        super().setSourceModel(model)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if isinstance(model, GapTableModel):
            model.sort(column, order)

    def mask(self, model: GapTableModel, ignore: tuple[str, ...] = ()) -> np.ndarray:
        """Which of ``model``'s rows pass the filters (leaving out those named in ``ignore``)."""
        keep = np.ones(model.rowCount(), dtype=bool)
        for key, wanted in self._filters.items():
            if wanted is not None and key not in ignore:
                if key == "measure":  # one of the child's measures
                    keep &= pd.Series(model.keys(key), dtype=object).str.contains(
                        f", {wanted}, ", regex=False).to_numpy(bool)
                else:
                    keep &= model.keys(key) == wanted
        if self._hide_done and "done" not in ignore:
            keep &= ~model.keys("done")
        if self._follow_up and "follow_up" not in ignore:
            keep &= model.keys("follow_up")
        if self._text and "text" not in ignore and len(keep):
            keep &= pd.Series(model.keys("hay"), dtype=object).str.contains(self._text, regex=False).to_numpy(bool)
        return keep

    def _refilter(self, change: Callable[[], None]) -> None:
        self.beginFilterChange()
        change()
        model = self.sourceModel()
        if isinstance(model, GapTableModel):
            model.set_accepted(self.mask(model))
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_filters(self, values: dict[str, str | None]) -> None:
        """Set several filters with one re-filtering pass."""
        unknown = set(values) - set(self._filters)
        if unknown:
            raise KeyError(sorted(unknown)[0])
        if any(self._filters[k] != v for k, v in values.items()):
            self._refilter(lambda: self._filters.update(values))

    def set_filter(self, key: str, value: str | None) -> None:
        self.set_filters({key: value})

    def set_text(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._text:
            self._refilter(lambda: setattr(self, "_text", text))

    def set_hide_done(self, hide: bool) -> None:
        if hide != self._hide_done:
            self._refilter(lambda: setattr(self, "_hide_done", hide))

    def set_follow_up_only(self, only: bool) -> None:
        """Only the children whose newest attempt asked to try again by today."""
        if only != self._follow_up:
            self._refilter(lambda: setattr(self, "_follow_up", only))

    def refresh_filter(self) -> None:
        """Re-evaluate after rows changed in place (e.g. outreach marked while done rows are hidden)."""
        self._refilter(lambda: None)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        return model.accepted(source_row) if isinstance(model, GapTableModel) else True
