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
    """Results and frames caches go to a temporary folder, never the user's cache folder."""
    import os

    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous
