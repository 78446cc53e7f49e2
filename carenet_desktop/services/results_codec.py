"""The results cache's file format: a period's patient-level rows and its practice summary as NumPy arrays
(``.npz``, no pickle). The results cache saves head and rows in one file; shared results keep them apart."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..metrics.aggregate import COUNT_COLUMNS, summarize, with_rates
from ..metrics.definition import POPULATIONS
from ..metrics.engine import PATIENT_ATTRIBUTES, ROW_COLUMNS
from .cache_files import READ_ERRORS, open_npz

if TYPE_CHECKING:
    from .results import CachedResults

log = logging.getLogger(__name__)

INT_COLUMNS = ("group_index", "patient_id", "episode_id", *PATIENT_ATTRIBUTES)
#: the practice summary saved beside the rows (``summary(["practice_id"])``), column by column
_SUMMARY_INTS = ("group_index", "practice_id", "initial_population", "denominator", "exclusions", "exceptions",
                 "numerator", "rate_base")
_SUMMARY_FLOATS = ("rate", "ci_low", "ci_high")
_SUMMARY = "summary."


def read_rows(path: Path, names: np.ndarray, key: bytes | None) -> pd.DataFrame | None:
    try:
        with open_npz(path, key) as z:
            return decode_rows(z, names)
    except READ_ERRORS as exc:
        log.warning("Results cache ignored (%s)", type(exc).__name__)
        return None


def encode_entry(entry: CachedResults) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """An entry as arrays (NumPy ``.npz``, no pickle): (the head - meta and the practice summary -, the
    patient-level rows). The results cache saves both in one file; shared results keep them apart."""
    rows = entry.rows
    coded = measure_codes(rows["measure"])
    if coded is not None:  # the rows' measures in runs (as the engine gives them): no hashing of every row's name
        codes, measures = coded
        body: dict[str, np.ndarray] = {"measure": codes.astype(np.int16)}
    else:
        measures = sorted(rows["measure"].astype(str).unique().tolist())
        body = {"measure": pd.Categorical(rows["measure"], categories=measures).codes.astype(np.int16)}
    for col in INT_COLUMNS:
        body[col] = _filled(rows[col], np.int64)
    for pop in POPULATIONS:
        body[pop] = _filled(rows[pop], np.int8)
    head: dict[str, np.ndarray] = {}
    summary = entry.summary(["practice_id"], coded=coded)
    if (list(summary.columns) == ["measure", *_SUMMARY_INTS, *_SUMMARY_FLOATS]
            and not summary[list(_SUMMARY_INTS)].isna().any().any()):
        head[_SUMMARY + "measure"] = pd.Categorical(summary["measure"], categories=measures).codes.astype(np.int16)
        for col in _SUMMARY_INTS:
            head[_SUMMARY + col] = summary[col].to_numpy(dtype=np.int64)
        for col in _SUMMARY_FLOATS:
            head[_SUMMARY + col] = summary[col].to_numpy(dtype=np.float64, na_value=np.nan)
    meta = {"measures": measures, "version": entry.version, "failures": entry.failures,
            "summary_dtypes": {c: str(t) for c, t in summary.dtypes.items()}}
    head["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return head, body


def decode_head(z: Any) -> tuple[dict[str, Any], np.ndarray, pd.DataFrame | None]:
    """(meta, measure names, the practice summary or None when it was not saved) of an encoded entry."""
    meta = json.loads(bytes(z["meta"]).decode())
    names = np.asarray(meta["measures"], dtype=object)
    summary = _read_summary(z, names, meta.get("summary_dtypes", {})) if _SUMMARY + "measure" in z.files else None
    return meta, names, summary


def decode_rows(z: Any, names: np.ndarray) -> pd.DataFrame:
    """The patient-level rows of an encoded entry, in the dtypes of :func:`_conform`."""
    measure = names[z["measure"]] if len(names) else np.array([], dtype=object)
    rows = pd.DataFrame({"measure": pd.Series(measure, dtype=object)})  # as _conform has it
    for col in INT_COLUMNS:
        values = pd.Series(z[col], dtype="Int64")
        rows[col] = values.mask(values == -1) if col in ("episode_id", "provider_id") else values
    for pop in POPULATIONS:
        raw = pd.Series(z[pop], dtype="Int8")
        rows[pop] = raw.mask(raw == -1).astype("boolean")
    return rows[list(ROW_COLUMNS)]


def _read_summary(z: Any, names: np.ndarray, dtypes: dict[str, str]) -> pd.DataFrame:
    """The saved practice summary, with the dtypes it had when it was computed."""
    codes = z[_SUMMARY + "measure"]
    frame = pd.DataFrame({"measure": names[codes] if len(names) else np.array([], dtype=object)})
    for col in (*_SUMMARY_INTS, *_SUMMARY_FLOATS):
        frame[col] = z[_SUMMARY + col]
    return frame.astype({c: t for c, t in dtypes.items() if c in frame.columns})


def patched_summary(summary: pd.DataFrame, rows: pd.DataFrame, practices: set[object]) -> pd.DataFrame:
    """``summarize(rows, by=["practice_id"])`` made from ``summary`` (the rows' summary before some
    practices' rows changed): only ``practices`` are summarised again, in the same order and dtypes."""
    if any(p is None or p is pd.NA or (isinstance(p, float) and np.isnan(p)) for p in practices):
        return summarize(rows, by=["practice_id"])  # a row without a practice: no shortcut
    ids = sorted(int(p) for p in practices)  # type: ignore[call-overload]
    fresh = summarize(rows[rows["practice_id"].isin(ids)], by=["practice_id"])
    kept = summary[~summary["practice_id"].isin(ids)]
    parts = [part for part in (kept, fresh) if len(part)]
    if not parts:
        return fresh
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["measure", "group_index", "practice_id"], kind="mergesort").reset_index(drop=True)
    if not out.dtypes.equals(summary.dtypes) or list(out.columns) != list(summary.columns):
        return summarize(rows, by=["practice_id"])
    return out


