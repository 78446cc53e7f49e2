"""Where a compute's time goes, for the benchmarks: named moments appended to a file, from every process.

Off unless ``$CARENET_TIMELINE`` names a file (``benchmarks/bench_ui.py --pool`` sets it); worker processes
inherit it. Each line is ``<unix time>\\t<pid>\\t<the process's CPU seconds>\\t<event>``; events name
steps and periods, never data.
"""

from __future__ import annotations

import os
import time

ENV = "CARENET_TIMELINE"


def mark(event: str) -> None:
    """Append ``event`` with the time and this process's id, when a timeline is being recorded."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = f"{time.time():.3f}\t{os.getpid()}\t{time.process_time():.2f}\t{event}\n".encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        os.write(fd, line)  # one write of a short line with O_APPEND: lines of processes do not interleave
    finally:
        os.close(fd)
