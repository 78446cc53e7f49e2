"""SDOH Social-needs screening at well visits and follow-up of positive screens (CareNet network)."""

from __future__ import annotations

import pandas as pd

from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..primitives import status_in, vs_mask
from . import _network_common as nc

#: days after a positive screen in which a referral or intervention closes the need (inclusive)
FOLLOW_UP_DAYS = 30
POSITIVE_INTERPRETATIONS = ("positive", "abnormal", "pos", "a")


def positive_screen_days(data: MeasureData) -> pd.DataFrame:
    """Days with a positive social-needs screen: a screening observation interpreted positive/abnormal or
    answered with a social-need finding, an observation coded with a finding, or a finding diagnosis
    (its onset, else the day it was recorded). Of every patient and date: the same in every period, so
    derived once for all the periods of an evaluation (``metrics.memo``, ``ANY_PERIOD``)."""
    keys = data.valuesets.keys(nc.SOCIAL_NEEDS_SCREENING), data.valuesets.keys(nc.SOCIAL_NEEDS_FINDING)
    return remember((data.observations, data.conditions), ("SDOH positive screen days", keys),
                    lambda: _positive_screen_days(data), period=ANY_PERIOD, for_pass=True)


def _positive_screen_days(data: MeasureData) -> pd.DataFrame:
    obs = data.observations
    parts = []
    if not obs.empty:
        done = nc.done_mask(obs, "observations")
        screen = vs_mask(data, obs, nc.SOCIAL_NEEDS_SCREENING)
        positive = status_in(obs, *POSITIVE_INTERPRETATIONS, column="interpretation")
        positive = positive | vs_mask(data, obs, nc.SOCIAL_NEEDS_FINDING, column="value_key")
        finding = vs_mask(data, obs, nc.SOCIAL_NEEDS_FINDING)
        mask = done & ((screen & positive) | finding)
        sub = nc.dated_rows(obs, mask, "observations")
        parts.append(pd.DataFrame({"patient_id": sub["patient_id"].to_numpy(),
                                   "day": nc.event_dates(sub, "observations").to_numpy()}))
    parts.append(nc.event_days(data, "conditions", [nc.SOCIAL_NEEDS_FINDING]))
    out = pd.concat(parts, ignore_index=True)
    return out.dropna(subset=["day"]).drop_duplicates(ignore_index=True)


def screened_visit_days(visits: pd.DataFrame, screens: pd.DataFrame) -> pd.DataFrame:
    """The well-visit days with a social-needs screening the same day, of every patient and date (``visits``
    and ``screens``: the remembered event days): the same in every period, so joined once for a pass
    (``ANY_PERIOD``); a period keeps its days - the rows joining its own visits gives (the day is a key)."""
    return remember((visits, screens), ("SDOH screened visit days",),
                    lambda: visits.merge(screens, on=["patient_id", "day"], how="inner"),
                    period=ANY_PERIOD, for_pass=True)


