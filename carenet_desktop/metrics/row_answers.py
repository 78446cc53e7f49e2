"""Per-row answers a trend's pass keeps for the rows its periods have asked about (``metrics.memo``'s
``for_pass``), each period answering only the rows no period asked about before.

An episode measure asks of each of a period's encounters whether it is an episode, a question of that row
alone. Its periods' encounters are rows of one frame of every date (``every``), derived once for all the
periods. Answering every row of that frame in the pass's first period cost that period about four times what
answering its own rows did (``every`` spans the store's years, a period one); instead the pass keeps one answer
per row of ``every`` with a flag saying whether it is known yet, and a period asks ``answer`` of the rows it
meets first: its first period what it asks alone, each next one the month that rolled in. The answers are
those of each row alone, so any split of the rows gives the same ones (the tests compare a pass's periods with
each period alone).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .memo import ANY_PERIOD, in_several_periods, remember


class RowAnswers:
    """Boolean answers about the rows of one frame (by position), filled as they are asked for."""

    def __init__(self, size: int) -> None:
        self.values = np.zeros(size, dtype=bool)
        self.known = np.zeros(size, dtype=bool)

    def __eq__(self, other: object) -> bool:  # (``FrameMemo(check_periods=True)``: on the rows both know)
        if not isinstance(other, RowAnswers) or len(self.values) != len(other.values):
            return False
        both = self.known & other.known
        return bool(np.array_equal(self.values[both], other.values[both]))

    __hash__ = None  # type: ignore[assignment]

    def answers(self, at: np.ndarray, rows: pd.DataFrame, answer: Callable[[pd.DataFrame], np.ndarray | None]) -> np.ndarray:
        """The answers about ``rows`` (at the positions ``at``, distinct): ``answer`` asked about the rows not
        known yet only (in their order; None: all false)."""
        new = np.flatnonzero(~self.known[at])
        if len(new):
            asked = rows if len(new) == len(rows) else rows.iloc[new]
            got = answer(asked)
            where = at[new]
            self.values[where] = False if got is None else np.asarray(got, dtype=bool)
            self.known[where] = True  # (after the values: a thread seeing it known sees them)
        return self.values[at]


def pass_row_answers(frames: Sequence[Any], question: Hashable, every: pd.DataFrame, rows: pd.DataFrame,
                     answer: Callable[[pd.DataFrame], np.ndarray | None]) -> np.ndarray | None:
    """In a pass over several periods (``memo.in_several_periods``): ``answer(rows)`` as a boolean array, where
    ``rows`` are rows of ``every`` (the same labels, the same values) and ``answer`` answers each row alone
    (None: none); kept for the pass per row of ``every`` (``frames`` and ``question`` name them, as for
    ``memo.remember``), so each row is asked about once in a pass. None when not in a pass, when the labels of
    ``every`` are not unique, or when one of ``rows`` is not a row of it: the caller answers ``rows`` itself."""
    if not in_several_periods() or rows.empty:
        return None
    at = positions(every.index, rows.index)
    if at is None:
        return None
    kept: RowAnswers = remember(frames, question, lambda: RowAnswers(len(every)), period=ANY_PERIOD, for_pass=True)
    return kept.answers(at, rows, answer)


def positions(every: pd.Index, labels: pd.Index) -> np.ndarray | None:
    """The position in ``every`` of each of ``labels`` (None: ``every`` has a label twice, or one of ``labels`` is
    not in it). An increasing ``every`` (the rows of a frame kept in its order) is searched by bisection: no
    hash table of its million labels built for a pass."""
    if every.is_monotonic_increasing and every.dtype.kind in "iu" and labels.dtype == every.dtype:
        if not every.is_unique:
            return None
        at = every.searchsorted(labels)
        inside = at < len(every)
        if not inside.all() or not np.array_equal(every.to_numpy()[at], labels.to_numpy()):
            return None
        return np.asarray(at, dtype=np.intp)
    if not every.is_unique:
        return None
    at = every.get_indexer(labels)
    return None if (at < 0).any() else at
