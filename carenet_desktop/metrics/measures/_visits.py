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
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..primitives import during
from ._immunization import code_tags, coded_rows, patient_flag, starts_in_period


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

    columns = ("patient_id", "start", "end", "date_only")
    if in_several_periods():
        sub = _pass_visits(enc, keys, period, among, lib, columns)
    else:
        sub, _ = coded_rows(enc, [keys], narrow, columns=columns)
    if sub.empty:
        return pd.Index([], name="patient_id")
    inside = during(status.encounter_interval(sub), period, precision="day")
    return pd.Index(pd.unique(sub["patient_id"].to_numpy()[inside]), name="patient_id")


def _pass_visits(enc: pd.DataFrame, keys: frozenset[str], period: Period, among: pd.Index | np.ndarray | None,
                 lib: Libraries, columns: tuple[str, ...]) -> pd.DataFrame:
    """In a pass over several periods: the rows ``coded_rows`` keeps for ``visit_patients`` (a code of ``keys``,
    a start on a day of the period, a patient of ``among``, performed), in the frame's order. Which rows have a
    code and are performed, and their starts, are the same in every period: derived once for the pass, each
    period compares those rows' starts only (no code, status or date conversion of the whole frame again)."""
    at, starts = remember((enc,), ("visit rows", keys, lib.encounter_performed),
                          lambda: _performed_visits(enc, keys, lib), period=ANY_PERIOD, for_pass=True)
    lo = np.datetime64(period.start_ts.to_datetime64())
    hi = np.datetime64(period.end_exclusive.to_datetime64())
    at = at[(starts >= lo) & (starts < hi)]  # as ``starts_in_period``
    if among is not None and len(at):
        at = at[patient_flag(enc["patient_id"].to_numpy()[at], among)]
    keep = np.zeros(len(enc), dtype=bool)
    keep[at] = True
    return enc.loc[keep, [c for c in columns if c in enc.columns]]


def _performed_visits(enc: pd.DataFrame, keys: frozenset[str], lib: Libraries) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the encounters of ``keys`` that are performed (``lib``), and their starts."""
    at = np.flatnonzero((code_tags(enc, [keys]) != 0) & np.asarray(lib.encounter_performed(enc), dtype=bool))
    at = at.astype(np.int32) if len(enc) < 2**31 else at
    return at, pd.to_datetime(enc["start"]).to_numpy()[at]
