"""Condition.onset[x] / abatement[x] given as ages (issue 21): QICoreCommon reads an Age as the patient's age,
``Interval[birthDate + age, birthDate + age + 1 year)``; the store keeps the start of the onset and the end
of the abatement, as dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from carenet_desktop.interchange.fhir import MappingContext, map_resource
from carenet_desktop.interchange.fhir.condition_timing import add_age
from carenet_desktop.interchange.fhir.values import MappingError

UCUM = "http://unitsofmeasure.org"


def _age(value: float, code: str = "a") -> dict[str, Any]:
    return {"value": value, "system": UCUM, "code": code}


@pytest.mark.parametrize(("birth", "age", "plus", "expected"), [
    ("2012-02-29", _age(1), 0, "2013-02-28"),  # CQL: Feb 29 + 1 year clamps to Feb 28
    ("2012-02-29", _age(4), 0, "2016-02-29"),
    ("2012-02-29", _age(3), 1, "2016-02-28"),  # (Feb 29 + 3 years) + 1 year: Feb 28 + 1 year
    ("2015-01-31", _age(1, "mo"), 0, "2015-02-28"),
    ("2015-01-31", _age(2, "wk"), 0, "2015-02-14"),
    ("2015-01-31", _age(10, "d"), 0, "2015-02-10"),
    ("2015-01-31", {"value": 3, "unit": "years"}, 0, "2018-01-31"),
    ("2015-01-31", _age(2.5), 0, None),  # not a whole number of a calendar unit: unknown
    ("2015-01-31", _age(2, "kg"), 0, None),
    ("2015-01-31", _age(-3000), 0, "error"),
])
def test_an_age_added_to_a_birth_date(birth: str, age: dict[str, Any], plus: int, expected: str | None) -> None:
    if expected == "error":
        with pytest.raises(MappingError, match="beyond the calendar"):
            add_age(dt.date.fromisoformat(birth), age, "Condition.onsetAge", plus_years=plus)
        return
    got = add_age(dt.date.fromisoformat(birth), age, "Condition.onsetAge", plus_years=plus)
    assert (got.isoformat() if got else None) == expected


def _condition(**timing: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "resolved"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "80967001"}]}, **timing}


def _mapped(condition: dict[str, Any], birth: str | None = "2012-02-29") -> dict[str, Any]:
    ctx = MappingContext()
    if birth is not None:
        ctx.remember({"resourceType": "Patient", "id": "p1", "birthDate": birth})
    record = map_resource(condition, ctx)
    assert record is not None
    return record.values


def test_onset_and_abatement_ages_become_dates() -> None:
    values = _mapped(_condition(onsetAge=_age(5), abatementAge=_age(6)))
    assert values["onset"] == dt.datetime(2017, 2, 28)  # birthDate + 5 years (clamped)
    assert values["abatement"] == dt.datetime(2019, 2, 27)  # the day before birthDate + 7 years (2019-02-28)
    assert set(values["date_only"].split(",")) >= {"onset", "abatement"}
    assert values["detail"]["onsetAge"] == _age(5)  # what the export said is kept


def test_an_age_range_reads_its_low_for_the_onset_and_its_high_for_the_abatement() -> None:
    values = _mapped(_condition(onsetRange={"low": _age(2), "high": _age(3)},
                                abatementRange={"low": _age(4), "high": _age(5)}), birth="2015-06-10")
    assert values["onset"] == dt.datetime(2017, 6, 10)
    assert values["abatement"] == dt.datetime(2021, 6, 9)


def test_without_the_patients_birth_date_an_age_is_unknown() -> None:
    values = _mapped(_condition(onsetAge=_age(5), abatementAge=_age(6)), birth=None)
    assert values["onset"] is None and values["abatement"] is None
    assert values["detail"]["abatementAge"] == _age(6)


def test_a_string_abatement_has_no_date() -> None:
    assert _mapped(_condition(onsetDateTime="2020-01-01", abatementString="in childhood"))["abatement"] is None
