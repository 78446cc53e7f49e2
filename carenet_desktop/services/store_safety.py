"""Backups, restores and integrity checks of the store, as the user asks for them (audited)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..models.backup import read_manifest
from ..models.changes import renew_history
from ..models.database import DatabaseError, open_database
from ..models.durability import (
    BackupFile,
    IntegrityError,
    backup_due,
    integrity_problems,
    list_backups,
    restore_file,
)
from . import audit
from .context import ServiceContext, ServiceError
from .permissions import require

#: how often the desktop takes a backup by itself
BACKUP_EVERY = dt.timedelta(days=1)


def _path(ctx: ServiceContext) -> Path:
    if ctx.db.path is None:
        raise ServiceError("Backups here are for SQLite files; back up a PostgreSQL server with pg_dump.")
    return ctx.db.path


def take_backup(ctx: ServiceContext, *, dest: Path | None = None, reason: str = "manual") -> Path:
    """A checked online backup (``store.manage``); the audit trail records it."""
    require(ctx, "store.manage")
    path = _path(ctx)
    try:
        copy = ctx.db.backup(reason=reason, dest=dest)
    except DatabaseError as exc:
        raise ServiceError(str(exc)) from None
    except OSError as exc:
        raise ServiceError(f"The backup could not be written: {exc.strerror or exc}") from None
    problems = integrity_problems(copy, key=ctx.db.key)
    if problems:
        copy.unlink(missing_ok=True)
        raise ServiceError(f"The backup of {path.name} failed its integrity check: {'; '.join(problems[:3])}")
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "backup", "store", summary=f"{reason} backup to {copy.name}")
    return copy


def backup_anchor(copy: Path) -> dict[str, object] | None:
    """The audit head recorded in a backup's manifest (entries, last hash), or None."""
    manifest = read_manifest(copy)
    anchor = None if manifest is None else manifest.get("audit")
    return anchor if isinstance(anchor, dict) else None


def backup_if_due(ctx: ServiceContext, *, every: dt.timedelta = BACKUP_EVERY) -> Path | None:
    """The scheduled backup: taken when the newest one is older than ``every`` (SQLite stores only)."""
    path = ctx.db.path
    if path is None or not backup_due(path, every):
        return None
    copy = ctx.db.backup(reason="scheduled")
    with ctx.db.session() as s:
        audit.record(s, "system", "backup", "store", summary=f"scheduled backup to {copy.name}")
    return copy


def backups(db_path: Path) -> list[BackupFile]:
    return list_backups(db_path)


def restore_backup(db_path: Path, backup: Path, *, key: str | None = None, username: str = "system") -> Path | None:
    """Put ``backup`` in place of ``db_path`` (closed by the caller). Returns where the replaced file went.

    The backup is integrity-checked first; after the restore, the store is opened (migrating a backup
    from an older version), gets a new history id (every cache keyed on the old one is dead) and the
    restore is recorded in its audit trail.
    """
    try:
        aside = restore_file(backup, db_path, key=key)
    except IntegrityError as exc:
        raise ServiceError(str(exc)) from None
    db = open_database(db_path, key=key)
    try:
        with db.session() as s:
            renew_history(s)  # caches of the replaced store (or of this backup's earlier life) never serve it
            audit.record(s, username, "restore", "store", summary=f"restored from {backup.name}")
    finally:
        db.dispose()
    return aside
