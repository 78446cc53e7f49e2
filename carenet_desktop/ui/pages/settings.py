"""Settings: where things are stored, versions; preferences and user management later."""

from __future__ import annotations

import platform

from PySide6 import QtCore
from PySide6.QtWidgets import QFormLayout, QVBoxLayout, QWidget

from ... import __version__
from ..session import Session
from ..settings import settings_file_name
from ..widgets import ElidedLabel, card, heading, paragraph
from .base import Page


class SettingsPage(Page):
    page_id = "settings"
    title = "Settings"
    icon_name = "settings"
    tooltip = "Where data is kept; preferences"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(14)
        layout.addWidget(heading(self.title))
        layout.addWidget(paragraph("Where this installation keeps its data and settings."))

        about = card("storageCard")
        form = QFormLayout(about)
        form.setContentsMargins(18, 14, 18, 14)
        form.setHorizontalSpacing(24)
        form.setVerticalSpacing(8)
        self.database_label = ElidedLabel(session.database_name)
        self.database_label.setAccessibleName("Database location")
        self.settings_label = ElidedLabel(settings_file_name())
        self.settings_label.setAccessibleName("Settings file")
        form.addRow("Database", self.database_label)
        form.addRow("Window settings", self.settings_label)
        form.addRow("Version", paragraph(__version__))
        form.addRow("Runtime", paragraph(f"Python {platform.python_version()}, Qt {QtCore.qVersion()}"))
        layout.addWidget(about)

        planned = card("plannedCard")
        planned_layout = QVBoxLayout(planned)
        planned_layout.setContentsMargins(18, 14, 18, 14)
        planned_layout.addWidget(heading("Accounts, audit trail and backups", "cardTitle"))
        planned_layout.addWidget(paragraph(
            "Network administrators manage who may see which practices, read the audit trail and take "
            "backups on the Administration page. The window locks after 10 minutes without input; "
            "security/idle_lock_minutes in the settings file changes that (0 turns it off)."))
        planned_layout.addWidget(paragraph(
            "To use another database, start the application with  carenet gui --db FILE  "
            "or set the CARENET_DB environment variable."))
        layout.addWidget(planned)
        layout.addStretch(1)
