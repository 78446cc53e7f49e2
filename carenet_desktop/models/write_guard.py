"""One writer: a thread that has said it only reads cannot write to the store.

The window reads on a pool of threads and writes on one writer thread (``ui/tasks.py``), so that writes
never wait on each other or on SQLite's busy timeout, and every write reaches the change notices. That was a
promise; this makes it a rule. A thread marks itself a reader (``reading()``, as the window's reader pool
does for each job), and every database engine refuses an INSERT, UPDATE, DELETE or schema statement issued
from it (``ReaderWrite``), whatever the path: ORM, Core or a raw cursor through SQLAlchemy.

What a read must leave behind (the audit entry of a patient list viewed, say) is handed to the writer
instead: ``services.audit.record_read`` keeps it until the writer flushes it (``services.audit.flush_reads``).
Threads that never marked themselves - the command line, the start-up, the writer - write as before.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_local = threading.local()

#: the statements that change the store (temporary tables are a connection's own: allowed)
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|UPSERT|CREATE|DROP|ALTER|TRUNCATE|COPY\s+\S+\s+FROM)\b",
                    re.IGNORECASE)
_CTE_WRITE = re.compile(r"^\s*WITH\b.*\)\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE | re.DOTALL)
_TEMPORARY = re.compile(r"^\s*(CREATE|DROP)\s+(TEMP|TEMPORARY)\b|^\s*(INSERT\s+INTO|DELETE\s+FROM)\s+temp\.",
                        re.IGNORECASE)

#: tables of computed results a reader may fill (``models.shared_results``), and the key of an encrypted
#: store's cache files (``models.cache_secret``): not store data, no change notice
CACHE_TABLES = ("shared_result", "result_lease", "cache_secret")
_CACHE_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(' + "|".join(CACHE_TABLES) + r')"?[\s(]',
                          re.IGNORECASE)


class ReaderWrite(RuntimeError):
    """A thread marked as a reader tried to write; the write was not made."""


@contextmanager
def reading() -> Iterator[None]:
    """Mark the current thread a reader for the duration (nested marks are kept)."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth


def is_reader() -> bool:
    """Is the current thread marked a reader?"""
    return getattr(_local, "depth", 0) > 0


def is_write(statement: str) -> bool:
    """Does ``statement`` change the store (a temporary table of the connection, or a table of computed
    results, does not)?"""
    return (bool(_WRITE.match(statement) or _CTE_WRITE.match(statement)) and not _TEMPORARY.match(statement)
            and not _CACHE_WRITE.match(statement))


def _refuse_reader_writes(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                          executemany: bool) -> None:
    if is_reader() and is_write(statement):
        verb = statement.lstrip().split(None, 1)[0].upper()
        raise ReaderWrite(f"{verb} from a reader thread ({threading.current_thread().name}): writes go through "
                          "the one writer")


def install(engine: Engine) -> None:
    """Refuse writes from reader threads on ``engine`` (idempotent)."""
    if not event.contains(engine, "before_cursor_execute", _refuse_reader_writes):
        event.listen(engine, "before_cursor_execute", _refuse_reader_writes)
