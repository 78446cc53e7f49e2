"""An encrypted store's page key, derived once per process - and, for ``carenet``, while the program starts.

SQLCipher derives the page key from the passphrase with PBKDF2-HMAC-SHA512 (256,000 iterations: 0.2-0.6 s of
CPU). ``models.encryption.apply_key`` derives it here instead, once per process for a file's salt, and hands
it to SQLCipher raw. A command line whose passphrase is already in the environment (``$CARENET_DB_PASSPHRASE``)
starts that derivation on a thread of its own as the process starts (``start``): the imports that come first
take about a second of one core, and PBKDF2 runs outside the interpreter lock, so on a second core the key is
ready when the store is opened. Nothing is kept anywhere but in this process's memory: the passphrase comes
from where it already was, and the key goes where SQLCipher would have put it.

This module imports nothing of the package (it runs before the rest is imported) and nothing heavy.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PASSPHRASE_ENV = "CARENET_DB_PASSPHRASE"
DB_ENV = "CARENET_DB"
_PLAIN_HEADER = b"SQLite format 3\x00"

#: (passphrase digest, salt, KDF iterations) -> the raw key and salt, hex, as SQLCipher takes them
_DERIVED: dict[tuple[bytes, bytes, int], str] = {}
_LOCK = threading.Lock()
_START_LOCK = threading.Lock()  # guards _STARTED only (never held while deriving)
_STARTED = False


def _fresh_lock_in_child() -> None:  # a fork while a thread derived: the child's copy of the lock is held
    global _LOCK, _START_LOCK
    _LOCK = threading.Lock()
    _START_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock_in_child)


def kdf_settings(cur: Any) -> tuple[bytes, int] | None:
    """The salt and iteration count of the file of a SQLCipher cursor keyed with a passphrase (``PRAGMA key``
    derives nothing until a page is read); ``None`` for settings other than SQLCipher 4's PBKDF2-HMAC-SHA512
    (SQLCipher derives those itself). Raises the driver's errors (a file that is not a database)."""
    salt = bytes.fromhex(cur.execute("PRAGMA cipher_salt").fetchone()[0])
    iterations = int(cur.execute("PRAGMA kdf_iter").fetchone()[0])
    algorithm = str(cur.execute("PRAGMA cipher_kdf_algorithm").fetchone()[0])
    if algorithm != "PBKDF2_HMAC_SHA512" or len(salt) != 16 or iterations < 1:
        return None
    return salt, iterations


def derive(passphrase: str, salt: bytes, iterations: int) -> str:
    """The raw key and salt (hex) SQLCipher derives from ``passphrase`` for a file of that salt; derived once
    per process (a derivation under way on another thread is waited for, not done twice)."""
    entry = (hashlib.sha256(passphrase.encode()).digest(), salt, iterations)
    with _LOCK:
        raw = _DERIVED.get(entry)
        if raw is None:
            key = hashlib.pbkdf2_hmac("sha512", passphrase.encode(), salt, iterations, 32)
            raw = _DERIVED[entry] = key.hex() + salt.hex()
        return raw


def derived() -> dict[tuple[bytes, bytes, int], str]:
    with _LOCK:
        return dict(_DERIVED)


def remember(keys: Mapping[tuple[bytes, bytes, int], str]) -> None:
    with _LOCK:
        _DERIVED.update(keys)


def store_path(argv: Sequence[str], environ: Mapping[str, str]) -> Path | None:
    """The store file a ``carenet`` command line names (``--db PATH``, else ``$CARENET_DB``); ``None`` for a
    URL, or none named (the default store is found later; it is not worth the imports here)."""
    raw: str | None = None
    for i, word in enumerate(argv):
        if word == "--db" and i + 1 < len(argv):
            raw = argv[i + 1]
        elif word.startswith("--db="):
            raw = word[len("--db="):]
    raw = raw or environ.get(DB_ENV)
    if not raw or "://" in raw or raw.startswith("sqlite:"):
        return None
    return Path(raw).expanduser()


def start(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> threading.Thread | None:
    """Derive the key of the store the command line names on a thread, when its passphrase is in the
    environment and the file exists (the thread's; ``None`` when there is nothing to derive ahead). A file
    that is not encrypted, or any error, only means the key is derived later, as without this."""
    global _STARTED
    environ = os.environ if environ is None else environ
    passphrase = environ.get(PASSPHRASE_ENV)
    path = store_path(argv, environ)
    if not passphrase or passphrase[:2].lower() == "x'" or path is None or not path.is_file():
        return None
    with _START_LOCK:  # once per process (``python -m carenet_desktop`` starts it, and the command line's main;
        if _STARTED:      # not _LOCK: a derivation under way holds it, and this start need not wait for it)
            return None
        _STARTED = True
    thread = threading.Thread(target=_derive_for, args=(path, passphrase), name="carenet-key-ahead", daemon=True)
    thread.start()
    return thread


def _derive_for(path: Path, passphrase: str) -> None:
    try:
        from sqlcipher3 import dbapi2

        # read-only, and a connection of the same SQLite library as the store's: its close never drops the
        # locks the store's connections hold on the file
        con = dbapi2.connect(path.resolve().as_uri() + "?mode=ro", uri=True)  # (as_uri escapes "#" and "?")
        try:
            cur = con.cursor()
            cur.execute("PRAGMA cipher_log_level = NONE")
            cur.execute("PRAGMA key = '" + passphrase.replace("'", "''") + "'")
            settings = kdf_settings(cur)
            cur.close()
        finally:
            con.close()
        if settings is not None and settings[0] != _PLAIN_HEADER:  # a plain file's "salt" is its header
            derive(passphrase, *settings)
    except Exception:  # noqa: BLE001 - not encrypted, not a database, no driver: derived when opened, if needed
        return


__all__ = ["derive", "derived", "kdf_settings", "remember", "start", "store_path"]
