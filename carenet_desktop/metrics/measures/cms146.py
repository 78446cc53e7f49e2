"""CMS146 Appropriate Testing for Pharyngitis (QI-Core 2025, AppropriateTestingforPharyngitisFHIR 0.1.001).

Episode-based: every qualifying encounter with a pharyngitis/tonsillitis diagnosis and an antibiotic
order is one episode (``episode_id`` = the encounter's ``event_id``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure
from ..libraries import hospice, status
from ..libraries.edition import QICORE_2025, ConditionKind, Libraries
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..primitives import flag, starts_during, vs_mask
from ..row_answers import pass_row_answers
from ..sorted_windows import exists_in_kept
from . import _respiratory as resp
from ._episodes import (
    PatientSet,
    ages_in_years,
    days,
    episode_rows,
    exists_pair,
    restrict,
    vs,
)

GROUP_A_STREP_TEST = vs("2.16.840.1.113883.3.464.1003.198.12.1012")

#: the value sets of the records kept for the measure's possible patients (``CMS146._records``)
_RECORD_CODES: dict[str, tuple[str | tuple[str, str], ...]] = {
    "conditions": (resp.ACUTE_PHARYNGITIS, resp.ACUTE_TONSILLITIS, resp.COMORBID_CONDITIONS,
                   resp.COMPETING_CONDITIONS),
    "medication_requests": (resp.ANTIBIOTIC_MEDICATIONS,),
    "observations": (GROUP_A_STREP_TEST,),
}
_RECORD_FRAMES = ("patients", "conditions", "medication_requests", "observations")


def pharyngitis_episodes(data: MeasureData, period: Period, lib: Libraries = QICORE_2025,
                         kind: ConditionKind = "any", encounters: pd.DataFrame | None = None) -> pd.DataFrame:
    """"Encounter With Pharyngitis or Tonsillitis With Antibiotic": qualifying encounters starting
    0-3 days (day precision) before an antibiotic order, with an acute pharyngitis or tonsillitis whose
    onset day falls within the encounter's days (conditions of ``kind``, as ``lib``'s edition reads it).
    ``encounters``: the period's qualifying encounters when the caller has them already."""
    enc = resp.qualifying_encounters(data, period, lib=lib) if encounters is None else encounters
    mask = _episode_mask(data, lib, kind, enc)
    return enc.iloc[0:0] if mask is None else enc[mask]


