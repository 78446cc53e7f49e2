"""What every service call carries: the open store, who is asking, and a progress/cancel object."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..metrics.catalogue import Catalogue
from ..models.database import Database


class ServiceError(Exception):
    """An expected failure with a message meant for the user (no traceback, no patient data)."""


class Cancelled(ServiceError):
    def __init__(self, message: str = "Cancelled by the user.") -> None:  # the argument: unpickling
        super().__init__(message)


ProgressCallback = Callable[[float, str], None]


@dataclass
class Progress:
    """Qt-free progress and cancellation for long work (the GUI attaches a signal, the CLI a bar).

    ``report(fraction, message)`` with fraction in 0..1; ``check()`` raises ``Cancelled`` once
    ``cancel()`` was called from any thread.
    """

    callback: ProgressCallback | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)

    def report(self, fraction: float, message: str = "") -> None:
        self.check()
        if self.callback is not None:
            self.callback(max(0.0, min(1.0, fraction)), message)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def sub(self, start: float, end: float) -> Progress:
        """A progress object mapping 0..1 onto start..end of this one (shares cancellation)."""
        parent = self

        def forward(fraction: float, message: str) -> None:
            parent.report(start + (end - start) * fraction, message)

        child = Progress(forward)
        child._cancel = self._cancel
        return child


@dataclass(frozen=True)
class AuthenticatedUser:
    """A signed-in user (``services.users.authenticate``): role and the practices granted to them."""

    id: int
    username: str
    role: str  # codes.ROLE_LABELS
    practice_ids: frozenset[int] = frozenset()


@dataclass
class ServiceContext:
    """The store and the acting user. ``username`` goes into the audit trail of every change.

    ``user`` is the signed-in user whose role and practices ``services.permissions.require`` checks.
    Without one the context acts as the *system user*, which may do everything: that exists only for a
    local single-user store (tests, scripts, the command line of a store without users).

    ``catalogue`` is the measure catalogue the services compute with (by default the built-in measures and
    the measure files as they are when the context is made: ``catalogue_source.load_catalogue``).
    """

    db: Database
    username: str = "system"
    progress: Progress = field(default_factory=Progress)
    user: AuthenticatedUser | None = None
    catalogue: Catalogue = field(default_factory=lambda: _current_catalogue())

    def __post_init__(self) -> None:
        if self.user is not None:
            self.username = self.user.username


def _current_catalogue() -> Catalogue:
    from .catalogue_source import load_catalogue

    return load_catalogue()