def _conform(rows: pd.DataFrame) -> pd.DataFrame:
    """One set of dtypes for the rows of every path (computed here or in a worker, refreshed, read from
    disk): nullable integers and booleans. A refresh concatenates old rows with a few fresh ones, and a
    concatenation with an empty or all-NA part would turn nullable columns into ``object``."""
    out = rows.copy(deep=False)  # (every column is replaced, none changed in place: copy-on-write keeps ``rows``)
    out["measure"] = out["measure"].astype(object)
    for col in INT_COLUMNS:
        out[col] = _as_int64(out[col])
    for pop in POPULATIONS:
        out[pop] = out[pop].astype("boolean")
    return out


# --- fast paths: each gives exactly what the general pandas call it stands in for gives ---------------------


def _as_int64(values: pd.Series) -> pd.Series:
    """``pd.to_numeric(values, errors="coerce").astype("Int64")``. An object column of integers and missing
    values (an engine's ``episode_id``: most rows have none) without converting it value by value; as there,
    through float64 (which is what ``to_numeric`` makes of such a column). A column of NumPy integers or of
    ``Int64`` already is taken as it is."""
    if isinstance(values.dtype, pd.Int64Dtype):
        return values.copy(deep=False)
    if values.dtype.kind in "iu" and isinstance(values.dtype, np.dtype) and (
            values.dtype.kind == "i" or values.dtype.itemsize < 8):  # (a uint64 goes through to_numeric)
        data = values.to_numpy().astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(data, np.zeros(len(data), dtype=bool)), index=values.index,
                         name=values.name, copy=False)  # (arrays made here: not copied again)
    if values.dtype == object:
        raw = values.to_numpy()
        kind = pd.api.types.infer_dtype(raw, skipna=True)
        if kind in ("integer", "empty"):
            missing = pd.isna(raw)
            data = np.zeros(len(raw), dtype=np.int64)
            if kind == "integer" and not missing.any():  # no NA: to_numeric keeps exact int64
                data = raw.astype(np.int64)
            elif kind == "integer":
                data[~missing] = raw[~missing].astype(np.float64).astype(np.int64)
            return pd.Series(pd.arrays.IntegerArray(data, missing), index=values.index, name=values.name, copy=False)
    return pd.to_numeric(values, errors="coerce").astype("Int64")


