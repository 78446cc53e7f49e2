"""Error details that are safe to log and to copy: versions, exception type and the stack.

The exception's *message* is left out on purpose: database errors quote the SQL parameters of the failing
statement, which can be patient names, MRNs or birth dates. The stack (files, lines, functions and the
source line) names code only.
"""

from __future__ import annotations

import datetime as dt
import platform
import traceback
import types
from pathlib import Path

from . import APP_NAME, __version__


def exception_chain(exc_type: type[BaseException], tb: types.TracebackType | None) -> str:
    frames = traceback.extract_tb(tb)
    lines = [f"{exc_type.__module__}.{exc_type.__qualname__}"]
    for frame in frames:
        lines.append(f'  File "{_short_path(frame.filename)}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    return "\n".join(lines)


def format_details(
    exc_type: type[BaseException], tb: types.TracebackType | None, *, qt_version: str | None = None,
    exc: BaseException | None = None,
) -> str:
    """Plain-text report for the log and the "Copy details" button (no exception message)."""
    header = [
        f"{APP_NAME} {__version__}",
        f"Python {platform.python_version()} on {platform.platform(terse=True)}",
    ]
    if qt_version:
        header.append(f"Qt {qt_version}")
    body = [exception_chain(exc_type, tb)]
    # causes (``raise X from Y``) help find the real fault; again type and stack only
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__ if exc is not None else None
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        body.append("Caused by " + exception_chain(type(cause), cause.__traceback__))
        cause = cause.__cause__ or cause.__context__
    return "\n".join(header) + "\n\n" + "\n\n".join(body) + "\n"


def _short_path(filename: str) -> str:
    """Site-packages and home prefixes make paths long and can carry a user name: keep the tail."""
    for marker in ("site-packages/", "carenet_desktop/", "lib/python"):
        idx = filename.replace("\\", "/").rfind(marker)
        if idx >= 0:
            return filename.replace("\\", "/")[idx:]
    return filename.rsplit("/", 1)[-1] if "/" in filename else filename


def summary(exc_type: type[BaseException], tb: types.TracebackType | None) -> str:
    """One line: the exception type and where it happened."""
    frames = traceback.extract_tb(tb)
    if frames:
        last = frames[-1]
        return f"{exc_type.__name__} in {last.name} ({_short_path(last.filename)}:{last.lineno})"
    return exc_type.__name__



#: crash reports kept (oldest removed first)
KEEP_REPORTS = 20


def crash_report_dir() -> Path:
    """``$CARENET_CRASH_DIR``, else ``crash-reports`` in the user-data folder."""
    import os

    from .models.database import user_data_dir

    return Path(os.environ.get("CARENET_CRASH_DIR") or user_data_dir() / "crash-reports")


def write_crash_report(details: str, *, folder: Path | None = None) -> Path | None:
    """Write ``details`` (from :func:`format_details`: no exception message, no data) to a new file in the
    crash-report folder; None when it cannot be written (a crash report must never cause another crash)."""
    folder = folder or crash_report_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = folder / f"crash-{stamp}.txt"
        path.write_text(details, encoding="utf-8")
        for old in sorted(folder.glob("crash-*.txt"))[:-KEEP_REPORTS]:
            old.unlink(missing_ok=True)
        return path
    except OSError:
        return None
