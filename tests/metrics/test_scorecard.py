"""Scorecard rows: benchmarks beside each practice, target/benchmark met, funnel flags, inverse measures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.scorecard import (
    BENCHMARK_COLUMNS,
    MeasureInfo,
    network_benchmarks,
    scorecard_rows,
)
from carenet_desktop.metrics.statistics import abc_benchmark, pooled_rate, practice_percentiles


def _by_practice(measure, counts):
    return pd.DataFrame(
        {
            "measure": measure,
            "group_index": 0,
            "practice_id": list(range(1, len(counts) + 1)),
            "numerator": [x for x, _ in counts],
            "rate_base": [n for _, n in counts],
            "rate": [x / n if n else float("nan") for x, n in counts],
        }
    )


def test_network_benchmarks_hand_computed():
    frame = _by_practice("M", [(9, 10), (45, 50), (1, 1), (300, 400), (100, 139)])
    b = network_benchmarks(frame, {"M": "increase"}).iloc[0]
    assert b.network_rate == pytest.approx(455 / 600)
    assert b.abc == pytest.approx(0.9)
    assert b.p50 == pytest.approx(0.9)  # rates 1.0, .9, .9, .75, .719 -> median .9
    assert b.practices == 5


def _one_group_at_a_time(by_practice, directions, min_base):
    """The benchmarks computed group by group with the statistics functions (what the table must equal)."""
    records = []
    for (measure, group), part in by_practice.groupby(["measure", "group_index"], sort=True):
        direction = directions.get(str(measure), "increase")
        eligible = part[part["rate_base"] >= min_base]
        pct = practice_percentiles(eligible["rate"], direction)
        abc = abc_benchmark(eligible["numerator"], eligible["rate_base"], direction)
        records.append((measure, group, int(part["numerator"].sum()), int(part["rate_base"].sum()),
                        pooled_rate(part["numerator"], part["rate_base"]), abc.value, pct[50], pct[75], pct[90],
                        len(eligible)))
    return pd.DataFrame.from_records(records, columns=list(BENCHMARK_COLUMNS))


@pytest.mark.parametrize("seed", range(40))
def test_network_benchmarks_equal_the_statistics_of_each_group_exactly(seed):
    """All groups at once (percentiles of same-sized groups in one call) give the very values of each
    group on its own: groups of different sizes, inverse measures, no rate, practices under the base."""
    rng = np.random.default_rng(seed)
    rows = []
    for measure in rng.choice(["A", "B", "C", "D"], size=int(rng.integers(1, 5)), replace=False):
        for group in range(int(rng.integers(1, 3))):
            for practice in range(int(rng.integers(0, 25))):
                base = int(rng.integers(0, 300)) if rng.random() > 0.15 else 0
                numerator = int(rng.integers(0, base + 1))
                rows.append((measure, group, practice, numerator, base, numerator / base if base else np.nan))
    frame = pd.DataFrame(rows, columns=["measure", "group_index", "practice_id", "numerator", "rate_base", "rate"])
    frame = frame.astype({"group_index": "Int64"}).sample(frac=1, random_state=seed).reset_index(drop=True)
    directions = {"A": "increase", "B": "decrease", "C": "decrease"}
    if frame.empty:
        assert network_benchmarks(frame, directions).empty
        return
    for min_base in (1, 20):
        pd.testing.assert_frame_equal(network_benchmarks(frame, directions, min_base=min_base),
                                      _one_group_at_a_time(frame, directions, min_base), check_exact=True)


def test_scorecard_rows_target_benchmark_and_funnel():
    frame = _by_practice("M", [(90, 100), (50, 100), (700, 1000)])
    info = {"M": MeasureInfo("M", "Measure", ("Rate",), "increase", {0: 0.8})}
    rows = scorecard_rows(frame, info).set_index("practice_id")
    assert rows["meets_target"].tolist() == [True, False, False]
    assert rows["meets_benchmark"].tolist() == [True, False, False]  # ABC = 790/1100 (practices 1 and 3 cover 10%)
    centre = 840 / 1200
    assert rows.loc[1, "network_rate"] == pytest.approx(centre)
    # practice 1: 0.9 vs 0.7 with n=100 -> sigma 0.0458 -> 4.4 SE above: better, outside 3 sigma
    assert rows.loc[1, "funnel_flag"] == 3
    # practice 2: 0.5 -> 4.4 SE below: worse
    assert rows.loc[2, "funnel_flag"] == -3
    assert rows.loc[3, "funnel_flag"] == 0


def test_inverse_measure_lower_is_better():
    frame = _by_practice("D", [(10, 100), (40, 100), (25, 100)])
    info = {"D": MeasureInfo("D", "Decay", ("Rate",), "decrease", {0: 0.2})}
    rows = scorecard_rows(frame, info).set_index("practice_id")
    assert rows["meets_target"].tolist() == [True, False, False]
    # lower than the network is better: +sign
    assert rows.loc[1, "funnel_flag"] > 0 and rows.loc[2, "funnel_flag"] < 0
    assert rows.loc[1, "benchmark"] == pytest.approx(0.1)
