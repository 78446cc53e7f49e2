"""What every page of the main window has, and the page used until a screen is built."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ...models.database import resolve_url
from ..session import Session
from ..widgets import card, heading, paragraph


class Page(QWidget):
    """One screen of the main window.

    The window calls :meth:`activate` each time the page is shown; the first call runs :meth:`load`, so
    a page costs nothing until it is opened. :meth:`refresh` reloads (View ▸ Refresh, or data changed).
    """

    page_id: ClassVar[str]
    title: ClassVar[str]
    icon_name: ClassVar[str] = ""
    tooltip: ClassVar[str] = ""

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


@dataclass(frozen=True)
class Step:
    """Something the user can do now: a sentence, optionally with a command to run."""

    text: str
    command: str | None = None


class PlaceholderPage(Page):
    """A screen that is not built yet says what it will hold and what to do meanwhile."""

    summary: ClassVar[str] = ""
    will_hold: ClassVar[tuple[str, ...]] = ()
    steps: ClassVar[tuple[Step, ...]] = ()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        body.setObjectName("pageBody")
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(14)
        layout.addWidget(heading(self.title))
        layout.addWidget(paragraph(self.summary))

        planned = card("plannedCard")
        planned_layout = QVBoxLayout(planned)
        planned_layout.setContentsMargins(18, 14, 18, 14)
        planned_layout.addWidget(heading("What this screen will hold", "cardTitle"))
        for item in self.will_hold:
            planned_layout.addWidget(_bullet(item))
        layout.addWidget(planned)

        if self.steps:
            now = card("nowCard")
            now_layout = QVBoxLayout(now)
            now_layout.setContentsMargins(18, 14, 18, 14)
            now_layout.addWidget(heading("What you can do now", "cardTitle"))
            for step in self.steps:
                now_layout.addWidget(paragraph(step.text))
                if step.command:
                    now_layout.addWidget(_command(self._with_database(step.command)))
            layout.addWidget(now)
        layout.addStretch(1)

    def _with_database(self, command: str) -> str:
        """Commands name this window's database when it is not the default one."""
        db = self.session.ctx.db
        if not command.startswith("carenet ") or db.url == resolve_url(None):
            return command
        target = str(db.path) if db.path is not None else db.display_name
        return f"carenet --db {shlex.quote(target)} {command.removeprefix('carenet ')}"


def _bullet(text: str) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 2, 0, 2)
    layout.setSpacing(8)
    dot = QLabel("•")
    dot.setObjectName("bulletDot")
    dot.setAlignment(Qt.AlignmentFlag.AlignTop)
    layout.addWidget(dot)
    label = paragraph(text)
    layout.addWidget(label, 1)
    return row


def _command(command: str) -> QLabel:
    label = QLabel(command)
    label.setObjectName("command")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setToolTip("Run this in a terminal (select the text to copy it)")
    label.setAccessibleName(f"Command: {command}")
    label.setWordWrap(True)
    return label