@register
class SDOH(Measure):
    id = "SDOH"
    title = "Social-Needs Screening and Follow-Up"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = ("Children seen for a well visit who were screened for social needs at a well visit; children "
                   "with a positive screen who had a referral or intervention within 30 days.")
    source = "network"
    groups = (
        Group("Screened for social needs at a well visit", code="SDOH-1"),
        Group("Positive screen with a referral or intervention within 30 days", code="SDOH-2"),
    )
    valuesets = (*nc.WELL_VISITS, nc.SOCIAL_NEEDS_SCREENING, nc.SOCIAL_NEEDS_FINDING, nc.SOCIAL_NEEDS_INTERVENTION,
                 *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after the AAP policy on screening for social needs at health supervision "
               "visits and the NCQA Social Need Screening and Intervention (SNS-E) measure.",
        ages="0 through 21 years (whole years) on the last day of the period.",
        anchor="Rate 1: the well visits in the period. Rate 2: the first positive screen in the period.",
        denominator="Rate 1: patients with at least one well-child visit (value sets well-child-visit / well-visit-reason) in the period. "
                    "Rate 2: patients with a positive social-needs screen in the period (a screening observation of "
                    "value set social-needs-screening interpreted positive/abnormal or answered with a code of "
                    "social-needs-finding, an observation coded with a finding, or a finding diagnosis such as Z59.x).",
        numerator="Rate 1: a social-needs screening (observation or procedure of value set social-needs-screening) on "
                  "the same day as a well visit in the period. Rate 2: a referral of any type (not cancelled) placed, "
                  "or an intervention (procedure or service request of value set social-needs-intervention), from the "
                  "day of the first positive screen in the period through 30 days after it.",
        exclusions=nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        start, end = period.start_ts, pd.Timestamp(period.end)
        age = nc.age_years_at(p["birth"], end)
        p = p[(age >= 0) & (age <= 21)]

        # rate 1: screened on the day of a well visit in the period
        every_visit = nc.well_visit_days(data, nc.WELL_VISITS)
        visits = every_visit[nc.day_in(every_visit["day"], start, end)]
        screens = nc.any_event_days(data, ("observations", "procedures"), [nc.SOCIAL_NEEDS_SCREENING])
        if in_several_periods():  # a pass: the screened visit days of every date joined once, a period keeps its own
            screened_days = screened_visit_days(every_visit, screens)
            screened_at_visit = screened_days["patient_id"][nc.day_in(screened_days["day"], start, end)]
        else:
            screened_at_visit = visits.merge(screens, on=["patient_id", "day"], how="inner")["patient_id"]
        p1 = p[p["patient_id"].isin(visits["patient_id"])]
        g1 = nc.population_frame(
            p1["patient_id"], initial_population=True, denominator=True,
            denominator_exclusion=nc.standard_exclusions(data, period, p1["patient_id"], p1["deceased"]),
            numerator=p1["patient_id"].isin(screened_at_visit).to_numpy(),
        )

        # rate 2: first positive screen in the period, followed within 30 days
        pos = positive_screen_days(data)
        pos = pos[nc.day_in(pos["day"], start, end) & pos["patient_id"].isin(p["patient_id"]).to_numpy()]
        first = pos.groupby("patient_id", as_index=False)["day"].min()
        p2 = first.merge(p[["patient_id", "deceased"]], on="patient_id", how="left")
        follow = self._follow_up_days(data)
        hi = p2["day"] + pd.Timedelta(days=FOLLOW_UP_DAYS)
        g2 = nc.population_frame(
            p2["patient_id"], initial_population=True, denominator=True,
            denominator_exclusion=nc.standard_exclusions(data, period, p2["patient_id"], p2["deceased"]),
            numerator=nc.days_in_windows(follow, p2["patient_id"], p2["day"], hi) >= 1,
        )
        return [g1, g2]

    @staticmethod
    def _follow_up_days(data: MeasureData) -> pd.DataFrame:
        """Days of a referral or intervention, of every patient and date (derived once for every period)."""
        keys = data.valuesets.keys(nc.SOCIAL_NEEDS_INTERVENTION)
        return remember((data.procedures, data.service_requests, data.referrals), ("SDOH follow-up days", keys),
                        lambda: SDOH._follow_up_rows(data), period=ANY_PERIOD, for_pass=True)

    @staticmethod
    def _follow_up_rows(data: MeasureData) -> pd.DataFrame:
        parts = [nc.any_event_days(data, ("procedures", "service_requests"), [nc.SOCIAL_NEEDS_INTERVENTION])]
        ref = data.referrals
        if not ref.empty:
            ok = ~status_in(ref, "cancelled")
            parts.append(pd.DataFrame({"patient_id": ref["patient_id"].to_numpy()[ok],
                                       "day": nc.to_day(ref["placed_on"]).to_numpy()[ok]}))
        out = pd.concat(parts, ignore_index=True)
        return out.dropna(subset=["day"]).drop_duplicates(ignore_index=True)


__all__ = ["FOLLOW_UP_DAYS", "SDOH", "positive_screen_days", "screened_visit_days"]
