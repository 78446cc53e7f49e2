"""Measure results kept up to date cheaply: computed once per period, then refreshed incrementally.

The cache holds the patient-level result rows of every measure for a period, stamped with the change
journal's version (``models.changes``) and kept under a key made of the store's history id and a digest of
the measure definitions in force (``definitions``): rows of another store's history (a restored backup,
a rebuilt demo) or of other definitions are never served, and a journal that went back recomputes. A later request replays the journal: patients edited since are
re-evaluated alone, practices bulk-loaded since are re-evaluated whole, and only a change to the value
sets (or to the measure code) recomputes everything. Rows are also saved to disk (NumPy ``.npz``, no
pickle) so a restart serves the last scorecard at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import platformdirs

from .. import __version__
from ..metrics.engine import ROW_COLUMNS, evaluate_measures, evaluate_periods
from ..metrics.period import Period
from ..models.changes import changes_since, current_version, history_id
from . import compute_pool, heap
from .cache_files import READ_ERRORS, cache_key, open_npz, results_folder, save_npz
from .context import Progress, ServiceContext
from .definitions import definitions_digest
from .measure_data import load_measure_data
from .results_codec import _conform, decode_head, encode_entry, patched_summary, read_rows
from .results_entry import CachedResults
from .results_shared import SharedResultsMixin

__all__ = ["CachedResults", "ResultsCache", "_conform", "patched_summary"]
from .timeline import mark

log = logging.getLogger(__name__)
_POLL_S = 0.05  # how often a caller waiting for a period in flight checks whether it was cancelled

#: most refreshed entries queued for the writer thread before ``results()`` waits for it (each holds its rows)
MOST_UNSAVED = 2


def _code_signature() -> str:
    """Changes when the measure code changes, so results computed by other code are not reused."""
    root = Path(__file__).resolve().parents[1] / "metrics"
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class ResultsCache(SharedResultsMixin):
    """Per database: results by (period, measures), refreshed from the change journal on every request."""

    def __init__(self, ctx: ServiceContext, cache_dir: Path | None = None, *, frames_folder: Path | None = None,
                 in_process: bool = False, shared: bool | None = None) -> None:
        """``frames_folder``: where the store's frames snapshot lives (default ``frames_cache.default_folder``);
        ``in_process``: never hand computes to the worker processes (a worker's own cache); ``shared``:
        results computed once for every client of the store, kept in the store (:mod:`.shared_results`) -
        by default on a PostgreSQL server, the network office's; there the store is the results' only
        place, and no patient-level rows are written to this computer's disk."""
        from .frames_cache import default_folder
        from .shared_results import SharedResults

        self.ctx = ctx
        self.on_disk = True
        self.in_process = in_process
        #: (period, measures, stamp) -> rows; the stamp is the store's history and the definitions in force
        self._entries: dict[tuple[Period, tuple[str, ...], str], CachedResults] = {}
        self._lock = threading.Lock()
        #: keys being served by ``results()`` or computed by ``precompute()``: a second asker waits for them
        #: (not under ``_lock``: a trend's periods computed in the workers never hold up a scorecard's read)
        self._inflight: dict[tuple[Period, tuple[str, ...], str], threading.Event] = {}
        self._flight_lock = threading.Lock()
        self._sharing = 0  # > 0 inside sharing_frames(): the whole store's frames are kept between periods
        self._shared: tuple[int, Any] | None = None  # (change version, MeasureData)
        self.root = cache_dir or Path(platformdirs.user_cache_dir("CareNetDesktop", appauthor=False)) / "results"
        self.folder = results_folder(ctx.db.url, self.root)
        self.frames_folder = frames_folder or default_folder(ctx.db)
        self._signature = _code_signature()
        self._key: bytes | None = None  # an encrypted store's cache key, read on first use
        self._digests: dict[tuple[str, ...], tuple[object, str]] = {}  # ids -> (catalogue, its definitions digest)
        if shared is None:
            shared = ctx.db.engine.dialect.name == "postgresql"
        self.shared = SharedResults(ctx.db) if shared else None
        if self.shared is not None:
            self.on_disk = False
        #: refreshed entries are saved by one writer thread, in order (``_write_disk_later``)
        self._writer: ThreadPoolExecutor | None = None
        self._writer_lock = threading.Lock()
        self._pending: Future[None] | None = None
        self._unsaved: dict[Path, CachedResults] = {}
        #: notified when the writer thread has saved one (``_wait_for_room``)
        self._room = threading.Condition(self._writer_lock)

    @property
    def signature(self) -> str:
        """The measure code's signature, part of every key of this cache's files."""
        return self._signature

    def cache_key(self) -> bytes | None:
        """The key sealing this cache's files (None for a plain store's)."""
        return self._cache_key()

    def _cache_key(self) -> bytes | None:
        """Patient-level rows: an encrypted store's are sealed with its own random key, kept inside it
        (:mod:`.cache_files`), so they never lie on disk in plain text."""
        if self.ctx.db.key is None:
            return None
        if self._key is None:
            self._key = cache_key(self.ctx.db)
        return self._key

    # --- public ---------------------------------------------------------------------------------------

    def results(self, period: Period, measure_ids: Sequence[str] | None = None,
                progress: Progress | None = None) -> CachedResults:
        progress = progress or Progress()
        ids = tuple(m.id for m in self.ctx.catalogue.select(measure_ids))
        key = (period, ids, self.stamp(ids))
        flight = self._enter(key, progress)  # a period a precompute is computing: waited for, not computed again
        refreshed = False
        try:
            with self._lock:
                entry = self._entries.get(key)
                if self.shared is not None:
                    entry = self._from_shared(period, ids, key[2], entry, progress)
                elif (entry := entry or self._read_disk(period, ids)) is None:
                    entry = self._compute_all(period, ids, progress)
                else:
                    held, entry = entry, self._refresh(entry, progress)
                    refreshed = entry is not held  # a new copy of the rows, queued for the writer
                self._entries[key] = entry
        finally:
            self._leave(key, flight)
        if refreshed:
            self._wait_for_room()
        return entry

    def _enter(self, key: tuple[Period, tuple[str, ...], str], progress: Progress) -> threading.Event:
        """``key`` marked in flight for the caller, once whoever has it in flight is done with it."""
        while True:
            with self._flight_lock:
                held = self._inflight.get(key)
                if held is None:
                    self._inflight[key] = mine = threading.Event()
                    return mine
            _await(held, progress)

    def _leave(self, key: tuple[Period, tuple[str, ...], str], flight: threading.Event) -> None:
        with self._flight_lock:
            if self._inflight.get(key) is flight:
                del self._inflight[key]
        flight.set()

    def holds(self, period: Period, measure_ids: Sequence[str] | None = None) -> bool:
        """Whether rows of ``period`` are kept (in memory or on disk) for the store's history and the
        definitions in force: ``results()`` then only refreshes them from the journal."""
        ids = tuple(m.id for m in self.ctx.catalogue.select(measure_ids))
        with self._lock:
            stamp = self.stamp(ids)
            if self.shared is not None:
                return (period, ids, stamp) in self._entries or self._shared_has(period, ids, stamp)
            return (period, ids, stamp) in self._entries or (self.on_disk and self._saved(self._path(period, ids)))

    def precompute(self, periods: Sequence[Period], measure_ids: Sequence[str] | None = None,
                   progress: Progress | None = None, *, early: bool = False) -> None:
        """Compute the periods held neither in memory nor on disk side by side in the worker processes,
        so that ``results()`` then only reads them; periods another caller has in flight are waited for.
        Without worker processes this does nothing: each period is computed when it is asked for.

        The workers save the results files themselves and send back only each period's practice summary
        (the rows are read from the file when something asks for them). It holds no lock while they
        compute: a ``results()`` of another period meanwhile is not held up. ``early``: the workers wait
        for the frames snapshot a compute in flight is writing (``compute_pool.run``)."""
        if self.in_process:
            return
        progress = progress or Progress()
        ids = tuple(m.id for m in self.ctx.catalogue.select(measure_ids))
        if self.shared is not None:
            with self._lock:
                self._precompute_shared(periods, ids, self.stamp(ids), progress)
            return
        stamp = self.stamp(ids)
        paths = {p: self._path(p, ids) for p in periods}
        with self._flight_lock:
            others = [held for p in periods if (held := self._inflight.get((p, ids, stamp))) is not None]
            missing = [p for p in periods if (p, ids, stamp) not in self._inflight
                       and (p, ids, stamp) not in self._entries and not self._saved(paths[p])]
            mine = {p: threading.Event() for p in missing}
            for p, flight in mine.items():
                self._inflight[(p, ids, stamp)] = flight
        try:
            if missing:
                for done in compute_pool.run(self, missing, ids, progress, save=self.on_disk, early=early) or []:
                    self._keep_computed(done, ids, stamp, paths[done.period])
        finally:
            for p, flight in mine.items():
                self._leave((p, ids, stamp), flight)
        for held in others:
            _await(held, progress)

    def _keep_computed(self, done: Any, ids: tuple[str, ...], stamp: str, path: Path) -> None:
        """A period a precompute had computed: a file a worker saved (``compute_pool.Written``) kept as its
        summary, the rows read from the file when asked for; rows sent back saved by the writer thread."""
        if isinstance(done, compute_pool.Written):
            key = self._key_or_none()
            entry = CachedResults(done.period, ids, done.version, self._rows_reader(path, done.period, ids, key, done.version),
                                  dict(done.failures), {("practice_id",): done.summary})
            self._entries[(done.period, ids, stamp)] = entry  # a single store: no lock (``discard`` copies)
            mark(f"period {done.period.label} saved by its worker")
            return
        # kept on disk only (a trend reads them period by period), saved on the writer thread: until a file
        # is written its entry is served from the queue (``_read_disk``), so the trend is built while the
        # files are still being written; its summary now, for the trend table
        done.summary(["practice_id"])
        self._write_disk_later(done)
        mark(f"period {done.period.label} handed to the writer")

    @contextmanager
    def sharing_frames(self) -> Iterator[None]:
        """Within this block, periods computed from scratch share one load of the store's frames (a trend
        computes twelve); they are let go when the block ends, so the window does not keep them."""
        with self._lock:
            self._sharing += 1
        try:
            yield
        finally:
            with self._lock:
                self._sharing -= 1
                if not self._sharing:
                    self._shared = None

    def share_frames(self, version: int, data: Any) -> None:
        """Within :meth:`sharing_frames`: frames already at hand (a worker's last job's, ``worker_frames``),
        used by the periods computed from scratch while the store is still at ``version``."""
        with self._lock:
            self._shared = (version, data)

    def shared_frames(self) -> tuple[int, Any] | None:
        """The frames the periods of the current :meth:`sharing_frames` block share: (version, data)."""
        with self._lock:
            return self._shared

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def discard(self, period: Period, measure_ids: Sequence[str] | None = None) -> None:
        """Drop one period's rows from memory (they stay on disk): a trend over many periods keeps only
        their summaries."""
        ids = tuple(m.id for m in self.ctx.catalogue.select(measure_ids))
        with self._lock:
            for key in [k for k in list(self._entries) if k[:2] == (period, ids)]:
                del self._entries[key]

    # --- computing ------------------------------------------------------------------------------------

    def _evaluate(self, period: Period, ids: tuple[str, ...], progress: Progress, **selection: object) -> tuple[pd.DataFrame, dict[str, str]]:
        progress.report(0.0, "Loading data")
        # everything: from the columnar snapshot when the data has not changed since it was taken
        data = load_measure_data(self.ctx.db, **selection) if selection else self._all_frames()  # type: ignore[arg-type]
        measures = self.ctx.catalogue.select(ids)

        def step(i: int, n: int, measure_id: str) -> None:
            progress.report(0.3 + 0.7 * i / max(n, 1), f"Evaluating {measure_id}")

        run = evaluate_measures(data, period, measures, on_measure=step)
        progress.report(1.0, "Done")
        return run.rows[list(ROW_COLUMNS)], run.failures

    def _all_frames(self) -> Any:
        """The whole store's frames. A snapshot to write after a read of the store is written by a thread
        of its own while the measures are evaluated (on 2 cores the evaluation leaves one idle): it is off
        the path to the first results. A later load in this process waits for it; a worker process waits
        for it before it hands its results back (``compute_pool._run_job``), so other workers find it - on
        Linux a child process at the lowest priority writes it instead, not waited for: a load in any
        process waits for it (``snapshot_child``)."""
        from .frames_cache import load_measure_data_cached

        if self._sharing:
            with self.ctx.db.session() as s:
                version = current_version(s)
            if self._shared is not None and self._shared[0] == version:
                return self._shared[1]
            data, _ = load_measure_data_cached(self.ctx.db, self.frames_folder, save_in_background=True)
            self._shared = (version, data)
            return data
        return load_measure_data_cached(self.ctx.db, self.frames_folder, save_in_background=True)[0]

    def _compute_all(self, period: Period, ids: tuple[str, ...], progress: Progress) -> CachedResults:
        # a worker saves the file and sends its practice summary only (``save``): the rows (~80 MB at 250k
        # patients) are not piped nor written again here; they are read from the file when asked for
        computed = None if self.in_process else compute_pool.run(self, [period], ids, progress, save=self.on_disk)
        if computed and isinstance(computed[0], compute_pool.Written):
            done = computed[0]
            return CachedResults(period, ids, done.version,
                                 self._rows_reader(self._path(period, ids), period, ids, self._key_or_none(),
                                                   done.version),
                                 dict(done.failures), {("practice_id",): done.summary})
        if computed:  # the worker's results, kept here (the cache belongs to this process)
            entry: CachedResults = computed[0]
            # the practice summary (what a scorecard reads first; the file keeps it beside the rows) now,
            # the file on the writer thread: the caller does not wait ~0.3 s on the 250k demo for it
            entry.summary(["practice_id"])
            self._write_disk_later(entry)
            return entry
        return self.compute_here(period, ids, progress)

    def compute_here(self, period: Period, ids: tuple[str, ...], progress: Progress) -> CachedResults:
        """Every measure of ``period`` from scratch, in this process; saved to disk."""
        entry: CachedResults = self.compute_periods_here([period], ids, progress)[0]
        return entry

    def compute_periods_here(self, periods: Sequence[Period], ids: tuple[str, ...], progress: Progress,
                             keep: Callable[[CachedResults], Any] | None = None,
                             share_out: Callable[[Period], bool] | None = None) -> list[Any]:
        """Every measure of each of ``periods`` from scratch, in this process, in one pass over one load of
        the frames (``engine.evaluate_periods``: what no period changes is derived once); each saved to disk.
        Takes no lock (``compute_here`` runs under ``self._lock``): within ``sharing_frames`` the shared
        load is used, else the frames are loaded for this call. ``keep``: what of each saved period is
        returned instead of the period itself (a worker saving its files keeps each period's summary, not
        every period's rows until the last is done). ``share_out``: as ``evaluate_periods``'s (a period whose
        measures are split with a forked copy of this process)."""
        with self.ctx.db.session() as s:
            version = current_version(s)  # read first: changes made while computing are replayed later
        progress.report(0.0, "Loading data")
        data = self._all_frames()
        mark("frames ready")
        measures = self.ctx.catalogue.select(ids)

        def step(i: int, n: int, measure_id: str) -> None:
            progress.report(0.1 + 0.9 * i / max(n, 1), f"Evaluating {measure_id}")

        entries = []
        for period, run in evaluate_periods(data, periods, measures, on_measure=step, share_out=share_out):
            # the dtypes of every other path
            entry = CachedResults(period, ids, version, _conform(run.rows[list(ROW_COLUMNS)]), run.failures)
            mark(f"period {period.label} evaluated")
            self._write_disk(entry)
            entries.append(entry if keep is None else keep(entry))
            del entry, run
        progress.report(1.0, "Done")
        return entries

    def _refresh(self, entry: CachedResults, progress: Progress) -> CachedResults:
        """``entry`` brought up to the journal's version. Only what changed is evaluated, typed and summarised
        again: the other rows keep their dtypes and the other practices their summary rows (a one-record edit
        on a large network would otherwise spend seconds converting and summarising every row), and the
        file is written by the cache's writer thread, off the caller's path."""
        with self.ctx.db.session() as s:
            version, wholesale, patients = changes_since(s, entry.version)
        if version == entry.version:
            return entry
        if None in wholesale:
            return self._compute_all(entry.period, entry.measure_ids, progress)
        old = entry.rows
        rows = old
        failures = dict(entry.failures)
        touched: set[object] = set()  # the practices whose summary rows may have changed
        if wholesale:
            practices = sorted(p for p in wholesale if p is not None)
            fresh, failed = self._evaluate(entry.period, entry.measure_ids, progress.sub(0, 0.5), practice_id_list=practices)
            touched |= set(practices) | set(fresh["practice_id"].tolist())
            rows = pd.concat([rows[~rows["practice_id"].isin(practices)], _conform(fresh)], ignore_index=True)
            failures.update(failed)
        if patients:
            ids = sorted(patients)
            fresh, failed = self._evaluate(entry.period, entry.measure_ids, progress.sub(0.5, 1), patient_id_list=ids)
            gone = rows["patient_id"].isin(ids)
            touched |= set(rows.loc[gone, "practice_id"].tolist()) | set(fresh["practice_id"].tolist())
            rows = pd.concat([rows[~gone], _conform(fresh)], ignore_index=True)
            failures.update(failed)
        if not rows.dtypes.equals(old.dtypes):  # e.g. an entry read from an older file: one set of dtypes
            rows = _conform(rows)
        updated = CachedResults(entry.period, entry.measure_ids, version, rows, failures)
        summary = entry._summaries.get(("practice_id",))
        if summary is not None and failures == entry.failures:
            updated._summaries[("practice_id",)] = patched_summary(summary, rows, touched)
        self._write_disk_later(updated)
        return updated

    def stamp(self, ids: tuple[str, ...]) -> str:
        """What the rows of ``ids`` depend on besides the journal: the store's history and the definitions."""
        with self.ctx.db.session() as s:
            history = history_id(s)
        # the digest kept for the catalogue it was taken of: a catalogue never changes (an edited measure
        # file builds another one, put on the context), and every read of a period asks for the stamp
        catalogue = self.ctx.catalogue
        held = self._digests.get(ids)
        if held is None or held[0] is not catalogue:
            self._digests[ids] = held = (catalogue, definitions_digest(catalogue, ids))
        return f"{history}:{held[1]}"

    # --- disk -----------------------------------------------------------------------------------------

    def _path(self, period: Period, ids: tuple[str, ...]) -> Path:
        key = json.dumps([period.label, ids, self._signature, self.stamp(ids)])
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"

    def _write_disk_later(self, entry: CachedResults) -> None:
        """Save ``entry`` on the cache's one writer thread (in order; the path and key taken now, as the
        store's history may change before it runs). A file that lags behind is only slower: it carries its
        journal version and is refreshed from the journal when read."""
        if not self.on_disk:
            return
        key = self._key_or_none()
        if key is False:
            return
        path = self._path(entry.period, entry.measure_ids)
        with self._writer_lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="results-cache-writer")
            previous = self._unsaved.get(path)
            self._unsaved[path] = entry  # a newer refresh of the same file replaces one not yet saved
            try:
                self._pending = self._writer.submit(self._save_latest, path, key)
            except RuntimeError:  # the interpreter is exiting: not saved (only a cache), nor left queued
                if previous is None:
                    del self._unsaved[path]
                else:
                    self._unsaved[path] = previous

    def _save_latest(self, path: Path, key: bytes | None) -> None:
        with self._writer_lock:
            entry = self._unsaved.get(path)
        if entry is None:  # a job queued earlier already saved the newest one
            return
        try:
            self._save(entry, path, key)
        finally:  # queued until its file is in place: a read meanwhile finds it in one place or the other
            with self._writer_lock:
                if self._unsaved.get(path) is entry:
                    del self._unsaved[path]
                emptied = not self._unsaved
                self._room.notify_all()
            del entry
            if emptied:  # a trend's periods were held here until written: their memory handed back now
                heap.release()

    def _wait_for_room(self) -> None:
        """Wait (outside the cache's lock) while more than ``MOST_UNSAVED`` entries wait for the writer
        thread: a trend read after a write refreshes its twelve periods faster than their files are
        written, and each queued period holds a whole copy of its rows (~150 MB on the 250,000-patient demo:
        the window's peak). The reads still overlap the writes, one or two periods ahead."""
        with self._room:
            while len(self._unsaved) > MOST_UNSAVED:
                if self._pending is None or self._pending.done():  # nothing left to save them: never wait
                    return
                self._room.wait(timeout=1.0)

    def _saved(self, path: Path) -> bool:
        """Whether ``path`` is written, or queued for the writer thread."""
        with self._writer_lock:
            if path in self._unsaved:
                return True
        return path.exists()

    def flush(self) -> None:
        """Wait until the writer thread has saved what it was given."""
        with self._writer_lock:
            pending = self._pending
        if pending is not None:
            pending.result()

    def _write_disk(self, entry: CachedResults) -> None:
        if not self.on_disk:
            return
        self.flush()  # an older entry queued for the same file must not land after this one
        key = self._key_or_none()
        if key is not False:
            self._save(entry, self._path(entry.period, entry.measure_ids), key)

    def _key_or_none(self) -> bytes | None | Literal[False]:
        """The cache key; ``False`` when an encrypted store's key cannot be had (nothing is saved)."""
        try:
            return self._cache_key()
        except OSError as exc:
            log.warning("Results cache not saved: %s", exc.strerror)
            return False

    def _save(self, entry: CachedResults, path: Path, key: bytes | None) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            head, body = encode_entry(entry)
            save_npz(path, {**head, **body}, key)
        except OSError as exc:  # a cache that cannot be written only costs speed
            log.warning("Results cache not saved: %s", exc.strerror)

    def _read_disk(self, period: Period, ids: tuple[str, ...]) -> CachedResults | None:
        path = self._path(period, ids)
        if not self.on_disk:
            return None
        with self._writer_lock:
            queued = self._unsaved.get(path)
        if queued is not None:  # the newest entry of this file, not written yet: what the file will hold
            return queued
        if not path.exists():
            return None
        try:
            key = self._cache_key()
            with open_npz(path, key) as z:
                meta, names, summary = decode_head(z)
        except READ_ERRORS as exc:
            log.warning("Results cache ignored (%s)", type(exc).__name__)
            return None
        if summary is None:  # a cache written before summaries were saved: read the rows now, save both
            rows = read_rows(path, names, key)
            if rows is None:
                return None
            entry = CachedResults(period, ids, int(meta["version"]), rows, dict(meta["failures"]))
            if "summary_dtypes" not in meta:  # written by an earlier version: once, not at every read
                self._write_disk(entry)
            return entry

        version = int(meta["version"])
        return CachedResults(period, ids, version, self._rows_reader(path, period, ids, key, version),
                             dict(meta["failures"]), {("practice_id",): summary})

    def _rows_reader(self, path: Path, period: Period, ids: tuple[str, ...], key: Any,
                     version: int) -> Callable[[], pd.DataFrame]:
        """What reads the rows of ``path`` when they are asked for, if the file still holds those of journal
        ``version`` (a worker or the writer may have saved another version in it since); a file gone,
        damaged or of another version is evaluated again (the rows are then at least as new as
        ``version``: a refresh replays the journal over them, which changes nothing): it is only a cache."""

        def load_rows() -> pd.DataFrame:
            rows = None
            damaged = False
            try:
                with open_npz(path, key) as z:
                    meta, measures, _ = decode_head(z)
                if int(meta["version"]) == version:
                    rows = read_rows(path, measures, key)
                    damaged = rows is None
            except READ_ERRORS as exc:
                log.warning("Results cache ignored (%s)", type(exc).__name__)
                damaged = True
            if rows is None:
                if damaged:
                    with contextlib.suppress(OSError):  # the next start computes and writes it again
                        path.unlink()
                return _conform(self._evaluate(period, ids, Progress())[0])  # the dtypes of every other path
            return rows

        return load_rows


def _await(flight: threading.Event, progress: Progress) -> None:
    """Wait for ``flight`` (another caller's work on a key), ``Cancelled`` as soon as ``progress`` is."""
    while not flight.wait(_POLL_S):
        progress.check()
    progress.check()
