"""LSC Lead screening in children by the 2nd birthday (CareNet network, after HEDIS LSC)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import gaps as gapkit
from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice
from ..period import Period
from . import _network_common as nc


@register
class LSC(Measure):
    id = "LSC"
    title = "Lead Screening in Children"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = "Children who turned 2 during the period with a blood lead test on or before their 2nd birthday."
    source = "network"
    groups = (Group("Blood lead test by the 2nd birthday", code="LSC"),)
    valuesets = (nc.LEAD_TEST, *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after NCQA HEDIS LSC (CMS/Medicaid EPSDT lead screening requirement).",
        ages="Children whose 2nd birthday falls in the period.",
        anchor="The 2nd birthday (birth date + 2 years; a Feb 29 birth date has its birthday on Feb 28).",
        denominator="Every patient in the initial population.",
        numerator="At least one blood lead test (value set lead-test, e.g. LOINC 5671-3, as a final/amended/"
                  "corrected/preliminary observation or a completed procedure) from the "
                  "day of birth through the 2nd birthday.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        sub = p[nc.turns_during(p, period, years=2)]
        tests = nc.any_event_days(data, ("observations", "procedures"), [nc.LEAD_TEST])
        count = nc.days_in_windows(tests, sub["patient_id"], sub["birth"], nc.birthday(sub["birth"], years=2))
        return [nc.population_frame(
            sub["patient_id"], initial_population=True, denominator=True,
            denominator_exclusion=nc.standard_exclusions(data, period, sub["patient_id"], sub["deceased"]),
            numerator=count >= 1,
        )]

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """The blood lead test; due by the 2nd birthday."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        birth = gapkit.births(data, members["patient_id"])
        return gapkit.gap_frame(members, "Blood lead test", nc.birthday(birth, years=2))

    def upcoming_gaps(self, data: MeasureData, as_of: dt.date, within_days: int) -> pd.DataFrame:
        """Children whose deadline birthday falls within ``[as_of, as_of + within_days]`` and who do not
        meet the numerator yet."""
        return gapkit.upcoming_by_turning(self, data, as_of, within_days)
