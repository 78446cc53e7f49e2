"""FLV Fluoride varnish in primary care, ages 1-4 (CareNet network, after USPSTF/AAP and CMS TFL-CH)."""

from __future__ import annotations

import pandas as pd

from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice
from ..period import Period
from . import _network_common as nc


@register
class FLV(Measure):
    id = "FLV"
    title = "Fluoride Varnish in Primary Care (1-4)"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = ("Children aged 1 to 4 with a well-child visit in the period who had fluoride varnish applied "
                   "in the period.")
    source = "network"
    groups = (Group("Fluoride varnish applied in the period", code="FLV"),)
    valuesets = (*nc.WELL_VISITS, nc.FLUORIDE_VARNISH, *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after the USPSTF/AAP recommendation of fluoride varnish in primary care "
               "and the CMS Child Core Set TFL-CH measure.",
        ages="1 through 4 years (whole years) on the last day of the period.",
        anchor="The last day of the measurement period.",
        denominator="Patients in the age window with at least one well-child visit (value sets well-child-visit / well-visit-reason) in "
                    "the period.",
        numerator="At least one fluoride varnish application (value set fluoride-varnish, e.g. CPT 99188 or "
                  "CDT D1206; a completed procedure or a performed encounter so coded) within the period.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        age = nc.age_years_at(p["birth"], pd.Timestamp(period.end))
        sub = p[(age >= 1) & (age <= 4)]
        pids, start, end = sub["patient_id"], period.start_ts, pd.Timestamp(period.end)
        visits = nc.well_visit_days(data, nc.WELL_VISITS)
        varnish = nc.any_event_days(data, ("procedures", "encounters"), [nc.FLUORIDE_VARNISH])
        return [nc.population_frame(
            pids, initial_population=True,
            denominator=nc.days_in_windows(visits, pids, start, end) >= 1,
            denominator_exclusion=nc.standard_exclusions(data, period, pids, sub["deceased"]),
            numerator=nc.days_in_windows(varnish, pids, start, end) >= 1,
        )]
