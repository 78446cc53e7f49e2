"""``primitives.exists_in_window`` by binary searches (a trend asks it of every period's episodes): the
right side reduced to its distinct (patient, time) pairs, sorted as one ``int64`` key each. ``SortedPairs``
is that reduction on its own, for a caller that keeps it for several periods (``metrics.memo``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np

from .memo import ANY_PERIOD, remember
from .uniques import sorted_unique, sorted_unique_inverse

#: the largest patient id ``SortedPairs`` looks ranks up in a table for (as ``_episodes.PatientSet``)
_MAX_TABLE = 50_000_000


def comparable(lp: np.ndarray, lo: np.ndarray, hi: np.ndarray, rp: np.ndarray, rt: np.ndarray) -> bool:
    """Integer patient ids and bounds of one numeric or datetime type, times of a like kind."""
    return not (lp.dtype.kind not in "iu" or rp.dtype.kind not in "iu" or lo.dtype != hi.dtype
                or lo.dtype.kind not in "Mif" or rt.dtype.kind not in "Mif"
                or (lo.dtype.kind == "M") != (rt.dtype.kind == "M"))


class SortedPairs:
    """The distinct (patient, time) pairs of a right side (missing times dropped; the times in the left
    bounds' type ``dtype``, as a join would cast them), sorted as one key each."""

    def __init__(self, rp: np.ndarray, rt: np.ndarray, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        known = ~np.isnat(rt) if rt.dtype.kind == "M" else (~np.isnan(rt) if rt.dtype.kind == "f" else None)
        t, rpid = (rt, rp) if known is None else (rt[known], rp[known])
        t = t.astype(self.dtype)
        t_v = t.view(np.int64) if self.dtype.kind == "M" else t
        self.patients, p_rank = sorted_unique_inverse(rpid.astype(np.int64))
        self.times, t_rank = sorted_unique_inverse(t_v)
        self.stride = len(self.times) + 1
        self.keys = sorted_unique(p_rank.astype(np.int64) * self.stride + t_rank.astype(np.int64))

    def __eq__(self, other: object) -> bool:  # (what ``FrameMemo(check_periods=True)`` compares)
        return isinstance(other, SortedPairs) and self.dtype == other.dtype and all(
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            for a, b in ((self.patients, other.patients), (self.times, other.times), (self.keys, other.keys)))

    __hash__ = None  # type: ignore[assignment]

    def any_within(self, lp: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Per left row: a pair of its patient with ``lo <= time <= hi`` (bounds of ``dtype``; missing: no)."""
        out = np.zeros(len(lp), dtype=bool)
        if lo.dtype.kind == "M":
            ok = ~np.isnat(lo) & ~np.isnat(hi)
            lo_v, hi_v = lo.view(np.int64), hi.view(np.int64)
        else:
            ok = ~np.isnan(lo) & ~np.isnan(hi) if lo.dtype.kind == "f" else np.ones(len(lp), dtype=bool)
            lo_v, hi_v = lo, hi
        if not len(self.keys) or not ok.any():
            return out
        left = lp.astype(np.int64)
        pos = self._ranks(left, ok)
        base = pos[ok] * self.stride
        first = np.searchsorted(self.times, lo_v[ok], side="left")
        after = np.searchsorted(self.times, hi_v[ok], side="right")
        # a key in [base + first, base + after): the first key from base + first is below base + after
        at = np.searchsorted(self.keys, base + first)
        inside = at < len(self.keys)
        found = np.zeros(len(at), dtype=bool)
        found[inside] = self.keys[at[inside]] < (base + after)[inside]
        out[ok] = found
        return out

    def _ranks(self, left: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Each left patient's rank in ``patients`` (``ok`` cleared where it has none). Patient ids are row
        numbers: a lookup table of the ranks (made here, not kept) instead of a bisection per row, for many rows."""
        top = int(self.patients[-1]) if len(self.patients) else -1
        if not len(self.patients) or self.patients[0] < 0 or top >= _MAX_TABLE or len(left) * 8 < top:
            pos = np.searchsorted(self.patients, left)
            ok &= pos < len(self.patients)
            ok[ok] = self.patients[pos[ok]] == left[ok]
            return pos
        table = np.full(top + 1, -1, dtype=np.int64)
        table[self.patients] = np.arange(len(self.patients))
        ok &= (left >= 0) & (left <= top)
        pos = np.full(len(left), -1, dtype=np.int64)
        pos[ok] = table[left[ok]]
        ok &= pos >= 0
        return pos


def exists_sorted(lp: np.ndarray, lo: np.ndarray, hi: np.ndarray, rp: np.ndarray, rt: np.ndarray) -> np.ndarray | None:
    """``exists_in_window`` by binary searches in the distinct (patient, time) pairs of the right side, for
    integer patient ids and bounds of one numeric or datetime type (``None``: anything else)."""
    if not comparable(lp, lo, hi, rp, rt):
        return None
    return SortedPairs(rp, rt, lo.dtype).any_within(lp, lo, hi)


def exists_in_kept(right: object, question: Hashable, lp: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   right_side: Callable[[], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``primitives.exists_in_window(lp, lo, hi, *right_side())`` where the right side is derived from the
    frame ``right`` alone (``question`` names how): its values and their sorted pairs are remembered for the
    pass (``metrics.memo``), so a trend's periods asking it of the same frame sort it once."""
    from .primitives import _exists_merged

    rp, rt = remember((right,), (question, "right side"), right_side, period=ANY_PERIOD, for_pass=True)
    lp, lo, hi = np.asarray(lp), np.asarray(lo), np.asarray(hi)
    if not comparable(lp, lo, hi, rp, rt):
        return _exists_merged(lp, lo, hi, rp, rt)
    pairs = remember((right,), (question, "sorted pairs", lo.dtype.str), lambda: SortedPairs(rp, rt, lo.dtype),
                     period=ANY_PERIOD, for_pass=True)
    return pairs.any_within(lp, lo, hi)
