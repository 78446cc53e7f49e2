"""Work started before anyone asks for it, joined by the first request for the same thing.

The window starts its first scorecard's compute as soon as the store is open, while it builds itself
(``ui.pages.scorecards.start_first_scorecard``): a cold store's first compute takes many seconds, and the
second or so the window takes to appear is then not lost. The page's own load *joins* that work (waits
for it, shown the same progress) instead of starting the same compute again; a load of anything else
cancels it and computes what it asked for.

A head start only warms what the request reads anyway: the request still goes through the results cache,
which checks the change journal, so a write landing in between is never hidden by it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

from ..models.write_guard import reading
from .context import Cancelled, Progress

log = logging.getLogger(__name__)

#: how often a request waiting for a head start checks whether it was cancelled (s)
_POLL_S = 0.05


class HeadStart:
    """``fn(progress, *args)`` running on a reader thread of its own, for the request of ``key``."""

    def __init__(self, key: Hashable, fn: Callable[..., Any], *args: Any, name: str = "head-start") -> None:
        self.key = key
        self.progress = Progress(self._forward)
        self._lock = threading.Lock()
        self._listeners: list[Progress] = []
        self._last: tuple[float, str] | None = None
        self._done = threading.Event()
        self._result: Any = None
        self._failed = False
        self._thread = threading.Thread(target=self._run, args=(fn, args), name=name, daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def waiting(self) -> int:
        """How many requests are waiting for it (:meth:`join`)."""
        with self._lock:
            return len(self._listeners)

    def join(self, key: Hashable, progress: Progress) -> Any | None:
        """The head start's result when it is for ``key`` - waited for, its progress forwarded to
        ``progress`` meanwhile -, else ``None``: it is for something else (it is then cancelled, so it does not
        hold up what was asked for), or it failed or was cancelled (the caller computes it itself). Raises
        ``Cancelled`` when ``progress`` is cancelled while it waits (the head start goes on)."""
        if key != self.key:
            self.cancel()
            return None
        with self._lock:
            self._listeners.append(progress)
            last = self._last
        try:
            if last is not None:  # what it is doing now, before its next step is reported
                self._tell(progress, *last)
            while not self._done.wait(_POLL_S):
                progress.check()
        finally:
            with self._lock:
                self._listeners.remove(progress)
        progress.check()
        with self._lock:  # handed over once: the head start does not keep the result alive beside its taker
            result, self._result = self._result, None
        return None if self._failed else result

    def cancel(self) -> None:
        """Stop the work at its next progress report (a compute in the worker processes stops there too)."""
        self.progress.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the work has ended (done, failed or cancelled); False on timeout."""
        return self._done.wait(timeout)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            with reading():  # as the window's reader threads: it never writes to the store
                self._result = fn(self.progress, *args)
        except Cancelled:
            self._failed = True
        except Exception as exc:  # the request computes it itself and meets the error there, if it is real
            self._failed = True
            log.info("Head start %s failed (%s)", self._thread.name, type(exc).__name__)
        finally:
            self._done.set()

    def _forward(self, fraction: float, message: str) -> None:
        with self._lock:
            self._last = (fraction, message)
            listeners = list(self._listeners)
        for listener in listeners:
            self._tell(listener, fraction, message)

    @staticmethod
    def _tell(listener: Progress, fraction: float, message: str) -> None:
        with contextlib.suppress(Cancelled):  # a listener that gave up does not stop the work
            listener.report(fraction, message)
