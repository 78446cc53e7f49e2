"""What every page of the main window has."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ..session import Session


class Page(QWidget):
    """One screen of the main window.

    The window calls :meth:`activate` each time the page is shown; the first call runs :meth:`load`, so
    a page costs nothing until it is opened. :meth:`refresh` reloads (View ▸ Refresh, or data changed).
    """

    page_id: ClassVar[str]
    title: ClassVar[str]
    icon_name: ClassVar[str] = ""
    tooltip: ClassVar[str] = ""
    #: the permission (``services.permissions.ACTIONS``) a role needs to see the page at all
    requires: ClassVar[str | None] = None

    #: a short message for the status bar
    status_message = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.loaded_once = False
        self.setObjectName(f"page_{self.page_id}")
        self.setAccessibleName(self.title)

    def activate(self) -> None:
        if not self.loaded_once:
            self.loaded_once = True
            self.load()

    def load(self) -> None:
        """First load of the page's data (override)."""

    def refresh(self) -> None:
        """Reload the page's data (override)."""
        self.load()