def _filled(values: pd.Series, dtype: type[np.integer[Any]]) -> np.ndarray:
    """A rows column as stored: missing values as -1 (``to_numeric(..).fillna(-1)`` of an integer column,
    ``astype("Int8").fillna(-1)`` of a population's)."""
    array = values.array
    if isinstance(array, (pd.arrays.IntegerArray, pd.arrays.BooleanArray)) and (
            dtype is np.int8) == isinstance(array, pd.arrays.BooleanArray):
        data, mask = array._data, array._mask  # (the masked arrays' documented constructor arguments)
        out: np.ndarray = data.astype(dtype)
        out[mask] = -1
        return out
    if dtype is np.int8:
        out = values.astype("Int8").fillna(-1).to_numpy(dtype=np.int8)
    else:
        out = pd.to_numeric(values, errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    return out


#: more runs of one measure than this share of the rows: not worth coding run by run
_MOST_RUNS = 1 / 16


def measure_codes(measure: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """(each row's code, the sorted measure names the codes index) when every row names a measure (a ``str``)
    and the rows come in runs of one measure, as the engine gives them; else None. The codes are those of
    ``pd.Categorical(measure, categories=names)``: found run by run, not by hashing every row's name."""
    values = measure.to_numpy(dtype=object)
    n = len(values)
    if n == 0:
        return None
    change = np.empty(n, dtype=bool)
    change[0] = True
    try:
        np.not_equal(values[1:], values[:-1], out=change[1:])
    except (TypeError, ValueError):  # a missing value (pd.NA cannot be compared)
        return None
    starts = np.flatnonzero(change)
    if len(starts) > max(64, n * _MOST_RUNS):
        return None
    firsts = values[starts]
    if not all(type(v) is str for v in firsts):
        return None
    names = sorted(set(firsts))
    index = {name: i for i, name in enumerate(names)}
    lengths = np.diff(np.append(starts, n))
    return np.repeat(np.array([index[v] for v in firsts], dtype=np.int64), lengths), names


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)`` of an integer array: for values within a short range (a group's
    index, practice ids) counted in a table of the range instead of hashed."""
    if values.dtype.kind != "i" or len(values) == 0 or (
            int(values.max()) - int(values.min()) > 4 * len(values) + 1_000_000):
        codes, uniques = pd.factorize(values, sort=True)
        return np.asarray(codes), np.asarray(uniques)
    low, high = int(values.min()), int(values.max())
    offset = values - low
    present = np.zeros(high - low + 1, dtype=bool)
    present[offset] = True
    if present.all():  # every value of the range (a group's index, a network's practices): the codes are the offsets
        return offset.astype(np.intp, copy=False), np.arange(low, high + 1).astype(values.dtype)
    rank = np.cumsum(present, dtype=np.intp) - 1
    return rank[offset], (np.flatnonzero(present) + low).astype(values.dtype)


def practice_summary(rows: pd.DataFrame, coded: tuple[np.ndarray, list[str]] | None = None) -> pd.DataFrame:
    """``summarize(rows, by=["practice_id"])``, the same frame, counted with ``np.bincount`` over the rows'
    (measure, group, practice) codes instead of a groupby over the measure's names (a third of a second
    on the 250,000-patient demo, for every period of a trend). Only for rows in :func:`_conform`'s dtypes
    whose measures come in runs, as the engine gives them; any other rows go to ``summarize`` itself.
    ``coded``: ``measure_codes(rows["measure"])`` when the caller has it already (not found again)."""
    if (len(rows) == 0 or any(c not in rows.columns for c in ("measure", "group_index", "practice_id", *POPULATIONS))
            or any(not isinstance(rows[c].array, pd.arrays.IntegerArray) for c in ("group_index", "practice_id"))
            or any(not isinstance(rows[p].array, pd.arrays.BooleanArray) for p in POPULATIONS)):
        return summarize(rows, by=["practice_id"])
    coded = coded or measure_codes(rows["measure"])
    group = rows["group_index"].array
    if coded is None or group._mask.any():
        return summarize(rows, by=["practice_id"])
    m_codes, names = coded
    g_codes, g_values = sorted_codes(group._data)
    practice = rows["practice_id"].array
    known = ~practice._mask
    p_codes = np.empty(len(rows), dtype=np.int64)
    p_known, p_values = sorted_codes(practice._data[known])
    p_codes[known] = p_known
    p_codes[~known] = len(p_values)  # no practice: after every practice, as the groupby (dropna=False) has it
    groups, places = len(g_values), len(p_values) + 1
    size = len(names) * groups * places
    if size > 4 * len(rows) + 1_000_000:  # too sparse to count in one array
        return summarize(rows, by=["practice_id"])
    key = (m_codes * groups + g_codes) * places + p_codes  # sorted as (measure, group, practice)
    present = np.flatnonzero(np.bincount(key, minlength=size))
    out = pd.DataFrame({"measure": pd.Index(np.array(names, dtype=object)).take(present // (groups * places))})
    out["group_index"] = pd.array(g_values[present // places % groups], dtype="Int64")
    slot = present % places
    out["practice_id"] = pd.arrays.IntegerArray(
        np.append(p_values, 0).astype(np.int64)[slot], slot == len(p_values))
    for pop, name in COUNT_COLUMNS.items():
        flags = rows[pop].array
        counted = np.bincount(key[flags._data & ~flags._mask], minlength=size)
        out[name] = counted[present].astype(np.int64)
    return with_rates(out)
