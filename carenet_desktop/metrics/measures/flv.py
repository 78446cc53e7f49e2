"""FLV Fluoride varnish in primary care, ages 1-4 (CareNet network, after USPSTF/AAP and CMS TFL-CH)."""

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


def last_day_before(events: pd.DataFrame, pids: pd.Series, end: pd.Timestamp) -> np.ndarray:
    """Per row: the last event day on or before ``end`` as ISO text ('' when none)."""
    ev = events[events["day"] <= end]
    last = ev.groupby("patient_id")["day"].max()
    return gapkit.date_text(gapkit.lookup(last, pids))


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

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """Fluoride varnish (with the last application on record, if any); due by the end of the period."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        varnish = nc.any_event_days(data, ("procedures", "encounters"), [nc.FLUORIDE_VARNISH])
        last = last_day_before(varnish, members["patient_id"], pd.Timestamp(period.end))
        text = np.where(last == "", "Fluoride varnish (none on record)", "Fluoride varnish (last " + last + ")")
        return gapkit.gap_frame(members, text, pd.Timestamp(period.end))
