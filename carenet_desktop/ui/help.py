"""Help ▸ User guide (the bundled guide, with its screenshots, in a window of its own) and Help ▸ Keyboard
shortcuts (every key the window answers, as a table)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QShowEvent, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..resources import user_guide

#: the keys every screen or a particular one answers, beside the page shortcuts (Ctrl+1 ... Ctrl+9)
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("F1", "Open the user guide"),
    ("Shift+F1", "What's this? Then click a measure for what it counts"),
    ("Ctrl+P", "Print the screen's table (scorecard, care gaps, patients), with a preview; or save it as PDF"),
    ("F5", "Read the current screen's data again"),
    ("Alt+Left, mouse back button", "Back to where you were (the screen, the measure's tab, the row chosen and "
                                    "how far the list was scrolled), as in a browser"),
    ("Alt+Right, mouse forward button", "Forward again, after Back"),
    ("Ctrl+Q", "Quit"),
    ("Enter", "Open the row chosen (a measure, a patient); in a data-entry form: save it"),
    ("Enter in the patient search", "Search now; open the patient when exactly one matches"),
    ("Down arrow in a search box", "Move to the results (or the list of names that match)"),
    ("Alt+Down in a date field", "Open the calendar"),
    ("Ctrl+Z in Data entry", "Undo the last entry saved"),
    ("Alt + underlined letter", "Go to that field, tab or button"),
    ("Esc", "Close a dialog; leave a measure's detail (up to the scorecard); on a patient's page, go Back"),
)


class UserGuideDialog(QDialog):
    """The user guide as the window shows it: Markdown with its screenshots; links inside it are followed."""

    def __init__(self, parent: QWidget | None = None, *, guide: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("User guide")
        self.setObjectName("userGuide")
        self.guide = guide or user_guide()
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName("User guide")
        self.browser.setOpenExternalLinks(True)
        layout.addWidget(self.browser, 1)
        if self.guide.exists():
            self.browser.setSearchPaths([str(self.guide.parent)])
            self.browser.setSource(QUrl.fromLocalFile(str(self.guide)), QTextDocument.ResourceType.MarkdownResource)
        else:
            self.browser.setPlainText(f"The user guide is not installed with this copy ({self.guide.name} is missing). "
                                      "It is docs/user-guide.md of the source.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 720)

    def text(self) -> str:
        return self.browser.toPlainText()


class ShortcutsDialog(QDialog):
    """Every shortcut: the screens' (from the window's menu) first, then the keys every screen knows."""

    def __init__(self, page_shortcuts: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Everything works from the keyboard. The screens are also in the Go menu."))
        rows = [*page_shortcuts, *SHORTCUTS]
        self.table = QTableWidget(len(rows), 2)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "What they do"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for r, (keys, what) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(keys))
            self.table.setItem(r, 1, QTableWidgetItem(what))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(True)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 620)
        self.table.resizeRowsToContents()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.table.resizeRowsToContents()  # the wrapped descriptions, at the dialog's width

    def rows(self) -> list[tuple[str, str]]:
        def cell(r: int, c: int) -> str:
            item = self.table.item(r, c)
            return item.text() if item is not None else ""

        return [(cell(r, 0), cell(r, 1)) for r in range(self.table.rowCount())]
