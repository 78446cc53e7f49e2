"""A cold load's frames snapshot written by a forked child process at the lowest priority, in a compute worker.

After a cold load in a worker (``compute_pool``) the snapshot write (~2 s of CPU on the 250,000-patient demo)
ran on a thread while the first scorecard's period was evaluated on both cores (the worker and its forked
copy, :mod:`.split_evaluation`): three CPU consumers on two cores. The worker then waited for the write
before it handed its results back, and the trend's job waited for it again before it forked its copies
(:mod:`.period_copies`: a fork must not copy a thread mid-write). Here a child forked right when the frames
are ready writes it instead (copy-on-write: nothing is copied or sent), niced to the lowest priority so it
only takes CPU the evaluation leaves idle, and writes as the thread did (``frames_cache._save``: a file of its
own moved into place; an encrypted store's sealed with the same key), then exits (``os._exit``).

The child is counted with the process's background writes (``frames_cache.wait_for_saves``): a daemon
thread waits for it (and reaps it), so a load of the same folder here waits for it (``WAIT_S`` at most); the
worker's exit does not (the pool's shutdown as the window closes, the end of ``carenet report``: a child at
the lowest priority could keep them waiting for whatever else runs on the machine; it finishes on its own).
It holds a lock on the snapshot folder itself (``flock`` of the directory: no file beside the snapshots;
released by the kernel however the child ends): a load in another process waits for it (:func:`await_writers`,
``WAIT_S`` at most) rather than read the store beside it, so the next job, in whichever worker, reads the
snapshot although its results went back before it was on disk. A child killed mid-write leaves its
temporary file; the next snapshot saved in the folder removes it (``cache_files.remove_orphaned_writes``).

It does not die with its worker (no ``PR_SET_PDEATHSIG``): a worker killed mid-write leaves an orphan that
finishes a write of ~2 s of CPU at the lowest priority, rather than a cut one that makes the next start cold;
its file is named by the journal version it reflects (never a newer one's content), and it writes nothing
when a snapshot of a newer version, or its own, is on disk by the time it gets to it.

Only where a fork is safe (Linux, a process without Qt) and turned on (:func:`enable`: the compute workers);
elsewhere, or when a fork could copy a thread mid-write (another write of this process running on a thread),
the thread writes as before. The command line keeps the thread: it evaluates on one core in-process, so the
thread has the other one, and its process waits for the write before it exits anyway (a child at the lowest
priority would only make that exit wait for whatever else runs on the machine).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .timeline import mark

log = logging.getLogger(__name__)

#: the child's niceness: the lowest priority (it only takes what the other processes leave idle)
NICENESS = 19
#: the longest a load waits for a writer process before it reads the store itself (s): the write is ~1 s of
#: CPU, but at the lowest priority it gets little while other work holds both cores (a trend's periods); a
#: waiter (the window's worklist, another worker) would rather read the store than wait on it for long
WAIT_S = 15.0
_POLL_S = 0.05

_enabled = False


def enable(on: bool = True) -> None:
    """Write a cold load's snapshot from a forked child in this process (Linux only; a worker process)."""
    global _enabled
    _enabled = on and sys.platform == "linux" and hasattr(os, "fork")


def enabled() -> bool:
    return _enabled and "PySide6" not in sys.modules


def write(frames: dict[str, Any], path: Path, folder: Path, key: bytes | None, factorized: Any) -> bool:
    """``frames_cache._save(frames, path, folder, key, factorized)`` in a forked child, counted with this
    process's background writes; False when it was not forked (the caller writes on a thread)."""
    from . import frames_cache

    if not enabled():
        return False
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    busy = frames_cache.writing_threads()
    if any(t in busy for t in others):  # a write on a thread may hold locks the child's write needs
        return False
    lock = -1
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(folder, os.O_RDONLY)
        _flock(lock, shared=True)  # several writers may hold it at once; a waiter takes it exclusively
        pid = os.fork()
    except OSError as exc:  # no lock, no process left: the thread writes
        log.info("No child process for the frames snapshot (%s)", type(exc).__name__)
        if lock >= 0:
            os.close(lock)
        return False
    if pid == 0:  # the child: holds the lock until it exits, however it exits
        _child(frames, path, folder, key, factorized)
    os.close(lock)  # the child's copy holds the lock: later forks of this process do not inherit it
    mark(f"frames snapshot writer forked (other threads: {', '.join(sorted(t.name for t in others)) or 'none'})")
    try:
        frames_cache.run_in_background(folder, lambda: _reap(pid), name="frames-snapshot-child", child=True)
    except RuntimeError:  # no thread to be had: reaped here, once written (never left a zombie)
        _reap(pid)
    return True


def _child(frames: dict[str, Any], path: Path, folder: Path, key: bytes | None, factorized: Any) -> None:
    """In the child: write the snapshot (unless a newer one, or this one, is on disk by now), exit."""
    code = 1
    try:
        gc.disable()  # a collection would touch every object's header: pages copied for nothing
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, NICENESS)
        if not _superseded(path, folder):
            from .frames_cache import _save

            _save(frames, path, folder, key, factorized)
        code = 0
    finally:
        os._exit(code)


def _superseded(path: Path, folder: Path) -> bool:
    """Whether ``path`` is on disk already, or a snapshot of the same store and code of a newer version."""
    from .frames_cache import _version_of, snapshots

    if path.exists():
        return True
    signature = path.name[:-len(".npz")].split("-", 1)[1]
    found = snapshots(folder, signature)
    return bool(found) and _version_of(found[-1]) > _version_of(path)


def _reap(pid: int) -> None:
    """Wait for the child (its exit status collected: no zombie is left)."""
    _, status = os.waitpid(pid, 0)
    if status != 0:
        log.info("The frames snapshot's writer process failed (status %s)", status)


def await_writers(folder: Path) -> None:
    """Wait while a child process of any process writes a snapshot into ``folder`` (its lock is held),
    ``WAIT_S`` at most: the load then reads what it wrote."""
    if not hasattr(os, "fork"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # no folder yet: no writer either
        return
    try:
        deadline = time.monotonic() + WAIT_S
        waited = False
        while not _try_exclusive(fd):
            if not waited:
                mark("load waits for the frames snapshot's writer process")
                waited = True
            if time.monotonic() > deadline:
                log.info("Frames snapshot writer still running; reading without it")
                return
            time.sleep(_POLL_S)
    finally:
        os.close(fd)


def _flock(fd: int, *, shared: bool) -> None:
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)


def _try_exclusive(fd: int) -> bool:
    """Whether no writer holds the lock (taken and let go at once)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: nobody can be waited for
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True
