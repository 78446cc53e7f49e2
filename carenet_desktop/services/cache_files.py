"""The results and frames caches' files: NumPy ``.npz`` archives, sealed with AES-256-GCM for an encrypted store.

Both caches hold patient-level rows, so an encrypted store's are never written in plain text. Its key is
32 random bytes kept inside the store itself (``models.cache_secret``): only who can open the store can
open its caches, no process derives a key for them (the window reads it once; a compute worker is handed
it with its job), and another store - a new one at the same path, a copy encrypted again - has a key of
its own, so its caches never open this one's files. The archive is sealed in segments of ``SEGMENT``
bytes, each with its own nonce and its index and a last-segment flag in the authenticated data, so a
flipped byte, a swapped, dropped or truncated segment all fail to open. A cache file that does not open
is ignored by its reader and computed again: it is only a cache.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import struct
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..models.database import Database

# cryptography is imported where a sealed file is made or opened: a plain store's start does not pay for it

MAGIC = b"CNDCACHE2\n"  # 2: the key is the store's own (1 was derived from the passphrase)
SEGMENT = 8 << 20  # bytes of archive per sealed segment
_TAG_BYTES = 16
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


def _private_file(path: Path) -> Any:
    """``path`` opened for writing, readable by its owner only (0600): cache files hold patient rows."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # worker processes write side by side
    try:
        if key is None:
            with _private_file(tmp) as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub: a key could be allow_pickle
        else:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)  # type: ignore[arg-type]
            _seal(memoryview(buffer.getbuffer()), key, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _seal(plain: memoryview, key: bytes, target: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    prefix = os.urandom(8)
    count = max(1, -(-len(plain) // SEGMENT))
    with _private_file(target) as f:
        f.write(MAGIC + prefix)
        for i in range(count):
            segment = plain[i * SEGMENT:(i + 1) * SEGMENT]
            sealed = aead.encrypt(prefix + struct.pack(">I", i), segment, _aad(prefix, i, i == count - 1))
            f.write(struct.pack(">I", len(sealed)))
            f.write(sealed)


def _aad(prefix: bytes, index: int, last: bool) -> bytes:
    return MAGIC + prefix + struct.pack(">I?", index, last)


def _open_sealed(path: Path, key: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag as invalid
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + 8)
        if len(head) != len(MAGIC) + 8 or not head.startswith(MAGIC):
            raise ValueError("not a sealed cache file")
        prefix = head[len(MAGIC):]
        parts: list[bytes] = []
        index = 0
        while True:
            size_field = f.read(4)
            if len(size_field) != 4:
                raise ValueError("sealed cache file is truncated")
            (size,) = struct.unpack(">I", size_field)
            if not _TAG_BYTES <= size <= SEGMENT + _TAG_BYTES:
                raise ValueError("sealed cache file is damaged")
            sealed = f.read(size)
            if len(sealed) != size:
                raise ValueError("sealed cache file is truncated")
            nonce = prefix + struct.pack(">I", index)
            plain, last = _unseal(aead, invalid, nonce, sealed, prefix, index)
            parts.append(plain)
            if last:
                if f.read(1):
                    raise ValueError("data after the last segment of a sealed cache file")
                return b"".join(parts)
            index += 1


def _unseal(aead: Any, invalid: type[Exception], nonce: bytes, sealed: bytes, prefix: bytes,
            index: int) -> tuple[bytes, bool]:
    """One segment and whether it is the last: a middle segment authenticates only as not last, the last
    only as last (so a file cut after a middle segment does not open)."""
    for last in (False, True):
        try:
            return aead.decrypt(nonce, sealed, _aad(prefix, index, last)), last
        except invalid:
            continue
    raise ValueError("sealed cache file does not authenticate")


@contextmanager
def open_npz(path: Path, key: bytes | None) -> Iterator[Any]:
    """The archive at ``path`` (an ``NpzFile``); ``ValueError`` for a file that is not what ``key`` expects
    (sealed for a plain store, plain for an encrypted one, or damaged)."""
    if key is None:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) == MAGIC:
                raise ValueError("a sealed cache file where a plain one belongs")
        with np.load(path, allow_pickle=False) as z:
            yield z
        return
    with np.load(io.BytesIO(_open_sealed(path, key)), allow_pickle=False) as z:
        yield z


__all__ = ["MAGIC", "SEGMENT", "CacheKeyUnavailable", "cache_key", "open_npz", "remember_cache_key", "save_npz"]
