"""Day-window boundaries of the episode-based measures CMS146, CMS154 and CMS177, on hand-made data.

Each test builds a one- or two-patient ``MeasureData`` whose only difference between the cases is the
date at the edge of a window (day 3 vs day 4, 30 vs 31 days, ...).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from carenet_desktop.metrics.data import COLUMNS, MeasureData
from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.valuesets import ValueSetIndex
from tests.measure_catalogue import get_measure

VSAC = "http://cts.nlm.nih.gov/fhir/ValueSet/"
OFFICE_VISIT = VSAC + "2.16.840.1.113883.3.464.1003.101.12.1001"
TELEPHONE = VSAC + "2.16.840.1.113883.3.464.1003.101.12.1080"
PHARYNGITIS = VSAC + "2.16.840.1.113883.3.464.1003.102.12.1011"
URI = VSAC + "2.16.840.1.113883.3.464.1003.102.12.1022"
ANTIBIOTICS = VSAC + "2.16.840.1.113883.3.464.1003.196.12.1001"
COMORBID = VSAC + "2.16.840.1.113883.3.464.1003.102.12.1025"
COMPETING = VSAC + "2.16.840.1.113883.3.464.1003.102.12.1017"
STREP_TEST = VSAC + "2.16.840.1.113883.3.464.1003.198.12.1012"
PSYCH_PSYCHOTHERAPY = VSAC + "2.16.840.1.113883.3.526.3.1496"
MDD = VSAC + "2.16.840.1.113883.3.526.3.1491"

OFFICE = "cpt|99213"
PHONE = "snomed|185317003"
PHARYNGITIS_CODE = "snomed|1532007"
URI_CODE = "snomed|54398005"
AMOXICILLIN = "rxnorm|308182"
COMORBID_CODE = "snomed|10041001"
COMPETING_CODE = "snomed|102361000119104"
STREP_CODE = "loinc|17898-8"
PSYCHOTHERAPY = "cpt|90832"
MDD_CODE = "snomed|10811121000119102"
SUICIDE_RISK = "snomed|225337009"

VALUESETS = {
    OFFICE_VISIT: [("cpt", "99213")], TELEPHONE: [("snomed", "185317003")],
    PHARYNGITIS: [("snomed", "1532007")], URI: [("snomed", "54398005")], ANTIBIOTICS: [("rxnorm", "308182")],
    COMORBID: [("snomed", "10041001")], COMPETING: [("snomed", "102361000119104")],
    STREP_TEST: [("loinc", "17898-8")], PSYCH_PSYCHOTHERAPY: [("cpt", "90832")], MDD: [("snomed", "10811121000119102")],
}

_TIMES = {"birth_date", "deceased_date", "start", "end", "onset", "abatement", "recorded", "effective_start",
          "effective_end", "issued", "performed_start", "performed_end", "occurrence", "authored_on",
          "boundary_start", "boundary_end", "validity_start", "validity_end", "when_start", "when_end",
          "placed_on", "scheduled_on", "seen_on", "report_received_on", "closed_on", "lost_on"}

P2025 = Period.year(2025)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def build(valuesets: dict[str, list[tuple[str, str]]] | None = None, **frames: list[dict[str, Any]]) -> MeasureData:
    """A MeasureData from lists of row dicts (missing columns empty, timestamps as datetime64[us]).

    Rows without ``event_id`` are numbered; encounter rows accept ``location_key``.
    """
    data = MeasureData(valuesets=ValueSetIndex(valuesets or VALUESETS))
    next_id = 1000
    for name, rows in frames.items():
        columns = list(COLUMNS[name])
        extra = sorted({k for r in rows for k in r} - set(columns))
        table = []
        for row in rows:
            row = dict(row)
            if "event_id" in columns and "event_id" not in row:
                next_id += 1
                row["event_id"] = next_id
            table.append(row)
        frame = pd.DataFrame(table, columns=columns + extra)
        for col in frame.columns:
            if col in _TIMES:
                frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
        setattr(data, name, frame)
    return data


def patient(pid: int, birth: str) -> dict[str, Any]:
    return {"patient_id": pid, "birth_date": ts(birth), "sex": "female"}


def encounter(pid: int, key: str, start: str, end: str, status: str = "finished", **more: Any) -> dict[str, Any]:
    return {"patient_id": pid, "status": status, "key": key, "start": ts(start), "end": ts(end), **more}


def condition(pid: int, key: str, onset: str, **more: Any) -> dict[str, Any]:
    return {"patient_id": pid, "key": key, "clinical_status": "active", "onset": ts(onset), **more}


def order(pid: int, key: str, authored: str, status: str = "active", **more: Any) -> dict[str, Any]:
    return {"patient_id": pid, "key": key, "status": status, "intent": "order", "authored_on": ts(authored), **more}


def counts(measure_id: str, data: MeasureData, period: Period = P2025) -> dict[str, int]:
    """Population totals (episodes summed) over all patients."""
    result = get_measure(measure_id).evaluate(data, period)
    out = {}
    for pop in ("initial-population", "denominator", "denominator-exclusion", "numerator"):
        if pop in result.columns and result[pop].notna().any():
            out[pop] = int(result[pop].fillna(False).astype(bool).sum())
    return out


# ----------------------------------------------------------------------------------------------- CMS146


def pharyngitis_case(order_day: str = "2025-03-13", test_day: str | None = None, enc_day: str = "2025-03-10",
                     birth: str = "2015-05-05", **more: list[dict[str, Any]]) -> MeasureData:
    frames: dict[str, list[dict[str, Any]]] = {
        "patients": [patient(1, birth)],
        "encounters": [encounter(1, OFFICE, f"{enc_day} 09:00", f"{enc_day} 09:30")],
        "conditions": [condition(1, PHARYNGITIS_CODE, f"{enc_day} 09:10")],
        "medication_requests": [order(1, AMOXICILLIN, f"{order_day} 12:00")],
    }
    if test_day is not None:
        frames["observations"] = [{"patient_id": 1, "key": STREP_CODE, "status": "final", "category": "laboratory",
                                   "effective_start": ts(f"{test_day} 10:00"), "effective_end": ts(f"{test_day} 10:00"),
                                   "value_text": "negative"}]
    for name, rows in more.items():
        frames[name] = frames.get(name, []) + rows
    return build(**frames)


@pytest.mark.parametrize(("order_day", "in_population"), [
    ("2025-03-10", True), ("2025-03-13", True), ("2025-03-14", False), ("2025-03-09", False),
])
def test_cms146_antibiotic_within_three_days_of_the_visit(order_day: str, in_population: bool) -> None:
    assert counts("CMS146", pharyngitis_case(order_day=order_day)).get("initial-population", 0) == int(in_population)


@pytest.mark.parametrize(("test_day", "tested"), [
    ("2025-03-07", True), ("2025-03-13", True), ("2025-03-06", False), ("2025-03-14", False),
])
def test_cms146_strep_test_three_days_either_side(test_day: str, tested: bool) -> None:
    c = counts("CMS146", pharyngitis_case(test_day=test_day))
    assert c["denominator"] == 1
    assert c["numerator"] == int(tested)


def test_cms146_strep_test_needs_a_result() -> None:
    data = pharyngitis_case(test_day="2025-03-10")
    data.observations["value_text"] = None
    assert counts("CMS146", data)["numerator"] == 0


@pytest.mark.parametrize(("enc_day", "in_population"), [("2025-12-28", True), ("2025-12-29", False)])
def test_cms146_visit_must_end_three_days_before_period_end(enc_day: str, in_population: bool) -> None:
    data = pharyngitis_case(enc_day=enc_day, order_day=enc_day)
    assert counts("CMS146", data).get("initial-population", 0) == int(in_population)


@pytest.mark.parametrize(("birth", "in_population"), [("2022-01-01", True), ("2022-01-02", False)])
def test_cms146_three_years_at_period_start(birth: str, in_population: bool) -> None:
    assert counts("CMS146", pharyngitis_case(birth=birth)).get("initial-population", 0) == int(in_population)


@pytest.mark.parametrize(("onset", "excluded"), [
    ("2025-03-10", True), ("2025-03-13", True), ("2025-03-14", False),
])
def test_cms146_competing_diagnosis_zero_to_three_days_after(onset: str, excluded: bool) -> None:
    data = pharyngitis_case(conditions=[condition(1, COMPETING_CODE, f"{onset} 08:00")])
    assert counts("CMS146", data)["denominator-exclusion"] == int(excluded)


@pytest.mark.parametrize(("onset", "excluded"), [
    ("2024-03-10", True), ("2024-03-09", False), ("2025-03-10", True), ("2025-03-11", False),
])
def test_cms146_comorbid_condition_in_the_year_before(onset: str, excluded: bool) -> None:
    data = pharyngitis_case(conditions=[condition(1, COMORBID_CODE, f"{onset} 23:00")])
    assert counts("CMS146", data)["denominator-exclusion"] == int(excluded)


@pytest.mark.parametrize(("bounds", "excluded"), [
    (("2025-02-08", "2025-02-08"), True),   # ends on episode day - 30
    (("2025-01-01", "2025-02-07"), False),  # ends on episode day - 31
    (("2025-03-09", "2025-03-20"), True),   # starts on episode day - 1
    (("2025-03-10", "2025-03-20"), False),  # starts on the episode day
])
def test_cms146_antibiotic_history_in_the_30_days_before(bounds: tuple[str, str], excluded: bool) -> None:
    prior = order(1, AMOXICILLIN, bounds[0], boundary_start=ts(bounds[0]), boundary_end=ts(bounds[1]))
    data = pharyngitis_case(medication_requests=[prior])
    assert counts("CMS146", data)["denominator-exclusion"] == int(excluded)


def test_cms146_antibiotic_history_only_counts_active_requests() -> None:
    prior = order(1, AMOXICILLIN, "2025-02-20", status="completed", boundary_start=ts("2025-02-20"),
                  boundary_end=ts("2025-03-01"))
    assert counts("CMS146", pharyngitis_case(medication_requests=[prior]))["denominator-exclusion"] == 0


def test_cms146_each_visit_is_an_episode() -> None:
    data = pharyngitis_case(
        encounters=[encounter(1, PHONE, "2025-06-01 10:00", "2025-06-01 10:20")],
        conditions=[condition(1, PHARYNGITIS_CODE, "2025-06-01 10:05")],
        medication_requests=[order(1, AMOXICILLIN, "2025-06-02")],
    )
    result = get_measure("CMS146").evaluate(data, P2025)
    assert len(result) == 2
    assert sorted(result["episode_id"]) == sorted(data.encounters["event_id"])


# ----------------------------------------------------------------------------------------------- CMS154


def uri_case(birth: str = "2015-05-05", **more: list[dict[str, Any]]) -> MeasureData:
    frames: dict[str, list[dict[str, Any]]] = {
        "patients": [patient(1, birth)],
        "encounters": [encounter(1, OFFICE, "2025-03-10 09:00", "2025-03-10 09:30")],
        "conditions": [condition(1, URI_CODE, "2025-03-10 09:05")],
    }
    for name, rows in more.items():
        frames[name] = frames.get(name, []) + rows
    return build(**frames)


@pytest.mark.parametrize(("authored", "appropriate"), [
    ("2025-03-10 09:00", False), ("2025-03-13 09:00", False), ("2025-03-13 09:01", True), ("2025-03-10 08:59", True),
])
def test_cms154_antibiotic_within_three_days_after_visit_start(authored: str, appropriate: bool) -> None:
    data = uri_case(medication_requests=[order(1, AMOXICILLIN, authored, status="completed")])
    c = counts("CMS154", data)
    assert c["denominator"] == 1
    assert c["numerator"] == int(appropriate)


@pytest.mark.parametrize(("authored", "appropriate"), [
    ("2025-03-10", True),   # a date without time on the visit day: "on or after 09:00" is uncertain in CQL
    ("2025-03-11", False),
    ("2025-03-13", True),   # uncertain again on the last day
])
def test_cms154_date_only_antibiotic_order(authored: str, appropriate: bool) -> None:
    data = uri_case(medication_requests=[order(1, AMOXICILLIN, authored, status="completed", date_only="authored_on")])
    assert counts("CMS154", data)["numerator"] == int(appropriate)


def test_cms154_no_antibiotic_is_appropriate_and_rate_direction() -> None:
    assert counts("CMS154", uri_case())["numerator"] == 1
    assert get_measure("CMS154").improvement == "increase"


@pytest.mark.parametrize(("birth", "in_population"), [("2024-10-01", True), ("2024-10-02", False)])
def test_cms154_three_months_at_period_start(birth: str, in_population: bool) -> None:
    assert counts("CMS154", uri_case(birth=birth)).get("initial-population", 0) == int(in_population)


@pytest.mark.parametrize(("onset", "abatement", "status", "in_population"), [
    ("2025-03-01", None, "active", True),           # started before and still prevalent
    ("2025-03-01", "2025-03-05", "resolved", False),  # resolved before the visit
    ("2025-03-11", None, "active", False),          # starts after the visit
])
def test_cms154_uri_prevalent_at_the_visit(onset: str, abatement: str | None, status: str, in_population: bool) -> None:
    data = uri_case()
    data.conditions = build(conditions=[condition(1, URI_CODE, onset, clinical_status=status,
                                                  abatement=ts(abatement) if abatement else None)]).conditions
    assert counts("CMS154", data).get("initial-population", 0) == int(in_population)


@pytest.mark.parametrize(("onset", "excluded"), [("2025-03-13", True), ("2025-03-14", False)])
def test_cms154_competing_pharyngitis_up_to_three_days_after(onset: str, excluded: bool) -> None:
    data = uri_case(conditions=[condition(1, PHARYNGITIS_CODE, onset)])
    assert counts("CMS154", data)["denominator-exclusion"] == int(excluded)


def test_cms154_antibiotic_history_counts_any_request_status() -> None:
    prior = order(1, AMOXICILLIN, "2025-02-20", status="stopped", boundary_start=ts("2025-02-20"),
                  boundary_end=ts("2025-03-01"))
    assert counts("CMS154", uri_case(medication_requests=[prior]))["denominator-exclusion"] == 1


# ----------------------------------------------------------------------------------------------- CMS177


def mdd_case(birth: str = "2012-06-01", start: str = "2025-04-01 10:00", end: str = "2025-04-01 10:45",
             assessed: tuple[str, str] | None = ("2025-04-01 10:10", "2025-04-01 10:20"),
             reason: str | None = MDD_CODE) -> MeasureData:
    frames: dict[str, list[dict[str, Any]]] = {
        "patients": [patient(1, birth)],
        "encounters": [encounter(1, PSYCHOTHERAPY, start, end, reason_key=reason, event_id=1)],
    }
    if assessed is not None:
        frames["procedures"] = [{"patient_id": 1, "key": SUICIDE_RISK, "status": "completed",
                                 "performed_start": ts(assessed[0]), "performed_end": ts(assessed[1])}]
    return build(**frames)


@pytest.mark.parametrize(("birth", "in_population"), [
    ("2019-01-01", True), ("2019-01-02", False), ("2008-01-02", True), ("2008-01-01", False),
])
def test_cms177_aged_6_to_16_at_period_start(birth: str, in_population: bool) -> None:
    assert counts("CMS177", mdd_case(birth=birth)).get("initial-population", 0) == int(in_population)


@pytest.mark.parametrize(("assessed", "numerator"), [
    (("2025-04-01 10:00", "2025-04-01 10:45"), True),
    (("2025-04-01 09:59", "2025-04-01 10:10"), False),
    (("2025-04-01 10:40", "2025-04-01 10:46"), False),
])
def test_cms177_assessment_within_the_visit(assessed: tuple[str, str], numerator: bool) -> None:
    assert counts("CMS177", mdd_case(assessed=assessed))["numerator"] == int(numerator)


@pytest.mark.parametrize(("start", "end", "in_population"), [
    ("2025-12-31 23:00", "2025-12-31 23:50", True),
    ("2025-12-31 23:30", "2026-01-01 00:10", False),
    ("2024-12-31 23:50", "2025-01-01 00:20", False),
])
def test_cms177_visit_within_the_period(start: str, end: str, in_population: bool) -> None:
    data = mdd_case(start=start, end=end, assessed=None)
    assert counts("CMS177", data).get("initial-population", 0) == int(in_population)


def test_cms177_mdd_from_encounter_diagnosis() -> None:
    data = mdd_case(reason=None)
    assert counts("CMS177", data).get("initial-population", 0) == 0
    data.conditions = build(conditions=[{"patient_id": 1, "event_id": 77, "key": MDD_CODE}]).conditions
    data.encounter_diagnoses = build(encounter_diagnoses=[{"encounter_id": 1, "condition_id": 77}]).encounter_diagnoses
    assert counts("CMS177", data)["initial-population"] == 1


def test_cms177_has_no_exclusions() -> None:
    result = get_measure("CMS177").evaluate(mdd_case(), P2025)
    assert result["denominator-exclusion"].isna().all()
    assert dt.date(2025, 1, 1) == P2025.start


@pytest.mark.parametrize("measure_id", ["CMS146", "CMS154", "CMS177", "CMS136"])
def test_empty_data_gives_no_rows(measure_id: str) -> None:
    result = get_measure(measure_id).evaluate(MeasureData(), P2025)
    assert result.empty


def test_other_patients_do_not_change_an_episode() -> None:
    """Patient 2 (no antibiotic) neither joins the population nor changes patient 1's episode."""
    data = pharyngitis_case(test_day="2025-03-11",
                            patients=[patient(2, "2015-01-01")],
                            encounters=[encounter(2, OFFICE, "2025-03-10 09:00", "2025-03-10 09:30")],
                            conditions=[condition(2, PHARYNGITIS_CODE, "2025-03-10 09:10")])
    result = get_measure("CMS146").evaluate(data, P2025)
    assert list(result["patient_id"]) == [1]
    assert bool(result["numerator"].iloc[0])


