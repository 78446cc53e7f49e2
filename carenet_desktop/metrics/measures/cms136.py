"""CMS136 Follow-Up Care for Children Prescribed ADHD Medication (ADD)
(QI-Core 2025, FollowUpCareforChildrenPrescribedADHDMedicationADDFHIR 0.1.001).

Patient-based, two rates: the Initiation Phase (a follow-up visit within 30 days of the index
prescription start date, IPSD) and the Continuation and Maintenance Phase (210+ days of medication in the
300 days from the IPSD, and two more visits 31-300 days after it).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import gaps as gapkit
from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure
from ..libraries import hospice, status
from ..libraries.medication_duration import (
    cumulative_duration,
    intersect,
    medication_request_period,
    rollout_intervals,
)
from ..memo import ANY_PERIOD, remember
from ..period import Period
from ..primitives import add_months, age_in_years_at, code_mask, flag, vs_mask
from ._episodes import (
    PatientSet,
    days,
    exists_pair,
    in_valuesets,
    keys_column,
    restrict,
    vs,
)
from ._record_diagnoses import diagnosed_among

ATOMOXETINE = vs("2.16.840.1.113883.3.464.1003.1170")
CLONIDINE = vs("2.16.840.1.113883.3.464.1003.1171")
DEXMETHYLPHENIDATE = vs("2.16.840.1.113883.3.464.1003.1172")
DEXTROAMPHETAMINE = vs("2.16.840.1.113883.3.464.1003.1173")
LISDEXAMFETAMINE = vs("2.16.840.1.113883.3.464.1003.1174")
METHYLPHENIDATE = vs("2.16.840.1.113883.3.464.1003.1176")
GUANFACINE = vs("2.16.840.1.113883.3.464.1003.196.11.1252")
#: RxNorm 977860 "methamphetamine hydrochloride 5 MG Oral Tablet" (direct-reference code)
METHAMPHETAMINE = ("http://www.nlm.nih.gov/research/umls/rxnorm", "977860")
ADHD_VALUESETS = (ATOMOXETINE, CLONIDINE, DEXMETHYLPHENIDATE, DEXTROAMPHETAMINE, LISDEXAMFETAMINE, METHYLPHENIDATE,
                  GUANFACINE)

OFFICE_VISIT = vs("2.16.840.1.113883.3.464.1003.101.12.1001")
HOME_HEALTHCARE = vs("2.16.840.1.113883.3.464.1003.101.12.1016")
PREVENTIVE_ESTABLISHED_0_17 = vs("2.16.840.1.113883.3.464.1003.101.12.1024")
PREVENTIVE_INITIAL_0_17 = vs("2.16.840.1.113883.3.464.1003.101.12.1022")
PREVENTIVE_GROUP_COUNSELING = vs("2.16.840.1.113883.3.464.1003.101.12.1027")
PREVENTIVE_INDIVIDUAL_COUNSELING = vs("2.16.840.1.113883.3.464.1003.101.12.1026")
BEHAVIORAL_HEALTH_FOLLOW_UP = vs("2.16.840.1.113883.3.464.1003.101.12.1054")
PSYCHOTHERAPY_PHARMACOLOGIC = vs("2.16.840.1.113883.3.464.1003.101.12.1055")
OUTPATIENT_CONSULTATION = vs("2.16.840.1.113883.3.464.1003.101.12.1008")
PSYCH_DIAGNOSTIC_EVALUATION = vs("2.16.840.1.113883.3.526.3.1492")
PSYCH_PSYCHOTHERAPY = vs("2.16.840.1.113883.3.526.3.1496")
TELEPHONE_VISITS = vs("2.16.840.1.113883.3.464.1003.101.12.1080")
VIRTUAL_ENCOUNTER = vs("2.16.840.1.113883.3.464.1003.101.12.1089")
AMBULATORY = vs("2.16.840.1.113883.3.464.1003.122.12.1003")
ENCOUNTER_INPATIENT = vs("2.16.840.1.113883.3.666.5.307")
MENTAL_BEHAVIORAL_NEURODEVELOPMENTAL = vs("2.16.840.1.113883.3.464.1003.105.12.1203")
NARCOLEPSY = vs("2.16.840.1.113883.3.464.1003.114.12.1011")

QUALIFYING_ENCOUNTERS = (OFFICE_VISIT, HOME_HEALTHCARE, PREVENTIVE_ESTABLISHED_0_17, PREVENTIVE_INITIAL_0_17)
FOLLOW_UP_VISITS = (
    OFFICE_VISIT, PREVENTIVE_GROUP_COUNSELING, BEHAVIORAL_HEALTH_FOLLOW_UP, PREVENTIVE_INDIVIDUAL_COUNSELING,
    OUTPATIENT_CONSULTATION, HOME_HEALTHCARE, PREVENTIVE_INITIAL_0_17, PREVENTIVE_ESTABLISHED_0_17,
    PSYCH_DIAGNOSTIC_EVALUATION, PSYCH_PSYCHOTHERAPY, TELEPHONE_VISITS,
)

NEGATIVE_HISTORY_DAYS = 120
INITIATION_DAYS = 30
CONTINUATION_FIRST_DAY = 31
CONTINUATION_DAYS = 300
MIN_TREATMENT_DAYS = 210


def intake_period(period: Period) -> tuple[dt.date, dt.date]:
    """March 1 of the year before the measurement period's year through the last day of February of it."""
    year = period.start.year
    return dt.date(year - 1, 3, 1), dt.date(year, 3, 1) - dt.timedelta(days=1)


