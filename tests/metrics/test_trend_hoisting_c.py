"""What a trend's pass now derives once for SDOH (the well-visit days with a screening the same day,
``sdoh.screened_visit_days``) gives each period the rows it gets alone: on hand-made records on the periods'
first and last days (a visit in one period only, the instant before midnight); CMS177's candidates found from
its MDD-coded rows (``cms177.mdd_coded_rows``, kept for a pass) are those the whole frames give (CMS136's
intake-year cohort: test_trend_hoisting_b and test_period_free_shared, with ``check_periods``). And the day arithmetic the network measures ask in every period (``_network_common.day_in`` on
instants, ``to_day``, ``_event_windows.as_days`` and ``EventIndex``'s lookup tables) answers as cutting each
instant to its day and searching does."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.measures import _event_windows as ew
from carenet_desktop.metrics.measures import _network_common as nc
from carenet_desktop.metrics.measures import cms177
from carenet_desktop.metrics.measures._episodes import PatientSet
from carenet_desktop.metrics.memo import FrameMemo, remembering, several_periods
from carenet_desktop.metrics.period import Period, rolling_12_months
from tests.measure_catalogue import CATALOGUE
from tests.metrics.network_builders import Builder

#: rolling periods ending Feb 2024 (a leap day) and across the 2025/2026 boundary
PERIODS = [*rolling_12_months(dt.date(2024, 3, 31), 3), *rolling_12_months(dt.date(2026, 2, 28), 4)]
#: the periods' first and last days, and days just outside some of them
EDGES = ["2023-03-01", "2023-04-01", "2024-02-29", "2024-03-01", "2024-03-31", "2025-01-31", "2025-02-01",
         "2025-12-31", "2026-01-01", "2026-01-31", "2026-02-28", "2023-02-28"]
SCREEN = ("loinc", "96777-8")


def _sdoh_records() -> Builder:
    """Children with a well visit on an edge day (so in some periods only), screened that day, the day after or
    at another visit's day; some positive, followed by a referral 30 or 31 days later."""
    b = Builder()
    for i in range(len(EDGES) * 3):
        pid = b.patient(("2012-03-01", "2004-02-29", "2005-01-01")[i % 3])
        day = EDGES[i % len(EDGES)]
        other = EDGES[(i + 5) % len(EDGES)]
        b.visit(pid, day)
        if i % 4 != 3:
            b.visit(pid, other, ("cpt", "99213"))  # a sick visit: a screening that day does not count
        when = (day, other, (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat())[i % 3]
        b.observation(pid, when, SCREEN, interpretation="positive" if i % 2 else "negative",
                      at="23:59" if i % 5 == 0 else "10:00")
        if i % 2:
            after = (dt.date.fromisoformat(when) + dt.timedelta(days=(30, 31)[i % 4 // 2])).isoformat()
            b.referral(pid, after)
    return b


def _each_period_alone(data: MeasureData, ids: list[str]) -> list[tuple[int, int]]:
    measures = CATALOGUE.select(ids)
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))  # proves the ANY_PERIOD answers
    runs = list(evaluate_periods(shared, PERIODS, measures))
    counts = []
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}, period
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        counts.append((len(run.rows), int(run.rows["numerator"].fillna(False).sum())))
    return counts


def test_each_period_of_an_sdoh_pass_gets_the_screened_visits_it_gets_alone() -> None:
    counts = _each_period_alone(_sdoh_records().data(), ["SDOH"])
    assert len(set(counts)) > 2 and all(n > 0 for n, _ in counts) and sum(m for _, m in counts) > 0


def test_a_screened_visit_counts_in_the_periods_holding_its_day_only() -> None:
    b = Builder()
    pid = b.patient("2012-06-01")
    b.visit(pid, "2025-01-31")  # the last day of one period, the day before the next one
    b.observation(pid, "2025-01-31", SCREEN, interpretation="negative", at="23:59")
    b.visit(pid, "2025-03-15", ("cpt", "99213"))
    b.visit(pid, "2025-03-15")  # a well visit without a screening that day, in both periods
    data = b.data()
    periods = [Period(dt.date(2024, 2, 1), dt.date(2025, 1, 31)), Period(dt.date(2024, 3, 1), dt.date(2025, 2, 28)),
               Period(dt.date(2025, 2, 1), dt.date(2026, 1, 31))]
    runs = list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo(check_periods=True)), periods,
                                 CATALOGUE.select(["SDOH"])))
    screened = [bool(run.rows[run.rows["group_index"] == 0]["numerator"].any()) for _, run in runs]
    assert screened == [True, True, False]


