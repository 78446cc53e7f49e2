"""Editing a patient's contact details from the patient page: a small dialog whose Save runs
``services.contacts.update_contacts`` on the writer thread; a value the service refuses is named under its
field and the dialog stays open; a save closes it and the patient page reads the patient again."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...codes import LANGUAGE_LABELS
from ...services import contacts as contacts_service
from ...services.context import Progress, ServiceContext
from ...services.entry import EntryResult
from ...services.outreach import METHODS
from ...services.patients import Demographics


def save_contacts(progress: Progress, ctx: ServiceContext, patient_id: int, values: dict[str, str | None]) -> EntryResult:
    """Runs on the writer: the contact details saved (or the problems found, per field)."""
    return contacts_service.update_contacts(dataclasses.replace(ctx, progress=progress), patient_id, **values)


class ContactsDialog(QDialog):
    """The four contact fields of one patient; ``save_requested`` carries the values typed."""

    save_requested = Signal(object)  # dict of update_contacts' keyword arguments

    def __init__(self, demographics: Demographics, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Contact details - {demographics.name}")
        self.setObjectName("contactsDialog")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.phone = QLineEdit(demographics.phone or "")
        self.phone.setAccessibleName("Phone")
        self.phone.setPlaceholderText("(555) 201-3344; a second number after ;")
        self.guardian = QLineEdit(demographics.guardian or "")
        self.guardian.setAccessibleName("Guardian")
        self.language = QComboBox()
        self.language.setAccessibleName("Preferred language")
        for code, label in LANGUAGE_LABELS.items():
            self.language.addItem(label, code)
        self.language.setCurrentIndex(max(self.language.findData(demographics.language or "unknown"), 0))
        self.method = QComboBox()
        self.method.setAccessibleName("Preferred contact method")
        self.method.addItem("Not recorded", None)
        for method in METHODS:
            self.method.addItem(method.capitalize(), method)
        self.method.setCurrentIndex(max(self.method.findData(demographics.contact_method), 0))
        self.errors: dict[str, QLabel] = {}
        for key, label, widget in (("phone", "&Phone", self.phone), ("guardian", "&Guardian", self.guardian),
                                   ("language", "Preferred &language", self.language),
                                   ("contact_method", "Preferred &contact", self.method)):
            form.addRow(label, widget)
            error = QLabel("")
            error.setObjectName("fieldError")
            error.setStyleSheet("color: #b42318;")
            error.setAccessibleName(f"{label.replace('&', '')} problem")
            error.setVisible(False)
            form.addRow("", error)
            self.errors[key] = error
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setObjectName("pageText")
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def values(self) -> dict[str, str | None]:
        return {"phone": self.phone.text(), "guardian": self.guardian.text(),
                "language": self.language.currentData(), "contact_method": self.method.currentData()}

    def _save(self) -> None:
        self.show_errors(None)
        self.save_button.setEnabled(False)
        self.message.setText("Saving…")
        self.save_requested.emit(self.values())

    def show_errors(self, result: EntryResult | None) -> None:
        """The service's problems under their fields (None: clear them); Save is available again."""
        for key, label in self.errors.items():
            text = result.message_for(key) if result is not None else None
            label.setText(text or "")
            label.setVisible(bool(text))
        self.save_button.setEnabled(True)
        self.message.setText("Not saved: see the fields marked." if result is not None else "")

    def show_failure(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self.message.setText(f"Not saved: {message}")
