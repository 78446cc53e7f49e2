"""What every screen shares: the service context (store + acting user), the task runner, change notices.

Screens never change data themselves: they run a service through :attr:`Session.tasks` and, when it
reports a change, call :meth:`Session.notify_changed`; every screen listening to ``changed`` refreshes
what it shows (Anki's ``on_operation_did_execute``).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal

from ..services.context import ServiceContext
from .tasks import TaskRunner


class Session(QObject):
    #: the areas that changed, e.g. ``frozenset({"practices"})``
    changed = Signal(object)

    def __init__(self, ctx: ServiceContext, tasks: TaskRunner | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = tasks if tasks is not None else TaskRunner(self)

    @property
    def database_name(self) -> str:
        return self.ctx.db.display_name

    def notify_changed(self, areas: Iterable[str]) -> None:
        self.changed.emit(frozenset(areas))

    def close(self) -> None:
        self.tasks.shutdown()
        self.ctx.db.dispose()
