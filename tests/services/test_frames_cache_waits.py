"""A background snapshot write is started before anyone can wait for it: a load in another thread that
waits for this folder's writes (``wait_for_saves``) between the write being counted and its thread starting
used to call ``join()`` on a thread not yet started (RuntimeError, the scorecard's load failed)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from carenet_desktop.services import frames_cache


def test_a_wait_between_a_write_being_counted_and_started_waits_for_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    failures: list[BaseException] = []
    written = threading.Event()
    real_start = threading.Thread.start

    def waiter() -> None:
        try:
            frames_cache.wait_for_saves(tmp_path)
        except BaseException as exc:  # noqa: BLE001 - the failure is what the test looks for
            failures.append(exc)

    def start_late(self: threading.Thread) -> None:  # another thread waits just before the write starts
        if self.name == "frames-snapshot-writer":
            other = threading.Thread(target=waiter, name="waiter")
            real_start(other)
            time.sleep(0.2)  # the waiter reaches wait_for_saves (and, unfixed, the join of this thread)
            real_start(self)
            monkeypatch.setattr(threading.Thread, "start", real_start)
            waiters.append(other)
        else:
            real_start(self)

    waiters: list[threading.Thread] = []
    monkeypatch.setattr(threading.Thread, "start", start_late)
    thread = frames_cache.run_in_background(tmp_path, written.set)
    thread.join(10)
    for other in waiters:
        other.join(10)
    assert written.is_set() and waiters and not failures
