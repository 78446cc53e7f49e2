"""CMS154 Appropriate Treatment for Upper Respiratory Infection (URI)
(QI-Core 2025, AppropriateTreatmentforUpperRespiratoryInfectionURIFHIR 0.1.001).

Episode-based: every qualifying encounter with a URI diagnosis is one episode (``episode_id`` = the
encounter's ``event_id``). The numerator counts the *appropriate* episodes - those without an antibiotic
order in the 3 days after the encounter start - so a higher rate is better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice, status
from ..period import Period
from ..primitives import exists_in_window, flag, overlaps, starts_before, starts_during, vs_mask
from . import _respiratory as resp
from ._episodes import ages_in_months, episode_rows, exists_pair, restrict, vs

UPPER_RESPIRATORY_INFECTION = vs("2.16.840.1.113883.3.464.1003.102.12.1022")


def uri_episodes(data: MeasureData, period: Period) -> pd.DataFrame:
    """"Encounter with Upper Respiratory Infection": qualifying encounters during which a URI starts
    (day precision) or which a URI that started before is still prevalent at ("overlaps before")."""
    enc = resp.qualifying_encounters(data, period)
    cond = resp.conditions_in(data, UPPER_RESPIRATORY_INFECTION)
    if enc.empty or cond.empty:
        return enc.iloc[0:0]
    prevalence = status.prevalence_interval(cond)
    visit = status.encounter_interval(enc)

    def uri_at_visit(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        p, v = prevalence.take(ri), visit.take(li)
        return starts_during(p, v, "day") | (overlaps(p, v) & starts_before(p, v))

    return enc[exists_pair(enc["patient_id"].to_numpy(), cond["patient_id"].to_numpy(), uri_at_visit)]


@register
class CMS154(Measure):
    id = "CMS154"
    title = "Appropriate Treatment for Upper Respiratory Infection (URI)"
    version = "0.1.001"
    steward = "National Committee for Quality Assurance"
    description = (
        "Percentage of episodes for patients 3 months of age and older with a diagnosis of upper "
        "respiratory infection (URI) that did not result in an antibiotic order."
    )
    basis = "episode"
    # The numerator is "no antibiotic ordered" (appropriate treatment): higher is better. (The published
    # Measure resource carries improvementNotation code 'decrease' with display 'increase' on every
    # measure of the set; the measure intent is an increase.)
    improvement = "increase"
    groups = (Group("Appropriate treatment for URI"),)
    valuesets = (
        *resp.QUALIFYING_ENCOUNTER_VALUESETS,
        UPPER_RESPIRATORY_INFECTION, resp.ANTIBIOTIC_MEDICATIONS, resp.COMORBID_CONDITIONS,
        resp.COMPETING_CONDITIONS, resp.ACUTE_PHARYNGITIS, resp.ACUTE_TONSILLITIS,
        *hospice.VALUESETS,
    )
    specification = {
        "age": "3 months or older at the start of the measurement period (no upper limit).",
        "anchor": "Episode date = the start of the qualifying encounter.",
        "initial population": (
            "Each performed outpatient, telephone, virtual, ED, home-health or preventive encounter ending "
            "between the start of the period and 3 days before its end, with a URI that starts on the "
            "encounter's days or started earlier and is still prevalent at the encounter."
        ),
        "denominator": "The initial population.",
        "exclusions": (
            "Hospice services in the period; a comorbid condition with onset in the year up to the episode "
            "date; any antibiotic request whose medication period overlaps the 30 days before the episode "
            "date; a competing diagnosis (incl. acute pharyngitis or tonsillitis) with onset 0-3 days after "
            "the episode date."
        ),
        "numerator": (
            "No antibiotic order (active/completed) authored from the encounter start to 3 days after it "
            "(exact time): the episode was treated appropriately."
        ),
    }

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        # only patients with a URI can have an episode
        uri = resp.conditions_in(data, UPPER_RESPIRATORY_INFECTION)
        data = restrict(data, uri["patient_id"].to_numpy(), (period.start_ts, period.end_ts))
        episodes = uri_episodes(data, period)
        if not episodes.empty:
            months = ages_in_months(data, period.start).reindex(episodes["patient_id"].to_numpy()).to_numpy()
            episodes = episodes[np.nan_to_num(months, nan=-1) >= 3]
        if episodes.empty:
            return [episode_rows(episodes, initial_population=[], denominator=[], denominator_exclusion=[],
                                 numerator=[])]
        pids = episodes["patient_id"].to_numpy()
        mr = data.medication_requests
        any_abx = mr[vs_mask(data, mr, resp.ANTIBIOTIC_MEDICATIONS)]
        competing = resp.conditions_in(data, resp.COMPETING_CONDITIONS, resp.ACUTE_PHARYNGITIS,
                                       resp.ACUTE_TONSILLITIS)
        excluded = (
            flag(pids, hospice.has_hospice_services(data, period))
            | resp.comorbid_history(episodes, resp.conditions_in(data, resp.COMORBID_CONDITIONS))
            | resp.antibiotic_history(episodes, any_abx)
            | resp.competing_history(episodes, competing)
        )
        orders = resp.antibiotic_orders(data)
        start = episodes["start"].to_numpy(dtype="datetime64[ns]")
        treated = exists_in_window(pids, start, start + np.timedelta64(3, "D"), orders["patient_id"].to_numpy(),
                                   orders["authored_on"].to_numpy(dtype="datetime64[ns]"))
        ones = np.ones(len(episodes), dtype=bool)
        return [episode_rows(episodes, initial_population=ones, denominator=ones, denominator_exclusion=excluded,
                             numerator=~treated)]
