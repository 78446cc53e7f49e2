"""CMS2 Screening for Depression and Follow-Up Plan, the 2026 version (``CMS2FHIRPCSDepressionScreenAndFollowUp``
0.4.001, the released version; QI-Core 6.0.0, QICoreCommon 4.0.000, CumulativeMedicationDuration 6.0.000).

The 2025 module (``cms2``) holds the logic; this version differs in:

* screenings count with status ``final`` or ``corrected`` (2025: final only);
* a screening not done (cancelled, with a refusal or medical reason) counts when it was issued on a day of a
  qualifying encounter (2025: within the encounter's period to the instant);
* bipolar disorder excludes as a ``ConditionProblemsHealthConcerns`` (the kind, see
  ``libraries.condition_kind``) whose prevalence period starts before the *day* of a qualifying encounter's
  start (2025: before the instant, by category);
* an antidepressant order is a follow-up only when tied to a qualifying encounter: the most recent
  screening is positive and starts 0-14 days before (day of) that encounter's start, the request's
  medication period (``medicationRequestPeriod``) overlaps after (day of) the encounter, and it is active or
  completed with an order intent (order or one of its specialisations). The general follow-up rules (ordered
  on the day the encounter ends or up to 2 days after, within the period) still apply.

  A request whose medication period is null (no supply, no bounds end: the usual case) passes the
  "overlaps after" test, as in the reference engine: the CQL hands the Date interval to ``toInterval``, which
  takes DateTime intervals, so the null interval is converted bound by bound into Interval[null, null]
  with closed bounds - unbounded on both sides - which overlaps after any encounter. The published case
  "medication request follow up within 2 days after end of encounter" relies on it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE
from ..libraries import status
from ..libraries.y2026 import ORDER_INTENTS, QICORE_2026
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..primitives import Iv, Precision, code_mask, day_number, starts_before, status_in, vs_mask
from .cms2 import (
    BIPOLAR_DISORDER,
    CMS2,
    SCREENING_POSITIVE,
    SCREENING_WINDOW_DAYS,
    _follow_ups,
    _ids,
)

_EMPTY = pd.Index([], name="patient_id")


def medication_follow_ups(data: MeasureData, medications: str, last: pd.DataFrame, qe: pd.DataFrame) -> pd.DataFrame:
    """Antidepressant requests tied to a qualifying encounter (see the module docstring)."""
    positive = last[code_mask(last, *SCREENING_POSITIVE, column="value_key")]
    if in_several_periods():  # a pass: every period's antidepressant orders and their medication periods, once
        orders, starts, ends = antidepressant_orders(data, medications)
        keep = orders["patient_id"].isin(positive["patient_id"]).to_numpy()
        mr = orders[keep]
        if mr.empty or qe.empty:
            return mr.iloc[0:0]
        mr_starts, mr_ends = starts[keep], ends[keep]
    else:  # one period: the orders of its positive screenings' patients only
        mr = data.medication_requests
        mr = mr[vs_mask(data, mr, medications) & mr["patient_id"].isin(positive["patient_id"]).to_numpy()]
        mr = mr[status_in(mr, "active", "completed") & status_in(mr, *ORDER_INTENTS, column="intent")]
        if mr.empty or qe.empty:
            return mr.iloc[0:0]
        mr_starts, mr_ends = _medication_days(mr)
    rows = pd.DataFrame({"_row": np.arange(len(mr)), "patient_id": mr["patient_id"].to_numpy(),
                         "_mr_start": mr_starts, "_mr_end": mr_ends})
    rows = rows.merge(positive[["patient_id", "_start"]], on="patient_id").merge(qe, on="patient_id")
    qe_iv = status.encounter_interval(rows)
    screen = day_number(rows["_start"]).to_numpy()
    qe_start = day_number(pd.Series(qe_iv.start(), index=rows.index)).to_numpy()
    qe_end = day_number(pd.Series(qe_iv.end(), index=rows.index)).to_numpy()
    near = (qe_start >= screen) & (qe_start <= screen + SCREENING_WINDOW_DAYS)
    # "overlaps after day of": starts on or before the encounter's last day and ends after it; a null
    # medication period is Interval[null, null] once converted (unbounded, see the module docstring)
    mr_start, mr_end = rows["_mr_start"].to_numpy(), rows["_mr_end"].to_numpy()
    unknown = np.isnan(mr_start) | np.isnan(mr_end)
    after = unknown | ((mr_start <= qe_end) & (mr_end > qe_end))
    hit = np.zeros(len(mr), dtype=bool)
    hit[rows["_row"].to_numpy()[near & after]] = True
    return mr[hit]


def _medication_days(mr: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The day numbers of the start and the end of each request's ``medicationRequestPeriod`` (row by row)."""
    period = QICORE_2026.medication_request_period(mr)
    return day_number(period["start"]).to_numpy(), day_number(period["end"]).to_numpy()


