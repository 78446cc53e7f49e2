"""MDS Maternal depression screening in the first 6 months (CareNet network, after AAP Bright Futures)."""

from __future__ import annotations

import pandas as pd

from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice
from ..period import Period
from . import _network_common as nc


@register
class MDS(Measure):
    id = "MDS"
    title = "Maternal Depression Screening in the First 6 Months"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = ("Infants who turned 6 months during the period, seen for a well visit in their first 6 months, "
                   "whose caregiver was screened for depression by the 6-month birthday.")
    source = "network"
    groups = (Group("Caregiver screened for depression by 6 months", code="MDS"),)
    gap_anchor = {0: (0, 6)}  # a missed screen is due by the 6-month birthday
    valuesets = (*nc.WELL_VISITS, nc.MATERNAL_DEPRESSION_SCREENING, *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after the AAP Bright Futures recommendation to screen mothers for "
               "postpartum depression at the 1-, 2-, 4- and 6-month infant visits.",
        ages="Infants whose 6-month birthday (birth date + 6 months) falls in the period.",
        anchor="The 6-month birthday; a day that does not exist in that month moves to its last day "
               "(Aug 31 + 6 months = Feb 28/29).",
        denominator="Infants in the initial population with at least one well-child visit (value sets "
                    "well-child-visit / well-visit-reason) from birth through the 6-month birthday.",
        numerator="A caregiver depression screening (value set maternal-depression-screening, e.g. EPDS "
                  "LOINC 71354-5 or CPT 96161) recorded in the infant's chart "
                  "(observation or procedure) from birth through the 6-month birthday.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        sub = p[nc.turns_during(p, period, months=6)]
        pids, lo, hi = sub["patient_id"], sub["birth"], nc.birthday(sub["birth"], months=6)
        visits = nc.well_visit_days(data, nc.WELL_VISITS)
        screens = nc.any_event_days(data, ("observations", "procedures"), [nc.MATERNAL_DEPRESSION_SCREENING])
        return [nc.population_frame(
            pids, initial_population=True,
            denominator=nc.days_in_windows(visits, pids, lo, hi) >= 1,
            denominator_exclusion=nc.standard_exclusions(data, period, pids, sub["deceased"]),
            numerator=nc.days_in_windows(screens, pids, lo, hi) >= 1,
        )]
