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
    from .results_entry import CachedResults

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
    runs = measure_runs(rows["measure"])
    if runs is not None:  # the rows' measures in runs (as the engine gives them): no hashing of every row's name
        codes, lengths, measures = runs
        body: dict[str, np.ndarray] = {"measure": np.repeat(codes.astype(np.int16), lengths)}
    else:
        measures = sorted(rows["measure"].astype(str).unique().tolist())
        body = {"measure": pd.Categorical(rows["measure"], categories=measures).codes.astype(np.int16)}
    for col in INT_COLUMNS:
        body[col] = _filled(rows[col], np.int64)
    for pop in POPULATIONS:
        body[pop] = _filled(rows[pop], np.int8)
    head: dict[str, np.ndarray] = {}
    summary = entry.summary(["practice_id"], coded=runs)
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
        missing = pd.isna(raw)
        # the values' kind found among the known ones only (``infer_dtype`` skipping NA is what this is; an
        # engine's ``episode_id`` is NA on most rows: not looked at twice)
        known = raw[~missing] if missing.any() else raw
        kind = pd.api.types.infer_dtype(known, skipna=True)
        if kind in ("integer", "empty"):
            data = np.zeros(len(raw), dtype=np.int64)
            if kind == "integer" and len(known) == len(raw):  # no NA: to_numeric keeps exact int64
                data = raw.astype(np.int64)
            elif kind == "integer":
                data[~missing] = known.astype(np.float64).astype(np.int64)
            return pd.Series(pd.arrays.IntegerArray(data, missing), index=values.index, name=values.name, copy=False)
    return pd.to_numeric(values, errors="coerce").astype("Int64")


