"""CMS153, CMS2, CMS75 and CMS74 on hand-made patients: the edges the specification names."""

from __future__ import annotations

import pandas as pd
import pytest

from carenet_desktop.metrics.data import COLUMNS, MeasureData
from carenet_desktop.metrics.measures import cms2, cms74, cms75, cms153
from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.valuesets import ValueSetIndex
from tests.measure_catalogue import get_measure

P2025 = Period.year(2025)
TIME_COLUMNS = {"start", "end", "onset", "abatement", "effective_start", "effective_end", "authored_on", "birth_date",
                "performed_start", "performed_end", "issued", "recorded", "occurrence", "boundary_start",
                "boundary_end", "validity_start", "validity_end"}


def frame(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(COLUMNS[name]) + (["date_only"] if any("date_only" in r for r in rows) else []))
    if "event_id" in out.columns:
        out["event_id"] = range(1, len(out) + 1)
    for col in out.columns:
        if col in TIME_COLUMNS:
            out[col] = pd.to_datetime(out[col], format="mixed")
    return out


def populations(measure_id: str, data: MeasureData) -> dict[int, dict[str, bool]]:
    """{patient_id: {population: bool}} of the (single-group, patient-based) measure."""
    rows = get_measure(measure_id).evaluate(data, P2025)
    cols = ["initial-population", "denominator", "denominator-exclusion", "denominator-exception", "numerator"]
    flags = rows.set_index("patient_id")[cols].fillna(False).astype(bool)
    return {int(pid): flags.loc[pid].to_dict() for pid in flags.index}


