"""Background tasks: service calls run on a worker thread, results come back as Qt signals.

The pattern (Orange3's ``TaskState``, Anki's ``taskman``): the work is a plain function
``fn(progress, *args)`` that takes a Qt-free :class:`~carenet_desktop.services.context.Progress`; the
runner executes it in a ``QThreadPool`` and re-emits ``progress`` / ``finished`` / ``failed`` /
``cancelled`` on the GUI thread, so slots connected to a :class:`Task` never run on the worker.

Writes go through a one-thread pool (one writer at a time, like Anki's collection executor); reads may
run in parallel. A screen's loads go through :class:`LatestTasks`: the latest request wins (Orange3's
``ConcurrentMixin``), so a result that arrives after a newer request was made is never shown.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, Signal, Slot

from ..models.database import DatabaseError
from ..models.full_disk import FILE_DISK_FULL, is_disk_full
from ..models.write_guard import reading
from ..services import heap
from ..services.context import Cancelled, Progress, ServiceError

log = logging.getLogger(__name__)

#: How long a busy worker may keep the GIL before the GUI thread gets it (Python's default is 5 ms). Every
#: call from Qt into Python (a model's ``data``, a delegate's ``paint``) must take the GIL back from the
#: worker; at 5 ms each, painting one table while a compute runs could freeze the window for a second.
GUI_SWITCH_INTERVAL = 0.0005

#: Progress signals are emitted at most this often (seconds) so a chatty service cannot flood the event loop.
PROGRESS_INTERVAL = 0.05


@dataclass(frozen=True)
class ExceptionInfo:
    """An unexpected exception caught on a worker, handed to the global error handler."""

    exc_type: type[BaseException]
    exc: BaseException
    tb: types.TracebackType | None


class _JobSignals(QObject):
    """Emitted from the worker thread; connected (queued) to the :class:`Task` on the GUI thread."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    crashed = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], progress: Progress, signals: _JobSignals,
                 *, reader: bool) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._args = args
        self._progress = progress
        self._signals = signals
        self._reader = reader

    def run(self) -> None:
        signals = self._signals
        try:
            self._progress.check()
            with reading() if self._reader else contextlib.nullcontext():  # a reader cannot write (write_guard)
                result = self._fn(self._progress, *self._args)
        except Cancelled:
            _emit(signals.cancelled)
        except (ServiceError, DatabaseError) as exc:
            _emit(signals.failed, str(exc))
        except BaseException as exc:  # noqa: BLE001 - every crash must reach the GUI, never kill the worker
            if is_disk_full(exc):  # a file found no room: the user's to fix, not a bug
                _emit(signals.failed, FILE_DISK_FULL)
            else:
                _emit(signals.crashed, ExceptionInfo(type(exc), exc, exc.__traceback__))
        else:
            _emit(signals.finished, result)
        finally:
            # what the job freed handed back to the system, here on its own thread (milliseconds): else
            # the next large job (a trend, a worklist, an update after a write) comes on top of it
            heap.release()


def _emit(signal: Any, *args: Any) -> None:
    """Emit from the worker; when the window that asked for the work is gone (its task deleted at exit),
    there is nobody left to tell, which is not an error."""
    try:
        signal.emit(*args)
    except RuntimeError:
        log.debug("A finished background job's task was already deleted")


