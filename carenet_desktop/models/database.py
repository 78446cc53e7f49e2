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

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from .backup import backup_sqlite
from .changes import track_changes
from .migrations import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)

ENV_VAR = "CARENET_DB"
APP_DIR_NAME = "CareNetDesktop"


class DatabaseError(Exception):
    """A database could not be opened or upgraded; the message is meant for the user."""


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


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def make_engine(url: URL) -> Engine:
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _set_sqlite_pragmas)
        if path is not None:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass
class Database:
    """An open store: the engine and a session factory."""

    url: URL
    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        track_changes(self.sessions)

    @property
    def path(self) -> Path | None:
        return sqlite_path(self.url)

    @property
    def display_name(self) -> str:
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(db: str | os.PathLike[str] | URL | None = None, *, migrate: bool = True) -> Database:
    """Open (and create or upgrade) the store. A backup is taken before a migration touches a database."""
    url = db if isinstance(db, URL) else resolve_url(db)
    try:
        engine = make_engine(url)
        if migrate:
            _migrate(engine, url)
    except DatabaseError:
        raise
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"Cannot open database {url.render_as_string(hide_password=True)}: {first_line}") from exc
    return Database(url, engine)


def _migrate(engine: Engine, url: URL) -> None:
    with engine.connect() as conn:
        current = current_revision(conn)
        has_tables = bool(inspect(conn).get_table_names())
    head = head_revision()
    if current == head:
        return
    path = sqlite_path(url)
    if path is not None and current is not None and has_tables:
        backup = backup_sqlite(engine, path, reason=f"pre-migration-{current}")
        log.info("Backed up database before migration to %s", backup.name)
    elif current is None and has_tables:
        raise DatabaseError(
            "The database has tables but no schema version; it was not created by CareNet Desktop."
        )
    upgrade(engine)