def _whole_frame_candidates(data: MeasureData, period: Period) -> PatientSet:
    """CMS177's candidates as they were found before the coded rows were kept for a pass: every patient's age,
    every encounter's times."""
    from carenet_desktop.metrics.measures._episodes import ages_in_years
    from carenet_desktop.metrics.primitives import vs_mask

    age = ages_in_years(data, period.start)
    eligible = PatientSet(age.index[((age >= 6) & (age <= 16)).to_numpy()])
    enc = data.encounters
    in_period = eligible.mask(enc["patient_id"])
    start = enc["start"].to_numpy(dtype="datetime64[ns]")
    end = enc["end"].to_numpy(dtype="datetime64[ns]")
    in_period &= (start >= np.datetime64(period.start_ts, "ns")) & (end <= np.datetime64(period.end_ts, "ns"))
    with_reason = enc["patient_id"][in_period & vs_mask(data, enc, cms177.MDD_ACTIVE, column="reason_key")]
    cond = data.conditions
    with_condition = cond["patient_id"][eligible.mask(cond["patient_id"]) & vs_mask(data, cond, cms177.MDD_ACTIVE)]
    return PatientSet(with_reason.to_numpy()) | PatientSet(with_condition.to_numpy())


def test_cms177_candidates_from_the_coded_rows_are_the_whole_frames_ones() -> None:
    mdd = ("snomed", "832007")  # an active MDD code (value set of the measure)
    b = Builder()
    births = ["2019-01-31", "2019-02-01", "2008-02-29", "2009-01-01", "2014-06-30", "1990-01-01"]
    for i in range(len(EDGES) * 2):
        pid = b.patient(births[i % len(births)])
        day = EDGES[i % len(EDGES)]
        if i % 3 == 0:
            b.visit(pid, day, ("cpt", "99213"), reason=mdd, start=f"{day} 00:00", end=f"{day} 23:59")
        elif i % 3 == 1:
            b.condition(pid, day, mdd)
        else:
            b.visit(pid, day, ("cpt", "99213"))  # no MDD code: never a candidate
    data = b.data({cms177.MDD_ACTIVE: [mdd]})
    seen = 0
    for period in PERIODS:
        expected = _whole_frame_candidates(dataclasses.replace(data, memo=FrameMemo()), period)
        got = cms177.candidates(dataclasses.replace(data, memo=FrameMemo()), period)
        np.testing.assert_array_equal(got.ids(), expected.ids())
        seen += len(expected)
    assert seen


