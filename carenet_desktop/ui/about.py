"""Help ▸ About: the version, where the data is, and the bundled components with their licences."""

from __future__ import annotations

import platform

from PySide6 import QtCore
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..licences import QT_NOTICE, components, notices_text
from .itemmodels.records import RecordColumn, RecordTableModel
from .widgets import heading, list_table, paragraph

APP_TITLE = "CareNet Desktop"


class AboutDialog(QDialog):
    def __init__(self, database_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_TITLE}")
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(f"{APP_TITLE} {__version__}"))
        layout.addWidget(paragraph("Quality tracking for a pediatric care network: scorecards, care gaps, referrals "
                                   "and the exchange with the network office."))
        layout.addWidget(paragraph(f"Database: {database_name}\nPython {platform.python_version()}, "
                                   f"Qt {QtCore.qVersion()}, on {platform.system()} {platform.release()}"))
        layout.addWidget(heading("Components and licences", "sectionTitle"))
        self.model = RecordTableModel([
            RecordColumn("Component", "The bundled software", lambda r: r["name"]),
            RecordColumn("Version", "Its version", lambda r: r["version"]),
            RecordColumn("Licence", "Its licence", lambda r: r["licence"]),
            RecordColumn("Used for", "What CareNet Desktop uses it for", lambda r: r["purpose"]),
        ])
        self.model.set_records([c.__dict__ for c in components()])
        table = list_table(self.model, "aboutComponents", "Components and licences", row_height=26)
        table.setSortingEnabled(False)
        table.horizontalHeader().setStretchLastSection(True)
        table.resizeColumnsToContents()
        layout.addWidget(table, 1)
        self.qt_notice = QLabel(QT_NOTICE)
        self.qt_notice.setObjectName("qtNotice")
        self.qt_notice.setWordWrap(True)
        self.qt_notice.setOpenExternalLinks(False)
        self.qt_notice.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.qt_notice)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy the notices")
        copy.setObjectName("copyNotices")
        copy.setToolTip("Copy the list and the Qt notice as text")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(notices_text()))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
