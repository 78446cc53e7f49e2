"""Helpers shared by the episode-based measures (CMS146, CMS154, CMS177) and CMS136.

An *episode* is one encounter row; the helpers answer "does this encounter have a related record of
the same patient that satisfies a timing rule" for whole columns at once (a merge on patient_id, then a
vectorised predicate over the candidate pairs, then ``any`` per encounter).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..data import MeasureData
from ..memo import ANY_PERIOD, remember
from ..primitives import age_in_months_at, age_in_years_at, code_mask, day_number, flag, vs_mask
from ..uniques import sorted_unique

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
    """A set of patient ids. Membership of a whole column is one indexing step into a lookup table
    (ids are database row numbers, so the table stays small); sparse, huge ids fall back to hashing."""

    _MAX_TABLE = 50_000_000

    def __init__(self, ids: object) -> None:
        values, ok = _int_ids(ids)
        values = values[ok]
        top = int(values.max()) + 1 if len(values) else 0
        self._sorted: np.ndarray | None = None
        if top > self._MAX_TABLE:
            self._sorted = sorted_unique(values)
            self.table = np.zeros(0, dtype=bool)
        else:
            self.table = np.zeros(top, dtype=bool)
            self.table[values] = True

    def __len__(self) -> int:
        return len(self._sorted) if self._sorted is not None else int(self.table.sum())

    def ids(self) -> np.ndarray:
        return self._sorted if self._sorted is not None else np.flatnonzero(self.table)

    def mask(self, patient_ids: object) -> np.ndarray:
        ids, ok = _int_ids(patient_ids)
        if self._sorted is not None:
            return ok & np.isin(ids, self._sorted)
        ok &= ids < len(self.table)
        out = np.zeros(len(ids), dtype=bool)
        out[ok] = self.table[ids[ok]]
        return out

    def __and__(self, other: PatientSet) -> PatientSet:
        if self._sorted is None and other._sorted is None:  # two lookup tables: one elementwise "and"
            n = min(len(self.table), len(other.table))
            return PatientSet(np.flatnonzero(self.table[:n] & other.table[:n]))
        return PatientSet(np.intersect1d(self.ids(), other.ids(), assume_unique=True))  # ids(): distinct

    def __or__(self, other: PatientSet) -> PatientSet:
        return PatientSet(sorted_unique(np.concatenate([self.ids(), other.ids()])))


def id_in(column: pd.Series, ids: pd.Series) -> np.ndarray:
    """``column.isin(ids)`` as a boolean ndarray (missing: False). Record ids are database row numbers: a
    lookup table indexed by the column, not a hash of it (``restrict`` asks it of every period's cut)."""
    wanted = ids.to_numpy()
    if (column.dtype.kind not in "iu" and str(column.dtype) not in ("Int64", "Int32")) or wanted.dtype.kind not in "iu" \
            or (len(wanted) and (wanted.min() < 0 or wanted.max() >= PatientSet._MAX_TABLE)):
        return column.isin(pd.Index(ids)).to_numpy()
    table = np.zeros(int(wanted.max()) + 1 if len(wanted) else 0, dtype=bool)
    table[wanted] = True
    values = column.to_numpy(dtype=np.int64, na_value=-1)  # missing -> -1: never a wanted id
    inside = (values >= 0) & (values < len(table))
    out = np.zeros(len(values), dtype=bool)
    out[inside] = table[values[inside]]
    return out


def restrict(data: MeasureData, patient_ids: PatientSet | object,
             encounter_window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
             frames: tuple[str, ...] | None = None,
             codes: dict[str, tuple[str | tuple[str, str], ...]] | None = None) -> MeasureData:
    """The same data for some patients only (the named ``frames``, default all; the others are left
    empty), optionally keeping only the encounters that may touch ``encounter_window`` (start on or
    before its end and end on or after its start; a missing boundary keeps the row) and, per frame in
    ``codes``, only the rows whose code is in one of the value sets (URLs) or direct codes
    ((system, code) pairs) listed. Much cheaper than evaluating rules on everyone when few patients
    can qualify; the code tests run on the whole frames, whose code columns are factorised once."""
    keep = patient_ids if isinstance(patient_ids, PatientSet) else PatientSet(patient_ids)
    out = MeasureData(valuesets=data.valuesets)
    for name, frame in data.frames().items():
        if "patient_id" not in frame.columns or (frames is not None and name not in frames):
            continue
        mask = keep.mask(frame["patient_id"]) if len(frame) else np.zeros(0, dtype=bool)
        if codes is not None and name in codes and len(frame):
            wanted = codes[name]
            hit = vs_mask(data, frame, *[w for w in wanted if isinstance(w, str)])
            for direct in (w for w in wanted if not isinstance(w, str)):
                hit = hit | code_mask(frame, *direct)
            mask &= hit
        if name == "encounters" and encounter_window is not None and len(frame):
            lo = np.datetime64(encounter_window[0], "ns")
            hi = np.datetime64(encounter_window[1], "ns")
            start = frame["start"].to_numpy(dtype="datetime64[ns]")
            end = frame["end"].to_numpy(dtype="datetime64[ns]")
            mask &= (np.isnat(start) | (start <= hi)) & (np.isnat(end) | (end >= lo))
        setattr(out, name, frame[mask])
    ed = data.encounter_diagnoses
    if len(ed):  # those of the kept encounters, and those naming a kept condition (its kind, QI-Core 6)
        kept = id_in(ed["encounter_id"], out.encounters["event_id"])
        if "condition_id" in ed.columns and len(out.conditions):
            kept = kept | id_in(ed["condition_id"], out.conditions["event_id"])
        out.encounter_diagnoses = ed[kept]
    return out


def days(values: object) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01 as float, NaN where missing) of timestamps."""
    a = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else np.asarray(values)
    if a.dtype.kind != "M":
        return day_number(values).to_numpy()
    d = a.astype("datetime64[D]")
    out = d.astype(np.int64).astype(float)
    out[np.isnat(d)] = np.nan
    return out


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
    by whitespace, commas or semicolons (e.g. location types) matches when any of them does."""
    if frame.empty or column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    values = frame[column].reset_index(drop=True)
    direct = vs_mask(data, frame, *valuesets, column=column)
    multi = values.astype("string").str.contains(r"[\s,;]", regex=True).fillna(False).to_numpy(dtype=bool)
    if not multi.any():
        return direct
    wanted = data.valuesets.keys(*valuesets)
    exploded = values[multi].astype("string").str.split(r"[\s,;]+", regex=True).explode().str.strip()
    hit = exploded.isin(wanted).groupby(level=0).any()
    out = direct.copy()
    out[hit.index[hit.to_numpy(dtype=bool)].to_numpy(dtype=np.int64)] = True
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
    # which encounters have such a diagnosis does not depend on the period: found once for every period and
    # measure of an evaluation (ANY_PERIOD; a few encounter ids)
    matched = remember((ed, data.conditions), ("encounters diagnosed", data.valuesets.keys(*valuesets), principal_only),
                       lambda: _diagnosed_encounters(data, valuesets, principal_only), period=ANY_PERIOD)
    return flag(ids, matched)


def _diagnosed_encounters(data: MeasureData, valuesets: tuple[str, ...], principal_only: bool) -> pd.Index:
    """The ids of the encounters one of whose diagnoses (the rank-1 one with ``principal_only``) has a code in
    ``valuesets`` (``encounter_diagnosis_in``)."""
    ed = data.encounter_diagnoses
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
    return pd.Index(list(matched))


def episode_rows(encounters: pd.DataFrame, **populations: ArrayLike) -> pd.DataFrame:
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
    "vs",
]
