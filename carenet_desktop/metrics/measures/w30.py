"""W30 Well-child visits in the first 30 months of life (CareNet network, after HEDIS W30)."""

from __future__ import annotations

import datetime as dt

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
class W30(Measure):
    id = "W30"
    title = "Well-Child Visits in the First 30 Months of Life"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = ("Children who turned 15 months (rate 1) or 30 months (rate 2) during the period and had the "
                   "recommended number of well-child visits.")
    source = "network"
    basis = "patient"
    improvement = "increase"
    groups = (
        Group("Six or more well-child visits in the first 15 months", code="W30-1"),
        Group("Two or more well-child visits from 15 to 30 months", code="W30-2"),
    )
    valuesets = (*nc.WELL_VISITS, *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after NCQA HEDIS W30 and the AAP Bright Futures periodicity schedule.",
        ages="Rate 1: children whose 15-month birthday falls in the period. Rate 2: children whose 30-month "
             "birthday falls in the period.",
        anchor="The 15-month birthday (birth date + 15 months) and the 30-month birthday (birth date + 30 months); "
               "a date that does not exist in the target month moves to its last day (Jan 31 + 15 months = Apr 30).",
        denominator="Rate 1: initial population of rate 1. Rate 2: initial population of rate 2.",
        numerator="Rate 1: well-child visits (a performed encounter whose type is in value set well-child-visit, "
                  "e.g. CPT 99391, or whose reason or diagnosis is in well-visit-reason, e.g. ICD-10 Z00.129) on at least 6 different days from birth through the 15-month birthday. "
                  "Rate 2: well-child visits on at least 2 different days from the day after the 15-month birthday "
                  "through the 30-month birthday. Two visits on the same day count once.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        visits = nc.well_visit_days(data, nc.WELL_VISITS)
        b15 = nc.birthday(p, months=15)
        b30 = nc.birthday(p, months=30)
        frames = []
        for anchor, lo, need in (
            (b15, p["birth"], 6),
            (b30, b15 + pd.Timedelta(days=1), 2),
        ):
            ip = nc.turns_during(p, period, months=15 if need == 6 else 30)
            sub = p[ip]
            count = nc.days_in_windows(visits, sub["patient_id"], lo[ip], anchor[ip])
            frames.append(nc.population_frame(
                sub["patient_id"],
                initial_population=True,
                denominator=True,
                denominator_exclusion=nc.standard_exclusions(data, period, sub["patient_id"], sub["deceased"]),
                numerator=count >= need,
            ))
        return frames

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """Visits still short; due by the 15-month (rate 1) or 30-month (rate 2) birthday."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        birth = gapkit.births(data, members["patient_id"])
        rate2 = (members["group_index"] == 1).to_numpy()
        b15 = nc.birthday(birth, months=15)
        due = nc.birthday(birth, months=30).where(rate2, b15)
        lo = (b15 + pd.Timedelta(days=1)).where(rate2, birth)
        visits = nc.well_visit_days(data, nc.WELL_VISITS)
        have = nc.days_in_windows(visits, members["patient_id"], lo, due)
        need = np.where(rate2, 2, 6)
        text = gapkit.count_text("Well-child visit", have, need,
                                 np.where(rate2, "from 15 to 30 months", "by 15 months"))
        return gapkit.gap_frame(members, text, due)

    def upcoming_gaps(self, data: MeasureData, as_of: dt.date, within_days: int) -> pd.DataFrame:
        """Children whose deadline birthday falls within ``[as_of, as_of + within_days]`` and who do not
        meet the numerator yet."""
        return gapkit.upcoming_by_turning(self, data, as_of, within_days)
