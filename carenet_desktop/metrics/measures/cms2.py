"""CMS2 Preventive Care and Screening: Screening for Depression and Follow-Up Plan.

Follows the published CQL ``PCSDepressionScreenAndFollowUpFHIR`` 0.2.000 (QI-Core 4.1.1, QICoreCommon
2.1.000). "Qualifying encounter" (QE): a finished encounter (to screen for depression, physical-therapy
evaluation or telephone visit) whose period lies within (day of) the period.

* initial population: age >= 12 at the start of the period and a QE.
* exclusion: a bipolar-disorder problem-list item or health concern whose prevalence period starts before
  the start of a QE.
* numerator, by age at the start of the period (12-16 adolescent tool, 17 either tool, 18+ adult tool):
  the most recent final screening with a value, dated 0-14 days before (the day of) a QE's start, is
  negative; or it is positive and a follow-up (an antidepressant order, a referral, or a completed
  follow-up procedure of that age group's value sets) was performed during a QE or ordered on the day
  of the QE's end or up to 2 days later, within (day of) the period.
* exception: a cancelled screening (not done) issued during a QE, for refusal (SNOMED 720834000) or a
  medical reason, and no final screening with a value of that tool 0-14 days before a QE.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure
from ..libraries import status
from ..memo import ANY_PERIOD, remember
from ..period import Period
from ..primitives import (
    Iv,
    Precision,
    age_in_years_at,
    code_mask,
    day_number,
    during,
    exists_in_window,
    point_in,
    starts_before,
    status_in,
    vs_mask,
)

VS = "http://cts.nlm.nih.gov/fhir/ValueSet/"
ADOLESCENT_MEDICATIONS = VS + "2.16.840.1.113883.3.526.3.1567"
ADULT_MEDICATIONS = VS + "2.16.840.1.113883.3.526.3.1566"
BIPOLAR_DISORDER = VS + "2.16.840.1.113883.3.67.1.101.1.128"
ENCOUNTER_TO_SCREEN = VS + "2.16.840.1.113883.3.600.1916"
FOLLOW_UP_ADOLESCENT = VS + "2.16.840.1.113883.3.526.3.1569"
FOLLOW_UP_ADULT = VS + "2.16.840.1.113883.3.526.3.1568"
MEDICAL_REASON = VS + "2.16.840.1.113883.3.526.3.1007"
PHYSICAL_THERAPY_EVALUATION = VS + "2.16.840.1.113883.3.526.3.1022"
REFERRAL_ADOLESCENT = VS + "2.16.840.1.113883.3.526.3.1570"
REFERRAL_ADULT = VS + "2.16.840.1.113883.3.526.3.1571"
TELEPHONE_VISITS = VS + "2.16.840.1.113883.3.464.1003.101.12.1080"

#: direct-reference codes
ADOLESCENT_SCREENING = ("loinc", "73831-0")
ADULT_SCREENING = ("loinc", "73832-8")
SCREENING_DECLINED = ("snomed", "720834000")
SCREENING_NEGATIVE = ("snomed", "428171000124102")
SCREENING_POSITIVE = ("snomed", "428181000124104")

SCREENING_WINDOW_DAYS = 14  # screening on the day of the encounter or up to 14 days before
FOLLOW_UP_DAYS = 2  # follow-up ordered on the day the encounter ends or up to 2 days later

_EMPTY = pd.Index([], name="patient_id")


def _ids(frame: pd.DataFrame, mask: np.ndarray | None = None) -> pd.Index:
    values = frame["patient_id"].to_numpy()
    if mask is not None:
        values = values[np.asarray(mask, dtype=bool)]
    return pd.Index(pd.unique(values), name="patient_id")


def qualifying_encounters(data: MeasureData, period: Period) -> pd.DataFrame:
    """The QEs: patient_id, start, end (finished, of the value sets, within day of the period)."""
    sub = typed_encounters(data)
    bounds = remember((sub,), ("CMS2 typed encounters' intervals",),  # (of the remembered rows: any period's)
                      lambda: astuple_shallow(status.encounter_interval(sub)), period=ANY_PERIOD)
    return sub[during(Iv(*bounds), period, "day")].reset_index(drop=True)


def astuple_shallow(iv: Iv) -> tuple[Any, ...]:
    """An interval's fields, in order (``Iv(*fields)`` rebuilds it; a tuple the memo can compare)."""
    return tuple(getattr(iv, f.name) for f in fields(Iv))


