"""Run pytest as a child process that cannot outlive its own results (used by ``dev.py test``).

The test session writes its exit status to a file when it finishes (``tests/exit_watchdog.py``). If the
process is still running ``grace_s`` seconds after that, something hangs on the way out (a thread pool, a
worker process, a native destructor): what is still running is printed, the process group is ended and the
recorded status is returned. A run that never finishes its session is left alone: a test hang is the tests'
business (and a real failure), not something to paper over here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_POLL_S = 0.5


def _describe(pid: int) -> list[str]:
    """The process's threads (name and what the kernel says each waits in) and its descendants."""
    lines: list[str] = []
    tasks = Path(f"/proc/{pid}/task")
    if tasks.is_dir():
        for task in sorted(tasks.iterdir()):
            try:
                name = (task / "comm").read_text().strip()
                wchan = (task / "wchan").read_text().strip() or "-"
            except OSError:
                continue
            lines.append(f"  thread {task.name} {name}: waiting in {wchan}")
    for child in _descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        lines.append(f"  child process {child}: {command[:200]}")
    return lines


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_pytest(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], grace_s: float = 150.0) -> int:
    """``command``'s exit status; its recorded status if it had to be ended after its session finished."""
    with tempfile.TemporaryDirectory(prefix="carenet-pytest-") as folder:
        status_file = Path(folder) / "status"
        child_env = {**env, "CARENET_PYTEST_STATUS_FILE": str(status_file)}
        posix = os.name == "posix"
        process = subprocess.Popen(list(command), cwd=cwd, env=child_env, start_new_session=posix)
        finished_at: float | None = None
        try:
            while True:
                code = process.poll()
                if code is not None:
                    return code
                if finished_at is None and status_file.exists():
                    finished_at = time.monotonic()
                if finished_at is not None and time.monotonic() - finished_at > grace_s:
                    return _end(process, status_file, grace_s)
                time.sleep(_POLL_S)
        except KeyboardInterrupt:  # the child is in its own session: pass the interrupt on
            if posix:
                os.killpg(process.pid, signal.SIGINT)
            process.wait()
            raise


def _end(process: subprocess.Popen[bytes], status_file: Path, grace_s: float) -> int:
    status = int(status_file.read_text().strip() or 1)
    print(f"\nThe test process is still running {grace_s:.0f} s after its session finished (status {status}). "
          "Still running:", file=sys.stderr, flush=True)
    for line in _describe(process.pid):
        print(line, file=sys.stderr, flush=True)
    print("Ending it; the session's own status stands.", file=sys.stderr, flush=True)
    if os.name == "posix":
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()
    process.wait()
    return status
