"""The background-task runner: work runs on a worker thread, signals arrive on the GUI thread."""

from __future__ import annotations

import os
import threading
import time

import pytest

from carenet_desktop.services.context import Progress, ServiceError
from carenet_desktop.ui.tasks import ExceptionInfo, TaskRunner


@pytest.fixture
def runner(qapp):
    runner = TaskRunner()
    yield runner
    assert runner.shutdown(5000)


def test_result_and_progress_come_back_on_the_gui_thread(qtbot, runner):
    gui_thread = threading.get_ident()
    seen: dict[str, object] = {}

    def work(progress: Progress, n: int) -> int:
        seen["worker"] = threading.get_ident()
        for i in range(n):
            progress.report(i / n, f"step {i}")
            time.sleep(0.06)  # longer than the progress throttle, so every step is reported
        return n * 10

    progress_calls: list[tuple[float, str, bool]] = []
    task = runner.run(work, 3, label="Counting")
    task.progress.connect(
        lambda f, m: progress_calls.append((f, m, threading.get_ident() == gui_thread))
    )
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == [30]
    assert seen["worker"] != gui_thread
    assert [m for _, m, _ in progress_calls] == ["step 0", "step 1", "step 2"]
    assert all(on_gui for _, _, on_gui in progress_calls)
    assert task.is_done
    assert runner.active == []


def test_the_gui_thread_keeps_running_while_work_is_under_way(qtbot, runner):
    release = threading.Event()
    task = runner.run(lambda progress: release.wait(5) and "done", label="Waiting")
    # the event loop turns (waitUntil processes events) while the worker blocks
    qtbot.wait(100)
    assert not task.is_done
    release.set()
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == ["done"]


def test_service_error_becomes_failed_with_its_message(qtbot, runner):
    def work(progress: Progress) -> None:
        raise ServiceError("The file is not a FHIR bundle.")

    finished: list[object] = []
    task = runner.run(work, on_finished=finished.append)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["The file is not a FHIR bundle."]
    assert finished == []


def test_cancel_stops_the_work_at_its_next_check(qtbot, runner):
    started = threading.Event()
    steps: list[int] = []

    def work(progress: Progress) -> str:
        started.set()
        for i in range(500):
            progress.check()
            steps.append(i)
            time.sleep(0.01)
        return "ran to the end"

    task = runner.run(work, label="Long work")
    assert started.wait(5)
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        task.cancel()
    assert task.cancel_requested
    assert len(steps) < 500


def test_unexpected_exception_reaches_the_crash_handler_and_fails_the_task(qtbot, runner):
    crashes: list[ExceptionInfo] = []
    runner.crash_handler = crashes.append

    def work(progress: Progress) -> None:
        raise ZeroDivisionError("patient 12345")

    task = runner.run(work, label="Computing")
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert "unexpected error" in blocker.args[0]
    assert "12345" not in blocker.args[0]
    assert len(crashes) == 1 and crashes[0].exc_type is ZeroDivisionError


def test_writes_run_one_at_a_time(qtbot, runner):
    lock = threading.Lock()
    running = 0
    overlap: list[int] = []

    def write(progress: Progress) -> None:
        nonlocal running
        with lock:
            running += 1
            overlap.append(running)
        time.sleep(0.05)
        with lock:
            running -= 1

    tasks = [runner.run(write, write=True) for _ in range(4)]
    qtbot.waitUntil(lambda: all(t.is_done for t in tasks), timeout=5000)
    assert max(overlap) == 1


def test_chatty_progress_is_throttled_but_the_end_arrives(qtbot, runner):
    def work(progress: Progress) -> None:
        for i in range(20_000):
            progress.report(i / 20_000, f"row {i}")
        progress.report(1.0, "all rows")

    received: list[tuple[float, str]] = []
    task = runner.run(work, on_progress=lambda f, m: received.append((f, m)))
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass
    qtbot.wait(50)
    assert 1 <= len(received) < 2_000
    assert received[-1] == (1.0, "all rows")
    assert task.message == "all rows" and task.fraction == 1.0


def test_idle_work_runs_on_a_thread_at_idle_priority(qtbot):
    """The integrity check of a large store must not take a core from the window (SCHED_IDLE on Linux)."""
    import os
    import sys

    from PySide6.QtCore import QThread

    from carenet_desktop.ui.tasks import TaskRunner

    runner = TaskRunner()

    def where(_progress):  # type: ignore[no-untyped-def]
        policy = os.sched_getscheduler(0) if sys.platform.startswith("linux") else None
        return QThread.currentThread().priority(), policy

    results = []
    task = runner.run(where, idle=True, on_finished=results.append)
    qtbot.waitUntil(lambda: task.is_done, timeout=10_000)
    priority, policy = results[0]
    assert priority == QThread.Priority.IdlePriority
    if policy is not None:
        assert policy == os.SCHED_IDLE
    assert runner.shutdown()