def test_restrict_keeps_the_patients_codes_and_encounter_window() -> None:
    from carenet_desktop.metrics.measures._episodes import PatientSet, restrict

    data = build(
        patients=[patient(1, "2015-01-01"), patient(2, "2015-01-01"), patient(3, "2015-01-01")],
        encounters=[encounter(1, OFFICE, "2025-03-10 09:00", "2025-03-10 09:30", event_id=1),
                    encounter(1, OFFICE, "2023-03-10 09:00", "2023-03-10 09:30", event_id=2),
                    encounter(2, OFFICE, "2025-03-10 09:00", "2025-03-10 09:30", event_id=3),
                    encounter(3, PHONE, "2025-03-10 09:00", "2025-03-10 09:30", event_id=4)],
        conditions=[condition(1, URI_CODE, "2025-03-10", event_id=11), condition(1, COMORBID_CODE, "2025-03-10",
                                                                                  event_id=12)],
        encounter_diagnoses=[{"encounter_id": 1, "condition_id": 11}, {"encounter_id": 3, "condition_id": 12}],
    )
    keep = PatientSet([1, 3]) & PatientSet([1, 2])
    assert list(keep.ids()) == [1] and len(PatientSet([3, 1]) | PatientSet([2])) == 3
    sparse = PatientSet([5, 10**9])  # huge ids: no lookup table, same answers
    assert list(sparse.mask([5, 6, 10**9, -1])) == [True, False, True, False]
    assert list((sparse & PatientSet([5, 7])).ids()) == [5]
    small = restrict(data, keep, (P2025.start_ts, P2025.end_ts), codes={"conditions": (URI,)})
    assert list(small.patients["patient_id"]) == [1]
    assert list(small.encounters["event_id"]) == [1]
    assert list(small.conditions["event_id"]) == [11]
    assert list(small.encounter_diagnoses["encounter_id"]) == [1]
