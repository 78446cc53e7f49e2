"""A test run that has finished must end: a watchdog for the interpreter's shutdown.

Once pytest has printed its summary the results are known, but the process can still hang on its way out:
a Qt thread pool waiting for a runnable, a worker process joined at exit, a thread that never returns. On
CI such a hang spends the whole time limit (90 minutes) and the run is lost although every test passed.

At ``pytest_unconfigure`` a daemon thread is armed. If the process is still alive ``CARENET_EXIT_GRACE_S``
seconds later (default 60), it prints what is keeping it alive - every thread's stack and the child
processes still running - and ends the process with pytest's own exit status. The hang is then visible in
the output (to be fixed), and the results stand.

A hang in native code after Python's own shutdown (where no Python thread runs any more) is caught outside:
``dev.py test`` reads the status this plugin writes to ``$CARENET_PYTEST_STATUS_FILE`` at the session's end
and ends a process that outlives it (``scripts/test_runner.py``).
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time

import pytest

_status: dict[str, int] = {"code": 0}


def _children() -> list[str]:
    """The process's live children (``pid command``), read from /proc where there is one."""
    me = str(os.getpid())
    found: list[str] = []
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[1] != me:  # field 4 of stat: the parent's pid
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
            found.append(f"{pid} {command}")
        except (OSError, IndexError):
            continue
    return found


def _watch(grace_s: float) -> None:
    time.sleep(grace_s)
    out = sys.__stderr__ or sys.stderr
    print(f"\nEXIT WATCHDOG: the test process has not ended {grace_s:.0f} s after the test session finished."
          "\nWhat keeps it alive (threads, then child processes):", file=out, flush=True)
    faulthandler.dump_traceback(file=out, all_threads=True)
    for child in _children():
        print(f"  child process {child}", file=out, flush=True)
    print(f"EXIT WATCHDOG: ending the process with pytest's status {_status['code']}.", file=out, flush=True)
    os._exit(_status["code"])


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _status["code"] = int(exitstatus)
    # for the runner outside (dev.py test): the run is over, with this status, whatever happens next
    status_file = os.environ.get("CARENET_PYTEST_STATUS_FILE")
    if status_file:
        with open(status_file, "w") as f:
            f.write(str(int(exitstatus)))


def pytest_unconfigure(config: pytest.Config) -> None:
    grace_s = float(os.environ.get("CARENET_EXIT_GRACE_S", "60"))
    if grace_s > 0:
        threading.Thread(target=_watch, args=(grace_s,), name="exit-watchdog", daemon=True).start()
