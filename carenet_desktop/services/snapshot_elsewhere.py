"""The window's update of the frames snapshot after a write, run in a compute worker process.

Bringing the snapshot up to date (:func:`.snapshot_keeper.bring_current`) reads the whole snapshot (about
1.1 GB of frames on the 250,000-patient demo) when this process holds no frames to patch: since the care-gap
page lets its frames go once the network's gaps are found, that is the window's case. Its update runs
beside the refresh of the scorecard and its trend after the write, and the two at once were the window's
peak (issue 26: "<= 2 GB"). In a worker the read happens outside the window; the result is the same file.
Without worker processes (``compute_pool`` off) the caller updates it itself, as before.
"""

from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..models.database import Database
from ..models.encryption import derived_keys, remember_derived_keys
from .cache_files import cache_key, remember_cache_key

log = logging.getLogger(__name__)


def bring_current_in_worker(db: Database, folder: Path, *, full_read: bool) -> str | None:
    """``bring_current(db, folder, full_read=...)`` run in a compute worker and waited for: what it did;
    None when there are no workers (or they failed): the caller does it itself."""
    from . import compute_pool

    pool = compute_pool.active()
    if pool is None:
        return None
    try:
        sealing = cache_key(db)
    except OSError:  # an encrypted store without its cache key: no snapshot is kept (bring_current: "none")
        return "none"
    derived = derived_keys() if db.key is not None else {}
    url = db.url.render_as_string(hide_password=False)
    try:
        return str(pool.submit(_bring_current_job, url, db.key, sealing, derived, str(folder), full_read).result())
    except BrokenProcessPool:
        log.warning("A compute worker process died; the snapshot is brought up to date here")
        compute_pool.broken()
        return None
    except Exception as exc:  # the worker's message may quote data: only its type is logged
        log.warning("The snapshot update failed in a worker (%s); done here", type(exc).__name__)
        return None


def _bring_current_job(url: str, key: str | None, sealing: bytes | None,
                       derived: dict[tuple[bytes, bytes, int], str], folder: str, full_read: bool) -> str:
    """The worker's side: open the store as a compute job does and bring its snapshot up to date."""
    from sqlalchemy.engine import make_url

    from ..models.database import open_database
    from . import heap, snapshot_keeper

    remember_derived_keys(derived)
    db = open_database(make_url(url), migrate=False, key=key, allow_network_share=True)
    remember_cache_key(db, sealing)
    try:
        return snapshot_keeper.bring_current(db, Path(folder), full_read=full_read)
    finally:
        db.dispose()
        heap.release()

