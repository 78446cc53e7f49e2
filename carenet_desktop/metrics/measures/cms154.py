"""CMS154 Appropriate Treatment for Upper Respiratory Infection (URI)
(QI-Core 2025, AppropriateTreatmentforUpperRespiratoryInfectionURIFHIR 0.1.001).

Episode-based: every qualifying encounter with a URI diagnosis is one episode (``episode_id`` = the
encounter's ``event_id``). The numerator counts the *appropriate* episodes - those without an antibiotic
order in the 3 days after the encounter start - so a higher rate is better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure
from ..libraries import hospice, status
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..primitives import (
    MIN_TS,
    date_only_mask,
    exists_in_window,
    flag,
    vs_mask,
)
from ..row_answers import pass_row_answers
from ..sorted_windows import SortedPairs, comparable, exists_in_kept
from . import _respiratory as resp
from ._episodes import PatientSet, ages_in_months, days, episode_rows, exists_pair, restrict, vs

UPPER_RESPIRATORY_INFECTION = vs("2.16.840.1.113883.3.464.1003.102.12.1022")


#: the value sets of the records kept for the patients with a URI (``uri_records``)
_RECORD_CODES: dict[str, tuple[str | tuple[str, str], ...]] = {
    "conditions": (UPPER_RESPIRATORY_INFECTION, resp.COMORBID_CONDITIONS, resp.COMPETING_CONDITIONS,
                   resp.ACUTE_PHARYNGITIS, resp.ACUTE_TONSILLITIS),
    "medication_requests": (resp.ANTIBIOTIC_MEDICATIONS,),
}
_RECORD_FRAMES = ("patients", "conditions", "medication_requests")


def _uri_patients(data: MeasureData) -> PatientSet:
    """The patients with a URI of any date (a superset of every period's candidates)."""
    ids = remember((data.conditions, data.encounter_diagnoses),
                   ("CMS154 URI patients", data.valuesets.keys(UPPER_RESPIRATORY_INFECTION)),
                   lambda: PatientSet(resp.conditions_in(data, UPPER_RESPIRATORY_INFECTION)["patient_id"].to_numpy()).ids(),
                   period=ANY_PERIOD)
    return PatientSet(ids)


def uri_records(data: MeasureData) -> MeasureData:
    """The records the measure reads of every patient with a URI of any date (``restrict``): the same in
    every period, so derived once for all the periods of an evaluation (``metrics.memo``). A period's
    episodes come from its own candidates' encounters, and every later test joins on the episode's patient:
    the other patients' rows here change no answer. A new ``MeasureData`` each call (a period sets its own
    encounters on it); its frames are the remembered ones."""
    keys = tuple(data.valuesets.keys(*(c for c in codes if isinstance(c, str))) for codes in _RECORD_CODES.values())
    frames = remember(
        (data.patients, data.conditions, data.medication_requests, data.encounter_diagnoses),
        ("CMS154 URI patients' records", keys),
        lambda: _uri_records(data), period=ANY_PERIOD)
    patients, conditions, requests, diagnoses = frames
    return MeasureData(patients=patients, conditions=conditions, medication_requests=requests,
                       encounter_diagnoses=diagnoses, valuesets=data.valuesets)


def _uri_records(data: MeasureData) -> tuple[pd.DataFrame, ...]:
    sub = restrict(data, _uri_patients(data), frames=_RECORD_FRAMES, codes=_RECORD_CODES)
    return sub.patients, sub.conditions, sub.medication_requests, sub.encounter_diagnoses


def uri_encounters(data: MeasureData) -> pd.DataFrame:
    """``resp.typed_encounters`` of the patients with a URI of any date (the same in every period)."""
    keys = data.valuesets.keys(UPPER_RESPIRATORY_INFECTION, *resp.QUALIFYING_ENCOUNTER_VALUESETS)

    return remember((data.encounters, data.conditions, data.encounter_diagnoses), ("CMS154 URI encounters", keys),
                    lambda: resp.typed_encounters_of(data, _uri_patients(data)), period=ANY_PERIOD)


def uri_episodes(data: MeasureData, period: Period, encounters: pd.DataFrame | None = None) -> pd.DataFrame:
    """"Encounter with Upper Respiratory Infection": qualifying encounters during which a URI starts
    (day precision) or which a URI that started before is still prevalent at ("overlaps before").
    ``encounters``: the period's qualifying encounters when the caller has them already."""
    enc = resp.qualifying_encounters(data, period) if encounters is None else encounters
    mask = _episode_mask(data, enc)
    return enc.iloc[0:0] if mask is None else enc[mask]


def _pass_episodes(data: MeasureData, everyone: MeasureData, period: Period, enc: pd.DataFrame) -> pd.DataFrame:
    """``uri_episodes(data, period, enc)`` of a period's encounters ``enc`` (rows of ``uri_encounters``). Whether
    an encounter is an episode is a question of its own row alone: in a pass over several periods each row of
    ``uri_encounters`` is answered once, when a period first meets it (``row_answers``: kept for the pass)."""
    if in_several_periods() and not enc.empty:
        every = uri_encounters(everyone)
        mask = pass_row_answers((every, data.conditions, data.encounter_diagnoses), ("CMS154 URI episode rows",),
                                every, enc, lambda rows: _episode_mask(data, rows))
        if mask is not None:
            return enc[mask]
    return uri_episodes(data, period, enc)


def _episode_mask(data: MeasureData, enc: pd.DataFrame) -> np.ndarray | None:
    """Which of the encounters ``enc`` are URI episodes (None: none can be, ``enc`` being empty or no URI
    known); each row's answer depends on that row alone."""
    uri = uri_conditions(data)
    if enc.empty or uri is None:
        return None
    pids, onset_days, onsets, running = uri
    visit = status.encounter_interval(enc)
    epid = enc["patient_id"].to_numpy()
    # starts during (day of) the visit: a known onset day in [visit start day, visit end day]
    lo, hi = days(visit.start_hi), days(visit.end_lo)
    if comparable(epid, lo, hi, pids, onset_days) and lo.dtype == onsets.dtype:
        during_visit = onsets.any_within(epid, lo, hi)
    else:
        during_visit = exists_in_window(epid, lo, hi, pids, onset_days)
    # overlaps before: started strictly before the visit start and still prevalent at it
    before = _prevalent_at_start(epid, visit.start_lo, visit.start_hi, running)
    return np.asarray(during_visit | before, dtype=bool)


def uri_conditions(data: MeasureData) -> tuple[np.ndarray, np.ndarray, SortedPairs, pd.DataFrame] | None:
    """What ``uri_episodes`` asks of the URI conditions whatever the period (``None``: there are none):
    the patients and onset days of those with a known onset, their sorted (patient, onset day) pairs, and
    the running latest end per patient by start (``_running_ends``). Remembered for every period."""
    keys = data.valuesets.keys(UPPER_RESPIRATORY_INFECTION)
    return remember((data.conditions, data.encounter_diagnoses), ("CMS154 URI conditions", keys),
                    lambda: _uri_conditions(data), period=ANY_PERIOD)


def _uri_conditions(data: MeasureData) -> tuple[np.ndarray, np.ndarray, SortedPairs, pd.DataFrame] | None:
    cond = resp.conditions_in(data, UPPER_RESPIRATORY_INFECTION)
    if cond.empty:
        return None
    prevalence = status.prevalence_interval(cond)
    cpid = cond["patient_id"].to_numpy()
    onset = prevalence.start()
    known = ~np.isnat(onset) & (onset > np.datetime64(MIN_TS, "ns"))
    pids, onset_days = cpid[known], days(onset[known])
    onsets = SortedPairs(pids, onset_days, np.dtype(np.float64)) if pids.dtype.kind in "iu" \
        and onset_days.dtype.kind in "Mif" else SortedPairs(np.zeros(0, np.int64), np.zeros(0), np.dtype(np.float64))
    return pids, onset_days, onsets, _running_ends(cpid, prevalence.start_hi, prevalence.end_lo)


def _running_ends(cpid: np.ndarray, c_start_hi: np.ndarray, c_end_lo: np.ndarray) -> pd.DataFrame:
    """The conditions with a start and an end as ``pid, t`` (start) and ``best`` (the latest end of the
    patient's conditions started up to this one), sorted by ``t``."""
    c = pd.DataFrame({"pid": cpid, "t": c_start_hi, "end": c_end_lo})
    c = c[c["t"].notna() & c["end"].notna()]
    if c.empty:
        return c.assign(best=c["end"])[["pid", "t", "best"]]
    c = c.sort_values(["pid", "t"], kind="stable")
    c["best"] = c.groupby("pid", sort=False)["end"].cummax()
    return c.sort_values("t", kind="stable")[["pid", "t", "best"]]


def _prevalent_at_start(epid: np.ndarray, start_lo: np.ndarray, start_hi: np.ndarray,
                        running: pd.DataFrame) -> np.ndarray:
    """Per visit: a condition of the same patient that surely starts before the visit starts and surely
    ends at or after it (CQL ``overlaps before``), i.e. the latest end among the conditions started
    before the visit reaches its start: a running maximum (``_running_ends``) joined with ``merge_asof``,
    no pair product."""
    out = np.zeros(len(epid), dtype=bool)
    left = pd.DataFrame({"pid": epid, "t": start_lo, "b": start_hi, "row": np.arange(len(epid))})
    left = left[left["t"].notna() & left["b"].notna()]
    if running.empty or left.empty:
        return out
    left = left.sort_values("t", kind="stable")
    if left["pid"].dtype != running["pid"].dtype:
        running = running.assign(pid=running["pid"].astype(left["pid"].dtype))  # (a copy: the kept one stays)
    merged = pd.merge_asof(left, running, on="t", by="pid", direction="backward", allow_exact_matches=False)
    ok = merged["best"].notna() & (merged["best"] >= merged["b"])
    out[merged.loc[ok, "row"].to_numpy()] = True
    return out


def _comparable(a: np.ndarray, a_date_only: np.ndarray, b: np.ndarray, b_date_only: np.ndarray) -> np.ndarray:
    """CQL ``a <= b`` answered *true*: a date without time against a precise time is only certain on
    different days (same day -> null); two values of the same precision compare exactly."""
    same = a_date_only == b_date_only
    exact = np.where(a_date_only, a.astype("datetime64[D]") <= b.astype("datetime64[D]"), a <= b)
    by_day = a.astype("datetime64[D]") < b.astype("datetime64[D]")
    return np.where(same, exact, by_day) & ~np.isnat(a) & ~np.isnat(b)


def antibiotic_within_three_days(episodes: pd.DataFrame, orders: pd.DataFrame) -> np.ndarray:
    """Per episode: an antibiotic order authored from the encounter start to 3 days after it (full
    precision; a date-only authoredOn on a boundary day is uncertain and does not count)."""
    if episodes.empty or orders.empty:
        return np.zeros(len(episodes), dtype=bool)
    start = episodes["start"].to_numpy(dtype="datetime64[ns]")
    start_do = date_only_mask(episodes, "start")
    start_do = np.zeros(len(episodes), bool) if start_do is None else start_do
    authored = orders["authored_on"].to_numpy(dtype="datetime64[ns]")
    auth_do = date_only_mask(orders, "authored_on")
    if auth_do is None and not start_do.any():
        # (the orders are the same in every period: their sorted pairs are kept for a pass)
        return exists_in_kept(orders, "CMS154 authored on", episodes["patient_id"].to_numpy(), start,
                              start + np.timedelta64(3, "D"), lambda: (orders["patient_id"].to_numpy(), authored))
    auth_do = np.zeros(len(orders), bool) if auth_do is None else auth_do
    end = start + np.timedelta64(3, "D")

    def in_window(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        return (_comparable(start[li], start_do[li], authored[ri], auth_do[ri])
                & _comparable(authored[ri], auth_do[ri], end[li], start_do[li]))

    return exists_pair(episodes["patient_id"].to_numpy(), orders["patient_id"].to_numpy(), in_window)


@register
class CMS154(Measure):
    id = "CMS154"
    title = "Appropriate Treatment for Upper Respiratory Infection (URI)"
    version = "0.1.001"
    applies_to = (None, None)  # no newer FHIR version published: in force for 2026 too
    canonical = MADIE + "AppropriateTreatmentforUpperRespiratoryInfectionURIFHIR"
    manifest = manifests.Y2025
    steward = "National Committee for Quality Assurance"
    description = (
        "Percentage of episodes for patients 3 months of age and older with a diagnosis of upper "
        "respiratory infection (URI) that did not result in an antibiotic order."
    )
    basis = "episode"
    gap_closable = False  # an antibiotic already ordered cannot be taken back
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
        onset = uri["onset"].to_numpy(dtype="datetime64[ns]")
        uri = uri[np.isnat(onset) | (onset < np.datetime64(period.end_exclusive, "ns"))]
        candidates = PatientSet(uri["patient_id"].to_numpy())
        everyone = data
        data = uri_records(everyone)
        data.encounters = resp.ending_in(uri_encounters(everyone), period, candidates)
        episodes = _pass_episodes(data, everyone, period, data.encounters)
        if not episodes.empty:
            months = ages_in_months(data, period.start).reindex(episodes["patient_id"].to_numpy()).to_numpy()
            episodes = episodes[np.nan_to_num(months, nan=-1) >= 3]
        if episodes.empty:
            return [episode_rows(episodes, initial_population=[], denominator=[], denominator_exclusion=[],
                                 numerator=[])]
        pids = episodes["patient_id"].to_numpy()
        mr = data.medication_requests
        any_abx = remember((mr,), ("CMS154 antibiotic requests", data.valuesets.keys(resp.ANTIBIOTIC_MEDICATIONS)),
                           lambda: mr[vs_mask(data, mr, resp.ANTIBIOTIC_MEDICATIONS)], period=ANY_PERIOD,
                           for_pass=True)  # (the same in every period: its request days kept with it)
        competing = resp.conditions_in(data, resp.COMPETING_CONDITIONS, resp.ACUTE_PHARYNGITIS,
                                       resp.ACUTE_TONSILLITIS)
        excluded = (
            flag(pids, hospice.has_hospice_services(everyone, period))
            | resp.comorbid_history(episodes, resp.conditions_in(data, resp.COMORBID_CONDITIONS))
            | resp.antibiotic_history(episodes, any_abx)
            | resp.competing_history(episodes, competing)
        )
        treated = antibiotic_within_three_days(episodes, resp.antibiotic_orders(data))
        ones = np.ones(len(episodes), dtype=bool)
        return [episode_rows(episodes, initial_population=ones, denominator=ones, denominator_exclusion=excluded,
                             numerator=~treated)]
