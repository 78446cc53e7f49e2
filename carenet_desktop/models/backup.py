"""Online SQLite backups (consistent while the database is in use), rotated per database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sqlalchemy import Engine

KEEP_BACKUPS = 10


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


def backup_sqlite(engine: Engine, db_path: Path, *, reason: str = "manual", dest: Path | None = None,
                  key: str | None = None) -> Path:
    """Copy the database with SQLite's online backup API and keep the newest ``KEEP_BACKUPS`` copies.

    The copy of an encrypted store (``key``) is encrypted with the same passphrase.
    """
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    if dest is None:
        folder = backup_dir(db_path)
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{db_path.stem}-{stamp}-{reason}.db"
    raw = engine.raw_connection()
    try:
        src: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]  # or sqlcipher3's
        if key is None:
            target = sqlite3.connect(dest)
        else:
            from .encryption import apply_key, cipher_module

            target = cipher_module().connect(str(dest))
            apply_key(target, key)
        try:
            src.backup(target)
        finally:
            target.close()
    finally:
        raw.close()
    _rotate(dest.parent, db_path.stem)
    return dest


def _rotate(folder: Path, stem: str) -> None:
    backups = sorted(folder.glob(f"{stem}-*.db"), key=lambda p: p.stat().st_mtime)
    for old in backups[:-KEEP_BACKUPS]:
        old.unlink(missing_ok=True)
