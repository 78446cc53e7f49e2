"""Qualifying-visit helper shared by the pediatric eCQMs (the "Qualifying Encounters" definitions).

Most of these measures define their initial-population visits the same way: encounters of some value
sets (plus, sometimes, a direct-reference code), ``isEncounterPerformed()`` (Status 1.8.000: finished,
arrived, triaged, in-progress, onleave), whose ``period.toInterval()`` is ``during day of`` the
measurement period.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..libraries import status
from ..libraries.edition import QICORE_2025, Libraries
from ..period import Period
from ..primitives import during
from ._immunization import coded_rows, patient_flag, starts_in_period


def visit_patients(data: MeasureData, period: Period, valuesets: Iterable[str], codes: Iterable[str] = (),
                   among: pd.Index | np.ndarray | None = None, lib: Libraries = QICORE_2025) -> pd.Index:
    """Patients (optionally only those in ``among``) with a performed encounter of ``valuesets`` (or a
    ``system|code`` key in ``codes``) whose period lies within the measurement period (day precision);
    "performed" as ``lib``'s edition of the Status library says."""
    enc = data.encounters
    if enc.empty:
        return pd.Index([], name="patient_id")
    keys = data.valuesets.keys(*valuesets) | frozenset(codes)

    def narrow(rows: pd.DataFrame) -> np.ndarray:  # (the status of a frame kept for every period: factorised once)
        mask = starts_in_period(rows, "start", period)
        if among is not None:
            mask &= patient_flag(rows["patient_id"], among)
        return mask & lib.encounter_performed(rows) if mask.any() else mask

    sub, _ = coded_rows(enc, [keys], narrow, columns=("patient_id", "start", "end", "date_only"))
    if sub.empty:
        return pd.Index([], name="patient_id")
    inside = during(status.encounter_interval(sub), period, precision="day")
    return pd.Index(pd.unique(sub["patient_id"].to_numpy()[inside]), name="patient_id")