def _adhd_group_masks(data: MeasureData, mr: pd.DataFrame) -> list[np.ndarray]:
    """One mask per medication retrieve of the CQL (seven value sets and the methamphetamine code)."""
    masks = [vs_mask(data, mr, url) for url in ADHD_VALUESETS]
    masks.append(code_mask(mr, *METHAMPHETAMINE))
    return masks


def index_prescriptions(data: MeasureData, period: Period) -> pd.Series:
    """IPSD per patient: the earliest start (medicationRequestPeriod) of an ADHD medication order starting
    in the intake period with no active ADHD medication overlapping the 120 days before that start."""
    mr = data.medication_requests
    if mr.empty:
        return pd.Series([], dtype="datetime64[ns]", name="ipsd")
    adhd = np.logical_or.reduce(_adhd_group_masks(data, mr))
    mr = mr[adhd]
    med = medication_request_period(mr)
    has_period = med["start"].notna().to_numpy()
    mr, med = mr[has_period], med[has_period]
    first_day, last_day = intake_period(period)
    start = days(med["start"])
    lo, hi = days(pd.Series([pd.Timestamp(first_day), pd.Timestamp(last_day)]))
    candidate = status.medication_order(mr) & (start >= lo) & (start <= hi)
    if not candidate.any():
        return pd.Series([], dtype="datetime64[ns]", name="ipsd")
    active = status.medication_active(mr)
    cand_start = start[candidate]
    act_start, act_end = start[active], days(med["end"])[active]

    def on_medication_before(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        s = cand_start[li]
        return (act_start[ri] <= s - 1) & (act_end[ri] >= s - NEGATIVE_HISTORY_DAYS)

    previously = exists_pair(mr["patient_id"].to_numpy()[candidate], mr["patient_id"].to_numpy()[active],
                             on_medication_before)
    new = pd.DataFrame({"patient_id": mr["patient_id"].to_numpy()[candidate][~previously],
                        "ipsd": med["start"].to_numpy()[candidate][~previously]})
    return new.groupby("patient_id")["ipsd"].min()


def candidates(data: MeasureData, period: Period) -> np.ndarray:
    """Patients of the right age with an ADHD medication request (a cheap pre-filter)."""
    mr = data.medication_requests
    if mr.empty:
        return np.zeros(0, dtype=np.int64)
    adhd = vs_mask(data, mr, *ADHD_VALUESETS) | code_mask(mr, *METHAMPHETAMINE)
    with_adhd = pd.unique(mr["patient_id"].to_numpy()[adhd])
    p = data.patients
    p = p[p["patient_id"].isin(pd.Index(with_adhd)).to_numpy()]
    first_day, last_day = intake_period(period)
    ok = (np.nan_to_num(age_in_years_at(p["birth_date"], first_day), nan=-1) >= 6) & (
        np.nan_to_num(age_in_years_at(p["birth_date"], last_day), nan=99) <= 12)
    return p["patient_id"].to_numpy()[ok]


#: the records the measure reads (``restrict``): frames, and per frame the value sets and codes of its rows
_RECORD_FRAMES = ("patients", "encounters", "conditions", "medication_requests")
_RECORD_CODES: dict[str, tuple[str | tuple[str, str], ...]] = {
    "encounters": (*QUALIFYING_ENCOUNTERS, *FOLLOW_UP_VISITS, PSYCHOTHERAPY_PHARMACOLOGIC, VIRTUAL_ENCOUNTER,
                   ENCOUNTER_INPATIENT),
    "conditions": (MENTAL_BEHAVIORAL_NEURODEVELOPMENTAL, NARCOLEPSY),
    "medication_requests": (*ADHD_VALUESETS, METHAMPHETAMINE),
}


def adhd_records(data: MeasureData) -> MeasureData:
    """The records the measure reads (``_RECORD_CODES``) of every patient with an ADHD medication request, of
    any age and date: the same in every period, so derived once for all the periods of an evaluation
    (``metrics.memo``, ``ANY_PERIOD``). A period restricts them to its candidates and encounter window, which
    gives the rows ``restrict`` gives on the whole data (the candidates are among these patients). A new
    ``MeasureData`` each call; its frames are the remembered ones."""
    keys = tuple(data.valuesets.keys(*(c for c in codes if isinstance(c, str))) for codes in _RECORD_CODES.values())

    def compute() -> tuple[pd.DataFrame, ...]:
        mr = data.medication_requests
        adhd = vs_mask(data, mr, *ADHD_VALUESETS) | code_mask(mr, *METHAMPHETAMINE)
        sub = restrict(data, pd.unique(mr["patient_id"].to_numpy()[adhd]), frames=_RECORD_FRAMES, codes=_RECORD_CODES)
        return sub.patients, sub.encounters, sub.conditions, sub.medication_requests, sub.encounter_diagnoses

    patients, encounters, conditions, requests, diagnoses = remember(
        (data.patients, data.encounters, data.conditions, data.medication_requests, data.encounter_diagnoses),
        ("CMS136 ADHD patients' records", keys), compute, period=ANY_PERIOD, for_pass=True)
    return MeasureData(patients=patients, encounters=encounters, conditions=conditions, medication_requests=requests,
                       encounter_diagnoses=diagnoses, valuesets=data.valuesets)


def encounter_window(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Every encounter the measure can look at touches this window (6 months before the intake period
    to 300 days after it, and the measurement period for hospice)."""
    first_day, last_day = intake_period(period)
    lo = min(pd.Timestamp(first_day) - pd.DateOffset(months=7), period.start_ts)
    hi = max(pd.Timestamp(last_day) + pd.Timedelta(days=CONTINUATION_DAYS + 2), period.end_ts)
    return lo, hi


def _per_patient_any(pids: np.ndarray, mask: np.ndarray, index: pd.Index) -> np.ndarray:
    return flag(index, pd.Index(pd.unique(pids[mask])))


def _encounters_after_ipsd(enc: pd.DataFrame, ipsd: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """Encounters of patients with an IPSD and their start day minus the IPSD (days)."""
    sub = enc[enc["patient_id"].isin(ipsd.index).to_numpy()]
    offset = days(sub["start"]) - days(ipsd.reindex(sub["patient_id"].to_numpy()).to_numpy())
    return sub, offset


def treatment_days(data: MeasureData, ipsd: pd.Series) -> pd.Series:
    """"ADHD Cumulative Medication Duration": per patient, the days covered in [IPSD, IPSD + 300] by the
    ADHD medication orders, each medication's orders rolled out end to end."""
    mr = data.medication_requests
    if mr.empty or ipsd.empty:
        return pd.Series([], dtype=np.int64)
    mine = mr["patient_id"].isin(ipsd.index).to_numpy() & status.medication_order(mr)
    parts = []
    for group, mask in enumerate(_adhd_group_masks(data, mr)):
        sel = mine & mask
        if sel.any():
            parts.append(pd.DataFrame({"patient_id": mr["patient_id"].to_numpy()[sel], "group": group,
                                       "row": np.flatnonzero(sel)}))
    if not parts:
        return pd.Series([], dtype=np.int64)
    rows = pd.concat(parts, ignore_index=True)
    med = medication_request_period(mr.iloc[rows["row"].to_numpy()])
    rs, re_ = rollout_intervals(rows[["patient_id", "group"]], med["start"].to_numpy(), med["end"].to_numpy())
    lo = ipsd.reindex(rows["patient_id"].to_numpy()).to_numpy(dtype="datetime64[ns]")
    s, e = intersect(rs, re_, lo, lo + np.timedelta64(CONTINUATION_DAYS, "D"))
    return cumulative_duration(rows[["patient_id"]], s, e)


def _cohort(data: MeasureData, period: Period) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The children with an IPSD (their patient rows), the IPSD of each, and their ADHD treatment days
    (``treatment_days``), of ``data`` restricted to the period's candidates: what the period's start year
    decides (``intake_period``), the same for every period starting in that year."""
    ipsd = index_prescriptions(data, period)
    patients = data.patients[data.patients["patient_id"].isin(ipsd.index).to_numpy()]
    ipsd = ipsd.reindex(patients["patient_id"].to_numpy())
    return patients, ipsd, treatment_days(data, ipsd.dropna())


@register
class CMS136(Measure):
    id = "CMS136"
    title = "Follow-Up Care for Children Prescribed ADHD Medication (ADD)"
    version = "0.1.001"
    applies_to = (None, None)  # no newer FHIR version published: in force for 2026 too
    canonical = MADIE + "FollowUpCareforChildrenPrescribedADHDMedicationADDFHIR"
    manifest = manifests.Y2025
    steward = "National Committee for Quality Assurance"
    description = (
        "Percentage of children 6-12 years of age and newly prescribed a medication for attention-deficit/"
        "hyperactivity disorder (ADHD) who had appropriate follow-up care. Two rates are reported. "
        "a. Percentage of children who had one follow-up visit with a practitioner with prescribing authority "
        "during the 30-Day Initiation Phase. b. Percentage of children who remained on ADHD medication for at "
        "least 210 treatment days and who, in addition to the visit in the Initiation Phase, had at least two "
        "additional follow-up visits with a practitioner within 270 days (9 months) after the Initiation Phase "
        "ended."
    )
    basis = "patient"
    gap_expires = True  # a follow-up visit counts only inside its phase's days after the IPSD
    improvement = "increase"
    groups = (
        Group("Initiation Phase"),
        Group("Continuation and Maintenance Phase"),
    )
    valuesets = (
        *ADHD_VALUESETS, *QUALIFYING_ENCOUNTERS, *FOLLOW_UP_VISITS, PSYCHOTHERAPY_PHARMACOLOGIC, AMBULATORY,
        VIRTUAL_ENCOUNTER, ENCOUNTER_INPATIENT, MENTAL_BEHAVIORAL_NEURODEVELOPMENTAL, NARCOLEPSY,
        *hospice.VALUESETS,
    )
    specification = {
        "age": "6 years or older on March 1 of the year before the measurement period and 12 or younger on the "
               "last day of February of the measurement period's year.",
        "anchor": (
            "IPSD (index prescription start date): the earliest start of an ADHD medication order that starts "
            "in the intake period (March 1 of the prior year - end of February) with no active ADHD medication "
            "in the 120 days before it (negative medication history)."
        ),
        "initial population": (
            "Rate 1: a performed office/home/preventive visit in the 6 months up to the IPSD, and no inpatient "
            "stay with a principal mental, behavioral or neurodevelopmental diagnosis starting 1-30 days after "
            "the IPSD. Rate 2: the same, with at least 210 days of ADHD medication (each drug's orders rolled "
            "out end to end) in the 301 days from the IPSD, and no such inpatient stay 1-300 days after it."
        ),
        "denominator": "The initial population of each rate.",
        "exclusions": "Hospice services in the period; narcolepsy starting on or before the end of the period.",
        "numerator": (
            "Rate 1: a follow-up visit 1-30 days after the IPSD. Rate 2: that visit, and follow-up visits on "
            "two more distinct days 31-300 days after the IPSD (one of them may be a virtual encounter)."
        ),
    }

    rolling_note = (
        "The specification fixes the intake period by the year in which the measurement period starts (March 1 "
        "of the year before to the end of February of that year). Every rolling 12-month window that starts in "
        "the same calendar year follows the same children, so the trend stays flat for eleven months and steps "
        "when the windows' start year changes (the window ending in December): a step is a new cohort, not a "
        "change in care."
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        everyone = data
        records = adhd_records(data)  # a period's candidates are among these patients, its rows among these
        chosen = PatientSet(candidates(records, period))
        data = restrict(records, chosen, encounter_window(period), frames=_RECORD_FRAMES, codes=_RECORD_CODES)
        # the children, their IPSDs and treatment days depend on the period's start year only (the intake period,
        # ``candidates``; the requests are not cut to the encounter window): derived once per year for a pass
        restricted = data
        patients, ipsd, covered_days = remember(
            (records.patients, records.medication_requests),
            ("CMS136 cohort", intake_period(period), data.valuesets.keys(*ADHD_VALUESETS)),
            lambda: _cohort(restricted, period), period=ANY_PERIOD, for_pass=True)
        pids = pd.Index(patients["patient_id"].to_numpy())
        first_day, last_day = intake_period(period)
        ages_ok = (np.nan_to_num(age_in_years_at(patients["birth_date"], first_day), nan=-1) >= 6) & (
            np.nan_to_num(age_in_years_at(patients["birth_date"], last_day), nan=99) <= 12)
        enc = data.encounters
        enc, offset = _encounters_after_ipsd(enc, ipsd)
        performed = status.encounter_performed(enc)
        epids = enc["patient_id"].to_numpy()

        # a qualifying visit whose days lie within [IPSD - 6 months, IPSD]
        six_months_before = pd.Series(days(add_months(ipsd, -6)), index=ipsd.index).reindex(epids).to_numpy()
        end_offset = days(enc["end"]) - days(ipsd.reindex(epids).to_numpy())
        start_day = days(enc["start"])
        qualifying = performed & vs_mask(data, enc, *QUALIFYING_ENCOUNTERS) & (
            start_day >= six_months_before) & (end_offset <= 0)
        has_qualifying = _per_patient_any(epids, qualifying, pids)

        inpatient = performed & vs_mask(data, enc, ENCOUNTER_INPATIENT) & diagnosed_among(  # (of the records: found once for a pass)
            records, chosen, enc["event_id"].to_numpy(), MENTAL_BEHAVIORAL_NEURODEVELOPMENTAL, principal_only=True)
        stay_initiation = _per_patient_any(epids, inpatient & (offset > 0) & (offset <= INITIATION_DAYS), pids)
        stay_continuation = _per_patient_any(epids, inpatient & (offset > 0) & (offset <= CONTINUATION_DAYS), pids)

        base = ages_ok & has_qualifying & ipsd.notna().to_numpy()
        ip1 = base & ~stay_initiation
        covered = covered_days.reindex(pids).to_numpy()
        ip2 = base & (np.nan_to_num(covered, nan=0) >= MIN_TREATMENT_DAYS) & ~stay_continuation

        cond = data.conditions
        narcolepsy = cond[vs_mask(data, cond, NARCOLEPSY)]
        narcolepsy_start = status.prevalence_interval(narcolepsy).start_hi
        narcoleptic = narcolepsy["patient_id"][narcolepsy_start <= np.datetime64(period.end_ts, "ns")]
        excluded = flag(pids, hospice.has_hospice_services(everyone, period)) | flag(pids, pd.Index(narcoleptic))

        pharmacologic = vs_mask(data, enc, PSYCHOTHERAPY_PHARMACOLOGIC) & in_valuesets(
            data, enc.assign(location_key=keys_column(enc, "location_key")), AMBULATORY, column="location_key")
        follow_up = performed & (vs_mask(data, enc, *FOLLOW_UP_VISITS) | pharmacologic)
        initiation = _per_patient_any(epids, follow_up & (offset > 0) & (offset <= INITIATION_DAYS), pids)
        in_phase = (offset >= CONTINUATION_FIRST_DAY) & (offset <= CONTINUATION_DAYS)
        visit_days = pd.DataFrame({"patient_id": epids, "day": start_day})
        follow_days = visit_days[follow_up & in_phase].drop_duplicates()
        virtual = performed & vs_mask(data, enc, VIRTUAL_ENCOUNTER) & in_phase
        all_days = pd.concat([follow_days, visit_days[virtual]]).drop_duplicates()
        n_follow = follow_days.groupby("patient_id").size().reindex(pids).fillna(0).to_numpy()
        n_all = all_days.groupby("patient_id").size().reindex(pids).fillna(0).to_numpy()
        continuation = (n_follow >= 2) | ((n_follow >= 1) & (n_all >= 2))

        frames = []
        for ip, numerator in ((ip1, initiation), (ip2, initiation & continuation)):
            frames.append(pd.DataFrame({
                "patient_id": pids.to_numpy(),
                "initial-population": ip,
                "denominator": ip,
                "denominator-exclusion": excluded,
                "numerator": numerator,
            }))
        return frames

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """The follow-up visit(s) still missing, due by the end of the phase: 30 days after the IPSD for
        the initiation visit, 300 days for the continuation visits (30 days when the initiation visit was
        missed: the continuation rate needs it too)."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        ipsd = index_prescriptions(data, period)
        start = pd.Series(gapkit.lookup(ipsd, members["patient_id"]), dtype="datetime64[ns]")
        continuation = (members["group_index"] == 1).to_numpy()
        missed_initiation = members["patient_id"].isin(
            members.loc[members["group_index"] == 0, "patient_id"]).to_numpy()
        days_ = np.where(continuation & ~missed_initiation, CONTINUATION_DAYS, INITIATION_DAYS)
        due = start + pd.to_timedelta(days_, unit="D")
        text = np.where(continuation, "ADHD follow-up visits on two more days, 31-300 days after the first "
                                      "prescription", "ADHD follow-up visit within 30 days of the first prescription")
        return gapkit.gap_frame(members, text, due.fillna(pd.Timestamp(period.end)))
