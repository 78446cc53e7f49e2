"""Open referral loops as a list model, and the proxy that makes one board column (a step) of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from ...services.referrals import STEP_LABELS, OpenReferral

#: the whole OpenReferral of a row
REFERRAL_ROLE = Qt.ItemDataRole.UserRole + 1
#: a sortable number: overdue loops before the others, then the earliest due
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

AnyIndex = QModelIndex | QPersistentModelIndex
OVERDUE_COLOUR = QColor("#b42318")

#: kind filters: key -> (label, test)
KIND_FILTERS: dict[str, str] = {
    "all": "All kinds",
    "flagged": "Help Me Grow + social needs",
    "help-me-grow": "Help Me Grow",
    "community-service": "Social needs (community service)",
    "early-intervention": "Early intervention",
    "behavioral-health": "Behavioral health",
    "specialist": "Specialist",
    "dental": "Dental",
    "other": "Other",
}


def describe(ref: OpenReferral) -> str:
    """One referral in words (tooltip, accessible text)."""
    parts = [f"{ref.patient_name} (MRN {ref.mrn})", ref.type_label]
    if ref.destination:
        parts.append(f"to {ref.destination}")
    if ref.reason:
        parts.append(f"for {ref.reason}")
    dates = ", ".join(f"{STEP_LABELS[st].lower()} {d.isoformat()}" for st in ("placed", "scheduled", "seen",
                                                                            "report-received")
                      if (d := ref.date_of(st)) is not None)
    nxt = f"next: {STEP_LABELS[ref.next_step].lower()} by {ref.due_on.isoformat()}"
    if ref.overdue:
        nxt += f" — {ref.days_overdue} days overdue"
    return " · ".join(parts) + f". {dates.capitalize()}; {nxt}."


def _board_order(ref: OpenReferral) -> tuple[int, int, int]:
    return (-ref.days_overdue, ref.due_on.toordinal(), ref.id)


class ReferralListModel(QAbstractListModel):
    def __init__(self, referrals: Sequence[OpenReferral] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[OpenReferral] = sorted(referrals, key=_board_order)

    def set_referrals(self, referrals: Sequence[OpenReferral]) -> None:
        """Kept in board order (most overdue first, then earliest due) so the column proxies need not sort."""
        self.beginResetModel()
        self._rows = sorted(referrals, key=_board_order)
        self.endResetModel()

    def referrals(self) -> list[OpenReferral]:
        return list(self._rows)

    def referral(self, row: int) -> OpenReferral:
        return self._rows[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) or index.column() != 0:
            return None
        ref = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{ref.patient_name} · {ref.mrn}\n{ref.type_label}"
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return describe(ref)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(OVERDUE_COLOUR) if ref.overdue else None
        if role == REFERRAL_ROLE:
            return ref
        if role == SORT_ROLE:
            return ref.due_on.toordinal() - 100_000 * ref.overdue
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


class BoardColumnProxy(QSortFilterProxyModel):
    """The referrals of one step, filtered by kind, overdue-only and text, in the model's board order."""

    def __init__(self, step: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.step = step
        self._kind = "all"
        self._overdue_only = False
        self._text = ""

    def _change(self, attr: str, value: object) -> None:
        if getattr(self, attr) != value:
            self.beginFilterChange()
            setattr(self, attr, value)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_kind(self, kind: str) -> None:
        self._change("_kind", kind)

    def set_overdue_only(self, on: bool) -> None:
        self._change("_overdue_only", on)

    def set_text(self, text: str) -> None:
        self._change("_text", text.strip().casefold())

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, ReferralListModel) or not (0 <= source_row < model.rowCount()):
            return True
        ref = model.referral(source_row)
        if ref.step != self.step:
            return False
        if self._kind == "flagged" and not (ref.help_me_grow or ref.social_needs):
            return False
        if self._kind not in ("all", "flagged") and ref.referral_type != self._kind:
            return False
        if self._overdue_only and not ref.overdue:
            return False
        if self._text:
            hay = f"{ref.patient_name} {ref.mrn} {ref.destination or ''} {ref.reason or ''}".casefold()
            if self._text not in hay:
                return False
        return True
