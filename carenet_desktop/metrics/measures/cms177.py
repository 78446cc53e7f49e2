"""CMS177 Child and Adolescent Major Depressive Disorder (MDD): Suicide Risk Assessment
(QI-Core 2025, ChildandAdolescentMajorDepressiveDisorderMDDSuicideRiskAssessmentFHIR 0.1.000).

Episode-based: every finished visit in the period with an MDD diagnosis (reason or encounter diagnosis)
is one episode (``episode_id`` = the encounter's ``event_id``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure
from ..libraries import status
from ..memo import ANY_PERIOD, remember
from ..period import Period
from ..primitives import code_mask, during, vs_mask
from ._episodes import (
    PatientSet,
    ages_in_years,
    encounter_diagnosis_in,
    episode_rows,
    exists_pair,
    restrict,
    vs,
)
from ._record_diagnoses import diagnosed_among

OFFICE_VISIT = vs("2.16.840.1.113883.3.464.1003.101.12.1001")
OUTPATIENT_CONSULTATION = vs("2.16.840.1.113883.3.464.1003.101.12.1008")
PSYCH_DIAGNOSTIC_EVALUATION = vs("2.16.840.1.113883.3.526.3.1492")
PSYCH_FAMILY_PSYCHOTHERAPY = vs("2.16.840.1.113883.3.526.3.1018")
PSYCH_PSYCHOTHERAPY = vs("2.16.840.1.113883.3.526.3.1496")
PSYCHOANALYSIS = vs("2.16.840.1.113883.3.526.3.1141")
GROUP_PSYCHOTHERAPY = vs("2.16.840.1.113883.3.526.3.1187")
TELEPHONE_VISITS = vs("2.16.840.1.113883.3.464.1003.101.12.1080")
MDD_ACTIVE = vs("2.16.840.1.113883.3.526.3.1491")

VISIT_VALUESETS = (
    OFFICE_VISIT, OUTPATIENT_CONSULTATION, PSYCH_DIAGNOSTIC_EVALUATION, PSYCH_FAMILY_PSYCHOTHERAPY,
    PSYCH_PSYCHOTHERAPY, PSYCHOANALYSIS, GROUP_PSYCHOTHERAPY, TELEPHONE_VISITS,
)
#: SNOMED CT 225337009 "Suicide risk assessment (procedure)" (direct-reference code)
SUICIDE_RISK_ASSESSMENT = ("http://snomed.info/sct", "225337009")


def mdd_encounters(data: MeasureData, period: Period,
                   cut_from: tuple[MeasureData, PatientSet] | None = None) -> pd.DataFrame:
    """"Major Depressive Disorder Encounter": finished visits of the listed types, entirely within the
    period (day precision), whose reason or one of whose encounter diagnoses is an active MDD code.
    ``cut_from``: ``data`` is these records cut to these candidates (``restrict``): the diagnoses are then
    tested on the records, once for a pass (``_record_diagnoses``)."""
    enc = data.encounters
    if enc.empty:
        return enc
    sel = vs_mask(data, enc, *VISIT_VALUESETS) & status.encounter_finished(enc)
    sub = enc[sel]
    if sub.empty:
        return sub
    sub = sub[during(status.encounter_interval(sub), period, "day")]
    if cut_from is None:
        diagnosed = encounter_diagnosis_in(data, sub["event_id"].to_numpy(), MDD_ACTIVE)
    else:
        diagnosed = diagnosed_among(*cut_from, sub["event_id"].to_numpy(), MDD_ACTIVE)
    mdd = vs_mask(data, sub, MDD_ACTIVE, column="reason_key") | diagnosed
    return sub[mdd]


def candidates(data: MeasureData, period: Period) -> PatientSet:
    """Patients aged 6-16 at the start of the period with an MDD code on a condition or as the reason of
    an encounter in the period: nobody else can have an episode (a cheap pre-filter)."""
    reason_pid, reason_start, reason_end, condition_pid = mdd_coded_rows(data)
    # every patient tested is an MDD patient (``mdd_records``): their ages are those of the whole frame
    age = ages_in_years(mdd_records(data), period.start)
    eligible = PatientSet(age.index[((age >= 6) & (age <= 16)).to_numpy()])
    in_period = eligible.mask(reason_pid) & (reason_start >= np.datetime64(period.start_ts, "ns")) & (
        reason_end <= np.datetime64(period.end_ts, "ns"))
    return PatientSet(reason_pid[in_period]) | PatientSet(condition_pid[eligible.mask(condition_pid)])


def mdd_coded_rows(data: MeasureData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The patient, start and end (datetime64[ns]) of the encounters with an active MDD code as their reason, and
    the patient of the conditions with one, of every date: the same in every period (``ANY_PERIOD``, kept for a
    pass); ``candidates`` keeps those of a period's eligible patients (the codes tested on the store's frames,
    factorised once for every period, then the few rows cut)."""

    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        enc, cond = data.encounters, data.conditions
        coded = enc[vs_mask(data, enc, MDD_ACTIVE, column="reason_key")] if len(enc) else enc
        condition_pid = cond["patient_id"].to_numpy()[vs_mask(data, cond, MDD_ACTIVE)] if len(cond) else \
            cond["patient_id"].to_numpy()
        return (coded["patient_id"].to_numpy(), coded["start"].to_numpy(dtype="datetime64[ns]"),
                coded["end"].to_numpy(dtype="datetime64[ns]"), condition_pid)

    return remember((data.encounters, data.conditions), ("CMS177 MDD coded rows", data.valuesets.keys(MDD_ACTIVE)),
                    compute, period=ANY_PERIOD, for_pass=True)


