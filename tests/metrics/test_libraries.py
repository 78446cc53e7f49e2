"""Shared eCQM libraries (Status, QICoreCommon, Hospice, CumulativeMedicationDuration) on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.data import COLUMNS, MeasureData
from carenet_desktop.metrics.libraries import hospice, status
from carenet_desktop.metrics.libraries.medication import (
    cumulative_days,
    date_interval_overlaps,
    doses_per_day,
    medication_request_period,
)
from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.primitives import overlaps
from carenet_desktop.metrics.valuesets import ValueSetIndex

P2025 = Period.year(2025)


def ts(*values: str | None) -> list[pd.Timestamp]:
    return list(pd.to_datetime(list(values), format="mixed"))


def frame(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """A frame of ``name`` with every column (missing values None/NaT) and event ids."""
    out = pd.DataFrame(rows, columns=list(COLUMNS[name]))
    if "event_id" in out.columns:
        out["event_id"] = range(1, len(out) + 1)
    for col in out.columns:
        if col in {"start", "end", "onset", "abatement", "effective_start", "effective_end", "authored_on",
                   "performed_start", "performed_end", "birth_date", "boundary_start", "boundary_end",
                   "validity_start", "validity_end", "issued", "recorded", "occurrence"}:
            out[col] = pd.to_datetime(out[col], format="mixed")
    return out


# --- Status -----------------------------------------------------------------------------------------------


def test_status_filters() -> None:
    enc = pd.DataFrame({"status": ["finished", "in-progress", "planned", "cancelled", "onleave", None]})
    assert status.encounter_performed(enc).tolist() == [True, True, False, False, True, False]
    assert status.encounter_finished(enc).tolist() == [True, False, False, False, False, False]
    proc = pd.DataFrame({"status": ["completed", "Completed", "not-done", "in-progress"]})
    assert status.procedure_performed(proc).tolist() == [True, True, False, False]
    assert status.intervention_performed(proc).tolist() == [True, True, False, False]
    assert status.immunization_administered(proc).tolist() == [True, True, False, False]
    obs = pd.DataFrame({"status": ["final", "amended", "corrected", "preliminary", "final", "cancelled"],
                        "category": ["survey", "survey", "laboratory", "survey", "vital-signs", "survey"]})
    assert status.observation_final(obs).tolist() == [True, True, True, False, True, False]
    assert status.assessment_performed(obs).tolist() == [True, True, False, False, False, False]
    assert status.laboratory_test_performed(obs).tolist() == [False, False, True, False, False, False]
    req = pd.DataFrame({"status": ["active", "completed", "active", "draft", "revoked"],
                        "intent": ["order", "order", "plan", "order", "order"]})
    assert status.request_order(req).tolist() == [True, True, False, False, False]
    assert status.laboratory_test_order(req).tolist() == status.request_order(req).tolist()
    assert status.medication_order(req).tolist() == [True, True, False, False, False]
    assert status.medication_active(req).tolist() == [True, False, False, False, False]


def test_filters_on_empty_frames() -> None:
    empty = frame("observations", [])
    assert status.assessment_performed(empty).tolist() == []
    assert status.has_value(empty).tolist() == []


def test_condition_helpers() -> None:
    cond = pd.DataFrame({"clinical_status": ["active", "recurrence", "relapse", "resolved", "remission", None],
                         "category": ["problem-list-item", "encounter-diagnosis", "health-concern", None,
                                      "problem-list-item", "encounter-diagnosis"]})
    assert status.condition_active(cond).tolist() == [True, True, True, False, False, False]
    assert status.problem_list_item(cond).tolist() == [True, False, False, False, True, False]
    assert status.health_concern(cond).tolist() == [False, False, True, False, False, False]
    assert status.encounter_diagnosis(cond).tolist() == [False, True, False, False, False, True]


def test_prevalence_interval() -> None:
    cond = frame("conditions", [
        {"clinical_status": "active", "onset": "2020-01-01"},  # ongoing
        # not active, no abatement: a NULL prevalence period in the reference engine (cql#1305), never counts
        {"clinical_status": "resolved", "onset": "2020-01-01"},
        {"clinical_status": "resolved", "onset": "2025-03-01"},  # ... even with its onset in the period
        {"clinical_status": "resolved", "onset": "2020-01-01", "abatement": "2024-12-31 23:59:59"},
        {"clinical_status": "inactive", "onset": "2020-01-01", "abatement": "2025-01-01"},
        {"clinical_status": "active", "onset": None, "abatement": None},  # no dates: always
        {"clinical_status": "active", "onset": "2026-01-01"},
    ])
    assert overlaps(status.prevalence_interval(cond), P2025).tolist() == [True, False, False, False, True, True, False]


def test_has_value_copes_with_read_only_arrays() -> None:
    obs = pd.DataFrame({"value_num": [1.0, np.nan, np.nan, np.nan], "value_key": [None, "snomed|1", "|", None],
                        "value_text": [None, None, None, "true"]})
    assert status.has_value(obs).tolist() == [True, True, False, True]


# --- Hospice ------------------------------------------------------------------------------------------------

VS_INPATIENT = hospice.VS_ENCOUNTER_INPATIENT
VS_HOSPICE_ENC = hospice.VS_HOSPICE_ENCOUNTER
VS_AMBULATORY = hospice.VS_HOSPICE_CARE_AMBULATORY
VS_DIAGNOSIS = hospice.VS_HOSPICE_DIAGNOSIS


@pytest.fixture
def valuesets() -> ValueSetIndex:
    return ValueSetIndex({
        VS_INPATIENT: [("snomed", "183452005")],
        VS_HOSPICE_ENC: [("snomed", "183921001")],
        VS_AMBULATORY: [("snomed", "385763009")],
        VS_DIAGNOSIS: [("snomed", "170935008")],
    })


def _enc(pid: int, code: str, start: str, end: str, discharge: str | None = None, status_: str = "finished") -> dict[str, object]:
    return {"patient_id": pid, "status": status_, "key": f"snomed|{code}", "start": start, "end": end,
            "discharge_key": f"snomed|{discharge}" if discharge else "|"}


def test_hospice_each_branch(valuesets: ValueSetIndex) -> None:
    home, facility = "428361000124107", "428371000124100"
    data = MeasureData(valuesets=valuesets)
    data.encounters = frame("encounters", [
        _enc(1, "183452005", "2025-12-31 00:00", "2025-12-31 01:00", facility),  # discharge ends in period
        _enc(2, "183452005", "2024-12-31 00:00", "2024-12-31 23:59:59", home),  # ends the day before
        _enc(3, "183452005", "2025-06-01", "2025-06-02", None),  # no hospice discharge
        _enc(4, "183921001", "2024-12-31 23:59:59", "2025-01-01 01:00"),  # hospice encounter overlaps
        _enc(5, "183921001", "2025-03-01", "2025-03-02", status_="cancelled"),  # not performed
        _enc(6, "183452005", "2026-01-01 00:00", "2026-01-01 01:00", home),  # ends after
    ])
    data.observations = frame("observations", [
        {"patient_id": 7, "status": "final", "category": "survey", "key": "loinc|45755-6", "value_key": "snomed|373066001",
         "effective_start": "2024-12-31", "effective_end": "2025-01-01 00:00"},
        {"patient_id": 8, "status": "final", "category": "survey", "key": "loinc|45755-6", "value_key": "snomed|373067005",
         "effective_start": "2025-02-01", "effective_end": "2025-02-01"},  # answered No
        {"patient_id": 9, "status": "final", "category": "laboratory", "key": "loinc|45755-6",
         "value_key": "snomed|373066001", "effective_start": "2025-02-01", "effective_end": "2025-02-01"},  # not a survey
    ])
    data.service_requests = frame("service_requests", [
        {"patient_id": 10, "status": "completed", "intent": "order", "key": "snomed|385763009", "authored_on": "2025-01-02"},
        {"patient_id": 11, "status": "completed", "intent": "plan", "key": "snomed|385763009", "authored_on": "2025-01-02"},
        {"patient_id": 12, "status": "active", "intent": "order", "key": "snomed|385763009", "authored_on": "2024-12-31 23:00"},
    ])
    data.procedures = frame("procedures", [
        {"patient_id": 13, "status": "completed", "key": "snomed|385763009",
         "performed_start": "2024-12-31", "performed_end": "2025-01-01 00:00"},
        {"patient_id": 14, "status": "not-done", "key": "snomed|385763009",
         "performed_start": "2025-05-01", "performed_end": "2025-05-01"},
    ])
    data.conditions = frame("conditions", [
        {"patient_id": 15, "clinical_status": "active", "key": "snomed|170935008", "onset": "2025-12-31 23:59:59"},
        {"patient_id": 16, "clinical_status": "resolved", "key": "snomed|170935008", "onset": "2024-01-01",
         "abatement": "2024-06-01"},
    ])
    found = set(hospice.has_hospice_services(data, P2025))
    assert found == {1, 4, 7, 10, 13, 15}


def test_hospice_without_data(valuesets: ValueSetIndex) -> None:
    assert hospice.has_hospice_services(MeasureData(valuesets=valuesets), P2025).empty


# --- CumulativeMedicationDuration ----------------------------------------------------------------------------


def test_medication_request_period() -> None:
    mr = frame("medication_requests", [
        # expected supply 30 days with one refill: 60 days from the authored date
        {"authored_on": "2025-01-10 10:00", "supply_days": 30, "repeats_allowed": 1},
        # 60 tablets, 1 tablet twice a day: 30 days
        {"authored_on": "2025-02-01", "dispense_quantity": 60, "dose_quantity": 1, "timing_frequency": 2,
         "timing_period": 1, "timing_period_unit": "d"},
        # the bounds start wins over authoredOn; no supply -> the bounds end
        {"authored_on": "2025-03-01", "boundary_start": "2025-03-05", "boundary_end": "2025-03-20"},
        # quantity but no frequency: CQL counts 0 doses a day -> null
        {"authored_on": "2025-04-01", "dispense_quantity": 30, "dose_quantity": 1},
        # nothing to go on
        {"authored_on": None},
        # validity start as the last resort; fractional days are truncated
        {"validity_start": "2025-05-01", "dispense_quantity": 10, "dose_quantity": 1, "timing_frequency": 3,
         "timing_period": 1, "timing_period_unit": "d"},
    ])
    out = medication_request_period(mr)
    assert out["start"].tolist()[:3] == ts("2025-01-10", "2025-02-01", "2025-03-05")
    assert out["end"].tolist()[:3] == ts("2025-03-10", "2025-03-02", "2025-03-20")
    assert out.iloc[3].isna().all() and out.iloc[4].isna().all()
    assert out["start"].iloc[5] == pd.Timestamp("2025-05-01") and out["end"].iloc[5] == pd.Timestamp("2025-05-03")


def test_doses_per_day_units() -> None:
    mr = pd.DataFrame({"timing_frequency": [1, 2, 1, 1, None], "timing_period": [8, 1, 1, 2, 1],
                       "timing_period_unit": ["h", "d", "wk", "mo", "d"]})
    np.testing.assert_allclose(doses_per_day(mr), [3.0, 2.0, 1 / 7, 1 / 60, np.nan], rtol=1e-6)  # CQL: 8 decimals


def test_date_interval_overlaps_reads_dates_as_midnight() -> None:
    start = pd.Series(ts("2024-12-01", "2025-12-31", "2026-01-01", "2024-11-01"))
    end = pd.Series(ts("2025-01-01", "2026-02-01", "2026-02-01", "2024-12-31"))
    assert date_interval_overlaps(start, end, P2025).tolist() == [True, True, False, False]


def test_cumulative_days_collapses_overlaps_and_adjacent_days() -> None:
    days = cumulative_days(pd.Series([1, 1, 1, 2, 2]),
                           pd.Series(ts("2025-01-01", "2025-01-05", "2025-01-20", "2025-01-01", None)),
                           pd.Series(ts("2025-01-04", "2025-01-10", "2025-01-20", "2025-01-01", "2025-01-05")))
    assert days.to_dict() == {1: 11, 2: 1}


def test_hospice_answer_follows_replaced_frames(valuesets: ValueSetIndex) -> None:
    data = MeasureData(valuesets=valuesets)
    data.conditions = frame("conditions", [
        {"patient_id": 1, "clinical_status": "active", "key": "snomed|170935008", "onset": "2025-02-01"},
    ])
    assert list(hospice.has_hospice_services(data, P2025)) == [1]
    assert list(hospice.has_hospice_services(data, P2025)) == [1]  # remembered
    assert hospice.has_hospice_services(data, Period.year(2023)).empty  # another period
    data.conditions = frame("conditions", [
        {"patient_id": 2, "clinical_status": "active", "key": "snomed|170935008", "onset": "2025-02-01"},
    ])
    assert list(hospice.has_hospice_services(data, P2025)) == [2]
