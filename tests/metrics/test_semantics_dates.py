"""Issue 21, classes 2 and 3: time-zone offsets and date-only values, through the real path (FHIR or CSV
-> store -> frames -> the shared primitives every measure year uses)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.libraries import status
from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.primitives import (
    Iv,
    date_only_mask,
    during,
    on_or_before_end,
    point_in,
    starts_before,
)
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.fhir_import import import_fhir
from carenet_desktop.services.measure_data import load_measure_data
from tests.interchange.fhir_samples import bundle, encounter, patient, write

Y2025 = Period.year(2025)


def _load(tmp_path: Path, *resources: dict) -> MeasureData:
    db = open_database(tmp_path / "store.db")
    try:
        result = import_fhir(ServiceContext(db, username="t"), [write(tmp_path / "b.json", bundle(patient("p1"), *resources))])
        assert not result.problems, result.problems
        return load_measure_data(db, with_valuesets=False)
    finally:
        db.dispose()


# --- class 2: offsets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "in_2025"), [
    ("2024-12-31T19:00:00-05:00", False),  # 2025-01-01T00:00Z, but written on Dec 31: a 2024 visit
    ("2025-01-01T00:30:00+02:00", True),  # 2024-12-31T22:30Z, written on Jan 1: a 2025 visit
    ("2025-12-31T22:00:00-08:00", True),  # 2026-01-01T06:00Z, written on Dec 31
    ("2026-01-01T01:00:00+05:00", False),
])
def test_a_visit_counts_in_the_year_its_date_is_written(tmp_path: Path, start: str, in_2025: bool) -> None:
    data = _load(tmp_path, encounter("e1", "p1", start=start))
    enc = data.encounters
    assert enc["start"].dt.date.astype(str).tolist() == [start[:10]]
    assert during(status.encounter_interval(enc), Y2025, precision="day").tolist() == [in_2025]
    assert point_in(enc["start"], Y2025).tolist() == [in_2025]


def test_day_windows_count_written_days(tmp_path: Path) -> None:
    """An evening visit west of UTC and a test the next morning: one day apart as written (two in UTC)."""
    test = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "78012-2"}]},
            "effectiveDateTime": "2025-03-02T08:00:00-05:00"}
    data = _load(tmp_path, encounter("e1", "p1", start="2025-03-01T21:00:00-05:00"), test)
    visit_day = data.encounters["start"].dt.normalize().iloc[0]
    test_day = data.observations["effective_start"].dt.normalize().iloc[0]
    assert (test_day - visit_day).days == 1


def test_csv_offsets_keep_the_written_date(tmp_path: Path) -> None:
    from carenet_desktop.services import intake
    from tests.intake.conftest import TODAY, build_store, write_csv

    build_store(tmp_path / "store.db")
    path = write_csv(tmp_path / "visits.csv", ["MRN", "Visit Date", "CPT"],
                     [["M001", "2024-12-31T19:00:00-05:00", "99213"], ["M002", "2025-01-01T00:30:00+0200", "99213"]])
    db = open_database(tmp_path / "store.db")
    try:
        result = intake.import_file(ServiceContext(db, username="t"), path, "encounters", practice_code="PEDS1",
                                    today=TODAY)
        assert result.rejected == 0
        data = load_measure_data(db, with_valuesets=False)
    finally:
        db.dispose()
    assert sorted(data.encounters["start"].astype(str)) == ["2024-12-31 19:00:00", "2025-01-01 00:30:00"]


# --- class 3: date-only values -------------------------------------------------------------------------


def test_a_date_only_onset_is_uncertain_against_a_visit_that_day(tmp_path: Path) -> None:
    """Condition onset 2025-03-01 (a date) vs a visit at 2025-03-01T10:00: not "before" (CQL: null), but
    before a visit the next day, and on the same day at day precision."""
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "35489007"}]},
            "onsetDateTime": "2025-03-01"}
    data = _load(tmp_path, cond, encounter("e1", "p1", start="2025-03-01T10:00:00Z"))
    conditions = data.conditions
    assert date_only_mask(conditions, "onset").tolist() == [True]
    prevalence = status.prevalence_interval(conditions)
    same_day = Iv.points(data.encounters["start"])
    next_day = Iv.points(data.encounters["start"] + pd.Timedelta(days=1))
    assert starts_before(prevalence, same_day).tolist() == [False]  # null in CQL
    assert starts_before(prevalence, next_day).tolist() == [True]
    assert starts_before(same_day, prevalence).tolist() == [False]  # null, not "the visit came first"
    onset = Iv.points(conditions["onset"], date_only_mask(conditions, "onset"))
    assert during(onset, same_day, precision="day").tolist() == [True]  # same day as


def test_a_timestamp_keeps_full_precision(tmp_path: Path) -> None:
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "35489007"}]},
            "onsetDateTime": "2025-03-01T08:00:00Z"}
    data = _load(tmp_path, cond, encounter("e1", "p1", start="2025-03-01T10:00:00Z"))
    assert "date_only" not in data.conditions.columns or not date_only_mask(data.conditions, "onset").any()
    assert starts_before(status.prevalence_interval(data.conditions), Iv.points(data.encounters["start"])).tolist() == [True]


@pytest.mark.parametrize(("day", "full", "by_day"), [
    # cql-execution compares field by field and stops, null, at the hour one side lacks: a date on the
    # period's first or last day is uncertain against its start or end instant, decided by day
    ("2025-01-01", False, True),
    ("2025-12-31", False, True),
    ("2025-06-15", True, True),
    ("2024-12-31", False, False),
    ("2026-01-01", False, False),
])
def test_date_only_events_on_the_period_boundaries(tmp_path: Path, day: str, full: bool, by_day: bool) -> None:
    data = _load(tmp_path, encounter("e1", "p1", start=day))
    enc = data.encounters
    assert date_only_mask(enc, "start").tolist() == [True]
    assert during(status.encounter_interval(enc), Y2025, precision="day").tolist() == [by_day]
    assert during(status.encounter_interval(enc), Y2025).tolist() == [full]


def test_csv_dates_without_a_time_are_date_only(tmp_path: Path) -> None:
    from carenet_desktop.services import intake
    from tests.intake.conftest import TODAY, build_store, write_csv

    build_store(tmp_path / "store.db")
    path = write_csv(tmp_path / "dx.csv", ["MRN", "Onset Date", "ICD10"],
                     [["M001", "2025-03-01", "J02.0"], ["M002", "2025-03-01 10:15", "J02.0"]])
    db = open_database(tmp_path / "store.db")
    try:
        result = intake.import_file(ServiceContext(db, username="t"), path, "diagnoses", practice_code="PEDS1",
                                    today=TODAY)
        assert result.rejected == 0
        data = load_measure_data(db, with_valuesets=False)
    finally:
        db.dispose()
    cond = data.conditions.sort_values("onset")
    assert date_only_mask(cond, "onset").tolist() == [True, False]


def test_two_date_only_values_compare_as_dates() -> None:
    """Both sides without a time: CQL compares them up to the day they share (2025-03-01 is the same as
    2025-03-01), which is not uncertain; a date against a timestamp of its day is."""
    day = pd.Series(pd.to_datetime(["2025-03-01"]))
    stamp = pd.Series(pd.to_datetime(["2025-03-01 10:00"]))
    as_date = Iv.points(day, date_only=[True])
    assert during(as_date, Iv.points(day, date_only=[True])).tolist() == [True]
    assert during(as_date, Iv.points(stamp)).tolist() == [False]  # null
    assert starts_before(as_date, Iv.points(day + pd.Timedelta(days=1), date_only=[True])).tolist() == [True]
    assert starts_before(as_date, Iv.points(day, date_only=[True])).tolist() == [False]  # equal, not before


# --- class 3: each end keeps its own precision -----------------------------------------------------------


def _condition(onset: str, abatement: str) -> dict:
    return {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "resolved"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "35489007"}]},
            "onsetDateTime": onset, "abatementDateTime": abatement}


def test_an_abatement_date_after_an_onset_instant_is_uncertain_on_its_day(tmp_path: Path) -> None:
    """Onset 2025-03-01T08:00Z, abated 2025-06-01 (a date): against 10:00 that day, "ends on or before" is
    null in CQL (the abatement has no hour); the onset instant stays exact."""
    data = _load(tmp_path, _condition("2025-03-01T08:00:00Z", "2025-06-01"),
                 encounter("e1", "p1", start="2025-06-01T10:00:00Z"), encounter("e2", "p1", start="2025-03-01T09:00:00Z"))
    prevalence = status.prevalence_interval(data.conditions)
    visits = data.encounters.sort_values("start")
    march, june = (Iv.points(visits["start"].iloc[[i]]) for i in (0, 1))
    assert on_or_before_end(prevalence, june).tolist() == [False]  # null: 2025-06-01 vs 10:00 that day
    assert on_or_before_end(prevalence, june, precision="day").tolist() == [True]
    assert starts_before(prevalence, march).tolist() == [True]  # 08:00 before 09:00, both instants


def test_an_abatement_instant_after_an_onset_date_stays_exact(tmp_path: Path) -> None:
    """Onset 2025-03-01 (a date), abated 2025-06-01T08:00Z: it certainly ended before 10:00 that day."""
    data = _load(tmp_path, _condition("2025-03-01", "2025-06-01T08:00:00Z"),
                 encounter("e1", "p1", start="2025-06-01T10:00:00Z"))
    prevalence = status.prevalence_interval(data.conditions)
    visit = Iv.points(data.encounters["start"])
    assert on_or_before_end(prevalence, visit).tolist() == [True]
    assert starts_before(prevalence, Iv.points(data.conditions["onset"] + pd.Timedelta(hours=10))).tolist() == [False]


def test_a_period_with_a_date_start_and_an_instant_end(tmp_path: Path) -> None:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
           "effectivePeriod": {"start": "2025-03-01", "end": "2025-03-05T10:00:00Z"}}
    data = _load(tmp_path, obs)
    observations = data.observations
    assert date_only_mask(observations, "effective_start").tolist() == [True]
    assert date_only_mask(observations, "effective_end").tolist() == [False]
    effective = status.effective_interval(observations)
    later = Iv.points(pd.Series(pd.to_datetime(["2025-03-05 12:00"])))
    same_day_as_start = Iv.points(pd.Series(pd.to_datetime(["2025-03-01 12:00"])))
    assert on_or_before_end(effective, later).tolist() == [True]  # ended 10:00, before noon
    assert starts_before(effective, same_day_as_start).tolist() == [False]  # null: a date vs noon that day
