"""Pure helpers for matching imported rows against stored ones: comparable text, row hashes, and a
one-chunk-ahead reader thread (no database here)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .dates import to_storage_text
from .fast import per_unique, row_hash
from .records import TableSpec

T = TypeVar("T")


def canon(values: pd.Series, kind: str) -> pd.Series:
    """Values as comparable text, the same for what the store returns and what an import writes."""
    if kind in ("date", "datetime"):
        text = per_unique(pd.Series(values.to_numpy(dtype=object), dtype=object), lambda u: to_storage_text(
            pd.to_datetime(u, errors="coerce", format="mixed"), date_only=kind == "date")).to_numpy(dtype=object)
    elif kind in ("int", "float", "bool"):
        nums = pd.to_numeric(pd.Series(values.to_numpy(dtype=object)), errors="coerce").astype(float)
        text = per_unique(pd.Series(nums.to_numpy(dtype=object), dtype=object),
                          lambda u: u.map(lambda v: "" if v != v else format(v, ".9g"))).to_numpy(dtype=object)
    else:
        text = values.to_numpy(dtype=object)
    text = np.array(text, dtype=object)  # a writable copy
    text[pd.isna(text)] = ""
    return pd.Series(text, dtype=object)


def content_hash(columns: dict[str, pd.Series], spec: TableSpec) -> np.ndarray:
    return row_hash([canon(values, spec.columns[name][1]) for name, values in columns.items()])


def natural_hash(pid: np.ndarray, codes: list[pd.Series], days: np.ndarray) -> np.ndarray:
    return row_hash([np.zeros(len(pid), np.int64), pid, *codes, days])


def source_hash(pid: np.ndarray, source_ids: pd.Series) -> np.ndarray:
    return row_hash([np.ones(len(pid), np.int64), pid, source_ids])


def same(before: pd.Series, new: np.ndarray, kind: str) -> np.ndarray:
    """Elementwise 'unchanged' between stored values and new storage values."""
    if kind in ("int", "float", "bool"):
        a = pd.to_numeric(before, errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(pd.Series(new, dtype=object), errors="coerce").to_numpy(dtype=float)
        return (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=0, atol=1e-9)
    if kind in ("date", "datetime"):
        a = pd.to_datetime(pd.Series(before.to_numpy(dtype=object)), errors="coerce")
        b = pd.to_datetime(pd.Series(new, dtype=object), errors="coerce")
        return ((a == b) | (a.isna() & b.isna())).to_numpy()
    a = before.astype(object).where(before.notna(), "").astype(str).to_numpy()
    b = pd.Series(new, dtype=object).where(pd.notna(new), "").astype(str).to_numpy()
    return a == b


def json_ready(values: pd.Series, kind: str) -> pd.Series:
    if kind in ("date", "datetime"):
        parsed = pd.to_datetime(pd.Series(values.to_numpy(dtype=object)), errors="coerce")
        return pd.Series(to_storage_text(parsed, date_only=kind == "date"), index=values.index)
    return values.astype(object).where(values.notna(), None)


# --- the use cases -----------------------------------------------------------------------------------

def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Produce ``items`` in a worker thread, at most ``depth`` ahead; errors re-raised in the consumer."""
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            slots.put(("error", exc))

    worker = threading.Thread(target=produce, name="intake-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)
