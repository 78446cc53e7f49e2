"""Column conversions shared by the store readers (``measure_data`` for SQLite and any driver, ``pg_frames``
for PostgreSQL): every reader gives a column of a kind the same dtype and the same missing values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MISSING = np.iinfo(np.int64).min  # NULL in an integer column
MISSING_SQL = "(-9223372036854775807 - 1)"  # the same, kept an INTEGER (the bare literal would be REAL)


@dataclass(frozen=True)
class Col:
    """A column to read: its name in the result, the SQL expression over table ``t``, and its kind."""

    name: str
    sql: str
    kind: str  # int | nint | float | bool | date | str


def nulls(kind: str, n: int) -> Any:
    """A column of ``n`` missing values of this kind (``int`` columns cannot be missing: zeros)."""
    if kind == "str":  # every row the missing value: the codes -1 into no texts
        return str_column(np.full(n, -1, dtype=np.int8), np.zeros(0, dtype=object))
    if kind == "date":  # NaT in one pass (``numeric`` of NaN takes several: a tenth of a second a million rows)
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    return numeric(np.full(n, np.nan), kind) if kind != "int" else np.zeros(n, dtype=np.int64)


def numeric(values: np.ndarray, kind: str) -> Any:
    """The frame column of a kind from int64 values (``MISSING`` = NULL; dates in epoch milliseconds) or
    float64 values (NaN = NULL)."""
    if values.dtype == np.int64 and kind != "int":  # the sentinel marks NULL
        missing = values == MISSING
        if kind == "date":  # milliseconds to microseconds in one pass (a NULL's product wraps: replaced)
            out = (values * np.int64(1000)).view("datetime64[us]")
            out[missing] = np.datetime64("NaT")
            return out
        if kind == "nint":
            return pd.arrays.IntegerArray(np.where(missing, 0, values), missing)
        if kind == "bool":
            return pd.arrays.BooleanArray(values != 0, missing)
        values = np.where(missing, np.nan, values.astype(np.float64))
    if kind == "int":
        return values.astype(np.int64)
    if kind == "float":
        return values.astype(np.float64)
    if kind == "nint":
        return pd.array(values, dtype="Float64").astype("Int64") if len(values) else pd.array([], dtype="Int64")
    if kind == "bool":
        mask = np.isnan(values)
        return pd.arrays.BooleanArray(np.nan_to_num(values) != 0, mask)
    if kind == "date":  # epoch milliseconds (float, NaN = missing)
        missing = np.isnan(values)
        ms = np.where(missing, 0, values).astype(np.int64)
        out = ms.astype("datetime64[ms]").astype("datetime64[us]")
        out[missing] = np.datetime64("NaT")
        return out
    raise ValueError(kind)


def dedupe_objects(values: np.ndarray, null: str | None) -> np.ndarray:
    """An object array where equal values share one object (8 bytes a row) and ``null`` (or NaN) is None."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniq = np.asarray(uniques, dtype=object)
    if null is not None:
        uniq = np.where(uniq == null, None, uniq)  # type: ignore[call-overload]  # None into an object array
    taken = np.empty(len(values), dtype=object)
    has = codes >= 0
    taken[has] = uniq[codes[has]]
    taken[~has] = None
    return taken


_STR_SAMPLE = pd.array([], dtype="str")


def str_column(codes: np.ndarray, texts: np.ndarray) -> Any:
    """The ``str`` column whose row ``i`` is ``texts[codes[i]]`` (code -1: missing), built without a check
    per row: ``texts`` are distinct ``str`` objects (checked once each), so the rows need none. Equal to
    ``pd.array(values, dtype="str")`` of the same values; other pandas string storages take that route."""
    table = np.empty(len(texts) + 1, dtype=object)
    table[:-1] = texts
    table[-1] = np.nan  # the missing value of the "str" dtype
    values = table[codes]
    if type(_STR_SAMPLE) is pd.arrays.StringArray and all(type(t) is str for t in texts):
        return pd.arrays.StringArray._simple_new(values, _STR_SAMPLE.dtype)
    return pd.array(values, dtype="str")


def factorize_texts(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct texts) of a list of ``str`` (none missing): ``pd.factorize``'s answer, with its
    string hash table called directly (``pd.factorize`` first scans the rows to learn they are strings,
    which a split text's always are)."""
    array = np.fromiter(values, dtype=object, count=len(values))
    if _StringHashTable is not None:
        uniques, codes = _StringHashTable(max(len(values) // 64, 64)).factorize(array)
        return codes, uniques
    codes, found = pd.factorize(array)
    return codes, np.asarray(found, dtype=object)


try:  # pandas' own hash table for str objects (the one pd.factorize picks for them)
    from pandas._libs.hashtable import StringHashTable as _StringHashTable
except ImportError:  # pragma: no cover - another pandas build: the public route
    _StringHashTable = None
