"""The results and frames caches' files: NumPy ``.npz`` archives, sealed with AES-256-GCM for an encrypted store.

Both caches hold patient-level rows, so an encrypted store's are never written in plain text. Its key is
32 random bytes kept inside the store itself (``models.cache_secret``): only who can open the store can
open its caches, no process derives a key for them (the window reads it once; a compute worker is handed
it with its job), and another store - a new one at the same path, a copy encrypted again - has a key of
its own, so its caches never open this one's files. The archive is sealed in segments of ``SEGMENT``
bytes, each with its own nonce and its index and a last-segment flag in the authenticated data, so a
file cut anywhere fails to open, and a flipped byte or a swapped or dropped segment fails when its part is
read (segments are decrypted as they are read: a start that reads a results file's practice summary does
not decrypt its patient rows). A cache file that does not open or read is ignored by its reader and
computed again: it is only a cache.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
import struct
import threading
import time
import weakref
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

    from ..models.database import Database

# cryptography is imported where a sealed file is made or opened: a plain store's start does not pay for it

MAGIC = b"CNDCACHE2\n"  # 2: the key is the store's own (1 was derived from the passphrase)
SEGMENT = 8 << 20  # bytes of archive per sealed segment
#: an encrypted store's cache key, per open engine (read from the store once per process)
_KEYS: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()
_KEYS_LOCK = threading.Lock()


class CacheKeyUnavailable(OSError):
    """An encrypted store whose cache key cannot be read or made (a read-only file): no caches on disk."""

    def __init__(self) -> None:
        super().__init__(errno.EACCES, "the store's cache key is not available")


def cache_key(db: Database) -> bytes | None:
    """The key sealing the store's cache files (``None``: a plain store's caches are plain); made when an
    encrypted store has none yet. ``CacheKeyUnavailable`` when it cannot be had: keep nothing on disk."""
    if db.key is None:
        return None
    with _KEYS_LOCK:
        key = _KEYS.get(db.engine)
    if key is None:
        from sqlalchemy.exc import SQLAlchemyError

        from ..models.cache_secret import ensure_cache_secret

        try:
            key = ensure_cache_secret(db.engine)
        except (SQLAlchemyError, RuntimeError) as exc:
            raise CacheKeyUnavailable() from exc
        remember_cache_key(db, key)
    return key


def remember_cache_key(db: Database, key: bytes | None) -> None:
    """Use ``key`` for ``db``'s caches (a worker process is handed its parent's: it reads nothing for it)."""
    if key is not None and db.key is not None:
        with _KEYS_LOCK:
            _KEYS[db.engine] = key


#: what reading a damaged, cut or foreign cache file raises (``np.load`` gives ``BadZipFile`` for a plain
#: archive that is cut or altered): its reader ignores the file and computes again
READ_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def _private_file(path: Path) -> Any:
    """``path`` opened for writing, readable by its owner only (0600): cache files hold patient rows.
    Binary on Windows too (``O_BINARY``: text mode would turn each LF byte into CR LF)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    if hasattr(os, "fchmod"):  # POSIX (Windows has it only from Python 3.13, and no such modes)
        os.fchmod(fd, 0o600)  # an older file of the same name kept its mode
    return os.fdopen(fd, "wb")


def store_cache_folders(url_identity: str, root: Path | None = None) -> list[Path]:
    """The folders of a store's frames snapshot and results caches (named after its URL)."""
    import platformdirs

    base = root or Path(platformdirs.user_cache_dir("CareNetDesktop", appauthor=False))
    name = hashlib.sha256(url_identity.encode()).hexdigest()[:16]
    return [base / "frames" / name, base / "results" / name]


def remove_store_caches(url_identity: str, root: Path | None = None) -> int:
    """Delete a store's cache files (after it was encrypted, its plain caches must not outlive it)."""
    import shutil

    removed = 0
    for folder in store_cache_folders(url_identity, root):
        if folder.exists():
            removed += sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
    return removed


