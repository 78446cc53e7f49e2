"""Form pieces the entry screens share: the red message under a field and the map from a
service's ``FieldError(field, message)`` to the label beside the widget it is about."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:  # the sign-in and welcome dialogs use these pieces at start: the entry service can wait
    from ..services.entry import EntryResult

ERROR_STYLE = "color: #b42318;"


def error_label(name: str) -> QLabel:
    """The (hidden until needed) message under one field; its accessible name says which field."""
    label = QLabel("")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.setAccessibleName(f"{name} error")
    label.hide()
    return label


class FieldErrors:
    """The error labels of one form, by the service's field names; unmatched fields go to ``general``."""

    def __init__(self, general: QLabel, labels: dict[str, QLabel]) -> None:
        self.general = general
        self.labels = labels

    def clear(self) -> None:
        for label in {id(lb): lb for lb in (self.general, *self.labels.values())}.values():
            label.clear()
            label.hide()

    def show(self, result: EntryResult) -> None:
        self.clear()
        for error in result.errors:
            label = self.labels.get(error.field, self.general)
            label.setText(f"{label.text()} {error.message}".strip())
            label.show()

    def shown(self) -> dict[str, str]:
        """Field -> message of every label now showing one (for tests and accessibility checks)."""
        return {name: label.text() for name, label in self.labels.items() if not label.isHidden() and label.text()}


def submit_on_enter(form: QWidget, handler: Callable[[], object]) -> list[QShortcut]:
    """Return and Enter anywhere in ``form`` (a text field, a date, a spin box) submit it."""
    shortcuts = []
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        shortcut = QShortcut(QKeySequence(key), form)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(handler)
        shortcuts.append(shortcut)
    return shortcuts
