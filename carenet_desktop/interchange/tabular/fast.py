"""Vectorisation helpers: compute on distinct values, then spread back (exports repeat values a lot).

A million-row export has a few thousand distinct codes and dates; string work on the distinct values
and a ``take`` back is orders of magnitude cheaper than string work per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd


def as_object(values: pd.Series | np.ndarray) -> np.ndarray:
    """An object ndarray (pandas' string dtype takes slow per-element paths for most operations)."""
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    return arr


def per_unique(values: pd.Series, func: Callable[[pd.Series], pd.Series | np.ndarray]) -> pd.Series:
    """``func`` applied to the distinct values of ``values`` (an object Series), spread back to every row."""
    codes, uniques = pd.factorize(as_object(values), use_na_sentinel=False)
    result = func(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    arr = result.to_numpy() if isinstance(result, pd.Series) else np.asarray(result)
    if arr.dtype.kind in "OUS" and arr.dtype != object:
        arr = arr.astype(object)
    taken = arr[codes] if len(codes) else arr[:0]
    return pd.Series(taken, index=values.index, dtype=object if taken.dtype == object else None)


def per_unique_pairs(a: pd.Series, b: pd.Series, func: Callable[[pd.Series, pd.Series], pd.Series]) -> pd.Series:
    """``func(a_uniques, b_uniques)`` over the distinct (a, b) pairs, spread back to every row."""
    frame = pd.DataFrame({"a": as_object(a), "b": as_object(b)}, index=a.index)
    codes = frame.groupby(["a", "b"], sort=False, dropna=False).ngroup().to_numpy()
    uniq = frame.drop_duplicates().reset_index(drop=True)
    if len(frame) == 0:
        return pd.Series([], index=a.index, dtype=object)
    result = func(uniq["a"], uniq["b"]).to_numpy()
    if result.dtype.kind in "US":
        result = result.astype(object)
    taken = result[codes]
    return pd.Series(taken, index=a.index, dtype=object if taken.dtype == object else None)


def row_hash(columns: Sequence[pd.Series | np.ndarray]) -> np.ndarray:
    """A uint64 hash per row of several columns (object columns hashed as text, numbers as numbers)."""
    frame = pd.DataFrame({str(i): (as_object(c) if _is_text(c) else np.asarray(c)) for i, c in enumerate(columns)})
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _is_text(values: pd.Series | np.ndarray) -> bool:
    dtype = values.dtype
    return isinstance(dtype, pd.StringDtype) or dtype.kind in "OUS"


def day_numbers(values: pd.Series) -> np.ndarray:
    """Days since 1970 of datetimes (NaT -> a sentinel), for keys."""
    arr = pd.to_datetime(values, errors="coerce").to_numpy(dtype="datetime64[D]")
    out = arr.astype(np.int64)
    out[np.isnat(arr)] = np.iinfo(np.int64).min
    return out
