"""The demo stores the tests build: one function, built once per test session for each set of arguments.

``demo_store(tmp_path_factory, ...)`` returns the path of a *new copy* of a demo network with the default
code catalogue, so a module may change its store freely while the build itself (seconds each) happens once
per distinct (practices, patients, seed, as_of) in the whole run.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

AS_OF = dt.date(2026, 6, 30)
_built: dict[tuple[int, int, int, dt.date], Path] = {}


def build_demo_store(path: Path, *, practices: int = 3, patients: int = 600, seed: int = 7,
                     as_of: dt.date = AS_OF) -> Path:
    """Build a demo network with the default code catalogue into ``path`` (a new file)."""
    from carenet_desktop.demo import build_demo
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.valuesets import ensure_default_catalogue

    db = open_database(path)
    try:
        # the schedule starts the day after the data ends, whatever the day the tests run
        build_demo(db, practices=practices, patients=patients, seed=seed, as_of=as_of,
                   today=as_of + dt.timedelta(days=1))
        ensure_default_catalogue(ServiceContext(db))
    finally:
        db.dispose()
    return path


def demo_store(factory: pytest.TempPathFactory, *, practices: int = 3, patients: int = 600, seed: int = 7,
               as_of: dt.date = AS_OF) -> Path:
    """A private copy of the session's demo store for these arguments (built on first use)."""
    key = (practices, patients, seed, as_of)
    if key not in _built or not _built[key].exists():
        folder = factory.mktemp(f"demo-{practices}x{patients}-s{seed}")
        _built[key] = build_demo_store(folder / "template.db", practices=practices, patients=patients,
                                       seed=seed, as_of=as_of)
    copy = factory.mktemp("store") / "demo.db"
    shutil.copy(_built[key], copy)
    return copy


def demo_measure_data(factory: pytest.TempPathFactory) -> object:
    """The frames of a copy of the session's demo store, read as the engine reads them (``MeasureData``)."""
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.measure_data import load_measure_data

    db = open_database(demo_store(factory))
    try:
        return load_measure_data(db)
    finally:
        db.dispose()
