"""The published test cases of CMS153, CMS2, CMS75 and CMS74 are reproduced exactly (per patient)."""

from __future__ import annotations

import pytest

from tests.measure_catalogue import get_measure
from tests.oracle_support import ORACLE_PERIOD, compare, expected_for

MEASURES = ("CMS153", "CMS2", "CMS75", "CMS74")


@pytest.mark.parametrize("measure_id", MEASURES)
def test_oracle_cases_reproduced(oracle, measure_id: str) -> None:
    data, id_map = oracle
    expected = expected_for(measure_id)
    assert expected, f"no expected rows for {measure_id}"
    result = get_measure(measure_id).evaluate(data, ORACLE_PERIOD)
    assert compare(measure_id, result, id_map) == []


@pytest.mark.parametrize("measure_id", MEASURES)
def test_oracle_initial_population_not_vacuous(oracle, measure_id: str) -> None:
    """Guard against a vacuous pass: the cases expected in the initial population are found as such."""
    data, id_map = oracle
    result = get_measure(measure_id).evaluate(data, ORACLE_PERIOD)
    expected_ip = {row["test_id"] for row in expected_for(measure_id) if row["initial-population"] == "1"}
    found = set(result.loc[result["initial-population"].fillna(False).astype(bool), "patient_id"].map(id_map))
    assert expected_ip and expected_ip <= found
