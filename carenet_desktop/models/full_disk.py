"""Recognising a full disk: SQLite's SQLITE_FULL, PostgreSQL's disk_full, and ``OSError`` ENOSPC and the like.

A full disk is not a bug: the user gets one line saying so (``DISK_FULL``), the transaction is rolled back
and no half-written file is left behind (files are written beside their target and renamed when complete).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: what the user is told (no path, no value: the line may reach a log)
DISK_FULL = ("The disk is full or cannot be written (or the store reached its size limit): nothing of this change "
             "was saved. Free some space and try again.")
FILE_DISK_FULL = ("There is no room to write the file (the disk is full or cannot be written, or the file is larger "
                  "than it allows): nothing half-written is left. Free some space and try again.")

_NO_ROOM = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"
#: SQLite says "disk I/O error" when a write fails for another reason than ENOSPC (EFBIG on a file-size
#: limit, a volume gone): the user's answer is the same, and the transaction was rolled back all the same
_TEXTS = ("database or disk is full", "disk i/o error", "no space left on device", "could not extend file",
          "disk quota exceeded")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or the driver error it wraps, or its explicit cause) says there is no room left to write."""
    seen = 0
    while exc is not None and seen < 5:
        seen += 1
        if isinstance(exc, OSError) and exc.errno in _NO_ROOM:
            return True
        if getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if getattr(exc, "sqlstate", None) == _PG_DISK_FULL or getattr(exc, "pgcode", None) == _PG_DISK_FULL:
            return True
        if type(exc).__name__ in ("OperationalError", "DiskFull", "IOError", "DatabaseError") and any(
                text in str(exc).lower() for text in _TEXTS):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__
    return False


@contextmanager
def whole_file(path: Path, mode: int = 0o600) -> Iterator[Path]:
    """A hidden partial file beside ``path`` to write; it becomes ``path`` (``mode``: the owner's only by
    default) when the block ends well and is removed when it fails, so a full disk leaves no half-written
    file, nor a partial one."""
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        os.chmod(partial, mode)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def remove_sqlite_file(path: Path) -> None:
    """A SQLite file and the journal, WAL and shared-memory files SQLite may have left beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
