"""REF Closed-loop referral: referrals with a completed outcome within 30/60/90 days (CareNet network).

Episode-based: one episode per referral placed in the period (``episode_id`` = the referral's
``event_id``). ``referral_types(data)`` gives each episode's referral type, for results by type
(Help Me Grow, early intervention, behavioral health, specialist, community service ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import gaps as gapkit
from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..period import Period
from ..primitives import status_in
from . import _network_common as nc

#: how a gap names each referral type (unknown types are shown as stored)
TYPE_LABELS = {
    "help-me-grow": "Help Me Grow", "early-intervention": "Early intervention",
    "behavioral-health": "Behavioral health", "specialist": "Specialist",
    "community-service": "Community service", "dental": "Dental", "other": "Other",
}

WINDOWS_DAYS = (30, 60, 90)


def completion_day(ref: pd.DataFrame) -> pd.Series:
    """The day the loop closed: the earliest of report received and closed; none for lost or cancelled
    referrals."""
    done = pd.concat([nc.to_day(ref["report_received_on"]), nc.to_day(ref["closed_on"])], axis=1).min(axis=1)
    failed = status_in(ref, "lost", "cancelled")
    return done.where(~failed)


@register
class REF(Measure):
    id = "REF"
    title = "Closed-Loop Referral"
    version = "2026.1"
    steward = "CareNet network, after Help Me Grow National Center closed-loop referral guidance"
    description = "Referrals placed in the period whose loop was closed (outcome received) within 30, 60 and 90 days."
    source = "network"
    basis = "episode"
    gap_expires = True  # once 30/60/90 days from placement are over, the rate is decided
    groups = tuple(Group(f"Completed outcome within {d} days of placement", code=f"REF-{d}") for d in WINDOWS_DAYS)
    valuesets = ()
    specification = nc.spec(
        source="CareNet network measure after the Help Me Grow National Center's closed-loop referral model "
               "(placed, scheduled, seen, report received, closed).",
        ages="All ages; every referral, whatever its type (Help Me Grow, early intervention, behavioral health, "
             "specialist, community service, dental, other). Results can be split by referral type.",
        anchor="The day the referral was placed.",
        denominator="Referrals (episodes) placed within the period (first and last day included).",
        numerator="The loop closed - the earliest of 'report received' and 'closed' - on or after the placement "
                  "day and at most 30 (rate 1), 60 (rate 2) or 90 (rate 3) days after it (day 30/60/90 counts). "
                  "Referrals marked lost to follow-up never count.",
        exclusions="Cancelled referrals (status 'cancelled').",
        stratification="Referral type (REF.referral_types).",
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        ref = data.referrals
        if ref.empty:
            empty = pd.DataFrame({"patient_id": pd.Series(dtype="int64"), "episode_id": pd.Series(dtype="int64")})
            return [empty.copy() for _ in WINDOWS_DAYS]
        placed = nc.to_day(ref["placed_on"])
        inside = nc.day_in(placed, period.start_ts, pd.Timestamp(period.end))
        sub = ref[inside]
        placed = placed[inside]
        elapsed = (completion_day(sub) - placed).dt.days.to_numpy(dtype=float)
        cancelled = status_in(sub, "cancelled")
        frames = []
        for days in WINDOWS_DAYS:
            with np.errstate(invalid="ignore"):
                met = (elapsed >= 0) & (elapsed <= days)
            frame = nc.population_frame(sub["patient_id"], initial_population=True, denominator=True,
                                        denominator_exclusion=cancelled, numerator=met)
            frame.insert(1, "episode_id", sub["event_id"].to_numpy())
            frames.append(frame)
        return frames

    @staticmethod
    def referral_types(data: MeasureData) -> pd.DataFrame:
        """``episode_id`` -> ``referral_type`` for splitting REF results by type."""
        ref = data.referrals
        return pd.DataFrame({"episode_id": ref["event_id"].to_numpy(),
                             "referral_type": ref["referral_type"].fillna("other").to_numpy()})

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """Which step of the referral loop is open (not scheduled, not seen, report not received), or
        how it failed (lost, closed too late); due 30/60/90 days after placement."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        ref = data.referrals.set_index("event_id")
        episode = members["episode_id"].astype("int64")

        def col(name: str) -> pd.Series:
            return pd.Series(gapkit.lookup(ref[name], episode))

        placed = nc.to_day(col("placed_on"))
        limit = np.asarray(WINDOWS_DAYS)[members["group_index"].to_numpy()]
        sub = ref.loc[episode.to_numpy()]
        done = pd.Series(completion_day(sub).to_numpy())
        elapsed = (done - placed).dt.days.to_numpy(dtype=float)
        lost = status_in(sub, "lost")
        seen, scheduled = nc.to_day(col("seen_on")), nc.to_day(col("scheduled_on"))
        step = np.where(
            seen.notna(), "seen " + gapkit.date_text(seen) + ", report not received",
            np.where(scheduled.notna(), "appointment " + gapkit.date_text(scheduled) + ", not yet seen",
                     "not yet scheduled"))
        with np.errstate(invalid="ignore"):
            step = np.where(done.notna() & (elapsed > limit),
                            "loop closed after " + pd.Series(elapsed).fillna(0).astype(int).astype(str).to_numpy(dtype=object)
                            + " days (limit " + limit.astype(str).astype(object) + ")", step)
            step = np.where(done.notna() & (elapsed < 0), "outcome dated before placement", step)
        lost_on = nc.to_day(col("lost_on"))
        step = np.where(lost, np.where(lost_on.notna(), "lost to follow-up " + gapkit.date_text(lost_on),
                                       "lost to follow-up"), step)
        kind = col("referral_type").fillna("other").astype(str)
        label = kind.map(TYPE_LABELS).fillna(kind).to_numpy(dtype=object)
        text = label + " referral placed " + gapkit.date_text(placed) + ": " + step
        return gapkit.gap_frame(members, text, placed + pd.to_timedelta(limit, unit="D"))