#: the records the measure reads (``restrict``): frames, and per frame the value sets and codes of its rows
_RECORD_FRAMES = ("patients", "encounters", "conditions", "procedures")
_RECORD_CODES: dict[str, tuple[str | tuple[str, str], ...]] = {
    "encounters": VISIT_VALUESETS, "conditions": (MDD_ACTIVE,), "procedures": (SUICIDE_RISK_ASSESSMENT,)}


def mdd_records(data: MeasureData) -> MeasureData:
    """The records the measure reads (``_RECORD_CODES``) of every patient with an active MDD code as an
    encounter's reason or on a condition, of any age and date (a superset of every period's ``candidates``):
    the same in every period, so derived once for all the periods of an evaluation (``metrics.memo``,
    ``ANY_PERIOD``). A new ``MeasureData`` each call; its frames are the remembered ones."""
    keys = tuple(data.valuesets.keys(*(c for c in codes if isinstance(c, str))) for codes in _RECORD_CODES.values())

    def compute() -> tuple[pd.DataFrame, ...]:
        enc, cond = data.encounters, data.conditions
        ids = PatientSet(enc["patient_id"].to_numpy()[vs_mask(data, enc, MDD_ACTIVE, column="reason_key")]) | \
            PatientSet(cond["patient_id"].to_numpy()[vs_mask(data, cond, MDD_ACTIVE)])
        sub = restrict(data, ids, frames=_RECORD_FRAMES, codes=_RECORD_CODES)
        return sub.patients, sub.encounters, sub.conditions, sub.procedures, sub.encounter_diagnoses

    patients, encounters, conditions, procedures, diagnoses = remember(
        (data.patients, data.encounters, data.conditions, data.procedures, data.encounter_diagnoses),
        ("CMS177 MDD patients' records", keys), compute, period=ANY_PERIOD, for_pass=True)
    return MeasureData(patients=patients, encounters=encounters, conditions=conditions, procedures=procedures,
                       encounter_diagnoses=diagnoses, valuesets=data.valuesets)


@register
class CMS177(Measure):
    id = "CMS177"
    title = "Child and Adolescent Major Depressive Disorder (MDD): Suicide Risk Assessment"
    version = "0.1.000"
    applies_to = (None, None)  # no newer FHIR version published: in force for 2026 too
    canonical = MADIE + "ChildandAdolescentMajorDepressiveDisorderMDDSuicideRiskAssessmentFHIR"
    manifest = manifests.Y2025
    steward = "Mathematica"
    description = (
        "Percentage of patient visits for those patients aged 6 through 16 at the start of the measurement "
        "period with a diagnosis of major depressive disorder (MDD) with an assessment for suicide risk."
    )
    basis = "episode"
    gap_closable = False  # the assessment belonged to the MDD visit itself
    improvement = "increase"
    groups = (Group("Suicide risk assessment at MDD visits", ("initial-population", "denominator", "numerator")),)
    valuesets = (*VISIT_VALUESETS, MDD_ACTIVE)
    specification = {
        "age": "6 through 16 years at the start of the measurement period (age in whole years on that day).",
        "anchor": "The visit itself (each qualifying encounter is an episode).",
        "initial population": (
            "Each finished office, outpatient consultation, psychotherapy/psych evaluation, psychoanalysis, "
            "group/family psychotherapy or telephone visit that starts and ends within the period (day "
            "precision) with an active MDD code as its reason or among its encounter diagnoses."
        ),
        "denominator": "The initial population.",
        "exclusions": "None.",
        "numerator": (
            "A completed suicide risk assessment (SNOMED CT 225337009) performed within the visit's "
            "start and end time."
        ),
    }

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        # the period's candidates are among the MDD patients: restricting their records gives the same rows
        records, chosen = mdd_records(data), candidates(data, period)
        data = restrict(records, chosen, (period.start_ts, period.end_ts), frames=_RECORD_FRAMES, codes=_RECORD_CODES)
        episodes = mdd_encounters(data, period, (records, chosen))
        if not episodes.empty:
            age = ages_in_years(data, period.start).reindex(episodes["patient_id"].to_numpy()).to_numpy()
            age = np.nan_to_num(age, nan=-1)
            episodes = episodes[(age >= 6) & (age <= 16)]
        if episodes.empty:
            return [episode_rows(episodes, initial_population=[], denominator=[], numerator=[])]
        proc = data.procedures
        done = proc[code_mask(proc, *SUICIDE_RISK_ASSESSMENT) & status.procedure_performed(proc)]
        assessed = np.zeros(len(episodes), dtype=bool)
        if not done.empty:
            performed = status.performed_interval(done)
            visit = status.encounter_interval(episodes)

            def within_visit(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
                return during(performed.take(ri), visit.take(li))

            assessed = exists_pair(episodes["patient_id"].to_numpy(), done["patient_id"].to_numpy(), within_visit)
        ones = np.ones(len(episodes), dtype=bool)
        return [episode_rows(episodes, initial_population=ones, denominator=ones, numerator=assessed)]
