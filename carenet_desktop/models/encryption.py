"""Encryption at rest with SQLCipher (``sqlcipher3``): the whole file, WAL and backups included.

SQLCipher derives the page key from the passphrase itself (PBKDF2-HMAC-SHA512, 256,000 iterations, a
random salt in the file), so the passphrase is all we keep — never in a settings file: it comes from the
caller, ``$CARENET_DB_PASSPHRASE``, or the operating system's keyring when the user chose "remember on
this computer". A plain ``sqlite3`` open of an encrypted file fails with "file is not a database".
"""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import key_ahead
from .full_disk import remove_sqlite_file

SQLITE_HEADER = b"SQLite format 3\x00"
PASSPHRASE_ENV = "CARENET_DB_PASSPHRASE"
KEYRING_SERVICE = "CareNetDesktop database"
MIN_PASSPHRASE = 10


class EncryptionUnavailable(Exception):
    pass


def cipher_module() -> Any:
    """The SQLCipher DB-API module (``sqlcipher3.dbapi2``)."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise EncryptionUnavailable("Encryption needs the sqlcipher3 package, which is not installed.") from exc
    return dbapi2


def database_errors() -> tuple[type[BaseException], ...]:
    """Exception classes of both drivers (sqlcipher3's do not derive from sqlite3's)."""
    try:
        return (sqlite3.DatabaseError, cipher_module().DatabaseError)
    except EncryptionUnavailable:  # pragma: no cover
        return (sqlite3.DatabaseError,)


def is_encrypted_file(path: Path) -> bool:
    """A non-empty file that plain SQLite cannot read (SQLCipher files look random).

    Asked of SQLite itself rather than by reading the header: closing a file this process also has open
    as a database would drop every POSIX lock the process holds on it, and another process (a compute
    worker) closing its connection could then take itself for the last one and delete the write-ahead
    log under this process's open connections ("disk I/O error"). SQLite keeps such locks across closes.
    """
    try:
        if path.stat().st_size == 0:
            return False
    except OSError:
        return False
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            con.execute("PRAGMA schema_version").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            return True
        return _header_differs(path)  # locked, or a read-only folder: the header tells
    return False


def _header_differs(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError:
        return False
    return len(head) > 0 and head != SQLITE_HEADER


def quote(passphrase: str) -> str:
    return "'" + passphrase.replace("'", "''") + "'"


def apply_key(dbapi_connection: Any, passphrase: str) -> None:
    """Must be the first statement on a new SQLCipher connection.

    SQLCipher derives the page key from the passphrase on every connection (PBKDF2, ~0.3 s of CPU), and
    a cold read opens several (the engine's, and each reading thread's). The key is derived here instead,
    once per process for a file's salt, with SQLCipher's own settings read from the connection, and given
    to SQLCipher raw with that salt (``x'<key><salt>'``): the same key SQLCipher would derive, so a file
    written so opens with the passphrase, and a wrong passphrase still does not open the file."""
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA cipher_log_level = NONE")  # wrong keys would otherwise print to stderr
    cur.execute(f"PRAGMA key = {quote(passphrase)}")  # derives nothing yet: SQLCipher waits for a page
    raw = _raw_key(cur, passphrase)
    if raw is not None:
        cur.execute(f"PRAGMA key = \"x'{raw}'\"")
    cur.close()


def _raw_key(cur: Any, passphrase: str) -> str | None:
    """The raw key for the connection's file; ``None`` where SQLCipher should derive it (a passphrase
    that is itself a raw key, settings other than SQLCipher 4's PBKDF2-HMAC-SHA512). Derived once per
    process (``key_ahead``: a ``carenet`` command line may have started it as the process started)."""
    if passphrase[:2].lower() == "x'":
        return None
    errors: tuple[type[BaseException], ...] = (TypeError, ValueError, IndexError, *database_errors())
    try:
        settings = key_ahead.kdf_settings(cur)
    except errors:
        return None
    return None if settings is None else key_ahead.derive(passphrase, *settings)


def derived_keys() -> dict[tuple[bytes, bytes, int], str]:
    """The keys this process derived, to hand to a worker process (over its pipe, never its command
    line or environment): it then opens the store without deriving them again."""
    return key_ahead.derived()


def remember_derived_keys(keys: dict[tuple[bytes, bytes, int], str]) -> None:
    key_ahead.remember(keys)


def connect_raw(path: Path, *, key: str | None = None, read_only: bool = False) -> Any:
    """A DB-API connection to a store file (SQLCipher when ``key`` is given), checked readable."""
    uri = f"file:{path.as_posix()}{'?mode=ro' if read_only else ''}"
    if key is None:
        con: Any = sqlite3.connect(uri, uri=True)
    else:
        con = cipher_module().connect(uri, uri=True)
        apply_key(con, key)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except database_errors() as exc:
        con.close()
        raise sqlite3.DatabaseError(
            "wrong passphrase, or not a database" if key is not None or is_encrypted_file(path) else str(exc)
        ) from None
    return con


def passphrase_problem(passphrase: str) -> str | None:
    if len(passphrase) < MIN_PASSPHRASE:
        return f"The passphrase must have at least {MIN_PASSPHRASE} characters."
    if passphrase.strip() != passphrase:
        return "The passphrase must not start or end with a space."
    return None


def _keyring_name(path: Path) -> str:
    return str(path.resolve())


@dataclass(frozen=True)
class KeyStore:
    """Where "remember it on this computer" keeps a passphrase: the operating system's keyring, when this
    computer has one CareNet Desktop can use."""

    available: bool
    #: how the user knows it ("the macOS Keychain"), when available
    name: str = ""
    #: why it is not available, as a sentence the window shows
    problem: str = ""


def _no_keyring() -> str:
    if sys.platform.startswith("linux"):
        return ("this computer has no system keyring CareNet Desktop can use (on Linux, a Secret Service such as "
                "GNOME Keyring or KDE Wallet must be running in the desktop session)")
    return "this computer's key store could not be reached"


def _store_name(backend: Any) -> str:
    module = type(backend).__module__.lower()
    for part, name in (("windows", "the Windows Credential Manager"), ("macos", "the macOS Keychain"),
                       ("secretservice", "the desktop's keyring (Secret Service: GNOME Keyring or KDE Wallet)"),
                       ("kwallet", "KDE Wallet"), ("libsecret", "the desktop's keyring (libsecret)")):
        if part in module:
            return name
    return "the system keyring"


def key_store() -> KeyStore:
    """Whether a passphrase can be remembered on this computer, and where (the keyring ``keyring`` chose;
    ``CARENET_KEYRING=0`` turns it off, as for the signing keys)."""
    if os.environ.get("CARENET_KEYRING", "1").lower() in ("0", "false", "no"):
        return KeyStore(False, problem="the system keyring is turned off for CareNet Desktop (CARENET_KEYRING=0)")
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - no usable keyring is an expected situation
        return KeyStore(False, problem=_no_keyring())
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
        return KeyStore(False, problem=_no_keyring())
    return KeyStore(True, name=_store_name(backend))


def stored_passphrase(path: Path) -> str | None:
    """``$CARENET_DB_PASSPHRASE``, else the OS keyring's entry for this file, else None."""
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, _keyring_name(path))
    except Exception:  # no keyring backend (headless Linux): the user is asked instead
        return None