def _filled(values: pd.Series, dtype: type[np.integer[Any]]) -> np.ndarray:
    """A rows column as stored: missing values as -1 (``to_numeric(..).fillna(-1)`` of an integer column,
    ``astype("Int8").fillna(-1)`` of a population's)."""
    array = values.array
    if isinstance(array, (pd.arrays.IntegerArray, pd.arrays.BooleanArray)) and (
            dtype is np.int8) == isinstance(array, pd.arrays.BooleanArray):
        data, mask = array._data, array._mask  # (the masked arrays' documented constructor arguments)
        if data.dtype != dtype and not (dtype is np.int8 and data.dtype == np.bool_):
            data = data.astype(dtype)
        elif dtype is np.int8:
            data = data.view(np.int8)  # (a bool is one byte, 0 or 1)
        # the column's own array when nothing is missing (saved as it is: read, never written into)
        out: np.ndarray = np.where(mask, dtype(-1), data) if mask.any() else data
        return out
    if dtype is np.int8:
        out = values.astype("Int8").fillna(-1).to_numpy(dtype=np.int8)
    else:
        out = pd.to_numeric(values, errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    return out


#: more runs of one measure than this share of the rows: not worth coding run by run
_MOST_RUNS = 1 / 16


def measure_runs(measure: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(each run's code, each run's length, the sorted measure names the codes index) when every row names a
    measure (a ``str``) and the rows come in runs of one measure, as the engine gives them; else None."""
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
    return np.array([index[v] for v in firsts], dtype=np.int64), np.diff(np.append(starts, n)), names


def measure_codes(measure: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """(each row's code, the sorted measure names the codes index) when every row names a measure (a ``str``)
    and the rows come in runs of one measure, as the engine gives them; else None. The codes are those of
    ``pd.Categorical(measure, categories=names)``: found run by run, not by hashing every row's name."""
    runs = measure_runs(measure)
    if runs is None:
        return None
    codes, lengths, names = runs
    return np.repeat(codes, lengths), names


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)`` of an integer array: for values within a short range (a group's
    index, practice ids) counted in a table of the range instead of hashed. The codes may be ``values``
    itself (every value of ``0..n`` present, as intp): read them, never write into them."""
    if values.dtype.kind != "i" or len(values) == 0:
        codes, uniques = pd.factorize(values, sort=True)
        return np.asarray(codes), np.asarray(uniques)
    low, high = int(values.min()), int(values.max())
    if high - low > 4 * len(values) + 1_000_000:
        codes, uniques = pd.factorize(values, sort=True)
        return np.asarray(codes), np.asarray(uniques)
    offset = values if low == 0 else values - low
    present = np.zeros(high - low + 1, dtype=bool)
    present[offset] = True
    if present.all():  # every value of the range (a group's index, a network's practices): the codes are the offsets
        return offset.astype(np.intp, copy=False), np.arange(low, high + 1).astype(values.dtype)
    rank = np.cumsum(present, dtype=np.intp) - 1
    return rank[offset], (np.flatnonzero(present) + low).astype(values.dtype)


def _codes_or_none(array: pd.arrays.IntegerArray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sorted_codes` of a nullable column's values; a missing value's code is after every value's
    (the uniques' count), as a groupby with ``dropna=False`` puts it."""
    missing = array._mask
    if not missing.any():
        return sorted_codes(array._data)
    known, uniques = sorted_codes(array._data[~missing])
    codes = np.full(len(missing), len(uniques), dtype=np.intp)
    codes[~missing] = known
    return codes, uniques


#: a row's populations as bits of one number (``1 << i`` when it is in ``POPULATIONS[i]``)
_PATTERNS = 1 << len(POPULATIONS)
#: which populations each pattern is in: (pattern, population) -> 0 or 1
_IN_POPULATION = ((np.arange(_PATTERNS)[:, None] >> np.arange(len(POPULATIONS))) & 1).astype(np.int64)


def practice_summary(rows: pd.DataFrame, runs: tuple[np.ndarray, np.ndarray, list[str]] | None = None) -> pd.DataFrame:
    """``summarize(rows, by=["practice_id"])``, the same frame, counted with one ``np.bincount`` over the rows'
    (measure, group, practice, populations) codes instead of a groupby over the measure's names (a third of a
    second on the 250,000-patient demo, for every period of a trend). Only for rows in :func:`_conform`'s
    dtypes whose measures come in runs, as the engine gives them; any other rows go to ``summarize`` itself.
    ``runs``: ``measure_runs(rows["measure"])`` when the caller has it already (not found again)."""
    if (len(rows) == 0 or any(c not in rows.columns for c in ("measure", "group_index", "practice_id", *POPULATIONS))
            or any(not isinstance(rows[c].array, pd.arrays.IntegerArray) for c in ("group_index", "practice_id"))
            or any(not isinstance(rows[p].array, pd.arrays.BooleanArray) for p in POPULATIONS)):
        return summarize(rows, by=["practice_id"])
    runs = runs or measure_runs(rows["measure"])
    group = rows["group_index"].array
    if runs is None or group._mask.any():
        return summarize(rows, by=["practice_id"])
    m_codes, lengths, names = runs
    g_codes, g_values = sorted_codes(group._data)
    p_codes, p_values = _codes_or_none(rows["practice_id"].array)
    groups, places = len(g_values), len(p_values) + 1
    cells = len(names) * groups * places
    if cells * _PATTERNS > 4 * len(rows) + 1_000_000:  # too sparse to count in one array
        return summarize(rows, by=["practice_id"])
    # each row's cell, sorted as (measure, group, practice), times the patterns, plus its own pattern: made
    # in one array, in place (each full-length temporary costs a period its pages again)
    key = np.repeat(m_codes.astype(np.intp) * groups, lengths)
    key += g_codes
    key *= places
    key += p_codes
    key <<= len(POPULATIONS)
    bit = np.empty(len(rows), dtype=np.intp)
    for i, pop in enumerate(POPULATIONS):
        flags = rows[pop].array
        np.greater(flags._data, flags._mask, out=bit)  # in the population: True and not missing
        bit <<= i
        key |= bit
    del bit
    counted = np.bincount(key, minlength=cells * _PATTERNS).reshape(cells, _PATTERNS)
    del key
    present = np.flatnonzero(counted.any(axis=1))
    by_population = counted[present] @ _IN_POPULATION
    out = pd.DataFrame({"measure": pd.Index(np.array(names, dtype=object)).take(present // (groups * places))})
    out["group_index"] = pd.array(g_values[present // places % groups], dtype="Int64")
    slot = present % places
    out["practice_id"] = pd.arrays.IntegerArray(
        np.append(p_values, 0).astype(np.int64)[slot], slot == len(p_values))
    for pop, name in COUNT_COLUMNS.items():
        out[name] = by_population[:, POPULATIONS.index(pop)].astype(np.int64)
    return with_rates(out)