def patients(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return frame("patients", [{"patient_id": pid, "birth_date": born, "sex": sex} for pid, born, sex in rows])


# --- CMS74 / CMS75 ------------------------------------------------------------------------------------------

ORAL = ("cdt", "D0120")
VARNISH = ("snomed", "313042009")
CARIES = ("snomed", "80967001")


@pytest.fixture
def dental_valuesets() -> ValueSetIndex:
    return ValueSetIndex({cms75.CLINICAL_ORAL_EVALUATION: [ORAL], cms74.FLUORIDE_VARNISH: [VARNISH],
                          cms75.DENTAL_CARIES: [CARIES]})


def oral_visit(pid: int, when: str = "2025-03-01 09:00") -> dict[str, object]:
    return {"patient_id": pid, "status": "finished", "key": "cdt|D0120", "start": when, "end": when}


def test_cms74_counts_distinct_days_within_the_period(dental_valuesets: ValueSetIndex) -> None:
    data = MeasureData(valuesets=dental_valuesets)
    data.patients = patients((1, "2015-06-01", "female"), (2, "2015-06-01", "male"), (3, "2015-06-01", "male"),
                             (4, "2015-06-01", "male"), (5, "2004-01-01", "male"), (6, "2024-01-02", "male"))
    data.encounters = frame("encounters", [oral_visit(p) for p in (1, 2, 3, 4, 5, 6)])

    def varnish(pid: int, start: str, end: str, status: str = "completed") -> dict[str, object]:
        return {"patient_id": pid, "status": status, "key": "snomed|313042009", "performed_start": start,
                "performed_end": end}

    data.procedures = frame("procedures", [
        varnish(1, "2025-02-01 10:00", "2025-02-01 10:10"), varnish(1, "2025-08-01", "2025-08-01"),  # 2 days
        varnish(2, "2025-02-01 10:00", "2025-02-01 10:10"), varnish(2, "2025-02-01 15:00", "2025-02-01 15:05"),  # 1 day
        varnish(3, "2025-02-01", "2025-02-01"), varnish(3, "2025-12-31 23:00", "2026-01-01 00:30"),  # ends after
        varnish(4, "2025-02-01", "2025-02-01"), varnish(4, "2025-05-01", "2025-05-01", status="not-done"),
        varnish(5, "2025-02-01", "2025-02-01"), varnish(5, "2025-05-01", "2025-05-01"),
    ])
    got = populations("CMS74", data)
    assert set(got) == {1, 2, 3, 4}  # 5 is 21 at the start of the period, 6 is 11 months old
    assert [got[p]["numerator"] for p in (1, 2, 3, 4)] == [True, False, False, False]


def test_cms75_prevalence_edges(dental_valuesets: ValueSetIndex) -> None:
    data = MeasureData(valuesets=dental_valuesets)
    data.patients = patients(*((p, "2010-01-01", "male") for p in (1, 2, 3, 4)))
    data.encounters = frame("encounters", [oral_visit(p) for p in (1, 2, 3, 4)] + [
        {"patient_id": 4, "status": "cancelled", "key": "cdt|D0120", "start": "2025-05-01", "end": "2025-05-01"}])
    data.conditions = frame("conditions", [
        {"patient_id": 1, "key": "snomed|80967001", "clinical_status": "active", "onset": "2023-01-01"},
        {"patient_id": 2, "key": "snomed|80967001", "clinical_status": "resolved", "onset": "2023-01-01"},
        {"patient_id": 3, "key": "snomed|80967001", "clinical_status": "resolved", "onset": "2023-01-01",
         "abatement": "2025-01-01 00:00"},
    ])
    got = populations("CMS75", data)
    assert {p: got[p]["numerator"] for p in got} == {1: True, 2: False, 3: True, 4: False}
    assert get_measure("CMS75").improvement == "decrease"


# --- CMS153 ---------------------------------------------------------------------------------------------

PREGNANCY_TEST = ("loinc", "19080-1")
XRAY = ("loinc", "24535-7")
PAP = ("loinc", "10524-7")
VISIT = ("cpt", "99395")
CHLAMYDIA = ("loinc", "14463-4")
ISOTRETINOIN = ("rxnorm", "1547561")


@pytest.fixture
def chlamydia_data() -> MeasureData:
    vs = ValueSetIndex({cms153.PREGNANCY_TEST: [PREGNANCY_TEST], cms153.XRAY_STUDY: [XRAY], cms153.PAP_TEST: [PAP],
                        cms153.OFFICE_VISIT: [VISIT], cms153.CHLAMYDIA_SCREENING: [CHLAMYDIA],
                        cms153.ISOTRETINOIN: [ISOTRETINOIN]})
    data = MeasureData(valuesets=vs)
    data.patients = patients(*((p, "2005-06-01", "female") for p in range(1, 8)), (8, "2005-06-01", "male"),
                             (9, "2010-06-01", "female"))
    data.encounters = frame("encounters", [
        {"patient_id": p, "status": "finished", "key": "cpt|99395", "start": "2025-01-01 09:00", "end": "2025-01-01 09:30"}
        for p in range(1, 10)])
    return data


def order(pid: int, code: tuple[str, str], authored: str, **extra: object) -> dict[str, object]:
    return {"patient_id": pid, "status": "completed", "intent": "order", "key": f"{code[0]}|{code[1]}",
            "authored_on": authored, **extra}


def test_cms153_pregnancy_test_exclusion(chlamydia_data: MeasureData) -> None:
    data = chlamydia_data
    data.service_requests = frame("service_requests", [
        order(1, PREGNANCY_TEST, "2025-03-01 10:00"), order(1, XRAY, "2025-03-07 23:00"),  # 6 days later
        order(2, PREGNANCY_TEST, "2025-03-01 10:00"), order(2, XRAY, "2025-03-08 00:00"),  # 7 days later
        order(3, PREGNANCY_TEST, "2025-03-01 10:00"), order(3, XRAY, "2025-03-01 08:00"),  # same day (day precision)
        order(4, PREGNANCY_TEST, "2025-03-01 10:00"), order(4, XRAY, "2025-03-02"), order(4, PAP, "2025-04-01"),
        order(5, PREGNANCY_TEST, "2025-01-01", date_only="authored_on occurrence"), order(5, XRAY, "2025-01-02"),
        order(7, PREGNANCY_TEST, "2025-05-01"), order(8, PREGNANCY_TEST, "2025-05-01"), order(9, PREGNANCY_TEST, "2025-05-01"),
    ])
    data.medication_requests = frame("medication_requests", [order(6, ISOTRETINOIN, "2025-05-03")])
    data.service_requests = pd.concat([data.service_requests, frame("service_requests", [
        {**order(6, PREGNANCY_TEST, "2025-05-01"), "date_only": None}])], ignore_index=True)
    data.observations = frame("observations", [
        {"patient_id": 7, "status": "final", "category": "laboratory", "key": "loinc|14463-4", "value_num": 1.0,
         "effective_start": "2025-06-01", "effective_end": "2025-06-01"}])
    got = populations("CMS153", data)
    assert set(got) == {1, 2, 3, 4, 5, 6, 7}  # 8 is male, 9 is 15
    assert {p: got[p]["denominator-exclusion"] for p in got} == {
        1: True, 2: False, 3: True, 4: False,  # 4 also had a Pap test: sexually active anyway
        5: False,  # a date-only order on Jan 1 is not "during" the period at full precision
        6: True, 7: False,
    }
    assert got[7]["numerator"] and not got[1]["numerator"]


# --- CMS2 ----------------------------------------------------------------------------------------------

SCREEN_VISIT = ("snomed", "10197000")
ADOLESCENT = ("loinc", "73831-0")
ADULT = ("loinc", "73832-8")
NEGATIVE = "snomed|428171000124102"
POSITIVE = "snomed|428181000124104"
REFERRAL_ADULT = ("snomed", "306136006")
BIPOLAR = ("snomed", "13746004")
MEDICAL_REASON = ("snomed", "183932001")


@pytest.fixture
def depression_data() -> MeasureData:
    vs = ValueSetIndex({cms2.ENCOUNTER_TO_SCREEN: [SCREEN_VISIT], cms2.REFERRAL_ADULT: [REFERRAL_ADULT],
                        cms2.BIPOLAR_DISORDER: [BIPOLAR], cms2.MEDICAL_REASON: [MEDICAL_REASON]})
    return MeasureData(valuesets=vs)


def screening(pid: int, code: tuple[str, str], when: str, value: str | None, status: str = "final") -> dict[str, object]:
    return {"patient_id": pid, "status": status, "key": f"{code[0]}|{code[1]}", "effective_start": when,
            "effective_end": when, "value_key": value, "category": "survey"}


def test_cms2_screening_window_age_tools_and_follow_up(depression_data: MeasureData) -> None:
    data = depression_data
    data.patients = patients((1, "2000-01-01", "male"), (2, "2000-01-01", "male"), (3, "2007-12-31", "male"),
                             (4, "2008-06-01", "male"), (5, "2000-01-01", "male"), (6, "2000-01-01", "male"),
                             (7, "2000-01-01", "male"), (8, "2013-01-02", "male"), (9, "2000-01-01", "male"))
    data.encounters = frame("encounters", [
        {"patient_id": p, "status": "finished", "key": "snomed|10197000", "start": "2025-06-28 08:00",
         "end": "2025-06-28 08:15"} for p in range(1, 10)])
    data.observations = frame("observations", [
        screening(1, ADULT, "2025-06-14 23:00", NEGATIVE),  # 14 days before: counts
        screening(2, ADULT, "2025-06-13 09:00", NEGATIVE),  # 15 days before: does not
        screening(3, ADULT, "2025-06-28 07:00", NEGATIVE),  # 17 at the start of 2025: adult tool counts
        screening(4, ADULT, "2025-06-28 07:00", NEGATIVE),  # 16: only the adolescent tool counts
        screening(5, ADULT, "2025-06-20", POSITIVE),  # positive, referral 2 days after the visit
        screening(6, ADULT, "2025-06-20", POSITIVE),  # positive, referral 3 days after
        screening(7, ADULT, "2025-06-01", NEGATIVE), screening(7, ADULT, "2025-06-20", POSITIVE),  # latest positive
        screening(9, ADULT, "2025-06-20", NEGATIVE, status="amended"),
        {"patient_id": 9, "status": "cancelled", "key": "loinc|73832-8", "issued": "2025-06-28 08:05",
         "status_reason_key": "snomed|183932001"},
    ])
    data.service_requests = frame("service_requests", [
        order(5, REFERRAL_ADULT, "2025-06-30 23:00"), order(6, REFERRAL_ADULT, "2025-07-01 00:00")])
    got = populations("CMS2", data)
    assert set(got) == set(range(1, 10)) - {8}  # 8 is 11 at the start of the period
    assert {p: got[p]["numerator"] for p in got} == {1: True, 2: False, 3: True, 4: False, 5: True, 6: False,
                                                      7: False, 9: False}
    assert {p for p in got if got[p]["denominator-exception"]} == {9}


def test_cms2_bipolar_exclusion_needs_problem_list_and_earlier_start(depression_data: MeasureData) -> None:
    data = depression_data
    data.patients = patients(*((p, "2000-01-01", "female") for p in (1, 2, 3, 4)))
    data.encounters = frame("encounters", [
        {"patient_id": p, "status": "finished", "key": "snomed|10197000", "start": "2025-06-28 08:00",
         "end": "2025-06-28 08:15"} for p in (1, 2, 3, 4)])
    data.conditions = frame("conditions", [
        {"patient_id": 1, "key": "snomed|13746004", "category": "problem-list-item", "clinical_status": "remission",
         "onset": "2020-01-01", "abatement": "2024-12-31"},
        {"patient_id": 2, "key": "snomed|13746004", "category": "encounter-diagnosis", "clinical_status": "active",
         "onset": "2020-01-01"},
        {"patient_id": 3, "key": "snomed|13746004", "category": "health-concern", "clinical_status": "active",
         "onset": "2025-06-28 08:00"},  # starts with the visit, not before
        {"patient_id": 4, "key": "snomed|13746004", "category": "health-concern", "clinical_status": "active",
         "onset": None},
    ])
    got = populations("CMS2", data)
    assert {p: got[p]["denominator-exclusion"] for p in got} == {1: True, 2: False, 3: False, 4: True}


@pytest.mark.parametrize("measure_id", ["CMS153", "CMS2", "CMS75", "CMS74"])
def test_no_data_no_rows(measure_id: str) -> None:
    data = MeasureData()
    data.patients = patients((1, "2005-01-01", "female"))
    result = get_measure(measure_id).evaluate(data, P2025)
    assert result.empty
