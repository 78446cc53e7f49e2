"""What CMS146 (pharyngitis) and CMS154 (URI) share: their qualifying encounters and the eCQM library
``Antibiotic`` (1.7.000), whose three exclusion tests look back from the episode date (the encounter's
start day):

  comorbid_history(...)    a comorbid condition whose onset day is in [episode day - 1 year, episode day]
  competing_history(...)   a competing condition whose onset day is in [episode day, episode day + 3]
  antibiotic_history(...)  an antibiotic whose medicationRequestPeriod overlaps
                           [episode day - 30 days, episode day - 1 day]
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..libraries import status
from ..libraries.edition import QICORE_2025, ConditionKind, Libraries
from ..libraries.medication_duration import medication_request_period
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..primitives import Iv, add_years, code_mask, ends_during, vs_mask
from ..sorted_windows import exists_in_kept
from ._episodes import PatientSet, days, exists_pair, vs

ED_VISIT = vs("2.16.840.1.113883.3.464.1003.101.12.1010")
HOME_HEALTHCARE = vs("2.16.840.1.113883.3.464.1003.101.12.1016")
MEDICAL_DISABILITY_EXAM = vs("2.16.840.1.113883.3.464.1003.101.12.1073")
OFFICE_VISIT = vs("2.16.840.1.113883.3.464.1003.101.12.1001")
OUTPATIENT_CONSULTATION = vs("2.16.840.1.113883.3.464.1003.101.12.1008")
PREVENTIVE_ESTABLISHED_18_UP = vs("2.16.840.1.113883.3.464.1003.101.12.1025")
PREVENTIVE_GROUP_COUNSELING = vs("2.16.840.1.113883.3.464.1003.101.12.1027")
PREVENTIVE_INDIVIDUAL_COUNSELING = vs("2.16.840.1.113883.3.464.1003.101.12.1026")
PREVENTIVE_INITIAL_18_UP = vs("2.16.840.1.113883.3.464.1003.101.12.1023")
PREVENTIVE_INITIAL_0_17 = vs("2.16.840.1.113883.3.464.1003.101.12.1022")
PREVENTIVE_ESTABLISHED_0_17 = vs("2.16.840.1.113883.3.464.1003.101.12.1024")
TELEPHONE_VISITS = vs("2.16.840.1.113883.3.464.1003.101.12.1080")
VIRTUAL_ENCOUNTER = vs("2.16.840.1.113883.3.464.1003.101.12.1089")

ACUTE_PHARYNGITIS = vs("2.16.840.1.113883.3.464.1003.102.12.1011")
ACUTE_TONSILLITIS = vs("2.16.840.1.113883.3.464.1003.102.12.1012")
COMORBID_CONDITIONS = vs("2.16.840.1.113883.3.464.1003.102.12.1025")
COMPETING_CONDITIONS = vs("2.16.840.1.113883.3.464.1003.102.12.1017")
#: "Antibiotic Medications for Pharyngitis" and "... for Upper Respiratory Infection" are one value set
ANTIBIOTIC_MEDICATIONS = vs("2.16.840.1.113883.3.464.1003.196.12.1001")

QUALIFYING_ENCOUNTER_VALUESETS = (
    ED_VISIT, HOME_HEALTHCARE, MEDICAL_DISABILITY_EXAM, OFFICE_VISIT, TELEPHONE_VISITS, VIRTUAL_ENCOUNTER,
    OUTPATIENT_CONSULTATION, PREVENTIVE_ESTABLISHED_18_UP, PREVENTIVE_GROUP_COUNSELING,
    PREVENTIVE_INITIAL_0_17, PREVENTIVE_INDIVIDUAL_COUNSELING, PREVENTIVE_INITIAL_18_UP,
    PREVENTIVE_ESTABLISHED_0_17,
)
#: CPT 99429 "Unlisted preventive medicine service" (a direct-reference code on Encounter.type)
UNLISTED_PREVENTIVE = ("http://www.ama-assn.org/go/cpt", "99429")


def qualifying_encounters(data: MeasureData, period: Period, patients: PatientSet | None = None,
                          lib: Libraries = QICORE_2025) -> pd.DataFrame:
    """Performed encounters of the qualifying types that end (day precision) between the start of the
    period and three days before its end (so that the 3-day follow-up window stays inside it);
    optionally only those of some patients."""
    enc = data.encounters
    if enc.empty:
        return enc
    return ending_in(typed_encounters(data, lib), period, patients)


def typed_encounters(data: MeasureData, lib: Libraries = QICORE_2025) -> pd.DataFrame:
    """What ``qualifying_encounters`` asks of an encounter whatever the period: performed (``lib``), of a
    qualifying type; the columns the measures read (rows in the frame's order, its index kept). Remembered
    for every period of the evaluation (``metrics.memo``: the answer depends on the frame's rows only)."""
    enc = data.encounters
    keys = data.valuesets.keys(*QUALIFYING_ENCOUNTER_VALUESETS)
    return remember((enc,), ("typed encounters", lib, keys), lambda: _typed_encounters(data, lib), period=ANY_PERIOD)


def _typed_encounters(data: MeasureData, lib: Libraries, patients: PatientSet | None = None) -> pd.DataFrame:
    enc = data.encounters
    keep = patients.mask(enc["patient_id"]) if patients is not None else np.ones(len(enc), dtype=bool)
    keep &= vs_mask(data, enc, *QUALIFYING_ENCOUNTER_VALUESETS) | code_mask(enc, *UNLISTED_PREVENTIVE)
    keep &= lib.encounter_performed(enc)
    columns = [c for c in ("patient_id", "event_id", "status", "key", "start", "end", "date_only") if c in enc.columns]
    return enc.loc[keep, columns]


def typed_encounters_of(data: MeasureData, patients: PatientSet, lib: Libraries = QICORE_2025) -> pd.DataFrame:
    """``typed_encounters`` of some patients only (not remembered: the caller may)."""
    return _typed_encounters(data, lib, patients)


def ending_in(typed: pd.DataFrame, period: Period, patients: PatientSet | None = None) -> pd.DataFrame:
    """The rows of ``typed_encounters`` (or a subset of them) that qualify in ``period``: ending between
    its start and three days before its end; optionally only those of some patients."""
    several = in_several_periods()
    if several:  # the ends and the intervals of the frame's rows are the same in every period: kept for a pass
        end, bounds = remember((typed,), ("encounter ends and intervals",), lambda: _ends_and_intervals(typed),
                               period=ANY_PERIOD, for_pass=True)
    else:
        end = typed["end"].to_numpy(dtype="datetime64[ns]")
    keep = (end >= np.datetime64(period.start_ts.normalize(), "ns")) & (
        end < np.datetime64(period.end_exclusive - pd.Timedelta(days=3), "ns"))
    if patients is not None:
        keep &= patients.mask(typed["patient_id"])
    window = (period.start_ts, period.end_ts - pd.Timedelta(days=3))
    if several:
        at = np.flatnonzero(keep)
        return typed.iloc[at[ends_during(Iv(*bounds).take(at), window, "day")]]  # type: ignore[arg-type]
    sub = typed[keep]
    if sub.empty:
        return sub
    return sub[ends_during(status.encounter_interval(sub), window, "day")]


def _ends_and_intervals(typed: pd.DataFrame) -> tuple[np.ndarray, tuple[object, ...]]:
    """The rows' ends (ns) and their ``status.encounter_interval`` (as the ``Iv``'s fields)."""
    iv = status.encounter_interval(typed)
    return typed["end"].to_numpy(dtype="datetime64[ns]"), tuple(getattr(iv, f.name) for f in fields(Iv))


def comorbid_history(episodes: pd.DataFrame, conditions: pd.DataFrame) -> np.ndarray:
    """Antibiotic."Has Comorbid Condition History": onset day in [episode day - 1 year, episode day]."""
    if episodes.empty or conditions.empty:
        return np.zeros(len(episodes), dtype=bool)
    start_day = episodes["start"].dt.normalize()
    lo = days(add_years(start_day, -1))
    return exists_in_kept(conditions, "onset days", episodes["patient_id"].to_numpy(), lo, days(start_day),
                          lambda: _onset_days(conditions))


def competing_history(episodes: pd.DataFrame, conditions: pd.DataFrame) -> np.ndarray:
    """Antibiotic."Has Competing Diagnosis History": onset day in [episode day, episode day + 3]."""
    if episodes.empty or conditions.empty:
        return np.zeros(len(episodes), dtype=bool)
    start = days(episodes["start"])
    return exists_in_kept(conditions, "onset days", episodes["patient_id"].to_numpy(), start, start + 3,
                          lambda: _onset_days(conditions))


def _onset_days(conditions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The conditions' patients and onset days (the start of their prevalence period), as the histories
    search them."""
    return conditions["patient_id"].to_numpy(), days(status.prevalence_interval(conditions).start())


def antibiotic_history(episodes: pd.DataFrame, requests: pd.DataFrame) -> np.ndarray:
    """Antibiotic."Has Antibiotic Medication History": a medication request period (CMD
    medicationRequestPeriod) overlapping [episode day - 30, episode day - 1]."""
    if episodes.empty or requests.empty:
        return np.zeros(len(episodes), dtype=bool)
    # the requests' periods are the same in every period: kept for a pass (when ``requests`` is kept too)
    pids, med_start, med_end = remember((requests,), ("antibiotic request days",), lambda: _request_days(requests),
                                        period=ANY_PERIOD, for_pass=True)
    if not len(pids):
        return np.zeros(len(episodes), dtype=bool)
    episode_day = days(episodes["start"])

    def overlapping(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        lo = episode_day[li] - 30
        hi = episode_day[li] - 1
        return (med_start[ri] <= hi) & (med_end[ri] >= lo)

    return exists_pair(episodes["patient_id"].to_numpy(), pids, overlapping)


def _request_days(requests: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The patients and the start and end days of the requests' medication request periods (those with a start)."""
    med = medication_request_period(requests)
    ok = med["start"].notna().to_numpy()
    med = med[ok]
    return requests["patient_id"].to_numpy()[ok], days(med["start"]), days(med["end"])


def antibiotic_orders(data: MeasureData, lib: Libraries = QICORE_2025) -> pd.DataFrame:
    """Antibiotic medication requests that are orders (active or completed, an order intent of ``lib``)."""
    mr = data.medication_requests
    if mr.empty:
        return mr
    keys = data.valuesets.keys(ANTIBIOTIC_MEDICATIONS)
    return remember((mr,), ("antibiotic orders", keys, lib.medication_order), lambda: mr[
        vs_mask(data, mr, ANTIBIOTIC_MEDICATIONS) & lib.medication_order(mr)], period=ANY_PERIOD, for_pass=True)


def conditions_in(data: MeasureData, *valuesets: str, lib: Libraries = QICORE_2025,
                  kind: ConditionKind = "any") -> pd.DataFrame:
    """Conditions of the value sets that a retrieve of ``kind`` returns in ``lib``'s edition."""
    cond = data.conditions
    if cond.empty:
        return cond
    keys = data.valuesets.keys(*valuesets)
    return remember((cond, data.encounter_diagnoses), ("conditions in", keys, lib.typed_conditions, kind),
                    lambda: _conditions_in(data, valuesets, lib, kind), period=ANY_PERIOD, for_pass=True)


def _conditions_in(data: MeasureData, valuesets: tuple[str, ...], lib: Libraries, kind: ConditionKind) -> pd.DataFrame:
    cond = data.conditions
    cond = cond[vs_mask(data, cond, *valuesets)]
    return cond[lib.conditions_of_kind(data, cond, kind)] if len(cond) else cond


__all__ = [
    "ANTIBIOTIC_MEDICATIONS",
    "QUALIFYING_ENCOUNTER_VALUESETS",
    "antibiotic_history",
    "antibiotic_orders",
    "comorbid_history",
    "competing_history",
    "conditions_in",
    "ending_in",
    "qualifying_encounters",
    "typed_encounters",
]
