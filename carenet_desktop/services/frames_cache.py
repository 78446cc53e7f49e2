"""A columnar snapshot of the store's measure frames, so only the first load after a change reads SQLite.

Reading millions of events out of SQLite takes tens of seconds on a 250,000-patient network; the same
frames saved as NumPy arrays (``.npz``, no pickle: text columns are stored as codes into a table of
distinct strings) load in a second or two. A snapshot is keyed by the change journal's version (and by
the loader's code), so any change to the data makes the next load read the store again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import platformdirs

from ..metrics.data import MeasureData
from ..metrics.memo import ANY_PERIOD
from ..metrics.primitives import seed_factorised
from ..models.changes import changes_since, current_version, history_id
from ..models.database import Database
from . import heap, snapshot_child
from .cache_files import READ_ERRORS, cache_key, open_npz, remove_orphaned_writes, save_npz
from .frame_columns import str_column
from .measure_data import Factorized, load_measure_data, load_measure_data_versioned
from .timeline import mark

log = logging.getLogger(__name__)
_KEEP = 2  # snapshots kept per database


#: the source files a snapshot's layout depends on (relative to the package): their hash names the snapshot,
#: so the installer ships them as files too (build_installer.spec; tests/test_installer_spec.py checks it)
SIGNATURE_SOURCES = ("services/measure_data.py", "services/sqlite_frames.py", "services/stored_timestamps.py",
                     "services/pg_frames.py", "services/frame_columns.py", "services/decimal_floats.py",
                     "services/text_codes.py",
                     "metrics/data.py", "services/cache_files.py", "services/frames_cache.py")


def _signature() -> str:
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in SIGNATURE_SOURCES:
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:12]


def default_folder(db: Database) -> Path:
    identity = db.url.render_as_string(hide_password=True)
    root = Path(platformdirs.user_cache_dir("CareNetDesktop", appauthor=False)) / "frames"
    return root / hashlib.sha256(identity.encode()).hexdigest()[:16]


_WRITES_SNAPSHOTS = True  # False in a forked copy of a worker (``no_snapshot_writes``)


def no_snapshot_writes() -> None:
    """This process writes no frames snapshot from now on: a forked copy of a worker, which ends with
    ``os._exit`` (a write of its own would be cut short, leaving a partial file behind); its worker writes."""
    global _WRITES_SNAPSHOTS
    _WRITES_SNAPSHOTS = False


def saves_snapshot(db: Database, *, patient_view: bool = False) -> bool:
    """Whether a load may write the frames snapshot to this computer's disk. A SQLite store lies on this
    disk already. A network office's server (PostgreSQL) is there so that patient records stay on it: a
    workstation keeps them only for a user who opens a patient-level view (``patient_view``: the care-gap
    worklist); the scorecard reads shared results (:mod:`.shared_results`) and a compute reads the server."""
    return patient_view or db.engine.dialect.name != "postgresql"


def load_measure_data_cached(db: Database, folder: Path | None = None, *, patient_view: bool = False,
                             save_in_background: bool = False) -> tuple[MeasureData, bool]:
    """All practices' frames (and the value sets); ``True`` when served from a snapshot.

    A snapshot older than the data is brought up to date from the change journal when it can be: the
    patients (or practices) changed since are read from the store and their rows replaced. Only a change
    to everything (value sets, a restore) or a missing snapshot reads the whole store. An encrypted
    store's snapshot is sealed with the store's own key (:mod:`.cache_files`): patient data never
    lies on disk in plain text. A snapshot is written only where :func:`saves_snapshot` allows it.

    ``save_in_background``: a snapshot to write is written by a thread while the caller goes on with the
    frames (a non-daemon thread: the process waits for it before it exits; the next load in this process
    waits for it too, see :func:`wait_for_saves`); in a compute worker on Linux by a forked child process
    at the lowest priority instead (:mod:`.snapshot_child`: a load in any process waits for it).
    """
    from .valuesets import load_index

    folder = folder or default_folder(db)
    wait_for_saves(folder)  # a snapshot still being written here is read, not read and written again
    snapshot_child.await_writers(folder)  # (and one a child process of another process is writing)
    try:
        key = cache_key(db)
    except OSError as exc:  # an encrypted store without its cache key: read the store, keep nothing
        log.warning("Frames snapshot not used (%s)", exc.strerror)
        plain = load_measure_data(db, with_valuesets=False)
        plain.valuesets = load_index(db)
        return plain, False
    with db.session() as s:
        # read before loading: a change while loading is replayed next time (PostgreSQL: replaced by the
        # version read in the load's snapshot)
        version = current_version(s)
        history = history_id(s)
    signature = store_signature(history)
    path = folder / f"v{version}-{signature}.npz"
    data: MeasureData | None = None
    served = False
    found = snapshots(folder, signature)
    if found and _version_of(found[-1]) <= version:
        try:
            data = _read(found[-1], key)
            old_version = _version_of(found[-1])
            if old_version < version:
                with db.session() as s:
                    _, wholesale, patients = changes_since(s, old_version)
                data = None if None in wholesale else _patch(db, data, wholesale, patients)
            served = data is not None
        except READ_ERRORS as exc:
            log.warning("Frames snapshot ignored (%s)", type(exc).__name__)
            data = None
            with contextlib.suppress(OSError):  # damaged, or sealed under another key: written again below
                found[-1].unlink()
    factorized: Factorized = {}
    if data is None:
        data, seen = load_measure_data_versioned(db, with_valuesets=False, factorized=factorized)
        # the read's reading threads freed their chunk strings and partial arrays in arenas of their own:
        # handed back before the evaluation allocates on top of them (~100 MB of peak on 250k patients)
        heap.release()
        if seen is not None:  # the journal version of the load's own snapshot (PostgreSQL): exactly its data
            path = folder / f"v{seen}-{signature}.npz"
    for (name, column), (codes, texts) in factorized.items():  # a fresh load: its codes for the engine
        seed_factorised(data.memo, getattr(data, name), column, codes, texts)
    if not path.exists() and _WRITES_SNAPSHOTS and saves_snapshot(db, patient_view=patient_view):
        if not factorized:  # a snapshot patched from the journal: its unchanged frames' codes are in hand
            factorized = held_codes(data)
        if save_in_background:
            _save_in_background(data.frames(), path, folder, key, factorized)
        else:
            _save(data.frames(), path, folder, key, factorized)
    data.valuesets = load_index(db)
    return data, served


def patched_copy(db: Database, data: MeasureData, since: int) -> tuple[MeasureData, int] | None:
    """``data`` (frames that reflect the store at journal version ``since``) brought up to date from the
    change journal, as a new ``MeasureData`` (``data`` itself is left as it is: a reader may hold it), with
    the journal version it now reflects; ``None`` when everything changed (value sets, a restored store):
    read it again (:func:`load_measure_data_cached`)."""
    import copy

    with db.session() as s:
        version, wholesale, patients = changes_since(s, since)
    if None in wholesale or version < since:
        return None
    if version == since:
        return data, version
    return _patch(db, copy.copy(data), wholesale, patients), version


def held_codes(data: MeasureData) -> Factorized:
    """The codes of ``data``'s text columns that its memo holds already (a snapshot read seeds them, a
    fresh load hands its own, an evaluation computes them): a snapshot written from ``data`` stores them as
    they are instead of hashing every text column of every frame again (on the 250,000-patient demo that
    was ~3.7 s CPU and ~180 MB more at the peak of each write). Frames replaced since (a patch) have none:
    theirs are factorized as before. The codes are taken only for the very frame object they were made for
    (``FrameMemo`` keys an answer by the frame's identity and length and keeps a weak reference to it)."""
    out: Factorized = {}
    entries = data.memo._entries  # read-only, one key at a time (no iteration: other threads may add)
    for name, frame in data.frames().items():
        for column in frame.columns:
            if str(frame[column].dtype) != "str":
                continue
            rows = len(frame)
            hit = entries.get((("factorised", column), ANY_PERIOD, (id(frame), rows)))
            if hit is None or hit[0][0]() is not frame:
                continue
            answer: tuple[np.ndarray, Any, Any] = hit[1]  # (codes, uniques, extras): primitives._factorise
            if len(answer[0]) == rows:
                out[(name, column)] = (answer[0], np.asarray(answer[1], dtype=object))
    return out


def store_signature(history: str) -> str:
    """What names a snapshot of the store with this history besides its journal version: the loader's code
    and the history (another history, a restored backup or a rebuilt store, never patches this one's)."""
    return f"{_signature()}{hashlib.sha256(history.encode()).hexdigest()[:8]}"


def snapshots(folder: Path, signature: str) -> list[Path]:
    """The snapshots named ``signature`` in ``folder``, oldest journal version first."""
    return sorted(folder.glob(f"v*-{signature}.npz"), key=_version_of) if folder.exists() else []


def _unchanged(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    """The rows held for some patients equal those read again (same columns, dtypes, values and order:
    a write usually touches one frame, e.g. an immunization, and the others need no rebuilding)."""
    if len(old) != len(new) or list(old.columns) != list(new.columns):
        return False
    return bool(old.reset_index(drop=True).equals(new.reset_index(drop=True)))


def _version_of(path: Path) -> int:
    return int(path.name[1:].split("-", 1)[0])


_SAVING: dict[Path, list[threading.Thread]] = {}  # folder -> snapshot writes running in this process
_HURRY: dict[threading.Thread, threading.Event] = {}  # a background write -> set to start it at once
_CHILDREN: set[threading.Thread] = set()  # the threads waiting for a writer process (``snapshot_child``)
_SAVING_LOCK = threading.Lock()


def wait_for_saves(folder: Path | None = None, *, children: bool = True) -> None:
    """Wait for this process's background snapshot writes (into ``folder``, or all; never the calling
    thread itself: a background write may load through :func:`load_measure_data_cached`). ``children``:
    those of forked child processes too (:mod:`.snapshot_child`; reaped); without them, only the writes on
    threads of this process: what a fork must not copy mid-write, and what a load in another process
    cannot wait for (a child's is waited for through its lock)."""
    with _SAVING_LOCK:
        threads = [t for f, ts in _SAVING.items() if folder is None or f == folder for t in ts
                   if t is not threading.current_thread() and (children or t not in _CHILDREN)]
        for thread in threads:
            if thread in _HURRY:
                _HURRY[thread].set()
        waiting = {t for t in threads if t in _CHILDREN}
    for thread in threads:  # a writer process at the lowest priority is waited for WAIT_S at most
        thread.join(snapshot_child.WAIT_S if thread in waiting else None)


def writing_threads() -> list[threading.Thread]:
    """This process's background writes running on threads (not those waiting for a writer process)."""
    with _SAVING_LOCK:
        return [t for ts in _SAVING.values() for t in ts if t not in _CHILDREN]


def run_in_background(folder: Path, work: Any, name: str = "frames-snapshot-writer",
                      hurry: threading.Event | None = None, *, child: bool = False) -> threading.Thread:
    """``work()`` on a non-daemon thread of its own (the process waits for it before it exits), counted
    among the writes into ``folder`` that :func:`wait_for_saves` (and so the next load here) waits for;
    ``hurry`` is set by whoever starts waiting for it (a write that waits before it starts, so that a burst
    of writes is one: it starts now). ``child``: ``work`` waits for a writer process (it writes nothing; a
    daemon thread: the process's exit does not wait for it)."""

    def run() -> None:
        try:
            work()
        finally:
            with _SAVING_LOCK:
                _SAVING[folder].remove(thread)
                _HURRY.pop(thread, None)
                _CHILDREN.discard(thread)

    thread = threading.Thread(target=run, name=name, daemon=child)  # (a process's exit waits for no child)
    with _SAVING_LOCK:  # started under the lock: a wait_for_saves in another thread never finds it unstarted
        _SAVING.setdefault(folder, []).append(thread)  # (join() of a thread not started raises)
        if hurry is not None:
            _HURRY[thread] = hurry
        if child:
            _CHILDREN.add(thread)
        thread.start()
    return thread


def _save_in_background(frames: dict[str, pd.DataFrame], path: Path, folder: Path, key: bytes | None,
                        factorized: Factorized) -> None:
    """``_save`` on a thread of its own (in a compute worker: a child process of its own, ``snapshot_child``).
    It holds the frames as they are now (``frames()`` is a new dict: a caller replacing a frame of its
    ``MeasureData`` does not change what is written)."""
    if snapshot_child.write(frames, path, folder, key, factorized):
        return
    run_in_background(folder, lambda: _save(frames, path, folder, key, factorized))


def _save(frames: dict[str, pd.DataFrame], path: Path, folder: Path, key: bytes | None,
          factorized: Factorized | None = None) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write(frames, path, key, factorized)
        mark("frames snapshot written")  # (the benchmarks' timeline: is the write on a result's path?)
        done = [p for p in folder.glob("v*.npz") if not p.name.endswith(".tmp.npz")]  # not another's write
        for old in sorted(done, key=lambda p: p.stat().st_mtime)[:-_KEEP]:
            old.unlink(missing_ok=True)
        remove_orphaned_writes(folder)  # (a writer killed mid-write left its file)
    except OSError as exc:  # a snapshot that cannot be written only costs speed
        log.warning("Frames snapshot not saved (%s)", exc.strerror)


def _patch(db: Database, data: MeasureData, practices: set[int | None], patients: set[int]) -> MeasureData:
    """Replace the rows of the changed patients (and of every patient of the changed practices)."""
    affected = set(patients)
    if practices:
        old = data.patients
        affected |= set(old.loc[old["practice_id"].isin(list(practices)), "patient_id"].tolist())
        with db.engine.connect() as conn:
            from sqlalchemy import select

            from ..models import Patient

            affected |= set(conn.execute(select(Patient.id).where(Patient.practice_id.in_(list(practices)))).scalars())
    if not affected:
        return data
    fresh = load_measure_data(db, patient_id_list=sorted(affected), with_valuesets=False)
    ids = list(affected)
    old_encounters = data.encounters.loc[data.encounters["patient_id"].isin(ids), "event_id"]
    for name, frame in data.frames().items():
        new = getattr(fresh, name)
        if name == "encounter_diagnoses":
            mine = frame["encounter_id"].isin(old_encounters.tolist()).to_numpy()
            order = None
        else:
            mine = frame["patient_id"].isin(ids).to_numpy()
            order = "patient_id" if name == "patients" else "event_id"
        if _unchanged(frame[mine], new):
            continue  # these patients' rows of this frame read the same: the frame is kept, not copied
        merged = _spliced(frame, mine, new, order)
        if merged is None:  # the general way: three copies of the frame at once
            kept = frame[~mine]
            merged = pd.concat([kept, new], ignore_index=True) if len(new) else kept.reset_index(drop=True)
            if order is not None:
                merged = merged.sort_values(order, kind="stable", ignore_index=True)
        if "date_only" in merged.columns and not bool(merged["date_only"].notna().any()):
            merged = merged.drop(columns="date_only")  # as a read has it: only when some row has one (an undo)
        setattr(data, name, merged)
    return data


#: most pieces :func:`_spliced` joins (more: a practice-wide change; the general way is as quick)
_MOST_PIECES = 256


def _spliced(frame: pd.DataFrame, mine: np.ndarray, new: pd.DataFrame, order: str | None) -> pd.DataFrame | None:
    """``frame`` without the rows ``mine`` and with ``new`` (kept rows first, then by ``order``, stably), as
    ``concat`` + ``sort_values`` would make it, built in one copy: the kept runs of ``frame`` (slices, no
    copy) and the new rows between them joined once. A write touches a few patients of a frame of millions
    of rows; the general way held the old frame and three copies of it at once (about 370 MB for one
    immunization on the 250,000-patient demo). None when it does not apply (``frame`` not in ``order``,
    too many pieces): the caller takes the general way."""
    if len(new) and order is not None:
        new = new.sort_values(order, kind="stable", ignore_index=True)
    if len(new) and len(frame.columns) != len(new.columns):
        return None
    keep = ~mine
    starts = np.flatnonzero(keep & ~np.r_[False, keep[:-1]])  # the runs of kept rows
    ends = np.flatnonzero(keep & ~np.r_[keep[1:], False]) + 1
    if order is None or not len(new):
        at = np.full(len(new), len(starts), dtype=np.int64)  # the new rows after every kept one
        cuts = np.zeros(len(starts) + 1, dtype=np.int64)
    else:
        keys = frame[order].to_numpy()
        kept_keys = keys[keep]
        if len(kept_keys) > 1 and not bool((kept_keys[1:] >= kept_keys[:-1]).all()):
            return None  # not kept in order (a frame as first read): sorted the general way
        # where each new row goes among the kept ones (after equal keys: kept rows first, as a stable sort)
        position = np.searchsorted(kept_keys, new[order].to_numpy(), side="right")
        run_lengths = ends - starts
        before = np.concatenate([[0], np.cumsum(run_lengths)])  # kept rows before each run
        # the run a new row falls in (or after), and the rows of that run before it
        run = np.searchsorted(before, position, side="right") - 1
        at = run.astype(np.int64)
        cuts = position - before[np.minimum(run, len(starts))]
        return _join_pieces(frame, starts, ends, new, at, cuts)
    return _join_pieces(frame, starts, ends, new, at, None)


def _join_pieces(frame: pd.DataFrame, starts: np.ndarray, ends: np.ndarray, new: pd.DataFrame,
                 at: np.ndarray, cuts: np.ndarray | None) -> pd.DataFrame | None:
    """The kept runs ``starts[i]:ends[i]`` of ``frame`` with new row ``j`` put into run ``at[j]`` after
    ``cuts[j]`` of its rows (None: after the whole run), joined in one ``concat``."""
    pieces: list[pd.DataFrame] = []
    j = 0
    for i, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        cursor = start
        while j < len(new) and at[j] == i and cuts is not None:
            cut = start + int(cuts[j])
            if cut > cursor:
                pieces.append(frame.iloc[cursor:cut])
                cursor = cut
            k = j
            while k < len(new) and at[k] == i and int(cuts[k]) == int(cuts[j]):
                k += 1
            pieces.append(new.iloc[j:k])
            j = k
        if end > cursor:
            pieces.append(frame.iloc[cursor:end])
        if len(pieces) > _MOST_PIECES:
            return None
    if j < len(new):
        pieces.append(new.iloc[j:])
    if not pieces:
        return frame.iloc[:0].reset_index(drop=True)
    if len(pieces) == 1:
        return pieces[0].reset_index(drop=True)
    return pd.concat(pieces, ignore_index=True)


# --- encoding ---------------------------------------------------------------------------------------------


def _encode(prefix: str, series: pd.Series, arrays: dict[str, np.ndarray],
            coded: tuple[np.ndarray, np.ndarray] | None = None) -> str:
    """The column as arrays under ``prefix``; its kind. ``coded``: the text column's codes and distinct
    texts as the reader factorized them (stored as they are instead of factorizing the rows again)."""
    dtype = str(series.dtype)
    if dtype.startswith("datetime64"):
        arrays[prefix] = series.to_numpy().astype("datetime64[us]", copy=False).view(np.int64)  # no copy
        return "datetime64[us]"
    if dtype in ("int64", "float64"):
        arrays[prefix] = series.to_numpy()
        return dtype
    if dtype in ("Int64", "boolean"):
        arrays[prefix + ".mask"] = series.isna().to_numpy()
        arrays[prefix] = series.fillna(0 if dtype == "Int64" else False).to_numpy(dtype=np.int64 if dtype == "Int64" else bool)
        return dtype
    if coded is not None and dtype == "str" and len(coded[0]) == len(series):
        codes, uniques = coded  # in the reader's narrow integer type: stored as it is, no copy
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        codes = codes.astype(np.int32)
    arrays[prefix] = codes
    arrays[prefix + ".text"] = np.asarray([str(u) for u in uniques], dtype=str)
    return "str" if dtype in ("str", "string") else "object"


def _decode(prefix: str, kind: str, z: np.lib.npyio.NpzFile,
            coded: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Any:
    """The column's values (an array the frame takes as it is: no copy, no check per row); a text
    column's codes and texts also go to ``coded`` (when given)."""
    values = z[prefix]
    if kind == "datetime64[us]":
        return values.view("datetime64[us]")
    if kind in ("int64", "float64"):
        return values
    if kind == "Int64":
        return pd.arrays.IntegerArray(values.astype(np.int64, copy=False), z[prefix + ".mask"])
    if kind == "boolean":
        return pd.arrays.BooleanArray(values.astype(bool, copy=False), z[prefix + ".mask"])
    texts = z[prefix + ".text"].astype(object)
    if kind == "str":  # from the distinct texts
        if coded is not None:
            coded[prefix] = (values, texts)
        return str_column(values, texts)
    out = np.empty(len(values), dtype=object)
    present = values >= 0
    out[present] = texts[values[present]] if len(texts) else None
    out[~present] = None
    return out


def _write(data: MeasureData | dict[str, pd.DataFrame], path: Path, key: bytes | None = None,
           factorized: Factorized | None = None) -> None:
    arrays: dict[str, np.ndarray] = {}
    schema: dict[str, list[list[str]]] = {}
    coded = factorized or {}
    frames = data.frames() if isinstance(data, MeasureData) else data
    for name, frame in frames.items():
        schema[name] = [[column, _encode(f"{name}/{column}", frame[column], arrays, coded.get((name, column)))]
                        for column in frame.columns]
    arrays["__schema__"] = np.frombuffer(json.dumps(schema).encode(), dtype=np.uint8)
    save_npz(path, arrays, key)  # two worker processes may save one snapshot: each writes its own file first


def _read(path: Path, key: bytes | None = None) -> MeasureData:
    """The snapshot's frames; the text columns' stored codes are handed to the engine (``data.memo``)."""
    data = MeasureData()
    with open_npz(path, key, mapped=True) as z:  # a plain snapshot's arrays: views of the file, not copies
        schema = json.loads(bytes(z["__schema__"]).decode())
        for name, columns in schema.items():
            # copy=False: each column its own block, as the loader builds them (no stacking copy)
            coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            frame = pd.DataFrame({column: _decode(f"{name}/{column}", kind, z, coded) for column, kind in columns},
                                 copy=False)
            setattr(data, name, frame)
            for column, _kind in columns:  # a byte or two a row: the codes stay with the frame
                if f"{name}/{column}" in coded:
                    seed_factorised(data.memo, frame, column, *coded[f"{name}/{column}"])
    return data