def _instants(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    minutes = rng.integers(-40 * 365 * 1440, 60 * 365 * 1440, n)  # 1930 .. 2030, at any time of day
    minutes[: n // 4] -= minutes[: n // 4] % 1440  # some at midnight
    out = (np.datetime64("1970-01-01", "ns") + minutes.astype("timedelta64[m]")).astype("datetime64[ns]")
    out[rng.random(n) < 0.05] = np.datetime64("NaT")
    return out


@pytest.mark.parametrize("seed", range(4))
def test_day_in_on_instants_is_the_test_of_their_days(seed: int) -> None:
    rng = np.random.default_rng(seed)
    instants = _instants(seed, 4000)
    # windows around each instant, from any time of day of the day before to the day after (its own day often)
    lo = instants + rng.integers(-2 * 1440, 1440, 4000).astype("timedelta64[m]")
    hi = instants + rng.integers(-1440, 2 * 1440, 4000).astype("timedelta64[m]")
    lo[rng.random(4000) < 0.05] = np.datetime64("NaT")
    days = pd.Series(instants).dt.normalize().to_numpy()
    lo_d, hi_d = pd.Series(lo).dt.normalize().to_numpy(), pd.Series(hi).dt.normalize().to_numpy()
    with np.errstate(invalid="ignore"):
        expected = (days >= lo_d) & (days <= hi_d) & ~np.isnat(days) & ~np.isnat(lo_d) & ~np.isnat(hi_d)
    assert expected.any() and not expected.all()
    np.testing.assert_array_equal(nc.day_in(pd.Series(instants), lo, hi), expected)
    np.testing.assert_array_equal(nc.day_in(instants.astype("datetime64[us]"), lo, hi), expected)
    np.testing.assert_array_equal(nc.day_in(instants, pd.Timestamp("1990-06-15 13:00"), pd.Timestamp("2010-01-01")),
                                  nc.day_in(pd.Series(days), pd.Timestamp("1990-06-15"), pd.Timestamp("2010-01-01")))
    np.testing.assert_array_equal(ew.as_days(instants, len(instants)), days)
    series = pd.Series(instants.astype("datetime64[us]"), index=np.arange(len(instants)) * 3, name="x")
    pd.testing.assert_series_equal(nc.to_day(series), series.astype("datetime64[ns]").dt.normalize())


@pytest.mark.parametrize("seed", range(4))
def test_event_index_tables_count_as_the_join(seed: int) -> None:
    """Event days before 1970 and after; windows starting and ending at any time of day, reversed or unknown;
    patients without events, negative ids; and event 'days' that are not midnights (searched, not tabled)."""
    rng = np.random.default_rng(seed)
    n_events, n_rows = 3000, 2500
    day0 = np.datetime64("1965-01-01", "ns")
    days = day0 + rng.integers(0, 4000, n_events).astype("timedelta64[D]")
    events = pd.DataFrame({"patient_id": rng.integers(0, 300, n_events).astype(np.int64), "day": days})
    pid = rng.integers(-5, 400, n_rows).astype(np.int64)
    lo = _instants(seed + 30, n_rows)
    hi = lo + rng.integers(-3000, 2_000_000, n_rows).astype("timedelta64[m]")
    lo[rng.random(n_rows) < 0.3] = day0 + rng.integers(-100, 4100, 1).astype("timedelta64[D]")
    for frame in (events, events.assign(day=events["day"] + np.timedelta64(90, "m") * (np.arange(n_events) % 2))):
        expected = ew.days_in_windows_joined(frame, pid, lo, hi)
        assert expected.sum() > 0 and (expected == 0).any()
        index = ew.EventIndex(frame)
        np.testing.assert_array_equal(index.counts(pid, lo, hi), expected)
        np.testing.assert_array_equal(index.counts(pid, lo, hi), expected)  # the tables kept: the same again
    huge = events.assign(patient_id=events["patient_id"] * 10**9)  # sparse ids: searched, not tabled
    np.testing.assert_array_equal(ew.EventIndex(huge).counts(pid * 10**9, lo, hi),
                                  ew.days_in_windows_joined(huge, pid * 10**9, lo, hi))


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> MeasureData:
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.measure_data import load_measure_data
    from tests.stores import demo_store

    db = open_database(demo_store(tmp_path_factory, patients=1500, seed=11))
    try:
        return load_measure_data(db)
    finally:
        db.dispose()


@pytest.mark.parametrize("ids", [["DEV", "IMA", "W30"], ["VIS", "WCV", "FLV", "SDOH", "AMR", "CMS74", "CMS75"]])
def test_each_period_of_a_network_pass_gets_the_rows_it_gets_alone(demo_data: MeasureData, ids: list[str]) -> None:
    """The birthdays, distinct event days and screened visits remembered for a pass (``check_periods`` proves them
    period-free) give each period of the demo store the rows it gets alone."""
    counts = _each_period_alone(demo_data, ids)
    assert len(set(counts)) > 1 and sum(m for _, m in counts) > 0


def test_hospice_rows_found_once_give_each_period_its_exclusions_alone() -> None:
    """Hospice services of every kind (an inpatient stay discharged to hospice, a hospice encounter, an
    assessment answered yes, an order, a procedure, a diagnosis) on the periods' first and last days and the
    days just outside them: the rows are found once for a pass (``hospice._hospice_rows``), each period tests
    their times and excludes whom it excludes alone."""
    from carenet_desktop.metrics.libraries import hospice

    encounter, inpatient = ("snomed", "183919006"), ("snomed", "183452005")
    care, diagnosis = ("snomed", "385763009"), ("icd10cm", "Z51.5")
    b = Builder()
    for i in range(len(EDGES) * 6):
        pid = b.patient("2010-05-05")
        day = EDGES[i % len(EDGES)]
        b.visit(pid, EDGES[(i + 1) % len(EDGES)])  # a well visit, in some periods
        kind = i // len(EDGES)
        if kind == 0:
            b.visit(pid, day, inpatient, start=f"{day} 08:00", end=f"{day} 23:59")
            b.rows["encounters"][-1]["discharge_key"] = "snomed|428361000124107"
        elif kind == 1:
            b.visit(pid, day, encounter)
        elif kind == 2:
            b.observation(pid, day, ("loinc", "45755-6"), value_key=("snomed", "373066001"))
        elif kind == 3:
            b.service_request(pid, day, care)
        elif kind == 4:
            b.procedure(pid, day, care)
        else:
            b.condition(pid, day, diagnosis, abatement=day)
    data = b.data({hospice.VS_HOSPICE_ENCOUNTER: [encounter], hospice.VS_ENCOUNTER_INPATIENT: [inpatient],
                   hospice.VS_HOSPICE_CARE_AMBULATORY: [care], hospice.VS_HOSPICE_DIAGNOSIS: [diagnosis]})
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))
    runs = list(evaluate_periods(shared, PERIODS, CATALOGUE.select(["WCV"])))
    excluded = []
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, CATALOGUE.select(["WCV"]))
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        found = hospice.has_hospice_services(dataclasses.replace(data, memo=FrameMemo()), period)
        excluded.append(int(run.rows["denominator-exclusion"].sum()))
        assert excluded[-1] == int(run.rows["patient_id"].isin(found).sum())
    assert len(set(excluded)) > 1 and min(excluded) > 0


