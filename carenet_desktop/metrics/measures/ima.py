"""IMA Immunizations for adolescents by the 13th birthday (CareNet network, after HEDIS IMA)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import gaps as gapkit
from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice
from ..memo import in_several_periods
from ..period import Period
from . import _network_common as nc

#: two HPV doses count as a complete series only when given at least this many days apart
HPV_TWO_DOSE_SPACING_DAYS = 146


@register
class IMA(Measure):
    id = "IMA"
    title = "Immunizations for Adolescents"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = "Adolescents who turned 13 during the period with MenACWY, Tdap and the HPV series by their 13th birthday."
    source = "network"
    groups = (
        Group("Meningococcal (MenACWY)", code="IMA-MEN"),
        Group("Tdap", code="IMA-TDAP"),
        Group("HPV series", code="IMA-HPV"),
        Group("Combination 1 (MenACWY + Tdap)", code="IMA-CMB1"),
        Group("Combination 2 (MenACWY + Tdap + HPV)", code="IMA-CMB2"),
    )
    valuesets = (nc.MENACWY_VACCINE, nc.TDAP_VACCINE, nc.HPV_VACCINE, *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after NCQA HEDIS IMA and the ACIP adolescent schedule.",
        ages="Adolescents whose 13th birthday falls in the period.",
        anchor="The 9th, 10th, 11th and 13th birthdays (birth date + N years; Feb 29 births have them on Feb 28).",
        denominator="Every patient in the initial population (the same for all five rates).",
        numerator="MenACWY: at least one meningococcal ACWY conjugate vaccine (value set meningococcal-vaccine; a "
                  "completed immunization, or a completed procedure) from the 11th through the 13th birthday. Tdap: at least one Tdap from "
                  "the 10th through the 13th birthday. HPV: from the 9th through the 13th birthday, doses on at least "
                  "3 different days, or on 2 days at least 146 days apart. Combination 1: MenACWY and Tdap. "
                  "Combination 2: MenACWY, Tdap and HPV. Doses before the start of a window (given too early) do "
                  "not count; several doses on one day count once.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        ip = nc.turns_during(p, period, years=13)
        sub = p[ip]
        pids = sub["patient_id"]

        def turning(years: int) -> np.ndarray:
            if in_several_periods():  # a pass: every child's birthdays, shifted once for every period
                return nc.birthday(p, years=years).to_numpy()[ip]
            return nc.birthday(sub["birth"], years=years).to_numpy()  # one period: its children's only

        def doses(valueset: str) -> pd.DataFrame:
            return nc.any_event_days(data, ("immunizations", "procedures"), [valueset])

        b13 = turning(13)
        men = nc.days_in_windows(doses(nc.MENACWY_VACCINE), pids, turning(11), b13) >= 1
        tdap = nc.days_in_windows(doses(nc.TDAP_VACCINE), pids, turning(10), b13) >= 1
        hpv_days = nc.day_lists(doses(nc.HPV_VACCINE), pids, turning(9), b13)
        hpv = np.zeros(len(sub), dtype=bool)
        if not hpv_days.empty:
            g = hpv_days.groupby("row")["day"]
            span = (g.max() - g.min()).dt.days
            ok = (g.size() >= 3) | (span >= HPV_TWO_DOSE_SPACING_DAYS)
            hpv[ok.index[ok.to_numpy()].to_numpy()] = True
        excluded = nc.standard_exclusions(data, period, pids, sub["deceased"])
        return [
            nc.population_frame(pids, initial_population=True, denominator=True,
                                denominator_exclusion=excluded, numerator=numer)
            for numer in (men, tdap, hpv, men & tdap, men & tdap & hpv)
        ]

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """Which vaccine is short (MenACWY, Tdap, HPV doses); due by the 13th birthday."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        pids = members["patient_id"]
        birth = gapkit.births(data, pids)
        b13 = nc.birthday(birth, years=13)

        def doses(valueset: str) -> pd.DataFrame:
            return nc.any_event_days(data, ("immunizations", "procedures"), [valueset])

        men = nc.days_in_windows(doses(nc.MENACWY_VACCINE), pids, nc.birthday(birth, years=11), b13) >= 1
        tdap = nc.days_in_windows(doses(nc.TDAP_VACCINE), pids, nc.birthday(birth, years=10), b13) >= 1
        hpv_days = nc.day_lists(doses(nc.HPV_VACCINE), pids, nc.birthday(birth, years=9), b13)
        have = np.zeros(len(members), dtype=np.int64)
        span = np.zeros(len(members), dtype=np.int64)
        if not hpv_days.empty:
            g = hpv_days.groupby("row")["day"]
            have[g.size().index.to_numpy()] = g.size().to_numpy()
            span[g.size().index.to_numpy()] = (g.max() - g.min()).dt.days.to_numpy()
        hpv = (have >= 3) | (span >= HPV_TWO_DOSE_SPACING_DAYS)
        # two doses too close together: a third is needed; otherwise two (the second >= 146 days later)
        need = np.where((have >= 2) & ~hpv, 3, 2)
        hpv_text = gapkit.count_text("HPV", have, need)
        hpv_text = np.where(have == 1, hpv_text + f", at least {HPV_TWO_DOSE_SPACING_DAYS} days after the first",
                            np.where(need == 3, hpv_text + f", less than {HPV_TWO_DOSE_SPACING_DAYS} days apart",
                                     hpv_text))
        group = members["group_index"].to_numpy()
        wants_hpv = (group == 2) | (group == 4)
        text = gapkit.join_texts([
            (~men & (group != 1) & (group != 2), "MenACWY (from the 11th birthday)"),
            (~tdap & (group != 0) & (group != 2), "Tdap (from the 10th birthday)"),
            (~hpv & wants_hpv, hpv_text),
        ])
        text = np.where(text == "", np.array([g.title for g in self.groups], dtype=object)[group], text)
        return gapkit.gap_frame(members, text, b13)

    def upcoming_gaps(self, data: MeasureData, as_of: dt.date, within_days: int) -> pd.DataFrame:
        """Children whose deadline birthday falls within ``[as_of, as_of + within_days]`` and who do not
        meet the numerator yet."""
        return gapkit.upcoming_by_turning(self, data, as_of, within_days)
