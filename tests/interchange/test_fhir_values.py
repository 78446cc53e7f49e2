"""FHIR date/time, reference and quantity helpers."""

from __future__ import annotations

import datetime as dt

import pytest

from carenet_desktop.interchange.fhir.values import (
    MappingError,
    duration_days,
    first_code,
    parse_date,
    parse_datetime,
    reference_id,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01T20:30:00-05:00", dt.datetime(2025, 1, 1, 20, 30)),  # the offset is not applied
        ("2025-01-01T00:30:00+02:00", dt.datetime(2025, 1, 1, 0, 30)),  # the written day, not the UTC one
        ("2025-01-01T08:00:00.123Z", dt.datetime(2025, 1, 1, 8, 0, 0, 123000)),
        ("2025-01-01T08:00:00+00:00", dt.datetime(2025, 1, 1, 8, 0)),
        ("2025-06-15", dt.datetime(2025, 6, 15, 0, 0)),  # date only -> midnight
        ("2025-06", dt.datetime(2025, 6, 1)),
        ("2025", dt.datetime(2025, 1, 1)),
        ("2025-06-15T10:00:00", dt.datetime(2025, 6, 15, 10, 0)),  # no offset: kept as given
    ],
)
def test_parse_datetime_gives_the_written_clock_time(text: str, expected: dt.datetime) -> None:
    value = parse_datetime(text)
    assert value == expected
    assert value is not None and value.tzinfo is None


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday", "2025-02-30", 20250101])
def test_invalid_datetimes_raise(bad: object) -> None:
    with pytest.raises(MappingError):
        parse_datetime(bad)


def test_parse_date_uses_the_written_day() -> None:
    assert parse_date("2025-03-01T23:30:00-05:00") == dt.date(2025, 3, 1)


def test_an_impossible_offset_is_refused() -> None:
    with pytest.raises(MappingError):
        parse_datetime("2025-03-01T10:00:00+25:00")


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ({"reference": "Patient/abc"}, "abc"),
        ({"reference": "http://ehr.example/fhir/Patient/abc/_history/3"}, "abc"),
        ({"reference": "urn:uuid:1234-5678"}, "1234-5678"),
        ({"display": "no reference"}, None),
    ],
)
def test_reference_id(ref: dict[str, str], expected: str | None) -> None:
    assert reference_id(ref) == expected


def test_reference_of_another_type_is_ignored() -> None:
    assert reference_id({"reference": "Group/1"}, "Patient") is None


def test_duration_days_converts_units() -> None:
    assert duration_days({"value": 2, "code": "wk"}, "d") == 14
    assert duration_days({"value": 30, "unit": "days"}, "d") == 30
    assert duration_days({"value": 3, "code": "furlongs"}, "d") is None


def test_first_code_keeps_other_codings() -> None:
    system, code, display, others = first_code(
        {"coding": [{"system": "http://snomed.info/sct", "code": "1", "display": "One"},
                    {"system": "http://loinc.org", "code": "2"}]}
    )
    assert (system, code, display) == ("snomed", "1", "One")
    assert others == [{"system": "http://loinc.org", "code": "2"}]


def test_primary_coding_prefers_a_standard_system_over_a_local_one() -> None:
    concept = {"coding": [{"system": "urn:oid:1.2.3.local", "code": "VISIT7"},
                          {"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}
    system, code, _display, others = first_code(concept)
    assert (system, code) == ("cpt", "99213")
    assert others == [{"system": "urn:oid:1.2.3.local", "code": "VISIT7"}]


def test_a_birth_date_with_an_offset_keeps_its_day() -> None:
    """Issue 22, item 13: a birth date written with a time-zone offset moved a day when converted to UTC."""
    import datetime as _dt

    from carenet_desktop.interchange.fhir.mapping import map_resource

    record = map_resource({"resourceType": "Patient", "id": "p", "birthDate": "2020-01-01T23:00:00-05:00"})
    assert record is not None and record.values["birth_date"] == _dt.date(2020, 1, 1)
