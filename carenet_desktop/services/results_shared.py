"""The results cache's side on a network office's server: results computed once for every client of the
store, kept in the store (:mod:`.shared_results`), under a lease so one client computes and the others
wait and read. A mixin of :class:`.results.ResultsCache`, kept apart so that module stays small."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..metrics.period import Period
from ..models.changes import current_version
from . import compute_pool
from .context import Progress

if TYPE_CHECKING:
    from .context import ServiceContext
    from .results import CachedResults
    from .shared_results import SharedResults


class SharedResultsMixin:
    """Shared-results methods of the results cache (``self.shared`` set: a PostgreSQL store)."""

    shared: SharedResults | None
    ctx: ServiceContext
    _signature: str
    _entries: dict[tuple[Period, tuple[str, ...], str], CachedResults]

    if TYPE_CHECKING:
        def _evaluate(self, period: Period, ids: tuple[str, ...], progress: Progress,
                      **selection: object) -> tuple[pd.DataFrame, dict[str, str]]: ...

        def _compute_all(self, period: Period, ids: tuple[str, ...], progress: Progress) -> CachedResults: ...

        def _refresh(self, entry: CachedResults, progress: Progress) -> CachedResults: ...

    def _shared_key(self, period: Period, ids: tuple[str, ...], stamp: str) -> str:
        assert self.shared is not None
        return self.shared.key(period, ids, self._signature, stamp)

    def _shared_has(self, period: Period, ids: tuple[str, ...], stamp: str) -> bool:
        assert self.shared is not None
        with self.ctx.db.session() as s:
            version = current_version(s)
        return self.shared.has(self._shared_key(period, ids, stamp), version)

    def _from_shared(self, period: Period, ids: tuple[str, ...], stamp: str, entry: CachedResults | None,
                     progress: Progress) -> CachedResults:
        """The results at the store's journal version: held here, or stored by a client, or computed here
        under the lease (from the newest stored results brought up to date, or from scratch) and stored."""
        assert self.shared is not None
        key = self._shared_key(period, ids, stamp)

        def fallback() -> pd.DataFrame:
            return self._evaluate(period, ids, Progress())[0]

        while True:
            with self.ctx.db.session() as s:
                version = current_version(s)
            if entry is not None and entry.version == version:
                return entry
            found = self.shared.fetch(key, version, period, ids, fallback)
            if found is not None:
                return found
            lease = self.shared.claim(key, version, progress)
            if lease is None:  # stored meanwhile by the client that held the lease (or a write moved on)
                continue
            with lease:
                base = entry if entry is not None and entry.version < version else (
                    self.shared.latest_before(key, version, period, ids, fallback))
                computed = self._compute_all(period, ids, progress) if base is None else self._refresh(base, progress)
                self._publish(key, computed)
                return computed

    def _publish(self, key: str, entry: CachedResults) -> None:
        """Store ``entry`` for every client when it reflects exactly its journal version: no write landed
        while it was computed (on SQLite a load reads the store after the version was read)."""
        assert self.shared is not None
        with self.ctx.db.session() as s:
            version = current_version(s)
        if version == entry.version:
            self.shared.publish(key, entry)

    def _precompute_shared(self, periods: Sequence[Period], ids: tuple[str, ...], stamp: str,
                           progress: Progress) -> None:
        """The periods no client has stored at the store's version, computed in the worker processes under
        their leases; a period another client is computing is left to it (``results()`` waits for it)."""
        assert self.shared is not None
        with self.ctx.db.session() as s:
            version = current_version(s)
        leases = {}
        try:
            for period in periods:
                held = self._entries.get((period, ids, stamp))
                if held is not None and held.version == version:
                    continue
                lease = self.shared.claim(self._shared_key(period, ids, stamp), version, progress, wait=False)
                if lease is not None:
                    leases[period] = lease
            if leases:
                for entry in compute_pool.run(self, list(leases), ids, progress) or []:  # type: ignore[arg-type]
                    self._publish(self._shared_key(entry.period, ids, stamp), entry)
        finally:
            for lease in leases.values():
                lease.release()
