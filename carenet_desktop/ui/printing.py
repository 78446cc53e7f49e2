"""Printing what a page shows: its table as a document (title, what it is of, the rows as on screen).

A page that can be printed returns a :class:`Printable` from ``printable()``; File ▸ Print (Ctrl+P) shows a
preview and prints it, to paper or to a PDF (the print dialog's "Print to file").
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from PySide6.QtCore import QAbstractItemModel, QMarginsF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPageLayout, QPageSize, QTextDocument
from PySide6.QtPrintSupport import QPrinter

from .. import APP_NAME


@dataclass(frozen=True)
class Printable:
    """A page's table to print: a title, a line saying what of, and the model as shown (sorted, filtered)."""

    title: str
    subtitle: str
    model: QAbstractItemModel
    #: columns left out (e.g. a chart column that has no text)
    skip_columns: frozenset[int] = frozenset()
    note: str = ""


def _colour(value: object) -> str | None:
    if isinstance(value, QBrush):
        value = value.color()
    return value.name() if isinstance(value, QColor) and value.isValid() else None


def table_html(printable: Printable, printed_on: dt.date | None = None) -> str:
    """The document as HTML: heading, subtitle, a table of every row and shown column, a footer line."""
    model = printable.model
    columns = [c for c in range(model.columnCount()) if c not in printable.skip_columns]
    esc = html.escape
    head = "".join(f"<th align='left'>{esc(str(model.headerData(c, Qt.Orientation.Horizontal) or ''))}</th>"
                   for c in columns)
    rows = []
    for r in range(model.rowCount()):
        cells = []
        for c in columns:
            index = model.index(r, c)
            text = index.data(Qt.ItemDataRole.DisplayRole)
            colour = _colour(index.data(Qt.ItemDataRole.ForegroundRole))
            body = esc("" if text is None else str(text)).replace("\n", "<br>")
            cells.append(f"<td style='color:{colour}'>{body}</td>" if colour else f"<td>{body}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    day = printed_on or dt.date.today()
    note = f"<p>{esc(printable.note)}</p>" if printable.note else ""
    return (f"<h2>{esc(printable.title)}</h2><p>{esc(printable.subtitle)}</p>"
            "<table border='1' cellspacing='0' cellpadding='3' width='100%' style='border-collapse:collapse'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"
            f"<p style='color:#52606d'>{esc(APP_NAME)} · printed {day:%Y-%m-%d} · {model.rowCount():,} "
            f"row{'s' if model.rowCount() != 1 else ''}</p>")


def document(printable: Printable) -> QTextDocument:
    doc = QTextDocument()
    font = QFont()
    font.setPointSizeF(8.0)
    doc.setDefaultFont(font)
    doc.setDefaultStyleSheet("th { background-color: #eef2f6; }")
    doc.setHtml(table_html(printable))
    return doc


def pdf_printer(path: str) -> QPrinter:
    """A printer writing a landscape A4 PDF to ``path`` (what "Print to file" does; used by the tests)."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    landscape(printer)
    return printer


def landscape(printer: QPrinter) -> None:
    printer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                                      QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))


def print_to(printable: Printable, printer: QPrinter) -> None:
    document(printable).print_(printer)
