"""The scorecard's sparkline delegate: a rate's trend painted in a table cell with QPainter.

Kept apart from ``charts`` so the home screen does not import pyqtgraph before a chart is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

RATE = QColor("#0b6e99")  # the same blue as a chart's rate line


class SparklineDelegate(QStyledItemDelegate):
    """Paints the list of rates under the model's ``role`` as a small line (the last point marked); an
    index with no list paints its display text (e.g. "…" while the trend loads)."""

    def __init__(self, role: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        values = index.data(self.role)
        if not values:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget is not None else None
        if style is not None:  # selection and alternating background as for any cell
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            opt.text = ""
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, option.widget)
        points = sparkline_points(values, option.rect.adjusted(6, 5, -6, -5))
        if not points:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        colour = QColor("#ffffff") if selected else RATE
        painter.setPen(QPen(colour, 1.6))
        for segment in points:
            path = QPainterPath(segment[0])
            for p in segment[1:]:
                path.lineTo(p)
            painter.drawPath(path)
        painter.setBrush(colour)
        painter.drawEllipse(points[-1][-1], 2.5, 2.5)
        painter.restore()


def sparkline_points(values: Sequence[float | None], rect: QRectF | Any) -> list[list[QPointF]]:
    """Screen points of a sparkline in ``rect``, split where a value is missing (None)."""
    finite = [v for v in values if v is not None]
    if not finite or len(values) < 2:
        return []
    low, high = min(finite), max(finite)
    span = high - low if high > low else 1.0
    left, top, width, height = float(rect.left()), float(rect.top()), float(rect.width()), float(rect.height())
    segments: list[list[QPointF]] = []
    current: list[QPointF] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        y = top + height / 2 if high == low else top + height * (1 - (value - low) / span)
        current.append(QPointF(left + width * i / (len(values) - 1), y))
    if current:
        segments.append(current)
    return segments
