"""Fixtures shared by every test area."""

from __future__ import annotations

import os

import pytest

from tests.oracle_support import ORACLE_DIR, oracle_available, oracle_measure_data

#: a finished run must end (see the module): its exit is watched
pytest_plugins = ["tests.exit_watchdog"]

_TRUE = {"1", "true", "yes", "on"}


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the published test cases must be there: a checkout without them would pass by skipping every
    measure proof. Locally they are optional (the oracle tests skip with a reason)."""
    if os.environ.get("CI", "").strip().lower() not in _TRUE:
        return
    missing = [str(folder) for folder in (ORACLE_DIR, ORACLE_DIR.parent / f"{ORACLE_DIR.name}-2026")
               if not (folder / "expected.csv").is_file() or not (folder / "measures").is_dir()]
    if missing:
        raise pytest.UsageError(f"CI=true but the published eCQM test cases are missing: {', '.join(missing)} "
                                "(../shared beside the checkout, or CARENET_ORACLE_DIR)")


@pytest.fixture(scope="session")
def oracle(tmp_path_factory):  # type: ignore[no-untyped-def]
    """(MeasureData of every published test patient, {patient_id: test id}); see tests/oracle_support.py."""
    if not oracle_available():
        pytest.skip(f"eCQM oracle not found at {ORACLE_DIR} (set CARENET_ORACLE_DIR to its folder)")
    return oracle_measure_data(tmp_path_factory)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_folder(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Results and frames caches, audit keys and crash reports go to temporary folders, never the user's."""
    import os

    folders = {"XDG_CACHE_HOME": "xdg-cache", "CARENET_CRASH_DIR": "crash-reports", "CARENET_AUDIT_KEY_DIR": "audit-keys"}
    previous = {var: os.environ.get(var) for var in folders}
    for var, name in folders.items():
        os.environ[var] = str(tmp_path_factory.mktemp(name))
    # stores the tests create through the command line are plain files (tests/test_cli_new_store.py checks
    # the default: encrypted), as SQLCipher's key derivation on every connection would slow the suite down
    previous["CARENET_NO_ENCRYPTION"] = os.environ.get("CARENET_NO_ENCRYPTION")
    os.environ["CARENET_NO_ENCRYPTION"] = "1"
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
