"""What every screen shares: the service context (store + acting user), the task runner, change notices.

Screens never change data themselves: they run a writing service through :meth:`Session.write`, and
what its result says it changed (a :class:`~carenet_desktop.services.changes.Change`) is announced once,
as ``changed``; every screen watching one of its areas refreshes what it shows (Anki's
``on_operation_did_execute``). A write made on the GUI thread announces its change with :meth:`notify`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from sqlalchemy.exc import SQLAlchemyError

from ..models.database import DatabaseError
from ..services import audit
from ..services.changes import Change
from ..services.context import ServiceContext, ServiceError
from ..services.valuesets import ensure_default_catalogue
from .tasks import Task, TaskRunner

log = logging.getLogger(__name__)

#: seconds the frames snapshot's update waits after a write, so that a burst of writes is one update
SNAPSHOT_DELAY_S = 2.0


def change_of(result: object) -> Change:
    """What a writing service's result says it changed (nothing when it does not say)."""
    if isinstance(result, Change):
        return result
    change = getattr(result, "change", None)
    return change if isinstance(change, Change) else Change.nothing()


class Session(QObject):
    #: one notice per change made in this window: a :class:`~carenet_desktop.services.changes.Change`
    changed = Signal(object)

    def __init__(self, ctx: ServiceContext, tasks: TaskRunner | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = tasks if tasks is not None else TaskRunner(self)
        self.tasks.read_done.connect(self._write_what_reads_left)
        self._load_code_catalogue()

    def _load_code_catalogue(self) -> None:
        """The shipped code catalogue, loaded where it is missing, here before any read starts: reader
        threads may not write (``models.write_guard``), and scorecards without it would count nothing."""
        try:
            ensure_default_catalogue(self.ctx)
        except (ServiceError, DatabaseError, SQLAlchemyError, OSError) as exc:  # a read-only store still opens
            log.warning("The shipped code catalogue could not be checked (%s)", type(exc).__name__)

    @property
    def database_name(self) -> str:
        return self.ctx.db.display_name

    def notify(self, change: Change) -> None:
        """Tell every screen what changed (nothing is sent for an empty change). A change to what measures
        read also brings the frames snapshot up to date in the background (``snapshot_keeper``), so the next
        start reads it warm; the writes of the next seconds join that update."""
        if change:
            if change.changes_numbers:
                from ..services import snapshot_keeper  # here: not among the window's start-up imports

                snapshot_keeper.keep_current(self.ctx.db, full_read=False, delay=SNAPSHOT_DELAY_S,
                                            nice=True)
            self.changed.emit(change)

    def write(
        self,
        fn: Callable[..., Any],
        *args: Any,
        label: str,
        on_finished: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> Task:
        """Run a writing service ``fn(progress, *args)`` on the writer thread. When it has finished, and
        every handler of its result has run, the change its result carries is announced (:meth:`notify`)."""
        task = self.tasks.run(fn, *args, label=label, write=True, on_finished=on_finished, on_failed=on_failed,
                              on_progress=on_progress, on_cancelled=on_cancelled)
        task.done.connect(self._on_write_done)
        return task

    @Slot()
    def _on_write_done(self) -> None:
        task = self.sender()
        if isinstance(task, Task) and not task.discarded:
            self.notify(change_of(task.result))

    @Slot()
    def _write_what_reads_left(self) -> None:
        """Reads cannot write; the audit entries they made are appended by the writer (one writer)."""
        if audit.reads_waiting(self.ctx.db):
            db = self.ctx.db
            self.tasks.run(lambda _progress: audit.flush_reads(db), label="Recording in the audit trail", write=True,
                           quiet=True)

    def close(self) -> None:
        self.tasks.shutdown()
        keeper = sys.modules.get("carenet_desktop.services.snapshot_keeper")  # not imported: nothing to finish
        try:
            if keeper is not None:
                keeper.finish(self.ctx.db)  # a pending update now: the process would wait for it anyway
        except Exception as exc:  # closing must go on; the next start patches the snapshot itself
            log.warning("Frames snapshot not brought up to date (%s)", type(exc).__name__)
        try:
            audit.flush_reads(self.ctx.db)  # the workers have stopped: this thread is the only writer left
        except Exception as exc:  # closing must go on; the entries are lost with the process, say so
            log.warning("Audit entries of the last reads could not be written (%s)", type(exc).__name__)
        self.ctx.db.dispose()
