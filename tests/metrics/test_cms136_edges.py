"""CMS136 window boundaries (intake period, 120-day negative history, 6 months before the IPSD, 30 / 31 /
300 days after it, 210 treatment days) and the CumulativeMedicationDuration library, on hand-made data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.libraries import medication_duration as cmd
from carenet_desktop.metrics.period import Period
from tests.measure_catalogue import get_measure
from tests.metrics.test_episode_edges import VSAC, build, encounter, order, patient, ts

METHYLPHENIDATE_VS = VSAC + "2.16.840.1.113883.3.464.1003.1176"
ATOMOXETINE_VS = VSAC + "2.16.840.1.113883.3.464.1003.1170"
OFFICE_VS = VSAC + "2.16.840.1.113883.3.464.1003.101.12.1001"
VIRTUAL_VS = VSAC + "2.16.840.1.113883.3.464.1003.101.12.1089"
INPATIENT_VS = VSAC + "2.16.840.1.113883.3.666.5.307"
MBND_VS = VSAC + "2.16.840.1.113883.3.464.1003.105.12.1203"
NARCOLEPSY_VS = VSAC + "2.16.840.1.113883.3.464.1003.114.12.1011"
PSYCH_PHARM_VS = VSAC + "2.16.840.1.113883.3.464.1003.101.12.1055"
AMBULATORY_VS = VSAC + "2.16.840.1.113883.3.464.1003.122.12.1003"

METHYLPHENIDATE = "rxnorm|1091133"
ATOMOXETINE = "rxnorm|349593"
OFFICE = "cpt|99213"
VIRTUAL = "cpt|98970"
INPATIENT = "snomed|32485007"
MBND = "snomed|105421000119105"
NARCOLEPSY = "snomed|735676003"
PSYCH_PHARM = "cpt|90849"
AMBULATORY = "snomed|35971002"

VALUESETS = {
    METHYLPHENIDATE_VS: [("rxnorm", "1091133")], ATOMOXETINE_VS: [("rxnorm", "349593")],
    OFFICE_VS: [("cpt", "99213")], VIRTUAL_VS: [("cpt", "98970")], INPATIENT_VS: [("snomed", "32485007")],
    MBND_VS: [("snomed", "105421000119105")], NARCOLEPSY_VS: [("snomed", "735676003")],
    PSYCH_PHARM_VS: [("cpt", "90849")], AMBULATORY_VS: [("snomed", "35971002")],
}

IPSD = pd.Timestamp("2025-01-10")
P2025 = Period.year(2025)


def day(offset: int) -> str:
    """The IPSD plus ``offset`` days, as text."""
    return (IPSD + pd.Timedelta(days=offset)).strftime("%Y-%m-%d")


def visit(offset: int, key: str = OFFICE, **more: Any) -> dict[str, Any]:
    return encounter(1, key, f"{day(offset)} 10:00", f"{day(offset)} 10:30", **more)


def adhd(start: str, supply: float | None = 240, key: str = METHYLPHENIDATE, status: str = "completed",
         **more: Any) -> dict[str, Any]:
    return order(1, key, f"{start} 08:00", status=status, supply_days=supply, **more)


def case(birth: str = "2016-06-01", meds: list[dict[str, Any]] | None = None,
         visits: list[dict[str, Any]] | None = None, **more: list[dict[str, Any]]) -> MeasureData:
    frames: dict[str, list[dict[str, Any]]] = {
        "patients": [patient(1, birth)],
        "medication_requests": meds if meds is not None else [adhd(day(0))],
        "encounters": [visit(-30)] + (visits or []),
    }
    for name, rows in more.items():
        frames[name] = frames.get(name, []) + rows
    return build(VALUESETS, **frames)


def rates(data: MeasureData, period: Period = P2025) -> list[dict[str, int]]:
    """Per group: population totals."""
    result = get_measure("CMS136").evaluate(data, period)
    out = []
    for g in (0, 1):
        rows = result[result["group_index"] == g]
        out.append({pop: int(rows[pop].fillna(False).astype(bool).sum())
                    for pop in ("initial-population", "denominator-exclusion", "numerator")})
    return out


def ip(data: MeasureData, period: Period = P2025) -> tuple[int, int]:
    r = rates(data, period)
    return r[0]["initial-population"], r[1]["initial-population"]


# ------------------------------------------------------------------------------------- intake and age


@pytest.mark.parametrize(("start", "period", "in_population"), [
    ("2024-03-01", P2025, True), ("2024-02-29", P2025, False),
    ("2025-02-28", P2025, True), ("2025-03-01", P2025, False),
    ("2024-02-29", Period.year(2024), True), ("2023-03-01", Period.year(2024), True),
])
def test_intake_period_march_to_february(start: str, period: Period, in_population: bool) -> None:
    data = case(meds=[adhd(start)], visits=[encounter(1, OFFICE, f"{start} 09:00", f"{start} 09:30")])
    assert ip(data, period)[0] == int(in_population)


@pytest.mark.parametrize(("birth", "in_population"), [
    ("2018-03-01", True), ("2018-03-02", False),   # 6 on March 1 of the prior year
    ("2012-03-01", True), ("2012-02-28", False),   # at most 12 on the last day of February
])
def test_age_6_to_12_over_the_intake_period(birth: str, in_population: bool) -> None:
    assert ip(case(birth=birth))[0] == int(in_population)


# ----------------------------------------------------------------------------- negative medication history


@pytest.mark.parametrize(("prior_end", "status", "new_episode"), [
    (day(-120), "active", False),    # overlaps the 120 days before the IPSD
    (day(-121), "active", True),     # ends the day before that window
    (day(-1), "active", False),
    (day(-1), "completed", True),    # only *active* medication counts as history
])
def test_120_day_negative_medication_history(prior_end: str, status: str, new_episode: bool) -> None:
    prior = adhd("2023-01-01", supply=None, key=ATOMOXETINE, status=status, boundary_start=ts("2023-01-01"),
                 boundary_end=ts(prior_end))
    assert ip(case(meds=[adhd(day(0)), prior]))[0] == int(new_episode)


def test_ipsd_is_the_earliest_new_prescription() -> None:
    data = case(meds=[adhd(day(0)), adhd(day(20))], visits=[visit(25)])
    # the visit on day 25 is an initiation visit only if the IPSD is day 0, not day 20
    assert rates(data)[0]["numerator"] == 1
    data = case(meds=[adhd(day(20), status="active"), adhd(day(0), status="active", supply=10)], visits=[visit(25)])
    # day 20's order follows an active one (day 0-9): the IPSD stays day 0
    assert rates(data)[0]["numerator"] == 1


# ---------------------------------------------------------------------------- qualifying encounter


@pytest.mark.parametrize(("when", "in_population"), [
    ("2024-07-10", True), ("2024-07-09", False), ("2025-01-10", True), ("2025-01-11", False),
])
def test_qualifying_visit_in_six_months_before_ipsd(when: str, in_population: bool) -> None:
    data = build(VALUESETS, patients=[patient(1, "2016-06-01")], medication_requests=[adhd(day(0))],
                 encounters=[encounter(1, OFFICE, f"{when} 09:00", f"{when} 09:30")])
    assert ip(data)[0] == int(in_population)


# ------------------------------------------------------------------------------------ inpatient stays


@pytest.mark.parametrize(("offset", "expected"), [
    (0, (1, 1)), (1, (0, 0)), (30, (0, 0)), (31, (1, 0)), (300, (1, 0)), (301, (1, 1)),
])
def test_inpatient_mental_health_stay_after_ipsd(offset: int, expected: tuple[int, int]) -> None:
    stay = visit(offset, INPATIENT, event_id=500)
    data = case(visits=[stay], conditions=[{"patient_id": 1, "event_id": 600, "key": MBND}],
                encounter_diagnoses=[{"encounter_id": 500, "condition_id": 600, "rank": 1}])
    assert ip(data) == expected


def test_inpatient_stay_needs_principal_mental_health_diagnosis() -> None:
    stay = visit(5, INPATIENT, event_id=500)
    data = case(visits=[stay], conditions=[{"patient_id": 1, "event_id": 600, "key": MBND}],
                encounter_diagnoses=[{"encounter_id": 500, "condition_id": 600, "rank": 2}])
    assert ip(data) == (1, 1)


# ---------------------------------------------------------------------------------------- numerators


@pytest.mark.parametrize(("offset", "numerator"), [(0, 0), (1, 1), (30, 1), (31, 0)])
def test_initiation_visit_within_30_days_after_ipsd(offset: int, numerator: int) -> None:
    assert rates(case(visits=[visit(offset)]))[0]["numerator"] == numerator


@pytest.mark.parametrize(("offsets", "numerator"), [
    ([31, 300], 1), ([30, 300], 0), ([31, 301], 0), ([40, 40], 0), ([40, 41], 1),
])
def test_two_more_visits_31_to_300_days_after(offsets: list[int], numerator: int) -> None:
    data = case(visits=[visit(10)] + [visit(o) for o in offsets])
    r = rates(data)
    assert r[1]["initial-population"] == 1
    assert r[1]["numerator"] == numerator


@pytest.mark.parametrize(("virtual_offsets", "numerator"), [([50], 1), ([40], 0), ([301], 0)])
def test_a_virtual_visit_can_be_the_second_continuation_visit(virtual_offsets: list[int], numerator: int) -> None:
    visits = [visit(10), visit(40)] + [visit(o, VIRTUAL) for o in virtual_offsets]
    assert rates(case(visits=visits))[1]["numerator"] == numerator


def test_virtual_visits_alone_are_not_enough() -> None:
    visits = [visit(10), visit(50, VIRTUAL), visit(60, VIRTUAL)]
    assert rates(case(visits=visits))[1]["numerator"] == 0


def test_continuation_numerator_needs_the_initiation_visit() -> None:
    assert rates(case(visits=[visit(40), visit(50)]))[1]["numerator"] == 0


@pytest.mark.parametrize(("location", "numerator"), [(AMBULATORY, 1), (None, 0), ("snomed|1111", 0)])
def test_psychotherapy_with_pharmacologic_management_only_at_ambulatory_location(location: str | None,
                                                                                  numerator: int) -> None:
    data = case(visits=[visit(5, PSYCH_PHARM, location_key=location)])
    assert rates(data)[0]["numerator"] == numerator


# ------------------------------------------------------------------------------- treatment days (CMD)


@pytest.mark.parametrize(("meds", "in_rate_2"), [
    ([adhd(day(0), supply=210)], True),
    ([adhd(day(0), supply=209)], False),
    ([adhd(day(0), supply=105), adhd(day(0), supply=105)], True),     # same drug: rolled out end to end
    ([adhd(day(0), supply=105), adhd(day(0), supply=105, key=ATOMOXETINE)], False),  # two drugs: overlap once
    ([adhd(day(0), supply=100), adhd(day(190), supply=110)], True),   # gaps do not matter, days do
    ([adhd(day(0), supply=100), adhd(day(190), supply=109)], False),
    ([adhd(day(0), supply=100), adhd(day(200), supply=110)], False),  # days after IPSD + 300 do not count
    ([adhd(day(0), supply=None, dose_quantity=1, timing_frequency=2, timing_period=1, timing_period_unit="d",
           dispense_quantity=420)], True),                             # 420 / (1 x 2 a day) = 210 days
    ([adhd(day(0), supply=None, dose_quantity=1, timing_frequency=2, timing_period=1, timing_period_unit="d",
           dispense_quantity=419)], False),                            # 209.5 days -> 209 (decimal days truncate)
    ([adhd(day(0), supply=70, repeats_allowed=2)], True),              # 70 x (1 + 2 refills)
])
def test_210_days_of_medication_in_the_300_days_after_ipsd(meds: list[dict[str, Any]], in_rate_2: bool) -> None:
    assert ip(case(meds=meds))[1] == int(in_rate_2)


def test_an_earlier_new_order_becomes_the_ipsd() -> None:
    # an earlier *completed* (not active) order 100 days before: no negative history for either order
    prior = adhd(day(-100), supply=100)
    data = case(meds=[prior, adhd(day(0), supply=200)])
    # the earlier order starts in the intake period and is itself new: it becomes the IPSD (day -100)
    assert ip(data) == (0, 0)  # no qualifying visit in the 6 months before day -100 (visit is on day -30)


# ------------------------------------------------------------------------------------------ exclusions


@pytest.mark.parametrize(("onset", "excluded"), [("2025-12-31 23:59", 1), ("2026-01-01 00:00", 0),
                                                ("2019-05-01", 1)])
def test_narcolepsy_starting_by_the_end_of_the_period(onset: str, excluded: int) -> None:
    data = case(conditions=[{"patient_id": 1, "key": NARCOLEPSY, "clinical_status": "active", "onset": ts(onset)}])
    r = rates(data)
    assert r[0]["denominator-exclusion"] == excluded


# ------------------------------------------------------------------------ CumulativeMedicationDuration


def _mr(**cols: Any) -> pd.DataFrame:
    base = {c: [None] for c in ("boundary_start", "boundary_end", "authored_on", "validity_start", "timing_frequency",
                                "timing_period", "timing_period_unit", "dispense_quantity", "dose_quantity",
                                "supply_days", "repeats_allowed")}
    base.update({k: [v] for k, v in cols.items()})
    frame = pd.DataFrame(base)
    for c in ("boundary_start", "boundary_end", "authored_on", "validity_start"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


@pytest.mark.parametrize(("cols", "expected"), [
    ({"authored_on": "2025-01-02 15:00", "supply_days": 30}, ("2025-01-02", "2025-01-31")),
    ({"boundary_start": "2025-01-05", "authored_on": "2025-01-02", "supply_days": 1}, ("2025-01-05", "2025-01-05")),
    ({"validity_start": "2025-02-01", "supply_days": 10}, ("2025-02-01", "2025-02-10")),
    ({"authored_on": "2025-01-01", "boundary_end": "2025-01-20 23:00"}, ("2025-01-01", "2025-01-20")),
    ({"authored_on": "2025-01-01", "dispense_quantity": 30, "dose_quantity": 1, "timing_frequency": 1,
      "timing_period": 1, "timing_period_unit": "wk"}, ("2025-01-01", "2025-07-29")),  # 210 days
    ({"authored_on": "2025-01-01", "dispense_quantity": 60, "dose_quantity": 2, "timing_frequency": 3,
      "timing_period": 1, "timing_period_unit": "d", "repeats_allowed": 1}, ("2025-01-01", "2025-01-20")),
    ({"authored_on": "2025-01-01", "dispense_quantity": 60, "dose_quantity": 2}, (None, None)),  # no frequency
    ({"authored_on": "2025-01-01"}, (None, None)),
    ({"supply_days": 30}, (None, None)),  # no start
])
def test_medication_request_period(cols: dict[str, Any], expected: tuple[str | None, str | None]) -> None:
    got = cmd.medication_request_period(_mr(**cols)).iloc[0]
    want = tuple(pd.Timestamp(x) if x else pd.NaT for x in expected)
    assert (got["start"], got["end"]) == want or (pd.isna(got["start"]) and want[0] is pd.NaT
                                                  and pd.isna(got["end"]))


def test_doses_per_day_units() -> None:
    got = cmd.doses_per_day([2, 1, 1, 3, None], [1, 8, 2, 1, 1], ["d", "h", "wk", "mo", "d"])
    np.testing.assert_allclose(got[:4], [2.0, 3.0, 1 / 14, 0.1], rtol=1e-7)
    assert np.isnan(got[4])


def test_rollout_lays_overlapping_intervals_end_to_end_per_group() -> None:
    keys = pd.DataFrame({"patient_id": [1, 1, 1, 2], "drug": [0, 0, 1, 0]})
    start = pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-01", "2025-01-03"]).to_numpy()
    end = pd.to_datetime(["2025-01-10", "2025-01-06", "2025-01-10", "2025-01-03"]).to_numpy()
    rs, re_ = cmd.rollout_intervals(keys, start, end)
    assert list(pd.to_datetime(rs).strftime("%m-%d")) == ["01-01", "01-11", "01-01", "01-03"]
    assert list(pd.to_datetime(re_).strftime("%m-%d")) == ["01-10", "01-12", "01-10", "01-03"]


def test_rollout_keeps_later_start_after_a_gap() -> None:
    keys = pd.Series([1, 1, 1], name="patient_id")
    start = pd.to_datetime(["2025-01-01", "2025-01-03", "2025-03-01"]).to_numpy()
    end = pd.to_datetime(["2025-01-05", "2025-01-04", "2025-03-02"]).to_numpy()
    rs, re_ = cmd.rollout_intervals(keys, start, end)
    assert list(pd.to_datetime(re_).strftime("%m-%d")) == ["01-05", "01-07", "03-02"]
    assert list(pd.to_datetime(rs).strftime("%m-%d")) == ["01-01", "01-06", "03-01"]


def test_cumulative_duration_counts_distinct_days() -> None:
    keys = pd.Series([1, 1, 1, 2, 3], name="patient_id")
    start = pd.to_datetime(["2025-01-01", "2025-01-05", "2025-02-01", "2025-01-01", None]).to_numpy()
    end = pd.to_datetime(["2025-01-10", "2025-01-12", "2025-02-01", "2025-01-01", None]).to_numpy()
    got = cmd.cumulative_duration(keys, start, end)
    assert got.to_dict() == {1: 13, 2: 1}  # patient 3 has only a null interval: no total (CQL null)


def test_intersect_clips_and_nulls_disjoint_intervals() -> None:
    start = pd.to_datetime(["2025-01-01", "2025-05-01"]).to_numpy()
    end = pd.to_datetime(["2025-03-01", "2025-06-01"]).to_numpy()
    lo = pd.to_datetime(["2025-02-01", "2025-01-01"]).to_numpy()
    hi = pd.to_datetime(["2025-04-01", "2025-04-30"]).to_numpy()
    s, e = cmd.intersect(start, end, lo, hi)
    assert pd.Timestamp(s[0]) == pd.Timestamp("2025-02-01") and pd.Timestamp(e[0]) == pd.Timestamp("2025-03-01")
    assert pd.isna(s[1]) and pd.isna(e[1])


def test_cumulative_medication_duration_rolls_out_dispenses() -> None:
    requests = _mr(authored_on="2025-01-01", supply_days=10).assign(patient_id=1)
    dispenses = pd.DataFrame({"patient_id": [1, 1], "when_start": pd.to_datetime(["2025-01-01", "2025-01-02"]),
                              "days_supply": [5, 5]})
    # request covers Jan 1-10; dispenses roll out to Jan 1-5 and Jan 6-10: 10 distinct days in all
    assert cmd.cumulative_medication_duration(requests, dispenses).to_dict() == {1: 10}


def test_cms136_intake_period_follows_the_start_year_of_the_window() -> None:
    """Issue 23's finding: the CQL fixes the intake period by the year of the start of the measurement period,
    so the rolling windows ending January-November 2025 (starting in 2024) share one intake period and the
    window ending in December (calendar 2025) has the next: flat, then a step. The measure says so."""
    import datetime as dt

    from carenet_desktop.metrics.measures.cms136 import intake_period
    from carenet_desktop.metrics.period import Period
    from tests.measure_catalogue import get_measure

    windows = [Period(dt.date(2024, m, 1), dt.date(2025, m - 1, 28)) for m in range(2, 13)]
    assert {intake_period(w) for w in windows} == {(dt.date(2023, 3, 1), dt.date(2024, 2, 29))}
    assert intake_period(Period.year(2025)) == (dt.date(2024, 3, 1), dt.date(2025, 2, 28))
    assert "intake period" in (get_measure("CMS136").rolling_note or "")
    assert get_measure("CMS117").rolling_note is None
