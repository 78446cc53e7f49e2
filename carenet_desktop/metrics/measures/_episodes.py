"""Helpers shared by the episode-based measures (CMS146, CMS154, CMS177) and CMS136.

An *episode* is one encounter row; the helpers answer "does this encounter have a related record of
the same patient that satisfies a timing rule" for whole columns at once (a merge on patient_id, then a
vectorised predicate over the candidate pairs, then ``any`` per encounter).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..primitives import age_in_months_at, age_in_years_at, day_number, flag, vs_mask

VSAC = "http://cts.nlm.nih.gov/fhir/ValueSet/"

PairPredicate = Callable[[np.ndarray, np.ndarray], np.ndarray]


def vs(oid: str) -> str:
    """The canonical URL of a VSAC value set from its OID."""
    return VSAC + oid


def exists_pair(left_pid: object, right_pid: object, predicate: PairPredicate) -> np.ndarray:
    """For each left row: is there a right row of the same patient for which ``predicate`` holds?

    ``predicate(li, ri)`` receives the positional indexes of the candidate pairs (left rows, right rows)
    and returns a boolean array over the pairs.
    """
    lp = np.asarray(left_pid)
    rp = np.asarray(right_pid)
    out = np.zeros(len(lp), dtype=bool)
    if len(lp) == 0 or len(rp) == 0:
        return out
    left = pd.DataFrame({"pid": lp, "li": np.arange(len(lp))})
    right = pd.DataFrame({"pid": rp.astype(lp.dtype, copy=False) if lp.dtype != rp.dtype else rp,
                          "ri": np.arange(len(rp))})
    pairs = left.merge(right, on="pid", how="inner", sort=False)
    if pairs.empty:
        return out
    li = pairs["li"].to_numpy()
    ri = pairs["ri"].to_numpy()
    ok = np.asarray(predicate(li, ri), dtype=bool)
    out[li[ok]] = True
    return out


def _int_ids(values: object) -> tuple[np.ndarray, np.ndarray]:
    """Patient ids as int64 and a mask of the usable ones (non-negative, not missing)."""
    a = np.asarray(values)
    if a.dtype.kind in "iu":
        ids = a.astype(np.int64, copy=False)
        return ids, ids >= 0
    f = pd.to_numeric(pd.Series(a), errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(f) & (f >= 0)
    return np.where(ok, f, 0).astype(np.int64), ok


class PatientSet:
    """A set of patient ids as a lookup table: membership of a whole column in one indexing step."""

    def __init__(self, ids: object) -> None:
        values, ok = _int_ids(ids)
        values = values[ok]
        self.table = np.zeros(int(values.max()) + 1 if len(values) else 0, dtype=bool)
        self.table[values] = True

    def __len__(self) -> int:
        return int(self.table.sum())

    def mask(self, patient_ids: object) -> np.ndarray:
        ids, ok = _int_ids(patient_ids)
        ok &= ids < len(self.table)
        out = np.zeros(len(ids), dtype=bool)
        out[ok] = self.table[ids[ok]]
        return out

    def __and__(self, other: PatientSet) -> PatientSet:
        n = min(len(self.table), len(other.table))
        return PatientSet(np.flatnonzero(self.table[:n] & other.table[:n]))

    def __or__(self, other: PatientSet) -> PatientSet:
        n = max(len(self.table), len(other.table))
        table = np.zeros(n, dtype=bool)
        table[: len(self.table)] |= self.table
        table[: len(other.table)] |= other.table
        return PatientSet(np.flatnonzero(table))

    def ids(self) -> np.ndarray:
        return np.flatnonzero(self.table)


def restrict(data: MeasureData, patient_ids: PatientSet | object,
             encounter_window: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> MeasureData:
    """The same data for some patients only (every frame), optionally keeping only the encounters that
    may touch ``encounter_window`` (start on or before its end and end on or after its start; a missing
    boundary keeps the row). Much cheaper than evaluating rules on everyone when few patients qualify."""
    keep = patient_ids if isinstance(patient_ids, PatientSet) else PatientSet(patient_ids)
    out = MeasureData(valuesets=data.valuesets)
    for name, frame in data.frames().items():
        if "patient_id" not in frame.columns:
            continue
        mask = keep.mask(frame["patient_id"]) if len(frame) else np.zeros(0, dtype=bool)
        if name == "encounters" and encounter_window is not None and len(frame):
            lo = np.datetime64(encounter_window[0], "ns")
            hi = np.datetime64(encounter_window[1], "ns")
            start = frame["start"].to_numpy(dtype="datetime64[ns]")
            end = frame["end"].to_numpy(dtype="datetime64[ns]")
            mask &= (np.isnat(start) | (start <= hi)) & (np.isnat(end) | (end >= lo))
        setattr(out, name, frame[mask])
    ed = data.encounter_diagnoses
    if len(ed):
        out.encounter_diagnoses = ed[ed["encounter_id"].isin(pd.Index(out.encounters["event_id"])).to_numpy()]
    return out


def days(values: object) -> np.ndarray:
    """Calendar day numbers (float, NaN where missing) of a column of timestamps."""
    return day_number(values).to_numpy()


def patient_value(data: MeasureData, patient_ids: object, values: pd.Series) -> np.ndarray:
    """``values`` (indexed by patient_id) looked up for a column of patient ids (NaN if absent)."""
    return values.reindex(pd.Index(np.asarray(patient_ids))).to_numpy()


def ages_in_years(data: MeasureData, at: object) -> pd.Series:
    """Age in whole years of every patient at ``at`` (index patient_id)."""
    p = data.patients
    return pd.Series(age_in_years_at(p["birth_date"], at), index=pd.Index(p["patient_id"].to_numpy()))


def ages_in_months(data: MeasureData, at: object) -> pd.Series:
    """Age in whole months of every patient at ``at`` (index patient_id)."""
    p = data.patients
    return pd.Series(age_in_months_at(p["birth_date"], at), index=pd.Index(p["patient_id"].to_numpy()))


def keys_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """A key column, or an empty one when the frame does not have it (optional loader columns)."""
    if column in frame.columns:
        return frame[column]
    return pd.Series([None] * len(frame), index=frame.index, dtype="object")


def in_valuesets(data: MeasureData, frame: pd.DataFrame, *valuesets: str, column: str = "key") -> np.ndarray:
    """Rows whose ``column`` key is in any of the value sets; a column holding several keys separated
    by whitespace (e.g. location types) matches when any of them does."""
    if frame.empty or column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    values = frame[column]
    direct = vs_mask(data, frame, *valuesets, column=column)
    multi = values.astype("string").str.contains(r"\s", regex=True).fillna(False).to_numpy(dtype=bool)
    if not multi.any():
        return direct
    wanted = data.valuesets.keys(*valuesets)
    exploded = values[multi].astype("string").str.split().explode()
    hit = exploded.isin(wanted).groupby(level=0).any()
    out = direct.copy()
    positions = frame.index.get_indexer(hit.index[hit.to_numpy()])
    out[positions] = True
    return out


def encounter_diagnosis_in(data: MeasureData, encounter_ids: object, *valuesets: str,
                           principal_only: bool = False) -> np.ndarray:
    """For each encounter id: does one of its diagnoses (``Encounter.diagnosis`` -> Condition; with
    ``principal_only`` the rank-1 one) have a code in the value sets?

    Uses ``encounter_diagnoses.key`` when the loader filled it, and the referenced condition's code
    (``condition_id`` -> conditions) otherwise.
    """
    ids = np.asarray(encounter_ids)
    ed = data.encounter_diagnoses
    if len(ids) == 0 or ed.empty:
        return np.zeros(len(ids), dtype=bool)
    if principal_only:
        rank = pd.to_numeric(ed["rank"], errors="coerce")
        ed = ed[(rank == 1).fillna(False).to_numpy(dtype=bool)]
    hit = in_valuesets(data, ed, *valuesets, column="key") if "key" in ed.columns else np.zeros(len(ed), bool)
    matched = set(pd.unique(ed["encounter_id"][hit]))
    cond = data.conditions
    if not cond.empty and "condition_id" in ed.columns:
        cond_hit = cond["event_id"][vs_mask(data, cond, *valuesets)]
        linked = ed["condition_id"].isin(pd.Index(cond_hit)).to_numpy()
        matched.update(pd.unique(ed["encounter_id"][linked]))
    return flag(ids, pd.Index(list(matched)))


def episode_rows(encounters: pd.DataFrame, **populations: np.ndarray) -> pd.DataFrame:
    """The result frame of an episode-based measure: one row per encounter (episode)."""
    out = pd.DataFrame({
        "patient_id": encounters["patient_id"].to_numpy(),
        "episode_id": encounters["event_id"].to_numpy(),
    })
    for name, values in populations.items():
        out[name.replace("_", "-")] = np.asarray(values, dtype=bool)
    return out


__all__ = [
    "VSAC",
    "PatientSet",
    "restrict",
    "ages_in_months",
    "ages_in_years",
    "days",
    "encounter_diagnosis_in",
    "episode_rows",
    "exists_pair",
    "in_valuesets",
    "keys_column",
    "patient_value",
    "vs",
]
