"""The results and frames caches' files: NumPy ``.npz`` archives, sealed with AES-256-GCM for an encrypted store.

Both caches hold patient-level rows, so an encrypted store's are never written in plain text. Its key is
derived from the store's passphrase with scrypt and a random salt kept in the cache folder (the salt is
not secret; a lost salt only means the caches are computed again). The archive is sealed in segments of
``SEGMENT`` bytes, each with its own nonce and its index and a last-segment flag in the authenticated
data, so a flipped byte, a swapped, dropped or truncated segment all fail to open. A cache file that
does not open is ignored by its reader and computed again: it is only a cache.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# cryptography is imported where a sealed file is made or opened: a plain store's start does not pay for it

MAGIC = b"CNDCACHE1\n"
SEGMENT = 8 << 20  # bytes of archive per sealed segment
_SALT_FILE = "salt"
_SALT_BYTES = 16
_TAG_BYTES = 16
_KEYS: dict[tuple[str, bytes], bytes] = {}  # (passphrase digest, salt) -> key: one scrypt per process
_KEYS_LOCK = threading.Lock()


def cache_key(passphrase: str | None, folder: Path) -> bytes | None:
    """The key sealing ``folder``'s cache files (``None``: a plain store's caches are plain)."""
    if passphrase is None:
        return None
    salt = _salt(folder)
    digest = hashlib.sha256(passphrase.encode()).hexdigest()
    with _KEYS_LOCK:
        key = _KEYS.get((digest, salt))
        if key is None:
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

            key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())
            _KEYS[(digest, salt)] = key
    return key


def _salt(folder: Path) -> bytes:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / _SALT_FILE
    try:  # the first process to get here makes the salt; the others read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            salt = path.read_bytes()
            if len(salt) == _SALT_BYTES:
                return salt
            threading.Event().wait(0.01)  # being written by another process
        raise OSError(f"cache salt {path.name} is damaged") from None
    salt = os.urandom(_SALT_BYTES)
    with os.fdopen(fd, "wb") as f:
        f.write(salt)
    return salt


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


__all__ = ["MAGIC", "SEGMENT", "cache_key", "open_npz", "save_npz"]
