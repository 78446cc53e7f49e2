"""The results cache's file format: a period's patient-level rows and its practice summary as NumPy arrays
(``.npz``, no pickle). The results cache saves head and rows in one file; shared results keep them apart."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..metrics.aggregate import summarize
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
    measures = sorted(rows["measure"].astype(str).unique().tolist())
    body: dict[str, np.ndarray] = {"measure": pd.Categorical(rows["measure"], categories=measures).codes.astype(np.int16)}
    for col in INT_COLUMNS:
        body[col] = pd.to_numeric(rows[col], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    for pop in POPULATIONS:
        body[pop] = rows[pop].astype("Int8").fillna(-1).to_numpy(dtype=np.int8)
    head: dict[str, np.ndarray] = {}
    summary = entry.summary(["practice_id"])
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
    out = rows.copy()
    out["measure"] = out["measure"].astype(object)
    for col in INT_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for pop in POPULATIONS:
        out[pop] = out[pop].astype("boolean")
    return out