def _episode_mask(data: MeasureData, lib: Libraries, kind: ConditionKind, enc: pd.DataFrame) -> np.ndarray | None:
    """Which of the encounters ``enc`` are ``pharyngitis_episodes`` (None: none can be); each row's answer
    depends on that row alone."""
    orders = resp.antibiotic_orders(data, lib)
    if enc.empty or orders.empty:
        return None
    # encounter start day in [order day - 3, order day]  <=>  order day in [start day, start day + 3]
    start = days(enc["start"])
    with_order = exists_in_kept(orders, "CMS146 authored days", enc["patient_id"].to_numpy(), start, start + 3,
                                lambda: (orders["patient_id"].to_numpy(), days(orders["authored_on"])))
    ordered = enc[with_order]
    cond = resp.conditions_in(data, resp.ACUTE_PHARYNGITIS, resp.ACUTE_TONSILLITIS, lib=lib, kind=kind)
    if ordered.empty or cond.empty:
        return None
    prevalence = status.prevalence_interval(cond)
    visit = status.encounter_interval(ordered)

    def onset_during_visit(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        return starts_during(prevalence.take(ri), visit.take(li), "day")

    mask = np.asarray(with_order, dtype=bool).copy()
    mask[mask] = exists_pair(ordered["patient_id"].to_numpy(), cond["patient_id"].to_numpy(), onset_during_visit)
    return mask


@register
class CMS146(Measure):
    id = "CMS146"
    title = "Appropriate Testing for Pharyngitis"
    version = "0.1.001"
    applies_to: ClassVar[tuple[int | None, int | None]] = (None, 2025)  # the 2026 version is in cms146_2026
    canonical = MADIE + "AppropriateTestingforPharyngitisFHIR"
    manifest = manifests.Y2025
    #: the kind of Condition the pharyngitis, comorbid and competing retrieves return
    condition_kind: ClassVar[ConditionKind] = "any"
    steward = "National Committee for Quality Assurance"
    description = (
        "The percentage of episodes for patients 3 years and older with a diagnosis of pharyngitis that "
        "resulted in an antibiotic order on or three days after the episode date and a group A streptococcus "
        "(strep) test in the seven-day period from three days prior to the episode date through three days "
        "after the episode date."
    )
    basis = "episode"
    gap_closable = False  # the strep test belonged to the visit: a missed one cannot be made up
    improvement = "increase"
    groups = (Group("Appropriate testing for pharyngitis"),)
    valuesets = (
        *resp.QUALIFYING_ENCOUNTER_VALUESETS,
        resp.ACUTE_PHARYNGITIS, resp.ACUTE_TONSILLITIS, resp.ANTIBIOTIC_MEDICATIONS,
        resp.COMORBID_CONDITIONS, resp.COMPETING_CONDITIONS, GROUP_A_STREP_TEST,
        *hospice.VALUESETS,
    )
    specification = {
        "age": "3 years or older at the start of the measurement period (no upper limit).",
        "anchor": "Episode date = the start day of the qualifying encounter.",
        "initial population": (
            "Each performed outpatient, telephone, virtual, ED, home-health or preventive encounter ending "
            "between the start of the period and 3 days before its end, with an antibiotic ordered 0-3 days "
            "after the encounter start (day precision) and an acute pharyngitis or tonsillitis whose onset "
            "falls on the encounter's days."
        ),
        "denominator": "The initial population.",
        "exclusions": (
            "Hospice services in the period; a comorbid condition with onset in the year up to the episode "
            "date; an active antibiotic whose medication period overlaps the 30 days before the episode date; "
            "a competing diagnosis with onset 0-3 days after the episode date."
        ),
        "numerator": (
            "A group A strep lab test (final/amended/corrected, with a result) performed from 3 days before "
            "to 3 days after the end day of the episode encounter."
        ),
    }

    def _everyone_candidates(self, data: MeasureData) -> PatientSet:
        """Patients with an antibiotic order and a pharyngitis/tonsillitis of any date: a superset of every
        period's candidates (the same in every period)."""
        def compute() -> np.ndarray:
            orders = resp.antibiotic_orders(data, self.lib)
            cond = resp.conditions_in(data, resp.ACUTE_PHARYNGITIS, resp.ACUTE_TONSILLITIS, lib=self.lib,
                                      kind=self.condition_kind)
            return (PatientSet(orders["patient_id"].to_numpy()) & PatientSet(cond["patient_id"].to_numpy())).ids()

        ids = remember((data.conditions, data.medication_requests, data.encounter_diagnoses),
                       self._question(data, "candidates"), compute, period=ANY_PERIOD)
        return PatientSet(ids)

    def _question(self, data: MeasureData, what: str) -> tuple[object, ...]:
        return (f"CMS146 {what}", self.lib, self.condition_kind,
                tuple(data.valuesets.keys(*(c for c in codes if isinstance(c, str))) for codes in _RECORD_CODES.values()))

    def _records(self, data: MeasureData) -> MeasureData:
        """The records the measure reads of the patients of ``_everyone_candidates`` (``restrict``), derived
        once for every period of an evaluation (``metrics.memo``): a period's episodes come from its own
        candidates' encounters and every later test joins on the episode's patient, so the other patients'
        rows change no answer. A new ``MeasureData`` each call (a period sets its own encounters on it)."""
        def compute() -> tuple[pd.DataFrame, ...]:
            sub = restrict(data, self._everyone_candidates(data), frames=_RECORD_FRAMES, codes=_RECORD_CODES)
            return sub.patients, sub.conditions, sub.medication_requests, sub.observations, sub.encounter_diagnoses

        patients, conditions, requests, observations, diagnoses = remember(
            (data.patients, data.conditions, data.medication_requests, data.observations, data.encounter_diagnoses),
            self._question(data, "records"), compute, period=ANY_PERIOD)
        return MeasureData(patients=patients, conditions=conditions, medication_requests=requests,
                           observations=observations, encounter_diagnoses=diagnoses, valuesets=data.valuesets)

    def _pass_episodes(self, data: MeasureData, everyone: MeasureData, period: Period, enc: pd.DataFrame) -> pd.DataFrame:
        """``pharyngitis_episodes`` of a period's encounters ``enc`` (rows of ``_encounters``): in a pass over
        several periods each row of ``_encounters`` is answered once, when a period first meets it (an
        encounter's answer depends on its row alone; ``row_answers``: kept for the pass)."""
        lib, kind = self.lib, self.condition_kind
        if in_several_periods() and not enc.empty:
            every = self._encounters(everyone)
            mask = pass_row_answers(
                (every, data.conditions, data.medication_requests, data.encounter_diagnoses),
                (*self._question(data, "episode rows"), data.valuesets.keys(resp.ANTIBIOTIC_MEDICATIONS)),
                every, enc, lambda rows: _episode_mask(data, lib, kind, rows))
            if mask is not None:
                return enc[mask]
        return pharyngitis_episodes(data, period, lib, kind, enc)

    def _encounters(self, data: MeasureData) -> pd.DataFrame:
        """``resp.typed_encounters`` of the patients of ``_everyone_candidates`` (the same in every period)."""
        keys = data.valuesets.keys(*resp.QUALIFYING_ENCOUNTER_VALUESETS)
        return remember(
            (data.encounters, data.conditions, data.medication_requests, data.encounter_diagnoses),
            (*self._question(data, "encounters"), keys),
            lambda: resp.typed_encounters_of(data, self._everyone_candidates(data), self.lib), period=ANY_PERIOD)

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        # only patients with both an antibiotic order and a pharyngitis/tonsillitis can have an episode
        # (ordered by 3 days after the period end, with no lower bound: a visit only has to *end* in the
        # period, so a long one that started before it can have its order before the period start;
        # the condition starting by the period end)
        lib, kind = self.lib, self.condition_kind
        orders = resp.antibiotic_orders(data, lib)
        authored = orders["authored_on"].to_numpy(dtype="datetime64[ns]")
        orders = orders[authored < np.datetime64(period.end_exclusive + pd.Timedelta(days=3), "ns")]
        cond = resp.conditions_in(data, resp.ACUTE_PHARYNGITIS, resp.ACUTE_TONSILLITIS, lib=lib, kind=kind)
        onset = cond["onset"].to_numpy(dtype="datetime64[ns]")
        cond = cond[np.isnat(onset) | (onset < np.datetime64(period.end_exclusive, "ns"))]
        candidates = PatientSet(orders["patient_id"].to_numpy()) & PatientSet(cond["patient_id"].to_numpy())
        everyone = data
        data = self._records(everyone)
        data.encounters = resp.ending_in(self._encounters(everyone), period, candidates)
        episodes = self._pass_episodes(data, everyone, period, data.encounters)
        if not episodes.empty:
            age = ages_in_years(data, period.start).reindex(episodes["patient_id"].to_numpy()).to_numpy()
            episodes = episodes[np.nan_to_num(age, nan=-1) >= 3]
        if episodes.empty:
            return [episode_rows(episodes, initial_population=[], denominator=[], denominator_exclusion=[],
                                 numerator=[])]
        pids = episodes["patient_id"].to_numpy()
        mr = data.medication_requests
        active_abx = remember((mr,), ("CMS146 active antibiotics", data.valuesets.keys(resp.ANTIBIOTIC_MEDICATIONS),
                                      lib.medication_active),
                              lambda: mr[vs_mask(data, mr, resp.ANTIBIOTIC_MEDICATIONS) & lib.medication_active(mr)],
                              period=ANY_PERIOD, for_pass=True)  # (the same in every period: its request days kept)
        excluded = (
            flag(pids, lib.has_hospice_services(everyone, period))
            | resp.comorbid_history(episodes, resp.conditions_in(data, resp.COMORBID_CONDITIONS, lib=lib, kind=kind))
            | resp.antibiotic_history(episodes, active_abx)
            | resp.competing_history(episodes, resp.conditions_in(data, resp.COMPETING_CONDITIONS, lib=lib, kind=kind))
        )
        obs = data.observations
        tests = remember((obs,), ("CMS146 strep tests", data.valuesets.keys(GROUP_A_STREP_TEST),
                                  lib.laboratory_test_performed),
                         lambda: obs[vs_mask(data, obs, GROUP_A_STREP_TEST) & lib.laboratory_test_performed(obs)
                                     & status.has_value(obs)], period=ANY_PERIOD, for_pass=True)
        tested = np.zeros(len(episodes), dtype=bool)
        if not tests.empty:
            end_day = days(episodes["end"])
            # (the tests are the same in every period: their days' sorted pairs are kept for a pass)
            tested = exists_in_kept(tests, "CMS146 test days", pids, end_day - 3, end_day + 3, lambda: (
                tests["patient_id"].to_numpy(), days(status.effective_interval(tests).start())))
        ones = np.ones(len(episodes), dtype=bool)
        return [episode_rows(episodes, initial_population=ones, denominator=ones, denominator_exclusion=excluded,
                             numerator=tested)]
