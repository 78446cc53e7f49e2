"""The frames snapshot kept current at write time, so that a start after a write reads it warm.

A write (an import, an entry, an undo, a restore) moves the store's change journal on; the frames
snapshot on disk (:mod:`.frames_cache`) is named by the journal version it reflects, so the next start
would patch it from the journal (a practice-wide import: every patient of the practice read again) or,
after a change to everything, read the whole store. Here, after a write of this process, the snapshot is
brought up to that version in the background (:func:`keep_current`): the newest snapshot is read, patched
from the journal and written under the new version, by one thread per snapshot folder. A burst of writes
costs one update more at most: a request made while an update runs makes it run once again when it ends.
The thread is a non-daemon one counted with the background snapshot writes (``frames_cache.wait_for_saves``):
a load in this process waits for it, and the process waits for it before it exits.

Nothing here decides what a load may serve: a snapshot is still named by the store's history and journal
version, so a write by another process (a second workstation, the command line while the window is open)
makes the next load patch or read again, as before. Only a store that has a snapshot here already is kept
current: the first start after install (or after an upgrade of the loader's code) makes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from ..metrics.data import MeasureData
from ..models.changes import changes_since, current_version, history_id
from ..models.database import Database
from . import heap
from .cache_files import cache_key
from .frames_cache import (
    _save,
    _signature,
    _version_of,
    default_folder,
    held_codes,
    load_measure_data_cached,
    patched_copy,
    run_in_background,
    snapshots,
    store_signature,
    wait_for_saves,
)
from .timeline import mark

log = logging.getLogger(__name__)

#: how much lower than the window the update's thread runs (Linux: per thread; elsewhere left as it is)
NICENESS = 10


def bring_current(db: Database, folder: Path | None = None, *, full_read: bool = True) -> str:
    """Bring the store's frames snapshot in ``folder`` up to the journal's version, now; what was done:
    ``"current"`` (nothing to do), ``"patched"`` (the newest snapshot patched from the journal and written),
    ``"patched held"`` (the frames this process holds, see :func:`offer`, patched and written),
    ``"read"`` (the store read whole and written: a change to everything, a restored store), ``"left"``
    (that read was needed but not allowed: ``full_read=False``), ``"none"`` (no snapshot of this store's
    loader here to keep current, or no key to seal it with)."""
    folder = folder or default_folder(db)
    if not folder.exists() or not any(not p.name.endswith(".tmp.npz") for p in folder.glob("v*.npz")):
        return "none"  # no snapshot here at all: nothing to keep, and the store is not asked
    wait_for_saves(folder)
    try:
        cache_key(db)
    except OSError:  # an encrypted store without its cache key: no snapshot is kept at all
        return "none"
    with db.session() as s:
        version = current_version(s)
        history = history_id(s)
    found = snapshots(folder, store_signature(history))
    if found and _version_of(found[-1]) == version:
        return "current"
    if found and _version_of(found[-1]) < version:
        with db.session() as s:
            _, wholesale, _ = changes_since(s, _version_of(found[-1]))
        whole = None in wholesale
    else:  # another history (a restore) or none yet: kept only where this loader's snapshot was kept before
        whole = True
        code = _signature()
        if not any(p.name.split("-", 1)[-1].startswith(code) and not p.name.endswith(".tmp.npz")
                   for p in (folder.glob("v*.npz") if folder.exists() else [])):
            return "none"
    if whole and not full_read:
        return "left"
    if not whole and _patch_held(db, folder, history, store_signature(history)):
        return "patched held"
    # patient_view: a snapshot of a network store lies here only because its user opened patient-level views
    _, served = load_measure_data_cached(db, folder, patient_view=True)
    return "patched" if served else "read"


def offer(folder: Path, history: str, version: int, data: MeasureData) -> None:
    """Frames this process holds anyway (the care-gap worklist's), reflecting the store's ``history`` at
    journal ``version``: an update patches a copy of them (only the frames that changed are new) instead of
    reading the snapshot, so the window does not hold every frame twice while it writes one. Only a weak
    reference is kept: the frames are never held longer for this."""
    with _LOCK:
        _HELD[folder] = (history, version, weakref.ref(data))


def _offered(folder: Path) -> bool:
    """Whether frames offered by this process (:func:`offer`) are still alive for ``folder``."""
    with _LOCK:
        held = _HELD.get(folder)
    return held is not None and held[2]() is not None


def _patch_held(db: Database, folder: Path, history: str, signature: str) -> bool:
    """The offered frames patched up to the journal and written as the snapshot (False: none to patch)."""
    with _LOCK:
        held = _HELD.get(folder)
    data = held[2]() if held is not None and held[0] == history else None
    if held is None or data is None:
        return False
    patched = patched_copy(db, data, held[1])
    if patched is None:
        return False
    current, version = patched
    # the unchanged frames' text codes as the memo holds them: not hashed again for the write
    _save(current.frames(), folder / f"v{version}-{signature}.npz", folder, cache_key(db), held_codes(current))
    return True


@dataclass
class _Keeper:
    """One folder's update thread: runs :func:`bring_current` until no request came in while it ran."""

    db: Database
    folder: Path
    full_read: bool
    delay: float
    nice: bool = False
    again: bool = False
    hurry: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        if self.nice:
            with contextlib.suppress(AttributeError, OSError):  # below the window's threads (a 2-core machine)
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        while True:
            if self.delay:
                self.hurry.wait(self.delay)  # a burst of writes: the later ones join this update
            with _LOCK:
                self.again = False
                full_read = self.full_read
            try:
                mark("snapshot update starts")
                done = None
                if self.nice and not _offered(self.folder):  # the window, holding no frames to patch
                    from .snapshot_elsewhere import bring_current_in_worker

                    done = bring_current_in_worker(self.db, self.folder, full_read=full_read)
                if done is None:
                    done = bring_current(self.db, self.folder, full_read=full_read)
                mark(f"snapshot update: {done}")
            except Exception as exc:  # a snapshot not brought up to date only costs the next start time
                log.warning("Frames snapshot not brought up to date (%s)", type(exc).__name__)
            heap.release()  # the patched frames' and the write's arrays freed: handed back (services/heap.py)
            with _LOCK:
                if not self.again:
                    del _KEEPERS[self.folder]
                    return


_LOCK = threading.Lock()
_KEEPERS: dict[Path, _Keeper] = {}
_HELD: dict[Path, tuple[str, int, weakref.ref[MeasureData]]] = {}  # folder -> frames offered (see offer())


def keep_current(db: Database, folder: Path | None = None, *, full_read: bool = True, delay: float = 0.0,
                 nice: bool = False) -> None:
    """After a write: bring the frames snapshot up to date on a background thread (see the module
    docstring). ``full_read=False``: leave a snapshot that only a whole read can bring up to date (the
    window: its next compute reads the store and writes one anyway); ``delay``: seconds to wait before
    starting, so that a burst of writes is one update; ``nice``: run below the process's other threads
    (the window's; the command line waits for it instead)."""
    folder = folder or default_folder(db)
    with _LOCK:
        keeper = _KEEPERS.get(folder)
        if keeper is not None:  # running or about to: it runs once more
            keeper.again = True
            keeper.full_read = keeper.full_read or full_read
            return
        keeper = _KEEPERS[folder] = _Keeper(db, folder, full_read, delay, nice)
    run_in_background(folder, keeper.run, name="frames-snapshot-keeper", hurry=keeper.hurry)


def finish(db: Database | None = None, folder: Path | None = None) -> None:
    """Start the pending updates (of ``db``'s snapshot folder, or all) without their delay and wait for them."""
    if folder is None and db is not None:
        folder = default_folder(db)
    wait_for_saves(folder)  # sets each one's ``hurry``


__all__ = ["bring_current", "finish", "keep_current", "offer"]
