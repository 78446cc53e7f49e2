"""The whole store's frames a compute worker's last job loaded, kept a few seconds for its next job.

On a cold start the first scorecard's job reads the store in one worker and evaluates its period; the
sparklines' job that follows in the same worker (the trend is asked for as soon as the scorecard is shown,
or, started early, is queued behind it) would load the same frames again from their snapshot and derive again
what no period changes (``metrics.memo``'s ``ANY_PERIOD`` answers: code columns factorised, value-set hits,
the network measures' people...): ~0.7 s and ~2 s of CPU on the 250,000-patient demo. The worker keeps the
frames, with those answers, for ``KEEP_S`` seconds instead; a job of the same store at the same journal
version and history takes them, any other job (or the time running out) lets them go and hands their memory
back to the system (``heap.release``), so an idle worker does not hold them for long.

Only in a worker process (``compute_pool``), for a store whose frames are snapshot on this computer
(``frames_cache.saves_snapshot``): the same frames the next job would read from that snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from . import heap

#: how long a worker keeps its last job's frames for the next job (s); 0: never
KEEP_S = 10.0
#: set in a worker process (``compute_pool._init_worker``): any other process (the window computing
#: in-process, a test running a job in its own process) keeps nothing
active = False

_lock = threading.Lock()
#: (the key they were loaded under, the frames, a token of this keeping) and the timer that lets them go
_kept: tuple[Hashable, Any, object] | None = None
_timer: threading.Timer | None = None


def frames_key(db: Any, frames_folder: str) -> Hashable | None:
    """What frames loaded now are the frames of: the store, the snapshot folder, the journal's version and
    the store's history; None where the frames are not kept (a store not snapshot here: a network server)."""
    from ..models.changes import current_version, history_id
    from .frames_cache import saves_snapshot

    if not active or KEEP_S <= 0 or not saves_snapshot(db):
        return None
    with db.session() as s:
        return (str(db.url), frames_folder, current_version(s), history_id(s))


def take(key: Hashable | None) -> Any:
    """The frames kept under ``key`` (taken: kept no more), or None; frames kept under another key are let go."""
    global _kept
    with _lock:
        kept, _kept = _kept, None
        _stop_timer()
    if kept is None:
        return None
    if key is not None and kept[0] == key:
        return kept[1]
    del kept
    heap.release()
    return None


def keep(key: Hashable, data: Any) -> None:
    """Keep ``data`` (loaded under ``key``) for the next job, ``KEEP_S`` seconds at most."""
    global _kept, _timer
    with _lock:
        _stop_timer()
        token = object()  # (the timer holds the token, not the frames: they go when they are let go)
        _kept = (key, data, token)
        _timer = threading.Timer(KEEP_S, _expire, args=(token,))
        _timer.daemon = True  # a worker shutting down does not wait for it
        _timer.start()


def drop() -> None:
    """Let the kept frames go (if any) and hand their memory back."""
    take(None)


def held() -> bool:
    with _lock:
        return _kept is not None


def _expire(token: object) -> None:
    global _kept
    with _lock:
        if _kept is None or _kept[2] is not token:  # taken (or replaced) meanwhile
            return
        _kept = None
    heap.release()


def _stop_timer() -> None:
    global _timer
    if _timer is not None:
        _timer.cancel()
        _timer = None
