"""The synthetic demo network: realistic, deterministic per seed, fast enough for 250,000 children.

No Qt here; the layer may use models, metrics and codes (not services or ui).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..models.database import open_database
from .build import DemoError, DemoSummary, ProgressLike, build_demo, default_as_of

__all__ = ["DemoError", "DemoSummary", "ProgressLike", "build_demo", "default_as_of", "ensure_demo_database"]


def ensure_demo_database(path: str | os.PathLike[str], progress: ProgressLike | None = None,
                         **options: Any) -> DemoSummary | None:
    """Create the default-size demo database at ``path`` if the file does not exist yet.

    The demo is built into ``<path>.building`` and renamed when complete, so an interrupted first run
    never leaves a half-built database behind. ``options`` go to ``build_demo`` (sizes, seed, as_of).
    Returns the summary when a demo was built, None when the file was already there.
    """
    target = Path(path).expanduser()
    if target.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".building")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    db = open_database(partial)
    try:
        summary = build_demo(db, progress=progress, **options)
    finally:
        db.dispose()
    partial.replace(target)
    for leftover in (Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    return summary
