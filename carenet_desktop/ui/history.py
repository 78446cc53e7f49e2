"""Back and Forward between the places of the main window, as in a browser.

A *place* is a page and what it showed: the scorecard's drill-down of one rate on its Patients tab with a
row selected and scrolled so far, a patient's page on a period with a measure highlighted, the patient
list with its search. Each page describes its own (``Page.place()``) and shows one again
(``Page.restore_place()``); the window records the place it leaves each time the user goes somewhere else
(another page, a measure opened, a patient opened) and Back/Forward walk the two stacks kept here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: places remembered behind (the oldest are forgotten first)
LIMIT = 100


@dataclass(frozen=True)
class Place:
    page_id: str
    #: what the page needs to show the place again (its own type; None: the page as it is)
    state: object | None
    #: how Back and Forward name it ("Scorecard · WCV · P001 · 2025 · patients")
    title: str


class History:
    """The places behind (Back) and ahead (Forward) of the one on screen."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._back: list[Place] = []
        self._forward: list[Place] = []

    def visit(self, left: Place) -> None:
        """The user went somewhere new from ``left``: it goes behind, and what was ahead is forgotten."""
        if self._back and self._back[-1] == left:
            return  # the same place recorded twice (a page re-opened on itself) is one step
        self._back.append(left)
        del self._back[:-self.limit]
        self._forward.clear()

    def back(self, current: Place) -> Place | None:
        """The place to go back to (``current`` goes ahead), None at the start."""
        if not self._back:
            return None
        self._forward.append(current)
        return self._back.pop()

    def forward(self, current: Place) -> Place | None:
        """The place to go forward to (``current`` goes behind), None when nothing is ahead."""
        if not self._forward:
            return None
        self._back.append(current)
        return self._forward.pop()

    def behind(self) -> Place | None:
        return self._back[-1] if self._back else None

    def ahead(self) -> Place | None:
        return self._forward[-1] if self._forward else None

    def clear(self) -> None:
        self._back.clear()
        self._forward.clear()
