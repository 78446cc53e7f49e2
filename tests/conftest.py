"""Fixtures shared by every test area."""

from __future__ import annotations

import pytest

from tests.oracle_support import ORACLE_DIR, oracle_available, oracle_measure_data


@pytest.fixture(scope="session")
def oracle(tmp_path_factory):  # type: ignore[no-untyped-def]
    """(MeasureData of every published test patient, {patient_id: test id}); see tests/oracle_support.py."""
    if not oracle_available():
        pytest.skip(f"eCQM oracle not found at {ORACLE_DIR} (set CARENET_ORACLE_DIR to its folder)")
    return oracle_measure_data(tmp_path_factory)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_folder(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Results and frames caches and crash reports go to temporary folders, never the user's."""
    import os

    folders = {"XDG_CACHE_HOME": "xdg-cache", "CARENET_CRASH_DIR": "crash-reports"}
    previous = {var: os.environ.get(var) for var in folders}
    for var, name in folders.items():
        os.environ[var] = str(tmp_path_factory.mktemp(name))
    yield
    for var, value in previous.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


@pytest.fixture
def hand_store(tmp_path):  # type: ignore[no-untyped-def]
    """(Database, HandMade): the hand-made store of ``tests/patient_records.py`` in a new file."""
    from carenet_desktop.models.database import open_database
    from tests.patient_records import build_hand_made

    db = open_database(tmp_path / "hand.db")
    hand = build_hand_made(db)
    yield db, hand
    db.dispose()