class Task(QObject):
    """The GUI-side handle of one background job. All its signals are emitted on the GUI thread.

    Exactly one of ``finished(result)``, ``failed(message)`` or ``cancelled()`` is emitted, then ``done()``.
    An unexpected exception emits ``failed`` with a generic message and goes to the error handler.
    """

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, label: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.fraction = 0.0
        self.message = ""
        self.is_done = False
        self._last_emit = 0.0
        self._job_signals = _JobSignals()
        queued = Qt.ConnectionType.QueuedConnection
        self._job_signals.progress.connect(self._on_progress, queued)
        self._job_signals.finished.connect(self._on_finished, queued)
        self._job_signals.failed.connect(self._on_failed, queued)
        self._job_signals.cancelled.connect(self._on_cancelled, queued)
        self._job_signals.crashed.connect(self._on_crashed, queued)
        self.progress_object = Progress(self._report_from_worker)
        #: set when the runner shuts down (the window closed): the outcome reaches nobody, since the
        #: widgets its callbacks would update may already be gone
        self.discarded = False
        #: a read (its thread may not write: ``models.write_guard``), not a write
        self.reader = True
        self.crash_handler: Callable[[ExceptionInfo], None] | None = None
        #: what the work returned, once ``finished`` was emitted
        self.result: Any = None

    # --- worker side --------------------------------------------------------------------------
    def _report_from_worker(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_emit < PROGRESS_INTERVAL:
            return  # a counter updated per row would otherwise queue thousands of events
        self._last_emit = now
        try:
            self._job_signals.progress.emit(fraction, message)
        except RuntimeError:  # the task was deleted (the window closed): stop the work, nobody waits for it
            raise Cancelled() from None

    # --- GUI side -----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the work to stop at its next ``progress.check()``/``report()``."""
        self.progress_object.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self.progress_object.cancelled

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.is_done:
            return
        self.fraction = fraction
        self.message = message
        self.progress.emit(fraction, message)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self.result = result
        self._finish(lambda: self.finished.emit(result))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish(lambda: self.failed.emit(message))

    @Slot()
    def _on_cancelled(self) -> None:
        self._finish(self.cancelled.emit)

    @Slot(object)
    def _on_crashed(self, info: ExceptionInfo) -> None:
        def emit() -> None:
            self.failed.emit(f"{self.label} stopped because of an unexpected error.")
            if self.crash_handler is not None:
                self.crash_handler(info)

        self._finish(emit)

    def _finish(self, emit: Callable[[], None]) -> None:
        if self.is_done:
            return
        self.is_done = True
        try:
            if not self.discarded:
                emit()
        finally:
            self.done.emit()


class TaskRunner(QObject):
    """Starts :class:`Task` s; keeps them alive until done; cancels and waits for them on shutdown."""

    #: Emitted when a task starts or ends (for a busy indicator).
    active_changed = Signal(int)
    #: Emitted with each new :class:`Task` (the status bar follows its progress).
    started = Signal(object)
    #: Emitted when a read has ended (what it left for the writer, an audit entry, can be written now).
    read_done = Signal()

    def __init__(self, parent: QObject | None = None, *, crash_handler: Callable[[ExceptionInfo], None] | None = None) -> None:
        super().__init__(parent)
        if sys.getswitchinterval() > GUI_SWITCH_INTERVAL:
            sys.setswitchinterval(GUI_SWITCH_INTERVAL)
        self._readers = QThreadPool(self)
        self._readers.setMaxThreadCount(max(2, QThreadPool.globalInstance().maxThreadCount()))
        self._writer = QThreadPool(self)
        self._writer.setMaxThreadCount(1)
        # housekeeping nobody waits for (the integrity check of a large store): one thread at the OS's idle
        # priority (SCHED_IDLE on Linux), so it only uses a core the window and the real work leave free
        self._idle = QThreadPool(self)
        self._idle.setMaxThreadCount(1)
        self._idle.setThreadPriority(QThread.Priority.IdlePriority)
        self._active: list[Task] = []
        self.crash_handler = crash_handler

    @property
    def active(self) -> list[Task]:
        return list(self._active)

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        label: str = "Working",
        write: bool = False,
        idle: bool = False,
        quiet: bool = False,
        on_finished: Callable[[Any], object] | None = None,
        on_failed: Callable[[str], object] | None = None,
        on_progress: Callable[[float, str], object] | None = None,
        on_cancelled: Callable[[], object] | None = None,
    ) -> Task:
        """Run ``fn(progress, *args)`` on a worker thread. Callbacks run on the GUI thread.

        ``write=True`` queues the work behind other writes (one database writer at a time); ``idle=True``
        runs read-only housekeeping at idle priority; ``quiet=True`` keeps it out of the status bar (work a
        person did not ask for and need not wait for, such as the audit entries of reads).
        """
        task = Task(label, self)
        task.crash_handler = self._handle_crash
        if on_progress is not None:
            task.progress.connect(on_progress)
        if on_finished is not None:
            task.finished.connect(on_finished)
        if on_failed is not None:
            task.failed.connect(on_failed)
        if on_cancelled is not None:
            task.cancelled.connect(on_cancelled)
        task.done.connect(self._on_task_done)
        self._active.append(task)
        if not quiet:
            self.active_changed.emit(len(self._active))
            self.started.emit(task)
        task.reader = not write
        job = _Job(fn, args, task.progress_object, task._job_signals, reader=task.reader)
        (self._writer if write else self._idle if idle else self._readers).start(job)
        return task

    def _handle_crash(self, info: ExceptionInfo) -> None:
        if self.crash_handler is not None:
            self.crash_handler(info)
        else:  # the application's handler (errors.ErrorHandler) is installed as sys.excepthook
            sys.excepthook(info.exc_type, info.exc, info.tb)

    @Slot()
    def _on_task_done(self) -> None:
        task = self.sender()
        if isinstance(task, Task) and task in self._active:
            if task.reader:
                self.read_done.emit()
            self._active.remove(task)
            task.setParent(None)  # from now on the caller's references decide its lifetime
            self.active_changed.emit(len(self._active))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every task and wait for the workers; True when all stopped in time."""
        for task in self._active:
            task.discarded = True
            task.cancel()
        ok_readers = self._readers.waitForDone(timeout_ms)
        ok_writer = self._writer.waitForDone(timeout_ms)
        ok_idle = self._idle.waitForDone(timeout_ms)
        return ok_readers and ok_writer and ok_idle


class LatestTasks(QObject):
    """A screen's background loads where the latest request wins (Orange3's ``ConcurrentMixin``).

    Each kind of load has a slot (``"load"``, ``"trends"``, ``"patient"`` ...). Starting a load cancels the
    one running in its slot, and whatever that one still reports (progress, result, failure, cancel) is
    dropped: a late result can never replace a newer one. :meth:`cancel` stops the current load and tells
    its ``on_cancelled``. Callbacks run on the GUI thread, and never once the owner (this object's parent)
    is gone.
    """

    def __init__(self, runner: TaskRunner, parent: QObject) -> None:
        super().__init__(parent)
        self.runner = runner
        self._tasks: dict[str, Task] = {}

    def start(
        self,
        slot: str,
        fn: Callable[..., Any],
        *args: Any,
        label: str,
        on_finished: Callable[[Any], None],
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        run: Callable[..., Task] | None = None,
    ) -> Task:
        """Run ``fn(progress, *args)`` as the latest load of ``slot`` (see :meth:`TaskRunner.run`); ``run``
        starts it another way than a read (``Session.write`` for a write that announces its change)."""
        self.drop(slot)  # superseded: it stops at its next check, and nothing it says is heard
        task = (run or self.runner.run)(fn, *args, label=label)
        self._tasks[slot] = task
        for signal, callback in ((task.progress, on_progress), (task.finished, on_finished),
                                 (task.failed, on_failed), (task.cancelled, on_cancelled)):
            if callback is not None:
                signal.connect(self._if_current(slot, task, callback))
        task.done.connect(lambda: self._forget(slot, task))
        return task

    def _if_current(self, slot: str, task: Task, callback: Callable[..., None]) -> Callable[..., None]:
        def call(*args: Any) -> None:
            if shiboken6.isValid(self) and self._tasks.get(slot) is task:
                callback(*args)

        return call

    def _forget(self, slot: str, task: Task) -> None:
        if shiboken6.isValid(self) and self._tasks.get(slot) is task:
            del self._tasks[slot]

    def task(self, slot: str) -> Task | None:
        """The load of ``slot`` still running, if any."""
        return self._tasks.get(slot)

    def running(self, slot: str | None = None) -> bool:
        """Whether a load of ``slot`` (of any slot, for None) is under way."""
        tasks = self._tasks.values() if slot is None else [t for t in (self._tasks.get(slot),) if t is not None]
        return any(not t.is_done for t in tasks)

    def drop(self, slot: str) -> None:
        """Stop the load of ``slot`` and hear nothing more of it (as if a newer one had started)."""
        task = self._tasks.pop(slot, None)
        if task is not None and not task.is_done:
            task.cancel()

    def cancel(self, slot: str | None = None) -> None:
        """Stop the load of ``slot`` (every load, for None); its ``on_cancelled`` is told when it stops."""
        for name, task in list(self._tasks.items()):
            if slot is None or name == slot:
                task.cancel()
