"""The trend table of a period kept on disk beside the results, so a warm start draws the sparklines at once.

A trend is the scorecard table of twelve rolling periods (``measure_detail.trend_table``): small (practice x
measure x group x period), but building it reads and summarises twelve periods' results. It is saved under a
key made like the results' own (the period and its rolling periods, the measures, the code signature, the
store's history and definitions digest, and the practices the user may see), and it carries the change
journal's version it reflects: a read at any other version finds nothing, exactly as the results then go
stale, and the trend is built again from the (incrementally refreshed) results.

Stored column by column in NumPy arrays (no pickle); an encrypted store's file is sealed like its results.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..metrics.period import Period
from .cache_files import READ_ERRORS, open_npz, save_npz
from .results import ResultsCache

log = logging.getLogger(__name__)

_PREFIX = "trend-"
#: the source files that build a trend table and its file (relative to the package): their hash is part of
#: the key, so another build's tables are not served at the same journal version (the installer ships them
#: as files; tests/test_installer_spec.py checks it)
TREND_SOURCES = ("services/measure_detail.py", "services/trend_store.py")
_CODE: list[str] = []


def _trend_code() -> str:
    if not _CODE:
        package = Path(__file__).resolve().parent.parent
        digest = hashlib.sha256()
        for name in TREND_SOURCES:
            digest.update((package / name).read_bytes())
        _CODE.append(digest.hexdigest()[:12])
    return _CODE[0]


class TrendStore:
    """Trend tables of one results cache's store, on disk in the cache's folder."""

    def __init__(self, cache: ResultsCache) -> None:
        self.cache = cache

    @property
    def enabled(self) -> bool:
        return self.cache.on_disk

    def path(self, period: Period, periods: Sequence[Period], measure_ids: tuple[str, ...],
             visible: frozenset[int] | None) -> Path:
        key = json.dumps([period.label, [p.label for p in periods], measure_ids, self.cache.signature, _trend_code(),
                          self.cache.stamp(measure_ids), None if visible is None else sorted(visible)])
        return self.cache.folder / f"{_PREFIX}{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"

    def read(self, path: Path, version: int) -> pd.DataFrame | None:
        """The table saved at ``path`` if it reflects journal version ``version``, else None."""
        if not self.enabled or not path.exists():
            return None
        try:
            with open_npz(path, self.cache.cache_key()) as z:
                meta = json.loads(bytes(z["meta"]).decode())
                if int(meta["version"]) != version:
                    return None
                return decode_table(z, meta)
        except READ_ERRORS as exc:  # only a cache: build the trend again
            log.warning("Trend cache ignored (%s)", type(exc).__name__)
            return None

    def write(self, path: Path, version: int, table: pd.DataFrame) -> None:
        if not self.enabled:
            return
        try:
            arrays, meta = encode_table(table)
            meta["version"] = version
            arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
            self.cache.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            save_npz(path, arrays, self.cache.cache_key())
        except (OSError, TypeError, ValueError) as exc:  # a cache that cannot be written only costs speed
            log.warning("Trend cache not saved (%s)", type(exc).__name__)


# --- encoding -----------------------------------------------------------------------------------------------


def encode_table(table: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Column by column: plain NumPy columns as they are, nullable ones as values and a mask, text and
    dates as JSON (``TypeError`` for a column of anything else)."""
    arrays: dict[str, np.ndarray] = {}
    columns: list[dict[str, str]] = []
    for i, (name, col) in enumerate(table.items()):
        dtype = col.dtype
        slot = f"c{i}"
        if isinstance(dtype, np.dtype) and dtype.kind in "biufM":
            arrays[slot] = col.to_numpy()
            kind = "numpy"
        elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "biuf":
            mask = col.isna().to_numpy()
            arrays[slot] = col.fillna(0 if dtype.kind != "b" else False).to_numpy(dtype=dtype.numpy_dtype)
            arrays[slot + ".na"] = mask
            kind = "masked"
        elif isinstance(dtype, pd.StringDtype):
            kind = "text"
            text = [None if _missing(v) else str(v) for v in col.tolist()]
            arrays[slot] = np.frombuffer(json.dumps(text).encode(), dtype=np.uint8)
        elif isinstance(dtype, np.dtype) and dtype.kind == "O":
            kind = "json"
            values: list[object] = col.tolist()
            if any(isinstance(v, dt.date) for v in values):
                if not all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) or _missing(v) for v in values):
                    raise TypeError(f"column {name!r} mixes dates with other values")
                kind = "dates"
                values = [v.isoformat() if isinstance(v, dt.date) else None for v in values]
            else:
                values = [None if _missing(v) else _plain(v) for v in values]
            arrays[slot] = np.frombuffer(json.dumps(values).encode(), dtype=np.uint8)
        else:
            raise TypeError(f"column {name!r}: {dtype} is not stored")
        columns.append({"name": str(name), "kind": kind, "dtype": str(dtype)})
    return arrays, {"columns": columns, "rows": len(table)}


def decode_table(z: Any, meta: dict[str, Any]) -> pd.DataFrame:
    data: dict[str, pd.Series] = {}
    for i, column in enumerate(meta["columns"]):
        slot, kind, dtype = f"c{i}", column["kind"], column["dtype"]
        if kind == "numpy":
            series = pd.Series(z[slot], dtype=dtype)
        elif kind == "masked":
            series = pd.Series(z[slot]).astype(dtype).mask(z[slot + ".na"])
        else:
            values = json.loads(bytes(z[slot]).decode())
            if kind == "dates":
                values = [None if v is None else dt.date.fromisoformat(v) for v in values]
            series = pd.Series(values, dtype=dtype if kind == "text" else object)
        data[column["name"]] = series
    return pd.DataFrame(data, index=pd.RangeIndex(int(meta["rows"])))


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _plain(value: object) -> object:
    """A JSON value for a cell of a text column (NumPy scalars as Python ones)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"a {type(value).__name__} is not stored")
