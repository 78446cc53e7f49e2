"""Keeping a SQLite store safe: integrity checks, restore from a backup, and refusing network shares.

SQLite's locking relies on the file system; on SMB/NFS shares it is unreliable and two workstations can
corrupt the file. We refuse such paths unless the user forces it (``CARENET_ALLOW_NETWORK_SHARE=1`` or
``--allow-network-share``), and tell them to use the PostgreSQL server mode instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .backup import backup_dir, made_by_app
from .encryption import connect_raw, database_errors

ALLOW_SHARE_ENV = "CARENET_ALLOW_NETWORK_SHARE"
MOUNTS_FILE = Path("/proc/mounts")  # Linux: what is mounted where, with the file-system type

#: File-system types (as /proc/mounts names them) on which SQLite locking is unsafe.
NETWORK_FS_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afs", "ncpfs", "9p", "fuse.sshfs", "sshfs",
    "davfs", "fuse.davfs2", "glusterfs", "fuse.glusterfs", "ceph", "fuse.rclone", "afpfs", "webdav",
})


class IntegrityError(Exception):
    """The database file is damaged; the message lists SQLite's findings (no patient data)."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: dt.datetime
    size: int

    @property
    def reason(self) -> str:
        # name: <stem>-YYYYmmdd-HHMMSS-ffffff-<reason>.db
        parts = self.path.stem.split("-", 4)
        return parts[4] if len(parts) == 5 else ""


#: how many SQLite steps between two polls of ``should_stop`` (a few ms of work): each poll takes the GIL
#: from the window's thread, so not much more often
CHECK_POLL_STEPS = 1_000_000


def integrity_problems(path: Path, *, quick: bool = False, key: str | None = None,
                       should_stop: Callable[[], bool] | None = None) -> list[str]:
    """SQLite's ``integrity_check`` (or the faster ``quick_check``) of a file: empty when it is sound.

    A file that is not a SQLite database at all is reported as one problem, not an exception.
    ``key``: the passphrase-derived key of an encrypted (SQLCipher) store. ``should_stop``: polled while the
    check runs (a check of a large file takes seconds); when it returns True the check is abandoned with
    :class:`CheckInterrupted`, never reported as damage.
    """
    try:
        con = connect_raw(path, key=key, read_only=True)
    except sqlite3.Error as exc:
        return [f"cannot be opened: {exc}"]
    if should_stop is not None:
        con.set_progress_handler(lambda: 1 if should_stop() else 0, CHECK_POLL_STEPS)
    try:
        pragma = "quick_check" if quick else "integrity_check"
        rows = [str(r[0]) for r in con.execute(f"PRAGMA {pragma}(20)").fetchall()]
    except database_errors() as exc:
        if should_stop is not None and should_stop():
            raise CheckInterrupted() from None
        return [str(exc)]
    finally:
        con.close()
    return [] if rows == ["ok"] else rows