def typed_encounters(data: MeasureData) -> pd.DataFrame:
    """The finished encounters of the QE value sets, of any date: the same in every period, so derived once
    for all the periods of an evaluation (``metrics.memo``, ``ANY_PERIOD``); a period keeps those within it."""
    keys = data.valuesets.keys(ENCOUNTER_TO_SCREEN, PHYSICAL_THERAPY_EVALUATION, TELEPHONE_VISITS)

    def compute() -> pd.DataFrame:
        enc = data.encounters
        mask = vs_mask(data, enc, ENCOUNTER_TO_SCREEN, PHYSICAL_THERAPY_EVALUATION, TELEPHONE_VISITS)
        mask &= status_in(enc, "finished")  # on the store's frame: its status factorised once
        return enc[[c for c in ("patient_id", "start", "end", "date_only") if c in enc.columns]][mask]

    return remember((data.encounters,), ("CMS2 typed encounters", keys), compute, period=ANY_PERIOD, for_pass=True)


def _screenings(data: MeasureData, qe: pd.DataFrame, code: tuple[str, str],
                statuses: tuple[str, ...] = ("final",)) -> pd.DataFrame:
    """Screenings (of ``statuses``) with a value whose end is 0-14 days before (day of) the start of a QE."""
    every, end_days, starts = screening_records(data, code, statuses)
    keep = every["patient_id"].isin(qe["patient_id"]).to_numpy()
    sub = every[keep]
    if sub.empty or qe.empty:
        return sub.iloc[0:0].assign(_start=pd.Series(dtype="datetime64[us]"))
    end_day = end_days[keep]
    hit = exists_in_window(sub["patient_id"].to_numpy(), end_day, end_day + SCREENING_WINDOW_DAYS,
                           qe["patient_id"].to_numpy(), day_number(qe["start"]).to_numpy())
    out = sub[hit].copy()
    out["_start"] = starts[keep][hit]
    return out


#: the columns of a screening the measure reads after selecting them (``_screenings`` and what uses its rows)
_SCREENING_COLUMNS = ("patient_id", "value_key")


