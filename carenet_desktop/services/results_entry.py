"""One period's cached measure results (:class:`CachedResults`): its patient-level rows, kept in memory or read
from its results file when asked for, and their summaries, each counted once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..metrics.aggregate import summarize
from ..metrics.period import Period
from .results_codec import practice_summary

__all__ = ["CachedResults"]


@dataclass
class CachedResults:
    """One period's patient-level rows and their summaries.

    Read back from disk, the rows stay there until something asks for them: the scorecard needs only the
    practice summary saved beside them, so a restart does not read and summarise every patient's rows.
    """

    period: Period
    measure_ids: tuple[str, ...]
    version: int
    _rows: pd.DataFrame | Callable[[], pd.DataFrame] = field(repr=False)
    failures: dict[str, str] = field(default_factory=dict)
    _summaries: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def rows(self) -> pd.DataFrame:
        with self._lock:
            if callable(self._rows):
                self._rows = self._rows()
            return self._rows

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (a worker process sends its results back this way): the rows themselves, no lock."""
        state = {k: v for k, v in self.__dict__.items() if k != "_lock"}
        state["_rows"] = self.rows
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def summary(self, by: Sequence[str] = ("practice_id",), *, coded: Any = None) -> pd.DataFrame:
        """``coded``: the rows' ``results_codec.measure_runs`` when the caller has them (saving the rows)."""
        key = tuple(by)
        if key not in self._summaries:  # the practice summary (every period's) counted by a faster path
            self._summaries[key] = (practice_summary(self.rows, coded) if key == ("practice_id",)
                                    else summarize(self.rows, by=list(by)))
        return self._summaries[key]
