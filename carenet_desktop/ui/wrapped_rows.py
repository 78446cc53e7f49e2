"""Rows tall enough for the whole of one wrapped column (a measure's full name, an equity group's name).

A table that wraps a column but keeps one row height elides what does not fit ("asthma medication ratio
of …"). ``WrappedRows`` measures only that column's text with the table's font (one ``data`` call per row,
not the view's per-cell size hints over every column) and sets each row's height to the lines it needs,
never fewer than ``min_lines`` (nor lower than the table's usual row). It follows the model (reset, sort,
rows added) and the column's width.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect, Qt, QTimer
from PySide6.QtWidgets import QTableView

#: the horizontal room a cell's text does not get: the theme's item padding (8 px each side) and the
#: style's focus-frame margins; measured wider than it is, a name would wrap later than it does on screen
TEXT_MARGIN = 26
#: the vertical room around the text of a row
ROW_PADDING = 12


class WrappedRows(QObject):
    """Keep every row of ``table`` tall enough for the wrapped text of ``column``."""

    def __init__(self, table: QTableView, column: int, *, min_lines: int = 1) -> None:
        super().__init__(table)
        self.table, self.column, self.min_lines = table, column, min_lines
        self._pending = False
        table.setWordWrap(True)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        model = table.model()
        for signal in (model.modelReset, model.layoutChanged, model.rowsInserted):
            signal.connect(self.schedule)
        table.horizontalHeader().sectionResized.connect(
            lambda section, _old, _new: self.schedule() if section == self.column else None)

    def schedule(self, *_args: object) -> None:
        """Fit the rows once the current burst of changes is over (a reset and a sort come together)."""
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self.fit)

    def height_for(self, text: str) -> int:
        """The row height ``text`` needs in the column's current width."""
        metrics = self.table.fontMetrics()
        width = max(40, self.table.columnWidth(self.column) - TEXT_MARGIN)
        needed = metrics.boundingRect(QRect(0, 0, width, 100_000),
                                      int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft), text).height()
        return max(max(needed, self.min_lines * metrics.lineSpacing()) + ROW_PADDING,
                   self.table.verticalHeader().defaultSectionSize())

    def fit(self) -> None:
        self._pending = False
        model, header = self.table.model(), self.table.verticalHeader()
        for row in range(model.rowCount()):
            header.resizeSection(row, self.height_for(str(model.index(row, self.column).data() or "")))