def antidepressant_orders(data: MeasureData, medications: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The active or completed order-intent requests of ``medications`` of every patient and date, with their
    medication periods' day numbers (``_medication_days``): the same in every period (``ANY_PERIOD``), kept for a
    pass; a period keeps those of its positive screenings' patients - the rows, in the order, that filtering the
    whole frame for those patients first keeps."""

    def compute() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        mr = data.medication_requests
        mr = mr[vs_mask(data, mr, medications)]
        mr = mr[status_in(mr, "active", "completed") & status_in(mr, *ORDER_INTENTS, column="intent")]
        return (mr[["patient_id", "authored_on"]], *_medication_days(mr))  # (the columns a follow-up reads)

    return remember((data.medication_requests,), ("CMS2 2026 antidepressant orders", data.valuesets.keys(medications)),
                    compute, period=ANY_PERIOD, for_pass=True)


def bipolar_before_day(data: MeasureData, qe: pd.DataFrame) -> pd.Index:
    """``[ConditionProblemsHealthConcerns: "Bipolar Disorder"]`` starting before the day of a QE's start."""
    cond = data.conditions
    sub = cond[vs_mask(data, cond, BIPOLAR_DISORDER)]
    sub = sub[QICORE_2026.conditions_of_kind(data, sub, "problems-health-concerns")]
    if sub.empty or qe.empty:
        return _EMPTY
    latest = qe.dropna(subset=["start"]).groupby("patient_id")["start"].max()
    qe_start = sub["patient_id"].map(latest)
    return _ids(sub, starts_before(status.prevalence_interval(sub), Iv.points(qe_start), "day"))


@register
class CMS2v2026(CMS2):
    version = "0.4.001"
    applies_to = (2026, None)
    canonical = MADIE + "CMS2FHIRPCSDepressionScreenAndFollowUp"
    manifest = manifests.Y2026
    lib = QICORE_2026
    screening_statuses: ClassVar[tuple[str, ...]] = ("final", "corrected")
    not_done_precision: ClassVar[Precision] = "day"
    specification = {
        **CMS2.specification,
        "denominator exclusions": (
            "Bipolar disorder recorded as a problem-list item or health concern, starting before the day of a "
            "qualifying encounter."
        ),
        "numerator": (
            "The most recent final or corrected depression screening (adolescent tool for ages 12-16, either tool "
            "at 17, adult tool at 18+) on the day of a qualifying encounter or up to 14 days before is negative, or "
            "is positive with a follow-up plan (a referral or follow-up procedure, or an antidepressant order whose "
            "medication period runs past that encounter) during the encounter or ordered up to 2 days after it."
        ),
        "denominator exceptions": (
            "Screening not done because the patient declined or for a medical reason, documented on the day of a "
            "qualifying encounter, and no screening with that tool in the 14 days before a qualifying encounter."
        ),
        "source": "CMS2FHIRPCSDepressionScreenAndFollowUp 0.4.001 (QI-Core 6.0.0)",
    }

    def bipolar_history(self, data: MeasureData, qe: pd.DataFrame) -> pd.Index:
        return bipolar_before_day(data, qe)

    def follow_ups(self, data: MeasureData, medications: str, referrals: str, procedures: str,
                   last: pd.DataFrame, qe: pd.DataFrame) -> pd.DataFrame:
        orders = medication_follow_ups(data, medications, last, qe)
        return _follow_ups(data, medications, referrals, procedures, orders=orders)
