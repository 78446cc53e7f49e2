"""Medication request periods for the measures of helper B (``CumulativeMedicationDuration``).

The CumulativeMedicationDuration library itself lives in ``medication_duration`` (one implementation for
every measure); this module keeps the stable names listed in /work/team/LIBRARIES.md:

  medication_request_period(mr) -> DataFrame[start, end]   ``medicationRequestPeriod()`` (dates at
      midnight, NaT where CQL gives null) — see ``medication_duration.medication_request_period``.
  doses_per_day(mr) -> ndarray          ``ToDaily(frequency, period)`` of each row (NaN where unknown).
  date_interval_overlaps(start, end, period) -> mask
      a Date interval ``overlaps`` a DateTime period (each Date read as midnight of that day).
  cumulative_days(patient_id, start, end) -> Series per patient: days covered by the union of the date
      intervals (``cumulativeDuration`` of collapsed intervals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..period import Period
from ..primitives import _as_datetime
from . import medication_duration as _cmd

medication_request_period = _cmd.medication_request_period


def doses_per_day(mr: pd.DataFrame) -> np.ndarray:
    """CMD ``ToDaily(frequency, period)`` of every row (NaN where unknown)."""
    def col(name: str) -> np.ndarray:
        return mr[name].to_numpy() if name in mr.columns else np.full(len(mr), None)

    return _cmd.doses_per_day(col("timing_frequency"), col("timing_period"), col("timing_period_unit"))


def date_interval_overlaps(start: pd.Series, end: pd.Series, period: Period) -> np.ndarray:
    """Date interval [start, end] ``overlaps`` the DateTime ``period`` (definitely true only).

    CQL converts each Date to a DateTime at midnight (cql-execution ``Date.getDateTime``), so the
    interval overlaps when its first day is on or before the period's last day and its last day on or
    after the period's first day.
    """
    s = _as_datetime(start).dt.normalize()
    e = _as_datetime(end).dt.normalize()
    return ((s <= period.end_ts) & (e >= period.start_ts)).fillna(False).to_numpy(dtype=bool)


def cumulative_days(patient_id: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
    """Days covered by the union of the [start, end] date intervals, per patient (NaT rows ignored)."""
    keys = pd.Series(np.asarray(patient_id), name="patient_id")
    return _cmd.cumulative_duration(keys, start, end)
