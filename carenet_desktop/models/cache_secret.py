"""The key that seals an encrypted store's cache files, kept inside the store (``services.cache_files``).

An encrypted store's frames snapshot and results caches hold patient-level rows, so they are written
sealed (AES-256-GCM). Their key is 32 random bytes in this one-row table: inside the SQLCipher file, so
only who can open the store can open its caches, and no process pays a key derivation for them (the
window and each compute worker read it, or are handed it, in a millisecond). A new encrypted store - a
fresh one, or one made by ``carenet encrypt`` - gets a key of its own, so another store's caches never
open with it. A plain store never has one: its caches are plain, and a key there would lie in plain text.

Not store data: no measure reads it and nothing a user typed is there (``journal.UNMEASURED``).
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, Engine, LargeBinary, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

KEY_BYTES = 32


class CacheSecret(Base):
    """One row (``id`` 1): the cache files' key of an encrypted store."""

    __tablename__ = "cache_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)


def read_cache_secret(conn: Connection) -> bytes | None:
    key = conn.execute(select(CacheSecret.key).where(CacheSecret.id == 1)).scalar()
    return bytes(key) if key is not None and len(key) == KEY_BYTES else None


def ensure_cache_secret(engine: Engine) -> bytes:
    """The store's cache key, made (32 random bytes) when it has none. Only for an encrypted store. A
    reader thread may make it (``write_guard.CACHE_TABLES``): it is no data, and changes no result."""
    with engine.connect() as conn:
        key = read_cache_secret(conn)
        damaged = key is None and conn.execute(select(CacheSecret.id).where(CacheSecret.id == 1)).first() is not None
    if key is not None:
        return key
    try:
        with engine.begin() as conn:
            fresh = os.urandom(KEY_BYTES)
            if damaged:  # the wrong length: replaced (what it sealed no longer opens, and is computed again)
                conn.execute(update(CacheSecret).where(CacheSecret.id == 1).values(key=fresh))
            else:
                conn.execute(insert(CacheSecret).values(id=1, key=fresh))
    except IntegrityError:  # another process made it at the same moment: theirs holds
        pass
    with engine.connect() as conn:
        key = read_cache_secret(conn)
    if key is None:  # pragma: no cover - written above or by the other process
        raise RuntimeError("the store's cache key could not be made")
    return key
