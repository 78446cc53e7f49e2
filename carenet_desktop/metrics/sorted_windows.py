"""``primitives.exists_in_window`` by binary searches (a trend asks it of every period's episodes): the
right side reduced to its distinct (patient, time) pairs, sorted as one ``int64`` key each."""

from __future__ import annotations

import numpy as np

from .uniques import sorted_unique, sorted_unique_inverse


def exists_sorted(lp: np.ndarray, lo: np.ndarray, hi: np.ndarray, rp: np.ndarray, rt: np.ndarray) -> np.ndarray | None:
    """``exists_in_window`` by binary searches in the distinct (patient, time) pairs of the right side, for
    integer patient ids and bounds of one numeric or datetime type (``None``: anything else)."""
    if lp.dtype.kind not in "iu" or rp.dtype.kind not in "iu" or lo.dtype != hi.dtype or lo.dtype.kind not in "Mif" \
            or rt.dtype.kind not in "Mif" or (lo.dtype.kind == "M") != (rt.dtype.kind == "M"):
        return None
    out = np.zeros(len(lp), dtype=bool)
    t = rt[~np.isnat(rt)] if rt.dtype.kind == "M" else (rt[~np.isnan(rt)] if rt.dtype.kind == "f" else rt)
    rpid = rp[~np.isnat(rt)] if rt.dtype.kind == "M" else (rp[~np.isnan(rt)] if rt.dtype.kind == "f" else rp)
    t = t.astype(lo.dtype)  # as the join does: the right times in the left bounds' type
    if lo.dtype.kind == "M":
        ok = ~np.isnat(lo) & ~np.isnat(hi)
        lo_v, hi_v, t_v = lo.view(np.int64), hi.view(np.int64), t.view(np.int64)
    else:
        ok = ~np.isnan(lo) & ~np.isnan(hi) if lo.dtype.kind == "f" else np.ones(len(lp), dtype=bool)
        lo_v, hi_v, t_v = lo, hi, t
    if not len(t_v) or not ok.any():
        return out
    patients, p_rank = sorted_unique_inverse(rpid.astype(np.int64))
    times, t_rank = sorted_unique_inverse(t_v)
    stride = len(times) + 1
    keys = sorted_unique(p_rank.astype(np.int64) * stride + t_rank.astype(np.int64))
    left = lp.astype(np.int64)
    pos = np.searchsorted(patients, left)
    ok &= pos < len(patients)
    ok[ok] = patients[pos[ok]] == left[ok]
    base = pos[ok].astype(np.int64) * stride
    first = np.searchsorted(times, lo_v[ok], side="left")
    after = np.searchsorted(times, hi_v[ok], side="right")
    out[ok] = np.searchsorted(keys, base + after) > np.searchsorted(keys, base + first)
    return out
