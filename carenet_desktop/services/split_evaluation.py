"""A lone period's measures shared out between this process and a forked copy of it, on two cores.

The first scorecard of a cold store is one period evaluated in a worker process (``services.compute_pool``):
its measures run one after another on one core while the machine's other core idles (but for the frames
snapshot's writer). A forked copy of the process holds the same frames and the same memo (copy-on-write:
nothing is copied or sent), so it can evaluate some of the measures meanwhile. The two processes claim the
measures one by one, in the catalogue's order, from a pipe holding their indices (whoever is free takes the
next one); the copy sends its measures' outcomes back pickled and exits. Each measure is evaluated exactly
as ``engine`` evaluates it alone, and the rows are put together in the catalogue's order: the period's rows
are those of an evaluation in one process. A measure the copy claimed but did not send (it died, was
killed) is evaluated here.

Off unless :func:`enable` was called (the engine's ``share_lone_periods``) (the worker processes turn it on, on Linux, with two cores or more):
a fork of the window's process (Qt) or of a process on macOS (system frameworks) is not safe, and Windows
has no fork. Progress (``on_measure``) is reported for the measures evaluated here only; when it raises
(``Cancelled``) the copy is killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..metrics.engine import share_lone_periods, sharing_lone_periods

if TYPE_CHECKING:
    from ..metrics.definition import Measure

log = logging.getLogger(__name__)

#: how many measures the forked copy evaluated in this process's last split (for the tests)
last_split: dict[str, int] = {}
#: the fewest patients worth a fork (its page tables and copied pages cost tens of milliseconds on a large
#: store's frames): a small evaluation (a refresh of a few patients, a small store) runs in one process
MIN_PATIENTS = 20_000
_PIPE_ROOM = 4096  # the claims are written before the fork, with no reader yet: they must fit the pipe's buffer
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_POLL_S = 0.25  # how often a wait for the copy checks whether the work was cancelled
_TOKEN = 2  # bytes per measure index in the claims pipe (well under PIPE_BUF: each read takes one whole)


def enable(on: bool = True) -> None:
    """Share a lone period's measures with a forked copy of this process, in the current context (the
    engine's ``share_lone_periods``; only where fork is safe: Linux, a process without Qt; only with two
    cores or more)."""
    fits = sys.platform == "linux" and hasattr(os, "fork") and (os.cpu_count() or 1) >= 2
    share_lone_periods(evaluate_split if on and fits else None)


def enabled() -> bool:
    return sharing_lone_periods() is evaluate_split


def evaluate_split(measures: Sequence[Measure], one: Callable[[Measure], Any],
                   on_measure: Callable[[int, int, str], None] | None, patients: int) -> list[Any] | None:
    """``one(measure)`` for each of ``measures``, shared out with a forked copy of this process: the outcomes
    in the order of ``measures``. ``None`` for fewer than two measures or ``MIN_PATIENTS``
    patients, in a process that imported Qt, or when the fork fails (the caller evaluates them itself)."""
    if (len(measures) < 2 or len(measures) * _TOKEN > _PIPE_ROOM or patients < MIN_PATIENTS
            or "PySide6" in sys.modules):
        return None
    opened: list[int] = []
    parent = os.getpid()
    try:
        claims_r, claims_w = os.pipe()
        opened += (claims_r, claims_w)
        os.write(claims_w, b"".join(i.to_bytes(_TOKEN, "little") for i in range(len(measures))))
        os.close(claims_w)  # all written (a few hundred bytes at most: fits the pipe's buffer): EOF when taken
        opened.remove(claims_w)
        out_r, out_w = os.pipe()
        opened += (out_r, out_w)
        pid = os.fork()
    except OSError as exc:  # no pipe, no process left: the caller evaluates them itself
        log.info("No forked copy for the period's measures (%s)", type(exc).__name__)
        for fd in opened:
            os.close(fd)
        return None
    if pid == 0:  # the copy: evaluates what it claims, sends the outcomes, and exits (no atexit, no finalizers)
        code = 1
        try:
            _die_with(parent)
            os.close(out_r)
            mine = {i: one(measures[i]) for i in _claims(claims_r)}
            with os.fdopen(out_w, "wb") as out:
                pickle.dump(mine, out, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    os.close(out_w)
    outcomes: dict[int, Any] = {}
    theirs: dict[int, Any] = {}
    handed = False  # out_r handed to _receive, which closes it (never closed twice: its number may be reused)
    try:
        try:
            for i in _claims(claims_r):
                if on_measure is not None:
                    on_measure(i, len(measures), measures[i].id)
                outcomes[i] = one(measures[i])
        finally:
            os.close(claims_r)
        handed = True
        last = max(outcomes, default=None)

        def still_wanted() -> None:  # the last progress said again: raises (Cancelled) when the work was cancelled
            if on_measure is not None and last is not None:
                on_measure(last, len(measures), measures[last].id)

        theirs = _receive(out_r, pid, still_wanted)
    except BaseException:
        with contextlib.suppress(OSError):  # (already reaped: nothing to kill)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if not handed:
            os.close(out_r)
        raise
    last_split.clear()
    last_split.update(here=len(outcomes), forked=len(theirs))
    for i, measure in enumerate(measures):  # what the copy claimed but never sent is evaluated here
        if i not in outcomes and i not in theirs:
            if on_measure is not None:
                on_measure(i, len(measures), measure.id)
            outcomes[i] = one(measure)
    outcomes.update(theirs)
    return [outcomes[i] for i in range(len(measures))]


def _claims(fd: int) -> Any:
    """The measure indices this process claims from the pipe, one by one, until none is left."""
    while True:
        token = os.read(fd, _TOKEN)
        if len(token) < _TOKEN:
            return
        yield int.from_bytes(token, "little")


def _die_with(parent: int) -> None:
    """In the copy: be killed when the worker that forked it dies (else an orphan would evaluate every
    measure left in the claims pipe, on a core and in memory the rest of the machine wants back)."""
    with contextlib.suppress(Exception):  # Linux's prctl(PR_SET_PDEATHSIG); elsewhere the check below only
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the worker died before the signal was asked for
        os._exit(1)


def _receive(fd: int, pid: int, still_wanted: Callable[[], None]) -> dict[int, Any]:
    """The forked copy's outcomes (measure index -> outcome), once it has exited; empty when it failed.
    While it works, ``still_wanted()`` is called every ``_POLL_S`` (it raises when the work is cancelled:
    the caller then kills the copy)."""
    chunks: list[bytes] = []
    with os.fdopen(fd, "rb", buffering=0) as src:
        while True:
            ready, _, _ = select.select([src], [], [], _POLL_S)
            if not ready:
                still_wanted()
                continue
            chunk = src.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    payload = b"".join(chunks)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        log.info("The forked copy evaluating measures failed (status %s)", status)
        return {}
    try:
        theirs: dict[int, Any] = pickle.loads(payload)
    except Exception as exc:  # a copy cut off while writing: its measures are evaluated here
        log.info("The forked copy's measures unreadable (%s)", type(exc).__name__)
        return {}
    return theirs