def save_npz(path: Path, arrays: dict[str, np.ndarray], key: bytes | None) -> None:
    """Write the archive next to ``path`` and move it into place (readers never see half a file)."""
    # a name of its own per write: worker processes, and threads of one process (a background snapshot
    # save beside a load of the same version), write side by side, never into one another's file
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{secrets.token_hex(6)}.tmp.npz")
    try:
        if key is None:
            with _private_file(tmp) as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub: a key could be allow_pickle
        else:
            with _private_file(tmp) as f, _Sealing(f, key) as sealing:
                np.savez(sealing, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


#: how old a write's temporary file is before it is taken for one its process left (where that process
#: cannot be asked after: Windows)
_ORPHAN_AGE_S = 24 * 3600.0


def remove_orphaned_writes(folder: Path) -> int:
    """Delete the temporary files of :func:`save_npz` writes whose process is gone (killed mid-write: its
    ``finally`` never ran; a snapshot's writer process ended at logout): each is as large as a snapshot.
    A write still running (its process alive) is left alone. How many were removed."""
    removed = 0
    for path in folder.glob("*.tmp.npz"):
        parts = path.name.split(".")  # <stem>.<pid>.<hex>.tmp.npz
        try:
            pid = int(parts[-4])
        except (IndexError, ValueError):
            continue
        try:
            gone = (not _process_alive(pid)) if os.name == "posix" else (
                time.time() - path.stat().st_mtime > _ORPHAN_AGE_S)
            if gone and pid != os.getpid():
                path.unlink()
                removed += 1
        except OSError:  # gone meanwhile (its write finished), or not ours to remove
            continue
    return removed


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (POSIX only: on Windows ``os.kill`` ends a process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: alive
        return True
    return True


class _Sealing(io.RawIOBase):
    """A write-only stream that seals what it is given segment by segment into ``target``, as it comes:
    the archive is never held whole in memory (the zip writer needs no seeking)."""

    def __init__(self, target: Any, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        super().__init__()
        self._target = target
        self._aead = AESGCM(key)
        self._prefix = os.urandom(8)
        self._pending = bytearray()
        self._index = 0
        target.write(MAGIC + self._prefix)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._pending += view
        if len(self._pending) > SEGMENT:  # a segment is sealed once more follows it: it is not the last
            whole = (len(self._pending) - 1) // SEGMENT * SEGMENT
            with memoryview(self._pending) as pending:
                for start in range(0, whole, SEGMENT):
                    self._seal(pending[start:start + SEGMENT], last=False)
            del self._pending[:whole]
        return len(view)

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if kind is None:  # the last segment (possibly empty, for an empty archive)
            self._seal(memoryview(self._pending), last=True)
        self._pending = bytearray()
        super().__exit__(kind, *rest)

    def _seal(self, segment: memoryview, *, last: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aead.encrypt(nonce, segment, _aad(self._prefix, self._index, last))
        self._target.write(struct.pack(">I", len(sealed)))
        self._target.write(sealed)
        self._index += 1


def _aad(prefix: bytes, index: int, last: bool) -> bytes:
    return MAGIC + prefix + struct.pack(">I?", index, last)


@contextmanager
def open_npz(path: Path, key: bytes | None, *, mapped: bool = False) -> Iterator[Any]:
    """The archive at ``path`` (an ``NpzFile``); ``ValueError`` for a file that is not what ``key`` expects
    (sealed for a plain store, plain for an encrypted one, or damaged). ``mapped``: the arrays are views, not
    copies: of a copy-on-write mapping of a plain archive's file (:mod:`.mapped_npz`; POSIX only), of the
    decrypted bytes of a sealed one (:mod:`.sealed_npz`)."""
    if key is None:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) == MAGIC:
                raise ValueError("a sealed cache file where a plain one belongs")
        if mapped and os.name == "posix":
            from .mapped_npz import MappedNpz, NotMappable

            try:
                archive = MappedNpz(path)
            except NotMappable:
                pass
            else:
                yield archive
                return
        with np.load(path, allow_pickle=False) as z:
            yield z
        return
    from .sealed_npz import SealedNpz

    # each segment decrypted into its place when a member in it is first read (a results file's head: only
    # its own); ``mapped``: the arrays are views of the decrypted archive, else copies as ``np.load`` makes
    with open(path, "rb") as f, SealedNpz(f, key, MAGIC, SEGMENT, copies=not mapped, whole=mapped) as z:
        yield z


__all__ = ["MAGIC", "SEGMENT", "CacheKeyUnavailable", "cache_key", "open_npz", "remember_cache_key", "save_npz"]


def results_folder(url: URL, root: Path | None = None) -> Path:
    """The folder of a store's results files (``results.ResultsCache``), named by its URL without the
    password; ``root`` defaults to the user's cache folder."""
    import platformdirs

    identity = url.render_as_string(hide_password=True)
    root = root or Path(platformdirs.user_cache_dir("CareNetDesktop", appauthor=False)) / "results"
    return root / hashlib.sha256(identity.encode()).hexdigest()[:16]
