"""CMS155 edge cases on hand-made MeasureData: ages, visits, vital signs, counseling, pregnancy, strata."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.definition import Stratifier
from carenet_desktop.metrics.measures import cms155 as m
from carenet_desktop.metrics.period import Period
from tests.measure_catalogue import get_measure
from tests.metrics.test_cms117_edges import build, valuesets

P2025 = Period.year(2025)
VS = valuesets({
    m.OFFICE_VISIT: [("cpt", "99213")],
    m.PREVENTIVE_GROUP_COUNSELING: [("cpt", "99411")],
    m.HOME_HEALTHCARE: [("cpt", "99347")],
    m.COUNSELING_NUTRITION: [("snomed", "11816003")],
    m.COUNSELING_PHYSICAL_ACTIVITY: [("snomed", "103736005")],
    m.PREGNANCY: [("snomed", "102875003")],
})


def teen(pid: int = 1, birth: dt.date = dt.date(2012, 6, 1)) -> dict[str, Any]:
    return {"patient_id": pid, "subject_id": f"p{pid}", "birth_date": birth}


def visit(pid: int = 1, start: str = "2025-05-02 09:00", end: str = "2025-05-02 09:30", code: str = "99213",
          status: str = "finished") -> dict[str, Any]:
    return {"patient_id": pid, "status": status, "code_system": "cpt", "code": code, "start": start, "end": end}


def vital(code: str, start: str | None = "2025-05-02 09:05", end: str | None = "same", pid: int = 1,
          status: str = "final", value: float | None = 20.0) -> dict[str, Any]:
    return {"patient_id": pid, "status": status, "code_system": "loinc", "code": code, "category": "vital-signs",
            "effective_start": start, "effective_end": start if end == "same" else end, "value_num": value}


def vitals(**changes: Any) -> list[dict[str, Any]]:
    """BMI, height and weight; ``changes`` apply to the BMI observation."""
    return [vital("39156-5", **changes), vital("8302-2"), vital("29463-7")]


def counseling(code: str, start: str | None = "2025-05-02 09:10", end: str | None = "2025-05-02 09:20",
               status: str = "completed", pid: int = 1) -> dict[str, Any]:
    return {"patient_id": pid, "status": status, "code_system": "snomed", "code": code,
            "performed_start": start, "performed_end": end}


def pregnancy(onset: str | None, abatement: str | None = None, clinical: str = "active", pid: int = 1) -> dict[str, Any]:
    return {"patient_id": pid, "code_system": "snomed", "code": "102875003", "onset": onset,
            "abatement": abatement, "clinical_status": clinical}


def outcome(data: MeasureData, pid: int = 1) -> list[dict[str, bool]] | None:
    """Per group (0, 1, 2): the populations of ``pid``; None if not in the initial population."""
    result = get_measure("CMS155").evaluate(data, P2025)
    rows = result[result["patient_id"] == pid].sort_values("group_index")
    if rows.empty:
        return None
    assert list(rows["group_index"]) == [0, 1, 2]
    pops = ("initial-population", "denominator", "denominator-exclusion", "numerator")
    return [{k: bool(r[k]) for k in pops} for _, r in rows.iterrows()]


def numerators(**events: list[dict[str, Any]]) -> tuple[bool, bool, bool]:
    events.setdefault("encounters", [visit()])
    result = outcome(build([teen()], vs=VS, **events))
    assert result is not None
    return tuple(g["numerator"] for g in result)  # type: ignore[return-value]


@pytest.mark.parametrize(("birth", "in_ip"), [
    (dt.date(2022, 12, 31), True),   # 3 on Dec 31
    (dt.date(2023, 1, 1), False),    # 2 years, 11 months, 30 days
    (dt.date(2008, 1, 1), True),     # 17
    (dt.date(2007, 12, 31), False),  # 18 on the last day
])
def test_age_3_to_17_at_the_end_of_the_period(birth: dt.date, in_ip: bool) -> None:
    assert (outcome(build([teen(birth=birth)], vs=VS, encounters=[visit()])) is not None) is in_ip


@pytest.mark.parametrize(("encounter", "qualifies"), [
    (visit(), True),
    (visit(code="99411"), True),
    (visit(code="99347", status="arrived"), True),  # isEncounterPerformed includes arrived/triaged/...
    (visit(status="cancelled"), False),
    (visit(code="99211"), False),  # not a CMS155 visit (it is CMS117's direct-reference code)
    (visit(start="2025-12-31 23:00", end="2026-01-01 01:00"), False),
])
def test_qualifying_encounter(encounter: dict[str, Any], qualifies: bool) -> None:
    assert (outcome(build([teen()], vs=VS, encounters=[encounter])) is not None) is qualifies


def test_vital_signs_all_three_needed() -> None:
    assert numerators(observations=vitals()) == (True, False, False)
    for missing in range(3):
        obs = vitals()
        del obs[missing]
        assert numerators(observations=obs)[0] is False


@pytest.mark.parametrize(("changes", "counted"), [
    ({}, True),
    ({"start": "2025-01-01 00:00"}, True),
    ({"start": "2025-12-31 23:59"}, True),
    ({"start": "2026-01-01 00:00"}, False),
    ({"start": "2024-12-31 23:59"}, False),
    ({"start": "2025-12-20 00:00", "end": "2026-01-02 00:00"}, False),  # the period must lie within
    ({"start": "2025-03-01 00:00", "end": None}, False),  # ongoing period
    ({"status": "preliminary"}, False),
    ({"status": "amended"}, True),
    ({"value": None}, False),
])
def test_bmi_observation_rules(changes: dict[str, Any], counted: bool) -> None:
    assert numerators(observations=vitals(**changes))[0] is counted


def test_bmi_percentile_code_is_not_the_bmi_profile() -> None:
    """The CQL retrieves the BMI profile (LOINC 39156-5); a BMI-percentile code alone does not count."""
    obs = [vital("59576-9"), vital("8302-2"), vital("29463-7")]
    assert numerators(observations=obs)[0] is False


@pytest.mark.parametrize(("proc", "expected"), [
    (counseling("11816003"), (False, True, False)),
    (counseling("103736005"), (False, False, True)),
    (counseling("11816003", status="not-done"), (False, False, False)),
    (counseling("11816003", start="2026-01-02 00:00", end="2026-01-02 01:00"), (False, False, False)),
    (counseling("11816003", start="2025-12-31 23:00", end="2026-01-01 00:10"), (False, False, False)),
    (counseling("11816003", start=None, end="2025-06-01 10:00"), (False, False, False)),  # unknown start
])
def test_counseling(proc: dict[str, Any], expected: tuple[bool, bool, bool]) -> None:
    assert numerators(procedures=[proc]) == expected


@pytest.mark.parametrize(("preg", "excluded"), [
    (pregnancy("2024-12-31 01:00"), True),                          # active, started before: ongoing
    (pregnancy("2026-01-01 01:00"), False),                         # starts after the period
    (pregnancy("2024-03-01", abatement="2024-12-01", clinical="resolved"), False),
    (pregnancy("2024-03-01", abatement="2025-01-05", clinical="resolved"), True),
    # inactive without abatement: a NULL prevalence period (the reference engine, cql#1305), never counts
    (pregnancy("2025-03-01", clinical="inactive"), False),
    (pregnancy("2024-06-01", clinical="inactive"), False),
])
def test_pregnancy_exclusion(preg: dict[str, Any], excluded: bool) -> None:
    result = outcome(build([teen()], vs=VS, encounters=[visit()], conditions=[preg],
                           observations=vitals(), procedures=[counseling("11816003")]))
    assert result is not None
    assert [g["denominator-exclusion"] for g in result] == [excluded] * 3
    assert [g["numerator"] for g in result] == ([False] * 3 if excluded else [True, True, False])


def test_stratifiers_are_the_published_age_bands() -> None:
    measure = get_measure("CMS155")
    assert measure.stratifiers == (Stratifier("Age 3-11", 3, 11), Stratifier("Age 12-17", 12, 17))
    assert len(measure.groups) == 3
    assert all(g.populations == ("initial-population", "denominator", "denominator-exclusion", "numerator")
               for g in measure.groups)


def test_patients_are_independent() -> None:
    patients = [teen(1), teen(2), teen(3, birth=dt.date(2000, 1, 1))]
    data = build(patients, vs=VS, encounters=[visit(1), visit(2), visit(3)],
                 observations=vitals() + [vital("39156-5", pid=2)],
                 procedures=[counseling("103736005", pid=2)])
    result = get_measure("CMS155").evaluate(data, P2025)
    g0 = result[result["group_index"] == 0].set_index("patient_id")
    g2 = result[result["group_index"] == 2].set_index("patient_id")
    assert list(g0.index) == [1, 2]
    assert bool(g0.loc[1, "numerator"]) and not bool(g0.loc[2, "numerator"])
    assert not bool(g2.loc[1, "numerator"]) and bool(g2.loc[2, "numerator"])
