"""Online SQLite backups (consistent while the database is in use), rotated per database."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from .full_disk import remove_sqlite_file, whole_file

KEEP_BACKUPS = 10
#: beside each backup ``X.db`` the app writes ``X.db.manifest.json``: what it is and the audit head it holds
MANIFEST_SUFFIX = ".manifest.json"


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


class BackupExists(FileExistsError):
    """A backup never overwrites a file."""


def backup_sqlite(engine: Engine, db_path: Path, *, reason: str = "manual", dest: Path | None = None,
                  key: str | None = None) -> Path:
    """Copy the database with SQLite's online backup API and keep the newest ``KEEP_BACKUPS`` copies.

    The copy of an encrypted store (``key``) is encrypted with the same passphrase. It is written to
    ``<dest>.partial`` and renamed when complete: a failed copy (a full disk) is removed, never listed. An
    existing ``dest`` is never overwritten (``BackupExists``). Each backup gets a manifest beside it
    (``<backup>.manifest.json``); rotation deletes only backups with a manifest, i.e. made by the app.
    """
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    if dest is None:
        folder = backup_dir(db_path)
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{db_path.stem}-{stamp}-{reason}.db"
    if dest.exists():
        raise BackupExists(17, "A backup never overwrites a file; choose a new name", str(dest))
    partial = dest.with_name(dest.name + ".partial")
    remove_sqlite_file(partial)
    try:
        anchor = _copy(engine, partial, key)
        if dest.exists():
            raise BackupExists(17, "A backup never overwrites a file; choose a new name", str(dest))
        os.replace(partial, dest)
    finally:  # with its journal: a copy that found no room leaves nothing beside the target
        remove_sqlite_file(partial)
    try:
        write_manifest(dest, {"format": "carenet-backup", "store": db_path.name, "file": dest.name, "reason": reason,
                              "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "audit": anchor})
    except BaseException:  # no room left for the manifest: a backup without one is not kept either
        dest.unlink(missing_ok=True)
        raise
    _rotate(dest.parent, db_path.stem)
    return dest


def _copy(engine: Engine, target_path: Path, key: str | None) -> dict[str, Any] | None:
    os.close(os.open(target_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # the owner's only, plain or not
    raw = engine.raw_connection()
    try:
        src: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]  # or sqlcipher3's
        if key is None:
            target = sqlite3.connect(target_path)
        else:
            from .encryption import apply_key, cipher_module

            target = cipher_module().connect(str(target_path))
            apply_key(target, key)
        try:
            src.backup(target)
            return _audit_anchor(target)
        finally:
            target.close()
    finally:
        raw.close()


def _audit_anchor(con: Any) -> dict[str, Any] | None:
    """The audit head in the copy: its entry count and last hash (None for a store without the table)."""
    try:
        row = con.execute("SELECT entries, last_hash FROM audit_head WHERE id = 1").fetchone()
    except Exception:  # sqlite3 or sqlcipher3's OperationalError: no audit_head table (an old store)
        return None
    return {"entries": 0, "last_hash": None} if row is None else {"entries": int(row[0]), "last_hash": row[1]}


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def write_manifest(backup: Path, content: dict[str, Any]) -> None:
    """The manifest beside ``backup``, written whole or not at all (the owner's only)."""
    with whole_file(manifest_path(backup)) as partial:
        partial.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(backup: Path) -> dict[str, Any] | None:
    try:
        content = json.loads(manifest_path(backup).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def made_by_app(path: Path) -> bool:
    """A backup this app wrote: it has its manifest beside it (older versions' backups are kept, never
    rotated away; a user's own ``<store>-notes.db`` in the folder is neither listed as ours nor deleted)."""
    manifest = read_manifest(path)
    return manifest is not None and manifest.get("format") == "carenet-backup" and manifest.get("file") == path.name


def _rotate(folder: Path, stem: str) -> None:
    backups = sorted((p for p in folder.glob(f"{stem}-*.db") if made_by_app(p)), key=lambda p: p.stat().st_mtime)
    for old in backups[:-KEEP_BACKUPS]:
        old.unlink(missing_ok=True)
        manifest_path(old).unlink(missing_ok=True)
