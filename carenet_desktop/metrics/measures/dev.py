"""DEV Developmental screening in the first three years of life (CareNet network, after CMS Child Core
Set DEV-CH / OHSU)."""

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

#: what a DEV gap says is missing, per rate (1st, 2nd, 3rd birthday)
SCREEN_TEXT = (
    "Developmental screening by the 1st birthday",
    "Developmental screening between the 1st and 2nd birthdays",
    "Developmental screening between the 2nd and 3rd birthdays",
)


@register
class DEV(Measure):
    id = "DEV"
    title = "Developmental Screening in the First Three Years of Life"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = ("Children who turned 1, 2 or 3 during the period screened with a standardized developmental "
                   "tool in the year up to that birthday.")
    source = "network"
    groups = (
        Group("Screened by the 1st birthday", code="DEV-1"),
        Group("Screened in the year up to the 2nd birthday", code="DEV-2"),
        Group("Screened in the year up to the 3rd birthday", code="DEV-3"),
        Group("Total (ages 1-3)", code="DEV-T"),
    )
    valuesets = (nc.DEVELOPMENTAL_SCREENING, *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after the CMS Child Core Set DEV-CH measure (OHSU) and the AAP "
               "recommendation of standardized screening at the 9-, 18- and 30-month visits.",
        ages="Rate 1/2/3: children whose 1st/2nd/3rd birthday falls in the period. Total: children in any of them.",
        anchor="The 1st, 2nd and 3rd birthdays (birth date + N years; a Feb 29 birth date has its birthdays on Feb 28).",
        denominator="Each rate: its initial population. Total: the union of the three.",
        numerator="A standardized developmental screening (value set developmental-screening, e.g. CPT 96110, "
                  "as a completed procedure or a final observation) in the rate's window: rate 1 from birth through "
                  "the 1st birthday; rate 2 from the day after the 1st birthday through the 2nd birthday; rate 3 from "
                  "the day after the 2nd birthday through the 3rd birthday (the windows do not overlap). Total: "
                  "screened in the window of every rate the child is in.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        screens = nc.any_event_days(data, ("procedures", "observations"), [nc.DEVELOPMENTAL_SCREENING])
        n = len(p)
        in_rate = np.zeros((3, n), dtype=bool)
        met = np.zeros((3, n), dtype=bool)
        for k in (1, 2, 3):
            ip = nc.turns_during(p, period, years=k)
            # the birthdays of every child, shifted once for every period of the evaluation (``nc.birthday``)
            lo = p["birth"].to_numpy()[ip] if k == 1 else (
                nc.birthday(p, years=k - 1).to_numpy()[ip] + np.timedelta64(1, "D"))
            hi = nc.birthday(p, years=k).to_numpy()[ip]
            in_rate[k - 1] = ip
            met[k - 1, ip] = nc.days_in_windows(screens, p["patient_id"].to_numpy()[ip], lo, hi) >= 1
        any_rate = in_rate.any(axis=0)
        excluded = np.zeros(n, dtype=bool)
        excluded[any_rate] = nc.standard_exclusions(
            data, period, p["patient_id"][any_rate], p["deceased"][any_rate])
        frames = []
        for k in range(3):
            ip = in_rate[k]
            frames.append(nc.population_frame(
                p["patient_id"][ip], initial_population=True, denominator=True,
                denominator_exclusion=excluded[ip], numerator=met[k, ip]))
        total = (met | ~in_rate).all(axis=0)
        frames.append(nc.population_frame(
            p["patient_id"][any_rate], initial_population=True, denominator=True,
            denominator_exclusion=excluded[any_rate], numerator=total[any_rate]))  # type: ignore[index]  # all(axis=0): an array
        return frames

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """The screening of the year up to the 1st/2nd/3rd birthday, due by that birthday; the total
        rate lists every rate the child is short in and is due by the earliest of them."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        birth = gapkit.births(data, members["patient_id"])
        group = members["group_index"].to_numpy()
        screens = nc.any_event_days(data, ("procedures", "observations"), [nc.DEVELOPMENTAL_SCREENING])
        due = pd.Series(np.full(len(members), np.datetime64("NaT", "ns")))
        parts = []
        for k in (1, 2, 3):
            hi = nc.birthday(birth, years=k)
            lo = birth if k == 1 else nc.birthday(birth, years=k - 1) + pd.Timedelta(days=1)
            in_rate = nc.day_in(hi, period.start_ts, pd.Timestamp(period.end))
            short = in_rate & (nc.days_in_windows(screens, members["patient_id"], lo, hi) == 0)
            short &= (group == k - 1) | (group == 3)
            due = due.where(~(short & due.isna().to_numpy()), hi)
            parts.append((short, SCREEN_TEXT[k - 1]))
        text = gapkit.join_texts(parts)
        text = np.where(text == "", np.array([g.title for g in self.groups], dtype=object)[group], text)
        return gapkit.gap_frame(members, text, due.fillna(pd.Timestamp(period.end)))

    def upcoming_gaps(self, data: MeasureData, as_of: dt.date, within_days: int) -> pd.DataFrame:
        """Children whose deadline birthday falls within ``[as_of, as_of + within_days]`` and who do not
        meet the numerator yet."""
        return gapkit.upcoming_by_turning(self, data, as_of, within_days)