def test_work_that_ends_after_the_window_closed_tells_nobody(qtbot):
    """A page's callback would touch widgets that are gone: after shutdown the outcome is dropped (the
    work itself, a write included, still completes or stops as it would)."""
    import threading

    from carenet_desktop.ui.tasks import TaskRunner

    runner = TaskRunner()
    release = threading.Event()
    heard = []

    def slow(_progress):  # type: ignore[no-untyped-def]
        release.wait(5)
        return "result"

    task = runner.run(slow, write=True, on_finished=heard.append, on_failed=heard.append,
                      on_cancelled=lambda: heard.append("cancelled"))
    threading.Timer(0.2, release.set).start()
    assert runner.shutdown(5000)
    qtbot.waitUntil(lambda: task.is_done, timeout=5000)
    assert heard == []


def test_the_latest_request_wins(qtbot, runner):
    """A load started while an older one runs cancels it, and nothing the older one says is heard, even
    when it ends after the newer one."""
    from PySide6.QtCore import QObject

    from carenet_desktop.ui.tasks import LatestTasks

    owner = QObject()
    latest = LatestTasks(runner, owner)
    release = threading.Event()
    heard: list[object] = []

    def old(progress: Progress) -> str:  # ignores the cancel: ends with a result after the newer load
        release.wait(5)
        progress.report(0.9, "late")
        return "old"

    first = latest.start("load", old, label="Old", on_finished=heard.append, on_failed=heard.append,
                         on_progress=lambda f, m: heard.append(m), on_cancelled=lambda: heard.append("cancelled"))
    second = latest.start("load", lambda _p: "new", label="New", on_finished=heard.append)
    assert first.cancel_requested and latest.task("load") is second
    qtbot.waitUntil(lambda: second.is_done, timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: first.is_done, timeout=5000)
    qtbot.wait(50)
    assert heard == ["new"] and not latest.running()
    other = latest.start("trends", lambda _p: "kept", label="Other slot", on_finished=heard.append)
    qtbot.waitUntil(lambda: other.is_done, timeout=5000)
    assert heard == ["new", "kept"]  # slots do not cancel each other


def test_a_cancelled_load_says_so_and_a_load_whose_owner_is_gone_says_nothing(qtbot, runner):
    from PySide6.QtCore import QObject

    from carenet_desktop.ui.tasks import LatestTasks

    release = threading.Event()
    heard: list[object] = []

    def work(progress: Progress) -> str:
        release.wait(5)
        progress.check()
        return "done"

    owner = QObject()
    latest = LatestTasks(runner, owner)
    task = latest.start("load", work, label="Load", on_finished=heard.append,
                        on_cancelled=lambda: heard.append("cancelled"))
    latest.cancel("load")
    release.set()
    qtbot.waitUntil(lambda: task.is_done, timeout=5000)
    assert heard == ["cancelled"]

    release.clear()
    owner = QObject()
    gone = LatestTasks(runner, owner).start("load", work, label="Orphan", on_finished=heard.append)
    owner.deleteLater()
    qtbot.wait(20)
    release.set()
    qtbot.waitUntil(lambda: gone.is_done, timeout=5000)
    assert heard == ["cancelled"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_no_room_for_a_file_fails_with_one_clear_line_and_no_crash_report(qtbot, runner):
    """Issue 22, item 12: a full disk is the user's to fix, not a bug. The work writes a real file into a
    real full device (/dev/full answers every write with ENOSPC)."""
    crashes: list[ExceptionInfo] = []
    runner.crash_handler = crashes.append

    def work(progress: Progress) -> None:
        with open("/dev/full", "w", encoding="utf-8") as fh:
            fh.write("x" * 100_000)
            fh.flush()

    task = runner.run(work, label="Exporting")
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert blocker.args[0].startswith("There is no room to write the file") and crashes == []


@pytest.mark.parametrize("outcome", ["finished", "failed", "crashed"])
def test_what_a_task_freed_is_handed_back_on_its_own_thread(qtbot, runner, monkeypatch, outcome):
    """After each task, finished or not, its worker thread hands the freed heap back (services/heap.py): a
    large task's freed arrays do not stay under the window's next one."""
    from carenet_desktop.services import heap

    gui_thread = threading.get_ident()
    released: list[int] = []
    monkeypatch.setattr(heap, "release", lambda: released.append(threading.get_ident()) or True)

    def work(progress: Progress) -> str:
        if outcome == "failed":
            raise ServiceError("no")
        if outcome == "crashed":
            raise RuntimeError("boom")
        return "done"

    runner.crash_handler = lambda info: None
    task = runner.run(work, label="Work")
    qtbot.waitUntil(lambda: task.is_done, timeout=5000)
    qtbot.waitUntil(lambda: bool(released), timeout=5000)
    assert len(released) == 1 and released[0] != gui_thread
