"""Measure results computed once for the whole network office, kept in the store for every workstation.

On a shared PostgreSQL server every workstation used to read every patient's records and compute the
whole network itself (minutes and gigabytes each on a large network). Here a period's results are written
to the database (``models.shared_results``) under the key every results cache uses - the store's history,
the measure definitions' digest, the measure code - and the change journal's version they reflect
*exactly*; a workstation whose store is at that version reads the practice summary (a few kilobytes) and
opens the scorecard without reading a patient row. The patient-level rows are read only when a
patient-level view (strata, the care-gap worklist) asks for them.

Computing is coordinated with a **lease** per (key, version): one client takes it and computes, the
others wait for the results to appear and read them. The holder renews the lease while it works; a lease
whose holder died (a workstation switched off mid-compute) expires after :data:`LEASE_S` seconds of the
database's clock and another client takes it over. Results are served for their own journal version
only: after a write, the next client to ask brings the newest stored results up to date from the journal
(re-evaluating the patients changed since) and stores them at the new version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from ..metrics.period import Period
from ..models.base import utcnow
from ..models.changes import DataChange, StoreIdentity
from ..models.database import Database
from ..models.shared_results import ResultLease, SharedResult
from .cache_files import READ_ERRORS
from .context import Cancelled, Progress

if TYPE_CHECKING:
    from .results import CachedResults

log = logging.getLogger(__name__)

#: seconds a lease lasts unless renewed; the holder renews it every third of that
LEASE_S = 30.0
#: seconds between two looks of a waiting client
POLL_S = 0.25
#: versions of one key kept (the newest is what clients read; the one before lets a lagging reader finish)
KEEP_VERSIONS = 2
WAITING = "Waiting for another workstation's computation"
#: a key nobody has stored anew for this long, and not current, is pruned (:meth:`SharedResults.prune`)
STALE_AFTER = dt.timedelta(days=30)


def _store_history(conn: Connection) -> str | None:
    return conn.execute(select(StoreIdentity.history_id).where(StoreIdentity.id == 1)).scalar()


def _db_now(conn: Connection) -> float:
    """The database's clock in epoch seconds: every workstation's lease is timed by one clock."""
    if conn.dialect.name == "postgresql":
        return float(conn.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")).scalar_one())
    return float(conn.execute(text("SELECT (julianday('now') - 2440587.5) * 86400.0")).scalar_one())


def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    """The arrays as ``.npz`` bytes; 64-bit integers that fit in 32 bits (ids, counts) stored as such,
    which halves what every workstation fetches (the decoders read any integer width)."""
    narrow = np.iinfo(np.int32)
    small = {name: a.astype(np.int32) if a.dtype == np.int64 and (not len(a) or narrow.min <= a.min() <= a.max() <= narrow.max)
             else a for name, a in arrays.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **small)  # type: ignore[arg-type]  # numpy's stub: a key could be allow_pickle
    return buffer.getvalue()


class Lease:
    """A client's claim to compute one key at one version, renewed on a thread until released."""

    def __init__(self, db: Database, name: str, holder: str) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="result-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_S / 3):
            try:
                with self.db.engine.begin() as conn:
                    now = _db_now(conn)
                    conn.execute(update(ResultLease).where(ResultLease.key == self.name,
                                                           ResultLease.holder == self.holder)
                                 .values(expires_at=now + LEASE_S))
            except Exception as exc:  # a lost connection: the lease lapses, another client computes too
                log.warning("Result lease not renewed (%s)", type(exc).__name__)

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            with self.db.engine.begin() as conn:
                conn.execute(delete(ResultLease).where(ResultLease.key == self.name,
                                                       ResultLease.holder == self.holder))
        except Exception as exc:  # it expires by itself
            log.warning("Result lease not released (%s)", type(exc).__name__)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class SharedResults:
    """The shared results of one store (see the module)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def key(period: Period, measure_ids: Sequence[str], code_signature: str, stamp: str) -> str:
        """What the results depend on besides the journal version (``ResultsCache.stamp`` and the code)."""
        raw = json.dumps([period.label, str(period.start), str(period.end), list(measure_ids), code_signature, stamp])
        return hashlib.sha256(raw.encode()).hexdigest()

    # --- reading ----------------------------------------------------------------------------------------

    def has(self, key: str, version: int) -> bool:
        with self.db.engine.connect() as conn:
            return conn.execute(select(SharedResult.id).where(SharedResult.key == key,
                                                              SharedResult.version == version)).first() is not None

    def fetch(self, key: str, version: int, period: Period, measure_ids: tuple[str, ...],
              fallback: Callable[[], pd.DataFrame]) -> CachedResults | None:
        """The results stored for ``key`` at exactly ``version`` (None if there are none): the practice
        summary now, the patient-level rows when first asked for (``fallback`` if they went since)."""
        return self._fetch(SharedResult.version == version, key, period, measure_ids, fallback)

    def latest_before(self, key: str, version: int, period: Period, measure_ids: tuple[str, ...],
                      fallback: Callable[[], pd.DataFrame]) -> CachedResults | None:
        """The newest results stored for ``key`` at a version before ``version`` (to bring up to date)."""
        return self._fetch(SharedResult.version < version, key, period, measure_ids, fallback)

    def _fetch(self, condition: Any, key: str, period: Period, measure_ids: tuple[str, ...],
               fallback: Callable[[], pd.DataFrame]) -> CachedResults | None:
        from .results import CachedResults
        from .results_codec import decode_head, decode_rows

        with self.db.engine.connect() as conn:
            found = conn.execute(select(SharedResult.id, SharedResult.version, SharedResult.summary_data)
                                 .where(SharedResult.key == key, condition)
                                 .order_by(SharedResult.version.desc()).limit(1)).first()
        if found is None:
            return None
        row_id, version, blob = found
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                meta, names, summary = decode_head(z)
        except READ_ERRORS as exc:
            log.warning("Shared results ignored (%s)", type(exc).__name__)
            return None

        def load_rows() -> pd.DataFrame:
            with self.db.engine.connect() as conn:
                body = conn.execute(select(SharedResult.row_data).where(SharedResult.id == row_id)).scalar()
            if body is None:  # replaced by newer results since: evaluate again, it is only a cache
                return fallback()
            with np.load(io.BytesIO(body), allow_pickle=False) as z:
                return decode_rows(z, names)

        summaries: dict[tuple[str, ...], pd.DataFrame] = {} if summary is None else {("practice_id",): summary}
        return CachedResults(period, measure_ids, int(version), load_rows, dict(meta["failures"]), summaries)

    # --- writing ----------------------------------------------------------------------------------------

    def publish(self, key: str, entry: CachedResults) -> None:
        """Store ``entry`` (results that reflect exactly its journal version) for every client; the
        versions of ``key`` before the :data:`KEEP_VERSIONS` newest are dropped."""
        from .results_codec import encode_entry

        head, body = encode_entry(entry)
        try:
            with self.db.engine.begin() as conn:
                conn.execute(insert(SharedResult).values(key=key, version=entry.version, created_at=utcnow(),
                                                         history=_store_history(conn),
                                                         summary_data=_pack(head), row_data=_pack(body)))
                kept = conn.execute(select(SharedResult.version).where(SharedResult.key == key)
                                    .order_by(SharedResult.version.desc()).limit(KEEP_VERSIONS)).scalars().all()
                if len(kept) == KEEP_VERSIONS:
                    conn.execute(delete(SharedResult).where(SharedResult.key == key,
                                                            SharedResult.version < kept[-1]))
                # leases of dead holders, long expired (a live one is renewed or released)
                conn.execute(delete(ResultLease).where(ResultLease.expires_at < _db_now(conn) - 3600))
                self._prune(conn)
        except IntegrityError:  # another client stored these results first: the same results
            pass

    def prune(self) -> int:
        """Drop the stored results no client will use again (see :meth:`_prune`); the number of rows."""
        with self.db.engine.begin() as conn:
            return self._prune(conn)

    @staticmethod
    def _prune(conn: Connection) -> int:
        """Results of keys that are no longer current pile up: every restore or demo rebuild (a new store
        history), every change of the measure definitions or of the measure code starts new keys. Dropped:

        * every row computed for another store history than the store's (no client can ask for it again);
        * the rows of a key nobody has stored at the store's journal version and none newer for
          :data:`STALE_AFTER` (a workstation still running that code computes it again, from scratch).

        Never a row of a key a live lease is computing (its holder may be reading it to bring it up to
        date), and never the newest row of a key at the store's journal version (what clients read now)."""
        history = _store_history(conn)
        version = int(conn.execute(select(func.coalesce(func.max(DataChange.id), 0))).scalar_one())
        now = _db_now(conn)
        leased = set(conn.execute(select(func.substr(ResultLease.key, 1, 64))
                                  .where(ResultLease.expires_at >= now)).scalars())
        rows = conn.execute(select(SharedResult.id, SharedResult.key, SharedResult.version, SharedResult.history,
                                   SharedResult.created_at)).all()
        newest: dict[str, tuple[int, dt.datetime]] = {}
        for _, key, row_version, _, created in rows:
            seen = newest.get(key)
            newest[key] = (max(row_version, seen[0]), max(created, seen[1])) if seen else (row_version, created)
        stale_before = utcnow() - STALE_AFTER
        doomed = [row_id for row_id, key, _, row_history, _ in rows
                  if key not in leased and (
                      (row_history is not None and row_history != history)
                      or (newest[key][0] != version and newest[key][1] < stale_before))]
        for start in range(0, len(doomed), 500):
            conn.execute(delete(SharedResult).where(SharedResult.id.in_(doomed[start:start + 500])))
        if doomed:
            log.info("Shared results pruned: %d no longer current", len(doomed))
        return len(doomed)

    def claim(self, key: str, version: int, progress: Progress, *, wait: bool = True) -> Lease | None:
        """The lease to compute ``key`` at ``version``; None once its results are stored (read them). While
        another client holds the lease, waits (``wait``) or returns None at once."""
        name = f"{key[:64]}:{version}"
        reported = False
        while True:
            if self.has(key, version):
                return None
            lease = self._take(name)
            if lease is not None:
                if self.has(key, version):  # stored between the look and the take
                    lease.release()
                    return None
                return lease
            if not wait:
                return None
            if not reported:
                progress.report(0.0, WAITING)
                reported = True
            if progress.cancelled:
                raise Cancelled()
            threading.Event().wait(POLL_S)

    def _take(self, name: str) -> Lease | None:
        holder = uuid.uuid4().hex
        try:
            with self.db.engine.begin() as conn:
                conn.execute(insert(ResultLease).values(key=name, holder=holder, expires_at=_db_now(conn) + LEASE_S))
            return Lease(self.db, name, holder)
        except IntegrityError:
            pass
        with self.db.engine.begin() as conn:  # held: taken over only when its holder stopped renewing it
            now = _db_now(conn)
            taken = conn.execute(update(ResultLease).where(ResultLease.key == name, ResultLease.expires_at < now)
                                 .values(holder=holder, expires_at=now + LEASE_S))
            if taken.rowcount != 1:
                return None
        return Lease(self.db, name, holder)
