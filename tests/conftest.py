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
