"""What every page of the main window has: loading on first show, change notices by area, and background
loads where the latest request wins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStackedWidget, QWidget

from ...services.changes import Area, Change
from ..printing import Printable
from ..session import Session
from ..tasks import LatestTasks, Task

#: what the pages showing numbers (rates, counts, gaps, a patient's status) watch: every change of the
#: data a measure reads
NUMBERS: frozenset[Area] = Area.measured()


class Page(QWidget):
    """One screen of the main window.

    The window calls :meth:`activate` each time the page is shown; the first call runs :meth:`load`, so
    a page costs nothing until it is opened. :meth:`refresh` reloads (View ▸ Refresh, or data changed).

    Every page names the areas it shows (:attr:`watches`). A change made in the window that touches one
    of them refreshes the page at once when it is on screen; a page another page hides only notes that it
    is out of date, and refreshes when it is shown again (:meth:`activate`).

    Background loads go through :meth:`run_latest`: starting a load cancels the one running in its slot and
    drops whatever that one still reports, so what a page shows always answers its latest request.
    """

    page_id: ClassVar[str]
    title: ClassVar[str]
    icon_name: ClassVar[str] = ""
    tooltip: ClassVar[str] = ""
    #: the permission (``services.permissions.ACTIONS``) a role needs to see the page at all
    requires: ClassVar[str | None] = None
    #: the areas whose changes alter what the page shows (every page says, even when it is none)
    watches: ClassVar[frozenset[Area]]

    #: a short message for the status bar
    status_message = Signal(str)
    #: the user is about to move to another place of this page (a measure opened, a patient opened): emitted
    #: before the move, so the window records the place being left for Back (``ui.history``)
    leaving = Signal()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "watches" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} must say which areas it watches (watches = frozenset(...))")

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.loaded_once = False
        #: a change touched what the page shows while it was hidden: refresh when shown
        self.stale = False
        self.latest = LatestTasks(session.tasks, self)
        self._shown_already: list[Change] = []
        self.setObjectName(f"page_{self.page_id}")
        self.setAccessibleName(self.title)
        session.changed.connect(self._on_changed)

    def printable(self) -> Printable | None:
        """What File ▸ Print prints of this page now (None: nothing to print here)."""
        return None

    # --- places (Back and Forward) --------------------------------------------------------------
    def place(self) -> object | None:
        """What the page shows now, for :meth:`restore_place` after Back or Forward (override; None: the
        page has one place only)."""
        return None

    def place_title(self) -> str:
        """How Back and Forward name the page's place now (override to say more than the page's title)."""
        return self.title

    def restore_place(self, state: object | None) -> None:
        """Show again what :meth:`place` described (override). The page is on screen already."""

    def set_back_title(self, title: str | None) -> None:
        """Where Back leads (None: nowhere), for a page with a Back button of its own (override)."""

    def activate(self) -> None:
        if not self.loaded_once:
            self.loaded_once = True
            self.stale = False
            self.load()
        elif self.stale:
            self.stale = False
            self.refresh()

    def load(self) -> None:
        """First load of the page's data (override)."""

    def refresh(self) -> None:
        """Reload the page's data (override)."""
        self.load()

    # --- change notices -----------------------------------------------------------------------
    def on_screen(self) -> bool:
        """False while another page of the window is shown in its place (a page alone is on screen)."""
        stack = self.parentWidget()
        return not isinstance(stack, QStackedWidget) or stack.currentWidget() is self

    def _on_changed(self, change: Change) -> None:
        if any(change is shown for shown in self._shown_already):
            self._shown_already = [c for c in self._shown_already if c is not change]
            return
        if not self.loaded_once or not change.touches(self.watches):
            return
        if self.on_screen():
            self.data_changed(change)
        else:
            self.stale = True

    def data_changed(self, change: Change) -> None:
        """What the page shows on screen changed (override to do less than a whole refresh)."""
        self.refresh()

    def shown_already(self, change: Change) -> None:
        """The page already shows ``change`` (it made it and updated its rows itself): its notice, which
        follows, refreshes nothing here."""
        if change:
            self._shown_already.append(change)

    # --- background loads ---------------------------------------------------------------------
    def run_latest(
        self,
        fn: Callable[..., Any],
        *args: Any,
        label: str,
        on_finished: Callable[[Any], None],
        slot: str = "load",
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> Task:
        """Load in the background, the latest request of ``slot`` winning (:class:`~..tasks.LatestTasks`)."""
        return self.latest.start(slot, fn, *args, label=label, on_finished=on_finished, on_failed=on_failed,
                                 on_progress=on_progress, on_cancelled=on_cancelled)

    def loading(self, slot: str | None = None) -> bool:
        """Whether a load of ``slot`` (of any slot, for None) is under way."""
        return self.latest.running(slot)
