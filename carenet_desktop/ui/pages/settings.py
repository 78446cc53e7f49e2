"""Settings: where things are stored, versions, and the preferences of this workstation."""

from __future__ import annotations

import platform
from typing import ClassVar

from PySide6 import QtCore
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from ... import __version__
from ...services.changes import Area
from ..session import Session
from ..settings import idle_lock_minutes, set_idle_lock_minutes, settings_file_name
from ..widgets import ElidedLabel, card, heading, paragraph
from .base import Page


class SettingsPage(Page):
    page_id = "settings"
    title = "Settings"
    icon_name = "settings"
    tooltip = "Where data is kept; preferences"
    watches: ClassVar[frozenset[Area]] = frozenset()  # nothing of the store is shown

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

        prefs = card("preferencesCard")
        prefs_form = QFormLayout(prefs)
        prefs_form.setContentsMargins(18, 14, 18, 14)
        prefs_form.setHorizontalSpacing(24)
        prefs_form.addRow(heading("Preferences", "cardTitle"))
        idle_row = QHBoxLayout()
        self.idle_spin = QSpinBox()
        self.idle_spin.setObjectName("idleLockMinutes")
        self.idle_spin.setAccessibleName("Minutes without input before the window locks")
        self.idle_spin.setRange(0, 240)
        self.idle_spin.setSuffix(" minutes")
        self.idle_spin.setSpecialValueText("never")
        self.idle_spin.setToolTip("The window locks after this long without input and asks for the password "
                                  "again (only when the database has user accounts). Takes effect at the next start.")
        self.idle_spin.setEnabled(False)  # until the saved value is read (on first show)
        idle_row.addWidget(self.idle_spin)
        idle_row.addStretch(1)
        idle_label = QLabel("&Lock the window after")
        idle_label.setBuddy(self.idle_spin)
        prefs_form.addRow(idle_label, idle_row)
        self.prefs_message = paragraph("")
        prefs_form.addRow("", self.prefs_message)
        layout.addWidget(prefs)

        planned = card("plannedCard")
        planned_layout = QVBoxLayout(planned)
        planned_layout.setContentsMargins(18, 14, 18, 14)
        planned_layout.addWidget(heading("Accounts, audit trail and backups", "cardTitle"))
        planned_layout.addWidget(paragraph(
            "Network administrators manage who may see which practices, read the audit trail and take "
            "backups on the Administration page."))
        planned_layout.addWidget(paragraph(
            "To use another database, start the application with  carenet gui --db FILE  "
            "or set the CARENET_DB environment variable."))
        layout.addWidget(planned)
        layout.addStretch(1)

    def load(self) -> None:
        """Read the saved preferences (not in the constructor: a headless screenshot must not create a settings file)."""
        self.idle_spin.blockSignals(True)
        self.idle_spin.setValue(idle_lock_minutes())
        self.idle_spin.blockSignals(False)
        self.idle_spin.setEnabled(True)
        self.idle_spin.valueChanged.connect(self._idle_changed)

    def _idle_changed(self, minutes: int) -> None:
        set_idle_lock_minutes(minutes)
        self.prefs_message.setText("Saved. The new idle lock applies from the next start.")
