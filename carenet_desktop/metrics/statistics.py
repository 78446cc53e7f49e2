"""Statistics for scorecards: rates with intervals, benchmarks, control limits, small cells.

Pure, vectorised functions over counts. ``direction`` is the measure's improvement notation:
``"increase"`` (higher is better) or ``"decrease"`` (inverse measures, lower is better).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Direction = Literal["increase", "decrease"]
ArrayLike = npt.ArrayLike
Z95 = 1.959963984540054

SMALL_CELL_MIN, SMALL_CELL_MAX = 1, 10


def rate(numerator: ArrayLike, denominator: ArrayLike) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)


def wilson_interval(numerator: ArrayLike, denominator: ArrayLike, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (Wilson 1927; Newcombe 1998 method 3), NaN where the denominator is 0."""
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    safe_n = np.where(n > 0, n, 1.0)
    p = x / safe_n
    z2 = z * z
    centre = (p + z2 / (2 * safe_n)) / (1 + z2 / safe_n)
    half = (z / (1 + z2 / safe_n)) * np.sqrt(p * (1 - p) / safe_n + z2 / (4 * safe_n * safe_n))
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # exact ends: x = 0 gives a lower limit of 0, x = n an upper limit of 1
    low = np.where((n > 0) & (x == 0), 0.0, low)
    high = np.where((n > 0) & (x == n), 1.0, high)
    return low, high


def pooled_rate(numerators: ArrayLike, denominators: ArrayLike) -> float:
    """The network rate: all numerators over all denominators (NaN when there is no denominator)."""
    n = float(np.sum(denominators))
    return float(np.sum(numerators)) / n if n > 0 else float("nan")


def practice_percentiles(rates: ArrayLike, direction: Direction = "increase",
                         levels: tuple[int, ...] = (50, 75, 90)) -> dict[int, float]:
    """Percentiles of practice rates as *performance* levels (linear interpolation, NaNs ignored).

    For an inverse measure the 90th percentile of performance is the 10th percentile of the rate.
    """
    r = np.asarray(rates, dtype=float)
    r = r[~np.isnan(r)]
    if r.size == 0:
        return {level: float("nan") for level in levels}
    return {
        level: float(np.percentile(r, level if direction == "increase" else 100 - level))
        for level in levels
    }


@dataclass(frozen=True)
class AbcBenchmark:
    """Achievable Benchmark of Care: the pooled rate of the best performers covering >= 10% of patients."""

    value: float
    members: np.ndarray  # positions (into the inputs) of the practices in the benchmark subset
    denominator_share: float


def abc_benchmark(numerators: ArrayLike, denominators: ArrayLike, direction: Direction = "increase",
                  min_share: float = 0.10) -> AbcBenchmark:
    """Kiefe et al. (2001) Achievable Benchmark of Care.

    1. Rank practices by the adjusted performance fraction (x + 1) / (n + 2), which keeps a practice
       with a small denominator from topping the list by chance (for inverse measures, by the adjusted
       fraction of patients *without* the event, (n - x + 1) / (n + 2)).
    2. Take practices from the top until their denominators add up to at least ``min_share`` of the
       network's denominator; practices tied with the last one taken are included as well.
    3. The benchmark is the pooled (unadjusted) rate of that subset.
    """
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    keep = n > 0
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return AbcBenchmark(float("nan"), np.array([], dtype=int), 0.0)
    good = x[idx] if direction == "increase" else n[idx] - x[idx]
    adjusted = (good + 1) / (n[idx] + 2)
    order = np.lexsort((-n[idx], -adjusted))  # best adjusted first; larger practices first among ties
    ranked = idx[order]
    cumulative = np.cumsum(n[ranked])
    total = n[idx].sum()
    cut = int(np.searchsorted(cumulative, min_share * total - 1e-9))  # first position reaching the share
    cut = min(cut, ranked.size - 1)
    last_adjusted = adjusted[order][cut]
    members = ranked[adjusted[order] >= last_adjusted - 1e-12]
    value = x[members].sum() / n[members].sum()
    return AbcBenchmark(float(value), np.sort(members), float(n[members].sum() / total))


@dataclass(frozen=True)
class ControlLimits:
    centre: float
    lower2: np.ndarray
    upper2: np.ndarray
    lower3: np.ndarray
    upper3: np.ndarray


def control_limits(centre: float, denominators: ArrayLike) -> ControlLimits:
    """p-chart / funnel-plot limits around ``centre`` for each denominator: centre ± k·sqrt(p(1-p)/n).

    The same formula serves a p-chart (one point per period, its own n) and a funnel plot (one point
    per practice, limits drawn over a range of n). Limits are clipped to [0, 1]; NaN where n is 0.
    """
    n = np.asarray(denominators, dtype=float)
    safe_n = np.where(n > 0, n, np.nan)
    sigma = np.sqrt(centre * (1 - centre) / safe_n)
    return ControlLimits(
        centre,
        np.clip(centre - 2 * sigma, 0, 1),
        np.clip(centre + 2 * sigma, 0, 1),
        np.clip(centre - 3 * sigma, 0, 1),
        np.clip(centre + 3 * sigma, 0, 1),
    )


def outside_limits(numerators: ArrayLike, denominators: ArrayLike, centre: float, sigmas: int = 3) -> np.ndarray:
    """-1 below, +1 above, 0 within the ``sigmas`` limits (0 where the denominator is 0)."""
    r = rate(numerators, denominators)
    limits = control_limits(centre, denominators)
    low, high = (limits.lower3, limits.upper3) if sigmas == 3 else (limits.lower2, limits.upper2)
    return np.where(np.isnan(r), 0, np.where(r < low, -1, np.where(r > high, 1, 0))).astype(int)


def small_cell(counts: ArrayLike) -> np.ndarray:
    """True for counts 1–10, which must be suppressed in anything that leaves the practice."""
    c = np.asarray(counts)
    return (c >= SMALL_CELL_MIN) & (c <= SMALL_CELL_MAX)


def is_better(a: ArrayLike, b: ArrayLike, direction: Direction) -> np.ndarray:
    """Whether rate ``a`` is better than ``b`` for a measure of the given direction."""
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a_ > b_ if direction == "increase" else a_ < b_