def screening_records(data: MeasureData, code: tuple[str, str],
                      statuses: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The screenings of ``code`` (of ``statuses``, with a value) of every patient, with the day number of the
    end and the start of each one's effective time: the same in every period, so derived once for all the
    periods of an evaluation (``ANY_PERIOD``); a period keeps those of its QE patients."""

    def compute() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        obs = data.observations
        sub = obs[code_mask(obs, *code)]
        sub = sub[status_in(sub, *statuses) & status.has_value(sub)]
        iv = status.effective_interval(sub)
        end_day = day_number(pd.Series(iv.end(), index=sub.index)).to_numpy()
        # the columns a period reads of them (its patients, the value's code): a period's cut takes only these
        return sub[[c for c in _SCREENING_COLUMNS if c in sub.columns]], end_day, np.asarray(iv.start())

    return remember((data.observations,), ("CMS2 screenings", code, statuses), compute, period=ANY_PERIOD, for_pass=True)


def _most_recent(screenings: pd.DataFrame) -> pd.DataFrame:
    """``Last(... sort by start of effective)``: the latest start per patient (a null start sorts first)."""
    ordered = screenings.sort_values(["patient_id", "_start"], kind="stable", na_position="first")
    return ordered.drop_duplicates("patient_id", keep="last")


def _follow_ups(data: MeasureData, medications: str, referrals: str, procedures: str,
                orders: pd.DataFrame | None = None) -> pd.DataFrame:
    """The follow-up interventions: patient_id, performed start (procedures), authoredOn (requests).
    ``orders``: the medication requests that count, when the caller selected them (a later version)."""
    if orders is None:  # the same in every period: derived once for all of them (``ANY_PERIOD``)
        keys = data.valuesets.keys(medications), data.valuesets.keys(referrals), data.valuesets.keys(procedures)
        return remember((data.medication_requests, data.service_requests, data.procedures),
                        ("CMS2 follow-ups", keys), lambda: _follow_up_rows(data, medications, referrals, procedures),
                        period=ANY_PERIOD, for_pass=True)
    return _follow_up_rows(data, medications, referrals, procedures, orders)


def _follow_up_rows(data: MeasureData, medications: str, referrals: str, procedures: str,
                    orders: pd.DataFrame | None = None) -> pd.DataFrame:
    if orders is None:
        mr = data.medication_requests
        mr = mr[vs_mask(data, mr, medications)]
        mr = mr[status_in(mr, "active", "completed") & status_in(mr, "order", column="intent")]
    else:
        mr = orders
    nat = np.datetime64("NaT", "us")
    ordered = pd.DataFrame({"patient_id": mr["patient_id"].to_numpy(), "performed": nat,
                            "authored": mr["authored_on"].to_numpy(dtype="datetime64[us]")})
    if orders is None:
        referred, performed = _referral_and_procedure_rows(data, referrals, procedures)
    else:  # the orders a period selected, the referrals and procedures of every period: derived once for a pass
        keys = data.valuesets.keys(referrals), data.valuesets.keys(procedures)
        referred, performed = remember(
            (data.service_requests, data.procedures), ("CMS2 referrals and procedures", keys),
            lambda: _referral_and_procedure_rows(data, referrals, procedures), period=ANY_PERIOD, for_pass=True)
    return pd.concat([ordered, referred, performed], ignore_index=True)


def _referral_and_procedure_rows(data: MeasureData, referrals: str,
                                 procedures: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The follow-up referrals and procedures (``_follow_up_rows``' second and third parts), of any date."""
    sr = data.service_requests
    sr = sr[vs_mask(data, sr, referrals)]
    sr = sr[status_in(sr, "active", "completed")]
    proc = data.procedures
    proc = proc[vs_mask(data, proc, procedures)]
    proc = proc[status_in(proc, "completed")]
    nat = np.datetime64("NaT", "us")
    return (pd.DataFrame({"patient_id": sr["patient_id"].to_numpy(), "performed": nat,
                          "authored": sr["authored_on"].to_numpy(dtype="datetime64[us]")}),
            pd.DataFrame({"patient_id": proc["patient_id"].to_numpy(),
                          "performed": status.performed_interval(proc).start(), "authored": nat}))


def _positive_with_follow_up(last: pd.DataFrame, follow_ups: pd.DataFrame, qe: pd.DataFrame,
                             period: Period) -> pd.Index:
    """Patients whose most recent screening is positive and followed up around a QE."""
    pos = last[code_mask(last, *SCREENING_POSITIVE, column="value_key")]
    if pos.empty or follow_ups.empty:
        return _EMPTY
    # the screening starts 0-14 days before (day of) the QE's start
    pairs = pos[["patient_id", "_start"]].merge(qe, on="patient_id")
    s_day = day_number(pairs["_start"]).to_numpy()
    q_day = day_number(pairs["start"]).to_numpy()
    pairs = pairs[(q_day >= s_day) & (q_day <= s_day + SCREENING_WINDOW_DAYS)]
    if pairs.empty:
        return _EMPTY
    triples = pairs[["patient_id", "start", "end"]].merge(follow_ups, on="patient_id")
    qe_iv = status.encounter_interval(triples)
    during_qe = point_in(triples["performed"], qe_iv)
    a_day = day_number(triples["authored"]).to_numpy()
    e_day = day_number(pd.Series(qe_iv.end(), index=triples.index)).to_numpy()
    after_qe = (a_day >= e_day) & (a_day <= e_day + FOLLOW_UP_DAYS)
    when = triples["performed"].fillna(triples["authored"])
    in_period = point_in(when, period, "day")
    return _ids(triples, (during_qe | after_qe) & in_period)


def _not_screened_for_reason(data: MeasureData, qe: pd.DataFrame, code: tuple[str, str],
                             precision: Precision = None) -> pd.Index:
    """A cancelled screening with a refusal or medical reason, issued during a QE (at ``precision``)."""
    if "status_reason_key" not in data.observations.columns:
        return _EMPTY
    sub = not_done_records(data, code)
    if sub.empty or qe.empty:
        return _EMPTY
    pairs = sub.merge(qe, on="patient_id")
    return _ids(pairs, point_in(pairs["issued"], status.encounter_interval(pairs), precision))


def not_done_records(data: MeasureData, code: tuple[str, str]) -> pd.DataFrame:
    """patient_id and issued of the cancelled screenings of ``code`` with a refusal or medical reason, of
    every date: the same in every period, so derived once for all of them (``ANY_PERIOD``)."""

    def compute() -> pd.DataFrame:
        obs = data.observations
        sub = obs[code_mask(obs, *code)]
        reason = code_mask(sub, *SCREENING_DECLINED, column="status_reason_key") | vs_mask(
            data, sub, MEDICAL_REASON, column="status_reason_key"
        )
        return sub[status_in(sub, "cancelled") & reason][["patient_id", "issued"]]

    return remember((data.observations,), ("CMS2 not done", code, data.valuesets.keys(MEDICAL_REASON)), compute,
                    period=ANY_PERIOD, for_pass=True)


def _bipolar_history(data: MeasureData, qe: pd.DataFrame) -> pd.Index:
    cond = data.conditions
    sub = cond[vs_mask(data, cond, BIPOLAR_DISORDER)]
    sub = sub[status.problem_list_item(sub) | status.health_concern(sub)]
    if sub.empty or qe.empty:
        return _EMPTY
    # "starts before" some QE: compare with each patient's latest known QE start
    latest = qe.dropna(subset=["start"]).groupby("patient_id")["start"].max()
    qe_start = sub["patient_id"].map(latest)
    return _ids(sub, starts_before(status.prevalence_interval(sub), Iv.points(qe_start)))


@register
class CMS2(Measure):
    id = "CMS2"
    title = "Preventive Care and Screening: Screening for Depression and Follow-Up Plan"
    version = "0.2.000"
    applies_to: ClassVar[tuple[int | None, int | None]] = (None, 2025)  # the 2026 version is in cms2_2026
    canonical = MADIE + "PCSDepressionScreenAndFollowUpFHIR"
    manifest = manifests.Y2025
    steward = "Centers for Medicare & Medicaid Services (CMS)"
    description = (
        "Percentage of patients aged 12 years and older screened for depression on the date of the encounter "
        "or up to 14 days prior to the date of the encounter using an age-appropriate standardized depression "
        "screening tool AND if positive a follow-up plan is documented on the date of or up to two days after "
        "the date of the qualifying encounter."
    )
    basis = "patient"
    improvement = "increase"
    groups = (
        Group(
            "Depression screening and follow-up",
            populations=("initial-population", "denominator", "denominator-exclusion", "denominator-exception",
                         "numerator"),
        ),
    )
    valuesets = (
        ADOLESCENT_MEDICATIONS, ADULT_MEDICATIONS, BIPOLAR_DISORDER, ENCOUNTER_TO_SCREEN, FOLLOW_UP_ADOLESCENT,
        FOLLOW_UP_ADULT, MEDICAL_REASON, PHYSICAL_THERAPY_EVALUATION, REFERRAL_ADOLESCENT, REFERRAL_ADULT,
        TELEPHONE_VISITS,
    )
    specification = {
        "age": "12 years or older on the first day of the measurement period.",
        "anchor": "Each qualifying encounter (finished depression-screening, physical-therapy or telephone visit "
                  "within the period).",
        "initial population": "Age 12 or older at the start of the period with a qualifying encounter.",
        "denominator": "Equals the initial population.",
        "denominator exclusions": (
            "Bipolar disorder on the problem list or as a health concern, starting before a qualifying encounter."
        ),
        "numerator": (
            "The most recent depression screening (adolescent tool for ages 12-16, either tool at 17, adult tool "
            "at 18+) on the day of a qualifying encounter or up to 14 days before is negative, or is positive "
            "with a follow-up plan (antidepressant order, referral or follow-up procedure) during the encounter "
            "or ordered up to 2 days after it."
        ),
        "denominator exceptions": (
            "Screening not done because the patient declined or for a medical reason, documented during a "
            "qualifying encounter, and no screening with that tool in the 14 days before a qualifying encounter."
        ),
        "source": "PCSDepressionScreenAndFollowUpFHIR 0.2.000 (QI-Core 4.1.1)",
    }
    #: the screening statuses counted (2025: final only)
    screening_statuses: ClassVar[tuple[str, ...]] = ("final",)
    #: a not-done screening is issued during the encounter at this precision (2025: to the instant)
    not_done_precision: ClassVar[Precision] = None

    def bipolar_history(self, data: MeasureData, qe: pd.DataFrame) -> pd.Index:
        """The exclusion: bipolar disorder (problem-list item or health concern) before a QE."""
        return _bipolar_history(data, qe)

    def follow_ups(self, data: MeasureData, medications: str, referrals: str, procedures: str,
                   last: pd.DataFrame, qe: pd.DataFrame) -> pd.DataFrame:
        """The follow-up interventions of an age group (``last``: its most recent screenings)."""
        return _follow_ups(data, medications, referrals, procedures)

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        qe_all = qualifying_encounters(data, period)
        pats = data.patients
        age_all = age_in_years_at(pats["birth_date"], period.start)
        ip = (age_all >= 12) & pats["patient_id"].isin(qe_all["patient_id"]).to_numpy()
        ids = pd.Index(pats["patient_id"].to_numpy()[ip], name="patient_id")
        age = age_all[ip]
        qe = qe_all[qe_all["patient_id"].isin(ids)]
        # every helper below starts from a selective code/value-set filter on the full frames

        excluded = ids.isin(self.bipolar_history(data, qe))

        adolescent = _screenings(data, qe, ADOLESCENT_SCREENING, self.screening_statuses)
        adult = _screenings(data, qe, ADULT_SCREENING, self.screening_statuses)
        last_adolescent = _most_recent(adolescent)
        last_adult = _most_recent(adult)
        adolescent_ok = ids.isin(_ids(last_adolescent, code_mask(last_adolescent, *SCREENING_NEGATIVE, column="value_key")))
        adolescent_ok |= ids.isin(_positive_with_follow_up(last_adolescent, self.follow_ups(
            data, ADOLESCENT_MEDICATIONS, REFERRAL_ADOLESCENT, FOLLOW_UP_ADOLESCENT, last_adolescent, qe), qe, period))
        adult_ok = ids.isin(_ids(last_adult, code_mask(last_adult, *SCREENING_NEGATIVE, column="value_key")))
        adult_ok |= ids.isin(_positive_with_follow_up(last_adult, self.follow_ups(
            data, ADULT_MEDICATIONS, REFERRAL_ADULT, FOLLOW_UP_ADULT, last_adult, qe), qe, period))
        numerator = (
            ((age >= 12) & (age <= 16) & adolescent_ok)
            | ((age == 17) & (adolescent_ok | adult_ok))
            | ((age >= 18) & adult_ok)
        )

        not_done = self.not_done_precision
        exception = (
            ids.isin(_not_screened_for_reason(data, qe, ADOLESCENT_SCREENING, not_done)) & ~ids.isin(_ids(adolescent))
        ) | (ids.isin(_not_screened_for_reason(data, qe, ADULT_SCREENING, not_done)) & ~ids.isin(_ids(adult)))

        return [
            pd.DataFrame(
                {
                    "patient_id": ids.to_numpy(),
                    "initial-population": True,
                    "denominator": True,
                    "denominator-exclusion": excluded,
                    "denominator-exception": exception,
                    "numerator": numerator,
                }
            )
        ]
