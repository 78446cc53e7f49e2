"""Scorecard rows: benchmarks beside each practice, target/benchmark met, funnel flags, inverse measures."""

from __future__ import annotations

import pandas as pd
import pytest

from carenet_desktop.metrics.scorecard import MeasureInfo, network_benchmarks, scorecard_rows


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
