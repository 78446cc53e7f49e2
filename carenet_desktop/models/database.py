"""Opening the store: URL resolution, engine settings, migrations on open (with a backup first).

The database is either a file path (SQLite) or a SQLAlchemy URL, e.g. ``postgresql+psycopg://...``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from . import write_guard
from .backup import backup_sqlite
from .durability import NetworkShareError, refuse_network_share
from .encryption import (
    EncryptionUnavailable,
    apply_key,
    cipher_module,
    database_errors,
    is_encrypted_file,
    stored_passphrase,
)
from .full_disk import DISK_FULL, is_disk_full
from .migrations import at_known_head, current_revision, head_revision, upgrade

log = logging.getLogger(__name__)

ENV_VAR = "CARENET_DB"
APP_DIR_NAME = "CareNetDesktop"


class DatabaseError(Exception):
    """A database could not be opened or upgraded; the message is meant for the user."""


class StoreFull(DatabaseError):
    """The disk (or the store's size limit) is full: the transaction was rolled back, nothing was saved."""

    def __init__(self, message: str = DISK_FULL) -> None:
        super().__init__(message)


class PassphraseRequired(DatabaseError):
    """The file is encrypted and no passphrase was given (or the one given is wrong)."""

    def __init__(self, path: Path, *, wrong: bool = False) -> None:
        self.path, self.wrong = path, wrong
        super().__init__(
            f"Wrong passphrase for the encrypted database {path.name}." if wrong else
            f"The database {path.name} is encrypted: give its passphrase (prompt, or ${'CARENET_DB_PASSPHRASE'})."
        )


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def default_database_path() -> Path:
    return user_data_dir() / "carenet.db"


def demo_database_path() -> Path:
    return user_data_dir() / "demo.db"


def resolve_url(db: str | os.PathLike[str] | None = None) -> URL:
    """``--db`` value, else ``$CARENET_DB``, else the default file in the user-data folder."""
    raw = str(db) if db is not None else os.environ.get(ENV_VAR) or str(default_database_path())
    if "://" in raw:
        try:
            return make_url(raw)
        except Exception as exc:  # sqlalchemy.exc.ArgumentError
            raise DatabaseError(f"Not a valid database URL: {raw!r}") from exc
    path = Path(raw).expanduser().resolve()
    return URL.create("sqlite", database=str(path))


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path | None:
    if not is_sqlite(url) or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:  # a DB-API connection
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def make_engine(url: URL, *, key: str | None = None) -> Engine:
    """An engine with our pragmas, that refuses writes from reader threads (``write_guard``); ``key``: the
    passphrase of a SQLCipher-encrypted file."""
    engine = _make_engine(url, key=key)
    write_guard.install(engine)
    return engine


def _make_engine(url: URL, *, key: str | None = None) -> Engine:
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if key is not None:
            engine = create_engine(url, module=cipher_module(), connect_args={"timeout": 15})

            def _key(dbapi_connection: Any, _record: object) -> None:
                apply_key(dbapi_connection, key)

            event.listen(engine, "connect", _key)
        else:
            engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _set_sqlite_pragmas)
        if path is not None and key is None:  # encrypted: open_database checks the key first
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass
class Database:
    """An open store: the engine and a session factory."""

    url: URL
    engine: Engine
    key: str | None = field(default=None, repr=False)  # the passphrase of an encrypted file
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def path(self) -> Path | None:
        return sqlite_path(self.url)

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    @property
    def display_name(self) -> str:
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error (a full disk:
        ``StoreFull``, one line for the user, rather than the driver's error)."""
        try:
            with self.sessions() as session, session.begin():
                yield session
        except StoreFull:
            raise
        except Exception as exc:
            if is_disk_full(exc):
                raise StoreFull() from exc
            raise

    def backup(self, *, reason: str = "manual", dest: Path | None = None) -> Path:
        """An online copy of a SQLite store into ``backups/`` (rotated), encrypted like the store."""
        if self.path is None:
            raise DatabaseError("Backups here are for SQLite files; back up a PostgreSQL server with pg_dump.")
        return backup_sqlite(self.engine, self.path, reason=reason, dest=dest, key=self.key)

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(
    db: str | os.PathLike[str] | URL | None = None,
    *,
    migrate: bool = True,
    key: str | None = None,
    allow_network_share: bool = False,
) -> Database:
    """Open (and create or upgrade) the store. A backup is taken before a migration touches a database.

    A SQLite file on a network share is refused unless ``allow_network_share``. ``key`` is the passphrase
    of an encrypted file (else ``$CARENET_DB_PASSPHRASE`` or the OS keyring); given for a new file, it
    creates the file encrypted.
    """
    url = db if isinstance(db, URL) else resolve_url(db)
    path = sqlite_path(url)
    if path is not None:
        try:
            refuse_network_share(path, force=allow_network_share)
        except NetworkShareError as exc:
            raise DatabaseError(str(exc)) from None
        key = _passphrase(path, key)
    try:
        engine = make_engine(url, key=key)
        if key is not None and path is not None:
            _check_key(engine, path)
        if migrate:
            _migrate(engine, url, key)
    except DatabaseError:
        raise
    except EncryptionUnavailable as exc:
        raise DatabaseError(str(exc)) from None
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"Cannot open database {url.render_as_string(hide_password=True)}: {first_line}") from exc
    return Database(url, engine, key)


def _passphrase(path: Path, key: str | None) -> str | None:
    exists = path.exists() and path.stat().st_size > 0
    if exists and not is_encrypted_file(path):
        if key is not None:
            raise DatabaseError(f"The database {path.name} is not encrypted; open it without a passphrase "
                                "(carenet encrypt makes an encrypted copy).")
        return None
    if key is None:
        key = stored_passphrase(path) if exists else None
    if exists and key is None:
        raise PassphraseRequired(path)
    return key


def _check_key(engine: Engine, path: Path) -> None:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").fetchone()
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    except Exception as exc:
        engine.dispose()
        if isinstance(getattr(exc, "orig", None), database_errors()):
            raise PassphraseRequired(path, wrong=True) from None
        raise


def _migrate(engine: Engine, url: URL, key: str | None = None) -> None:
    with engine.connect() as conn:
        if at_known_head(conn):
            return  # the everyday case: nothing to migrate, and Alembic not even imported
        current = current_revision(conn)
        has_tables = bool(inspect(conn).get_table_names())
    head = head_revision()
    if current == head:
        return
    path = sqlite_path(url)
    if path is not None and current is not None and has_tables:
        backup = backup_sqlite(engine, path, reason=f"pre-migration-{current}", key=key)
        log.info("Backed up database before migration to %s", backup.name)
    elif current is None and has_tables:
        raise DatabaseError(
            "The database has tables but no schema version; it was not created by CareNet Desktop."
        )
    upgrade(engine)
    from .journal import install_journal

    install_journal(engine)  # after every migration: SQLite's batch mode recreates tables without triggers