def remember_passphrase(path: Path, passphrase: str) -> bool:
    """Keep the passphrase in the OS keyring; False when this computer has none (``key_store``) or it
    refused."""
    if not key_store().available:
        return False
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, _keyring_name(path), passphrase)
        return True
    except Exception:
        return False


def table_counts(path: Path, *, key: str | None = None) -> dict[str, int]:
    """Rows per table of a store file (read-only)."""
    con = connect_raw(path, key=key, read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                          "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]) for name in names}
    finally:
        con.close()


class IncompleteCopy(Exception):
    """The encrypted copy does not hold every row of the plain store (nothing was left at the target)."""


def encrypt_copy(plain: Path, target: Path, passphrase: str) -> None:
    """Write an encrypted copy of a plain store to ``target`` (``sqlcipher_export``).

    The copy is written to ``<target>.partial``, its row counts compared with the plain store's, table by
    table, and only then renamed to ``target``: an interrupted or short copy never appears under the name
    asked for (``IncompleteCopy``)."""
    problem = passphrase_problem(passphrase)
    if problem:
        raise ValueError(problem)
    if target.exists():
        raise FileExistsError(17, "File exists", str(target))
    partial = target.with_name(target.name + ".partial")
    remove_sqlite_file(partial)
    try:
        _export(plain, partial, passphrase)
        expected, got = table_counts(plain), table_counts(partial, key=passphrase)
        if expected != got:
            short = sorted(t for t in expected if got.get(t) != expected[t])
            raise IncompleteCopy(f"the encrypted copy does not hold every row ({', '.join(short[:5])})")
        _forget_cache_secret(partial, passphrase)
        if target.exists():  # made meanwhile by someone else: never overwritten
            raise FileExistsError(17, "File exists", str(target))
        os.replace(partial, target)
    finally:  # with its journal (a copy that found no room)
        remove_sqlite_file(partial)


def _forget_cache_secret(copy: Path, passphrase: str) -> None:
    """The copy makes a cache key of its own when first opened (``models.cache_secret``): none is carried
    over, so no cache file sealed for another store opens with it."""
    con = connect_raw(copy, key=passphrase)
    try:
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cache_secret'").fetchone():
            con.execute("DELETE FROM cache_secret")
            con.commit()
    finally:
        con.close()


def _export(plain: Path, target: Path, passphrase: str) -> None:
    con = cipher_module().connect(str(plain))
    try:
        con.execute(f"ATTACH DATABASE ? AS encrypted KEY {quote(passphrase)}", (str(target),))
        con.execute("SELECT sqlcipher_export('encrypted')")
        version = con.execute("PRAGMA main.user_version").fetchone()[0]
        con.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        con.execute("DETACH DATABASE encrypted")
    finally:
        con.close()
