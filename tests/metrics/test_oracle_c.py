"""The published test cases of CMS117 and CMS155 are reproduced exactly (every expected row).

The oracle data holds every measure's test patients; each measure must select its own by its logic.
"""

from __future__ import annotations

import pytest

from tests.measure_catalogue import get_measure
from tests.oracle_support import ORACLE_PERIOD, compare, expected_for

MEASURES = ("CMS117", "CMS155")


@pytest.mark.parametrize("measure_id", MEASURES)
def test_oracle_cases_reproduced(oracle, measure_id: str) -> None:  # type: ignore[no-untyped-def]
    data, id_map = oracle
    assert expected_for(measure_id), f"no expected rows for {measure_id}"
    result = get_measure(measure_id).evaluate(data, ORACLE_PERIOD)
    assert compare(measure_id, result, id_map) == []


@pytest.mark.parametrize("measure_id", MEASURES)
@pytest.mark.parametrize("population", ["initial-population", "denominator-exclusion", "numerator"])
def test_oracle_populations_not_vacuous(oracle, measure_id: str, population: str) -> None:  # type: ignore[no-untyped-def]
    """Exactly the cases expected in a population are found there, per group (no vacuous pass)."""
    data, id_map = oracle
    result = get_measure(measure_id).evaluate(data, ORACLE_PERIOD)
    expected = {(r["test_id"], int(r["group_index"])) for r in expected_for(measure_id) if r[population] == "1"}
    rows = result[result[population].fillna(False).astype(bool)]
    found = {(id_map[int(p)], int(g)) for p, g in zip(rows["patient_id"], rows["group_index"], strict=True)
             if int(p) in id_map}
    ours = {key for key in found if key[0] in {r["test_id"] for r in expected_for(measure_id)}}
    if measure_id == "CMS117" or population != "numerator":
        assert expected, f"{measure_id}: no expected {population} cases"
    assert ours == expected


def test_cms117_result_shape(oracle) -> None:  # type: ignore[no-untyped-def]
    """One group, patient-based, the exception population empty (the measure has none)."""
    data, _ = oracle
    result = get_measure("CMS117").evaluate(data, ORACLE_PERIOD)
    assert set(result["group_index"]) == {0}
    assert result["patient_id"].is_unique
    assert result["denominator-exception"].isna().all()
    assert result["initial-population"].all()


def test_cms155_three_groups_share_the_denominator(oracle) -> None:  # type: ignore[no-untyped-def]
    data, _ = oracle
    result = get_measure("CMS155").evaluate(data, ORACLE_PERIOD)
    assert set(result["group_index"]) == {0, 1, 2}
    per_group = [result[result["group_index"] == g].set_index("patient_id") for g in (0, 1, 2)]
    for other in per_group[1:]:
        assert list(other.index) == list(per_group[0].index)
        assert (other["denominator-exclusion"] == per_group[0]["denominator-exclusion"]).all()
    assert result["denominator-exception"].isna().all()
