"""The published test cases of CMS146, CMS154, CMS177 and CMS136 are reproduced exactly.

Episode-based measures (CMS146/154/177) are compared on episode counts per test patient; CMS136 per
patient and group (initiation, continuation and maintenance).
"""

from __future__ import annotations

import pytest

from tests.measure_catalogue import get_measure
from tests.oracle_support import ORACLE_PERIOD, compare, expected_for

MEASURES = ("CMS146", "CMS154", "CMS177", "CMS136")


def _problems(oracle, measure_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    data, id_map = oracle
    result = get_measure(measure_id).evaluate(data, ORACLE_PERIOD)
    return compare(measure_id, result, id_map)


@pytest.mark.parametrize("measure_id", MEASURES)
def test_oracle_cases_reproduced(oracle, measure_id: str) -> None:
    assert expected_for(measure_id), f"no expected rows for {measure_id}"
    assert _problems(oracle, measure_id) == []


@pytest.mark.parametrize("measure_id", MEASURES)
def test_oracle_populations_not_vacuous(oracle, measure_id: str) -> None:
    """The cases expected in the initial population / numerator are found there (no vacuous pass)."""
    data, id_map = oracle
    result = get_measure(measure_id).evaluate(data, ORACLE_PERIOD)
    for population in ("initial-population", "numerator"):
        expected = {(r["test_id"], int(r["group_index"])) for r in expected_for(measure_id)
                    if (r[population] or "0") not in ("", "0")}
        rows = result[result[population].fillna(False).astype(bool)]
        found = {(id_map[int(p)], int(g)) for p, g in zip(rows["patient_id"], rows["group_index"], strict=True)}
        assert expected, f"{measure_id}: no expected {population} cases"
        assert expected <= found


@pytest.mark.parametrize("measure_id", ("CMS146", "CMS154", "CMS177"))
def test_episode_ids_are_encounters(oracle, measure_id: str) -> None:
    """Episode rows carry the encounter's event_id, one row per episode."""
    data, _ = oracle
    result = get_measure(measure_id).evaluate(data, ORACLE_PERIOD)
    assert len(result) > 0
    assert result["episode_id"].notna().all()
    assert set(result["episode_id"]) <= set(data.encounters["event_id"])
    assert not result.duplicated(["group_index", "episode_id"]).any()


def test_episode_counts_two_for_two_visits(oracle) -> None:
    """CMS177 1ea93f92: two MDD visits with an assessment each count as two episodes."""
    data, id_map = oracle
    result = get_measure("CMS177").evaluate(data, ORACLE_PERIOD)
    mine = result[result["patient_id"].map(id_map) == "1ea93f92-f4f1-44fe-8511-dd5d8bd86a8d"]
    assert len(mine) == 2
    assert mine["numerator"].astype(bool).all()
