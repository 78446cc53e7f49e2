"""Column buffers: each generated table is a dict of equal-length numpy columns (or scalars).

Conventions: dates are ``datetime64[D]``, timestamps ``datetime64[s]`` (NaT = NULL); floats use NaN for
NULL; nullable integer columns are float arrays with NaN; text columns are object arrays (None = NULL).
A scalar value is broadcast to every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .vocab import Code

Columns = dict[str, Any]

DAY = np.timedelta64(1, "D")
SECOND = np.timedelta64(1, "s")


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (tanh approximation, error < 2e-4: plenty for synthetic percentiles)."""
    return 0.5 * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def code_columns(codes: Sequence[Code], idx: np.ndarray, prefix: str = "") -> Columns:
    """``code_system``/``code``/``display`` columns for ``codes[idx]`` (vectorised)."""
    systems = np.array([c.system for c in codes], dtype=object)
    values = np.array([c.code for c in codes], dtype=object)
    displays = np.array([c.display for c in codes], dtype=object)
    if prefix:
        return {f"{prefix}_system": systems[idx], f"{prefix}_code": values[idx]}
    return {"code_system": systems[idx], "code": values[idx], "display": displays[idx]}


def one_code(code: Code, prefix: str = "") -> Columns:
    if prefix:
        return {f"{prefix}_system": code.system, f"{prefix}_code": code.code}
    return {"code_system": code.system, "code": code.code, "display": code.display}


def length(cols: Columns) -> int:
    for value in cols.values():
        if isinstance(value, np.ndarray):
            return len(value)
    raise ValueError("a column buffer needs at least one array column")


class Tables:
    """The rows generated for one chunk, per table, plus the id counters shared across chunks."""

    def __init__(self, next_ids: dict[str, int]) -> None:
        self.next_ids = next_ids
        self.parts: dict[str, list[Columns]] = {}

    def ids(self, table: str, n: int) -> np.ndarray:
        start = self.next_ids.get(table, 1)
        self.next_ids[table] = start + n
        return np.arange(start, start + n, dtype=np.int64)

    def add(self, table: str, cols: Columns) -> None:
        n = length(cols)
        if n == 0:
            return
        for key, value in cols.items():
            if isinstance(value, np.ndarray) and len(value) != n:
                raise ValueError(f"{table}.{key}: {len(value)} values for {n} rows")
        self.parts.setdefault(table, []).append(cols)

    def count(self, table: str) -> int:
        return sum(length(c) for c in self.parts.get(table, []))
