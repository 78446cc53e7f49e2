"""WCV Child and adolescent well-care visits, ages 3-21 (CareNet network, after HEDIS WCV)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import gaps as gapkit
from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice
from ..period import Period
from . import _network_common as nc


@register
class WCV(Measure):
    id = "WCV"
    title = "Child and Adolescent Well-Care Visits (3-21)"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = "Patients aged 3 to 21 at the end of the period with at least one well-care visit in the period."
    source = "network"
    groups = (Group("At least one well-care visit in the period", code="WCV"),)
    valuesets = (*nc.WELL_VISITS, *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after NCQA HEDIS WCV and AAP Bright Futures (a yearly well visit from age 3).",
        ages="3 through 21 years (whole years) on the last day of the period.",
        anchor="The last day of the measurement period.",
        denominator="Every patient in the age window.",
        numerator="At least one well-care visit (value sets well-child-visit / well-visit-reason: encounter type, reason or diagnosis; "
                  "encounter performed) on a day within the period, first and last day included.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        age = nc.age_years_at(p["birth"], pd.Timestamp(period.end))
        sub = p[(age >= 3) & (age <= 21)]
        visits = nc.well_visit_days(data, nc.WELL_VISITS)
        count = nc.days_in_windows(visits, sub["patient_id"], period.start_ts, pd.Timestamp(period.end))
        return [nc.population_frame(
            sub["patient_id"], initial_population=True, denominator=True,
            denominator_exclusion=nc.standard_exclusions(data, period, sub["patient_id"], sub["deceased"]),
            numerator=count >= 1,
        )]

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """A well-care visit (with the last one on record, if any); due by the end of the period."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        visits = nc.well_visit_days(data, nc.WELL_VISITS)
        visits = visits[visits["day"] <= pd.Timestamp(period.end)]
        last = gapkit.date_text(gapkit.lookup(visits.groupby("patient_id")["day"].max(), members["patient_id"]))
        text = np.where(last == "", "Well-care visit (none on record)", "Well-care visit (last " + last + ")")
        return gapkit.gap_frame(members, text, pd.Timestamp(period.end))
