"""The demo's schedule: appointments for the two weeks from today, so the worklist's "next visit" and the
daily huddle have something to show.

Drawn from a generator of their own (seeded by the chunk's first patient id and the first day), so every
other table of the demo - and every measure result - is what it was without them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .frames import DAY, SECOND, Tables
from .people import Cohort, PracticeProfile

#: calendar days of schedule generated from the first day
SCHEDULE_DAYS = 14
#: the chance that a child has a visit booked within the two weeks
BOOKED_SHARE = 0.09
_WELL, _SICK, _FOLLOW_UP, _VACCINE, _SPORTS = (
    "Well child visit", "Sick visit", "Follow-up visit", "Vaccine only", "Sports physical")


def add_appointments(tables: Tables, cohort: Cohort, p: PracticeProfile, first_day: dt.date, import_id: int,
                     stamp: dt.datetime) -> None:
    """Book about one child in eleven on a weekday of the two weeks from ``first_day``, with their PCP most
    of the time, in 20-minute slots from 8:00 to 16:40."""
    n = len(cohort)
    if n == 0:
        return
    rng = np.random.default_rng([int(cohort.ids[0]), first_day.toordinal()])
    start = np.datetime64(first_day.isoformat(), "D")
    days = start + np.arange(SCHEDULE_DAYS) * DAY
    weekdays = days[np.is_busday(days)]
    booked = np.flatnonzero(rng.random(n) < BOOKED_SHARE)
    if not len(weekdays) or not len(booked):
        return
    day = weekdays[rng.integers(0, len(weekdays), len(booked))]
    slot = rng.integers(0, 27, len(booked))  # 8:00 .. 16:40
    when = day.astype("datetime64[s]") + (8 * 3600 + slot * 1200) * SECOND
    age_years = (day - cohort.birth[booked]).astype(np.int64) / 365.25
    u = rng.random(len(booked))
    young = age_years < 3
    visit = np.select(
        [u < np.where(young, 0.55, 0.35), u < np.where(young, 0.85, 0.7), u < 0.9,
         (age_years >= 11) & (age_years < 18)],
        [_WELL, _SICK, _FOLLOW_UP, _SPORTS], _VACCINE).astype(object)
    other = p.provider_ids[rng.integers(0, len(p.provider_ids), len(booked))]
    provider = np.where(rng.random(len(booked)) < 0.8, cohort.pcp[booked], other)
    ids = tables.ids("appointment", len(booked))
    tables.add("appointment", {
        "id": ids, "patient_id": cohort.ids[booked], "provider_id": provider, "start": when,
        "minutes": np.where(visit == _WELL, 30, 20), "visit_type": visit, "status": "booked",
        "import_id": import_id, "source_id": np.char.add("appt-", ids.astype(str)).astype(object),
        "created_at": stamp, "updated_at": stamp,
    })
