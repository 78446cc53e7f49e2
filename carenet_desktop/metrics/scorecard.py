"""Scorecard rows: a practice's rate beside the network, benchmarks, target and control-limit flags.

Pure: built from ``aggregate.summarize(rows, by=["practice_id"])`` for all practices of the network, so
the same numbers feed the desktop scorecard, the PDF reports and the network office's views.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .judgement import judge
from .statistics import Z95, Direction, abc_benchmark, is_better, pooled_rate

#: Columns of ``network_benchmarks``
BENCHMARK_COLUMNS = (
    "measure", "group_index", "network_numerator", "network_base", "network_rate", "abc", "p50", "p75", "p90",
    "practices",
)


@dataclass(frozen=True)
class MeasureInfo:
    """What the scorecard needs to know of a measure besides its counts."""

    id: str
    title: str
    group_titles: tuple[str, ...]
    direction: Direction = "increase"
    targets: Mapping[int, float] = field(default_factory=dict)  # group_index -> target rate


def network_benchmarks(by_practice: pd.DataFrame, directions: Mapping[str, Direction], min_base: int = 1) -> pd.DataFrame:
    """Per measure and group: pooled network rate, ABC benchmark and practice percentiles (of practices
    with a rate base of at least ``min_base``).

    One pass over NumPy arrays (a trend table builds this for every group of twelve periods): each group's
    rows by position, and the percentiles of all groups with the same number of rates in one
    ``np.percentile`` call (the same linear interpolation as ``practice_percentiles``, value for value)."""
    if by_practice.empty:
        return pd.DataFrame(columns=list(BENCHMARK_COLUMNS))
    grouped = by_practice.groupby(["measure", "group_index"], sort=True)
    codes = grouped.ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")  # each group's rows together, in their order in ``by_practice``
    order = order[codes[order] >= 0]  # a row without a measure or group (never in a summary) is in no group
    if not len(order):
        return pd.DataFrame(columns=list(BENCHMARK_COLUMNS))
    starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    keys = by_practice[["measure", "group_index"]].iloc[order[starts]]
    numerator, base = by_practice["numerator"].to_numpy(), by_practice["rate_base"].to_numpy()
    rate = by_practice["rate"].to_numpy(dtype=float)
    records, rates, ups = [], [], []
    for (measure, group), start, end in zip(keys.itertuples(index=False, name=None), starts, ends, strict=True):
        rows = order[start:end]
        eligible = rows[base[rows] >= min_base]
        direction = directions.get(str(measure), "increase")
        up = direction == "increase"
        abc = abc_benchmark(numerator[eligible], base[eligible], direction)
        records.append([measure, group, int(numerator[rows].sum()), int(base[rows].sum()),
                        pooled_rate(numerator[rows], base[rows]), abc.value, np.nan, np.nan, np.nan, len(eligible)])
        r = rate[eligible]
        rates.append(r[~np.isnan(r)])
        ups.append(up)
    sizes = np.array([len(r) for r in rates])
    for size in np.unique(sizes[sizes > 0]):
        which = np.flatnonzero(sizes == size)
        # the 10th/25th percentiles of the rate are the 90th/75th of performance of an inverse measure
        levels = np.percentile(np.stack([rates[i] for i in which]), [50, 75, 90, 25, 10], axis=1)
        for column, i in enumerate(which):
            picked = levels[:3, column] if ups[i] else levels[[0, 3, 4], column]
            records[i][6:9] = [float(v) for v in picked]
    return pd.DataFrame.from_records(records, columns=list(BENCHMARK_COLUMNS))


def scorecard_rows(by_practice: pd.DataFrame, measures: Mapping[str, MeasureInfo], min_base: int = 1) -> pd.DataFrame:
    """One row per practice x measure x group: the practice's counts, rate and interval, the network rate,
    the benchmark (ABC, else the 90th percentile), the target, whether the target and the benchmark are
    met (respecting inverse measures), whether the practice lies outside the 95% (±2, drawn at 1.96σ)/3σ funnel limits and its
    ``status`` (``metrics.judgement``)."""
    if by_practice.empty:
        return by_practice.assign(network_rate=pd.Series(dtype=float))
    directions = {m: info.direction for m, info in measures.items()}
    bench = network_benchmarks(by_practice, directions, min_base=min_base)
    out = by_practice.merge(bench, on=["measure", "group_index"], how="left")
    out["direction"] = out["measure"].map(lambda m: directions.get(m, "increase"))
    out["benchmark"] = out["abc"].where(out["abc"].notna(), out["p90"])
    out["target"] = [
        measures[m].targets.get(int(g), np.nan) if m in measures else np.nan
        for m, g in zip(out["measure"], out["group_index"], strict=True)
    ]
    up = out["direction"] == "increase"
    rate = out["rate"]
    out["meets_target"] = _met(rate, out["target"], up)
    out["meets_benchmark"] = _met(rate, out["benchmark"], up)
    centre = out["network_rate"].to_numpy(dtype=float)
    base = out["rate_base"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(centre * (1 - centre) / np.where(base > 0, base, np.nan))
        # funnel-plot position: how many network standard errors the practice is from the network rate
        deviation = (rate.to_numpy(dtype=float) - centre) / sigma
    better = is_better(rate.to_numpy(dtype=float), centre, "increase")
    sign = np.where(up, np.where(better, 1, -1), np.where(better, -1, 1))  # +1 = better than the network
    outside3 = np.abs(deviation) > 3
    outside2 = np.abs(deviation) > Z95  # the 95% limits: the judgement's "beyond chance"
    out["funnel_flag"] = np.where(np.isnan(deviation), 0, np.where(outside3, 3 * sign, np.where(outside2, 2 * sign, 0))).astype(int)
    out["status"] = judge(out)  # the one judgement every screen, report and spreadsheet shows
    return out


def trend_rows(by_practice: pd.DataFrame, measures: Mapping[str, MeasureInfo], by: Sequence[str] = ()) -> pd.DataFrame:
    """What a trend keeps of :func:`scorecard_rows`, for the rows of several periods at once (``by``: the
    column telling them apart): ``by_practice`` with the network's numerator, base and pooled rate of each
    rate (of its period), the target and the direction, the same values as ``scorecard_rows``'s (the
    network's sums of integer counts, the rate their quotient), without the benchmarks and judgements."""
    out = by_practice.copy()
    keys = [*by, "measure", "group_index"]
    grouped = out.groupby(keys, sort=False, observed=True)
    numerator = grouped["numerator"].transform("sum").to_numpy()
    base = grouped["rate_base"].transform("sum").to_numpy()
    out["network_numerator"] = numerator.astype(np.int64)
    out["network_base"] = base.astype(np.int64)
    n = base.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["network_rate"] = np.where(n > 0, numerator.astype(float) / np.where(n > 0, n, 1.0), np.nan)
    out["direction"] = out["measure"].map(lambda m: measures[m].direction if m in measures else "increase")
    out["target"] = [
        measures[m].targets.get(int(g), np.nan) if m in measures else np.nan
        for m, g in zip(out["measure"], out["group_index"], strict=True)
    ]
    return out


def _met(rate: pd.Series, goal: pd.Series, up: pd.Series) -> pd.Series:
    """Rate at or beyond the goal in the measure's direction; <NA> where either is missing."""
    met = pd.Series(np.where(up, rate >= goal, rate <= goal), index=rate.index, dtype="boolean")
    return met.mask(goal.isna() | rate.isna())
