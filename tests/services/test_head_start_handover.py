"""``HeadStart`` hands its result over once: it does not keep a first scorecard alive for the session."""

from __future__ import annotations

import gc
import weakref

from carenet_desktop.services.context import Progress
from carenet_desktop.services.head_start import HeadStart


class Table:
    """Stands for the first scorecard's rows (weakly referenceable)."""


def test_the_result_is_handed_over_once_and_not_kept() -> None:
    head = HeadStart("2025", lambda _progress: Table())
    assert head.wait(30)
    taken = head.join("2025", Progress())
    assert isinstance(taken, Table)
    kept = weakref.ref(taken)
    del taken
    gc.collect()
    assert kept() is None  # the head start holds no reference of its own any more
    assert head.join("2025", Progress()) is None  # a later request computes for itself