def count_problems(path: Path, *, key: str | None = None) -> list[str]:
    """Row counts the store itself records that do not match its tables: the audit head counts the audit
    trail's entries (a copy cut short, e.g. an interrupted ``encrypt``, holds fewer)."""
    try:
        con = connect_raw(path, key=key, read_only=True)
    except sqlite3.Error as exc:
        return [f"cannot be opened: {exc}"]
    try:
        head = con.execute("SELECT entries FROM audit_head WHERE id = 1").fetchone()
        count = int(con.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    except database_errors():
        return []  # an old store without the head: nothing recorded to compare
    finally:
        con.close()
    if head is not None and int(head[0]) != count:
        return [f"the audit trail holds {count:,} entries; the store records {int(head[0]):,}"]
    return []


class CheckInterrupted(Exception):
    """An integrity check stopped on request before it finished: the file's state is unknown."""


def check_integrity(path: Path, *, quick: bool = False, key: str | None = None) -> None:
    problems = integrity_problems(path, quick=quick, key=key)
    if problems:
        raise IntegrityError(f"The database {path.name} is damaged: " + "; ".join(problems[:5]))


def list_backups(db_path: Path) -> list[BackupFile]:
    """The rotating backups of ``db_path``, newest first."""
    folder = backup_dir(db_path)
    found = []
    named = re.compile(re.escape(db_path.stem) + r"-\d{8}-\d{6}-\d{6}-[A-Za-z0-9._-]+\.db")
    for p in folder.glob(f"{db_path.stem}-*.db"):
        if not (made_by_app(p) or named.fullmatch(p.name)):  # ours: a manifest, or an older version's name
            continue
        stat = p.stat()
        found.append(BackupFile(p, dt.datetime.fromtimestamp(stat.st_mtime), stat.st_size))
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def backup_due(db_path: Path, every: dt.timedelta, *, now: dt.datetime | None = None) -> bool:
    """True when the newest backup is older than ``every`` (or there is none)."""
    backups = list_backups(db_path)
    return not backups or (now or dt.datetime.now()) - backups[0].taken_at >= every


def restore_file(backup: Path, db_path: Path, *, key: str | None = None) -> Path | None:
    """Replace ``db_path`` with ``backup`` after checking the backup is sound.

    The current file (and its WAL) is first moved aside to ``<name>.replaced-<stamp>`` (returned) so a
    restore is never a loss; a damaged backup is refused with the database untouched. The caller must
    have closed every connection to ``db_path``.
    """
    if not backup.is_file():
        raise FileNotFoundError(2, "No such backup", str(backup))
    problems = integrity_problems(backup, key=key)
    if problems:
        raise IntegrityError(f"The backup {backup.name} is damaged and was not restored: " + "; ".join(problems[:5]))
    con = connect_raw(backup, key=key, read_only=True)
    try:
        has_schema = con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'").fetchone()[0]
    finally:
        con.close()
    if not has_schema:
        raise IntegrityError(f"{backup.name} is not a CareNet Desktop database; nothing was restored.")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside: Path | None = None
    tmp = db_path.with_name(db_path.name + ".restoring")
    shutil.copy2(backup, tmp)  # copy first: a full disk fails here, before anything moved
    if db_path.exists():
        aside = db_path.with_name(f"{db_path.name}.replaced-{stamp}")
        os.replace(db_path, aside)
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            if aside is not None and suffix == "-wal":
                os.replace(side, aside.with_name(aside.name + suffix))
            else:
                side.unlink()
    os.replace(tmp, db_path)
    return aside


def network_share_reason(path: Path, *, mounts: str | None = None, platform: str | None = None) -> str | None:
    """Why ``path`` is on a network share (e.g. ``"an SMB share (cifs)"``), or None for a local disk.

    ``mounts`` (the text of /proc/mounts) and ``platform`` are for tests.
    """
    platform = platform or sys.platform
    text = str(path)
    if platform == "win32":
        if text.startswith(("\\\\", "//")) and not text.startswith(("\\\\?\\", "\\\\.\\")):
            return "a network path (UNC)"
        if text.startswith("\\\\?\\UNC\\"):
            return "a network path (UNC)"
        drive = os.path.splitdrive(text)[0]
        if drive and _windows_drive_is_remote(drive):
            return f"a network drive ({drive})"
        return None
    if mounts is None:
        try:
            mounts = MOUNTS_FILE.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None  # macOS and others: no cheap check; local is the common case
    best: tuple[int, str] | None = None
    resolved = text
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fields[2])
    if best is not None and (best[1] in NETWORK_FS_TYPES or best[1].startswith(("nfs", "cifs", "smb"))):
        return f"a network share ({best[1]})"
    return None


def _windows_drive_is_remote(drive: str) -> bool:  # pragma: no cover - Windows only
    try:
        import ctypes

        return bool(ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == 4)  # type: ignore[attr-defined]
    except Exception:
        return False


def refuse_network_share(path: Path, *, force: bool = False) -> None:
    """Raise ``NetworkShareError`` for a path on a network share, unless forced."""
    if force or os.environ.get(ALLOW_SHARE_ENV, "").strip() in {"1", "true", "yes"}:
        return
    reason = network_share_reason(path.parent if not path.exists() else path)
    if reason:
        raise NetworkShareError(
            f"{path} is on {reason}. SQLite cannot lock files safely there, and two workstations could damage "
            "the database. Keep the database on this computer's own disk, or have the network office run the "
            f"PostgreSQL server mode. To open it anyway, set {ALLOW_SHARE_ENV}=1 or pass --allow-network-share."
        )


class NetworkShareError(Exception):
    pass