@pytest.mark.parametrize("principal_only", [False, True])
def test_diagnoses_of_the_records_answer_as_those_of_a_periods_cut(principal_only: bool) -> None:
    """``_record_diagnoses.diagnosed_among`` (the records' diagnoses tested once for a pass) against
    ``encounter_diagnosis_in`` of the records cut to the candidates, for every kept encounter: diagnoses coded in
    the value set, several codes in a cell, of rank 2, linked to a condition of the value set of the same patient,
    of another candidate or of a patient not a candidate."""
    from carenet_desktop.metrics.measures._episodes import encounter_diagnosis_in, restrict
    from carenet_desktop.metrics.measures._record_diagnoses import diagnosed_among

    mdd, other = ("snomed", "832007"), ("snomed", "22298006")
    b = Builder()
    pids = [b.patient("2012-01-01") for _ in range(12)]
    conditions = [b.condition(pid, "2024-01-01", mdd if i % 3 else other) for i, pid in enumerate(pids)]
    for i, pid in enumerate(pids):
        b.visit(pid, "2025-03-03", ("cpt", "99213"), diagnosis=(mdd, other, None)[i % 3])
        if i % 3 == 2:  # linked to a condition: its own, another patient's
            b.rows["encounter_diagnoses"][-1].update(condition_id=conditions[(i * 5) % len(conditions)], key=None)
        if i % 4 == 1:  # a second diagnosis of rank 2, several codes in one cell
            b.rows["encounter_diagnoses"].append({**b.rows["encounter_diagnoses"][-1], "rank": 2,
                                                  "key": "snomed|22298006 snomed|832007"})
    records = b.data({cms177.MDD_ACTIVE: [mdd]})
    answers = []
    for chosen in (pids[::2], pids[1::3], pids):
        candidates = PatientSet(np.array(chosen))
        cut = restrict(records, candidates, frames=("patients", "encounters", "conditions"))
        ids = cut.encounters["event_id"].to_numpy()
        expected = encounter_diagnosis_in(cut, ids, cms177.MDD_ACTIVE, principal_only=principal_only)
        with remembering(FrameMemo()), several_periods(True):
            got = diagnosed_among(records, candidates, ids, cms177.MDD_ACTIVE, principal_only=principal_only)
        np.testing.assert_array_equal(got, expected)
        answers.append(expected)
    every = np.concatenate(answers)
    assert every.any() and not every.all()


def test_a_date_outside_the_nanosecond_range_fails_the_measure_instead_of_wrapping() -> None:
    """The store's dates are datetime64[us]: a sentinel 9999-12-31 or a typo year cannot be a day of the
    network measures (datetime64[ns]). It raised before the days were cut with numpy; numpy's cast would
    wrap it silently to another date (9999-12-31 -> 1816), counting a screening or a death that is not there."""
    days = pd.Series(np.array(["2025-03-04T10:30", "9999-12-31"], dtype="datetime64[us]"))
    with pytest.raises(pd.errors.OutOfBoundsDatetime):
        nc.to_day(days)
    inside = pd.Series(np.array(["2025-03-04T10:30", "1901-02-03T23:59"], dtype="datetime64[us]"))
    assert list(nc.to_day(inside)) == [pd.Timestamp("2025-03-04"), pd.Timestamp("1901-02-03")]
    b = Builder()
    child = b.patient("2024-05-10")
    data = b.data()
    data.patients = data.patients.assign(
        birth_date=data.patients["birth_date"].astype("datetime64[us]"),
        deceased_date=pd.Series(np.array(["9999-12-31"] * len(data.patients), dtype="datetime64[us]")))
    run = evaluate_measures(data, Period.parse("2025"), CATALOGUE.select(["DEV"]))
    assert "DEV" in run.failures and child
