"""Statistics against worked examples (Newcombe 1998 for Wilson; hand-computed ABC and limits)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from carenet_desktop.metrics.statistics import (
    abc_benchmark,
    control_limits,
    is_better,
    outside_limits,
    pooled_rate,
    practice_percentiles,
    rate,
    small_cell,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [  # Newcombe RG. Two-sided confidence intervals for the single proportion. Stat Med 1998;17:857-72, Table I
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe(x, n, low, high):
    lo, hi = wilson_interval([x], [n])
    assert lo[0] == pytest.approx(low, abs=5e-5)
    assert hi[0] == pytest.approx(high, abs=5e-5)


def test_wilson_edges():
    lo, hi = wilson_interval([0, 5, 3], [0, 5, 10])
    assert math.isnan(lo[0]) and math.isnan(hi[0])
    assert hi[1] == 1.0 and 0 < lo[1] < 1
    assert lo[2] < 0.3 < hi[2]


def test_rate_and_pooled_rate():
    assert np.isnan(rate([1], [0])[0])
    assert rate([1, 3], [2, 4]).tolist() == [0.5, 0.75]
    assert pooled_rate([1, 3], [2, 4]) == pytest.approx(4 / 6)
    assert math.isnan(pooled_rate([0], [0]))


def test_percentiles_respect_direction():
    rates = [0.1, 0.2, 0.3, 0.4, 0.5]
    up = practice_percentiles(rates, "increase")
    down = practice_percentiles(rates, "decrease")
    assert up[50] == pytest.approx(0.3) and up[90] == pytest.approx(0.46) and up[75] == pytest.approx(0.4)
    assert down[90] == pytest.approx(0.14) and down[75] == pytest.approx(0.2)


def test_abc_hand_computed():
    # practice: x / n -> adjusted (x+1)/(n+2)
    # A 9/10 -> 0.8333 ; B 45/50 -> 0.8846 ; C 1/1 -> 0.6667 ; D 300/400 -> 0.7512 ; E 100/139 -> 0.7234
    x = [9, 45, 1, 300, 100]
    n = [10, 50, 1, 400, 139]
    # total n = 600, 10% = 60: B (50) then A (10) reach 60 -> ABC = (45 + 9) / 60 = 0.9
    abc = abc_benchmark(x, n)
    assert abc.value == pytest.approx(0.9)
    assert sorted(abc.members.tolist()) == [0, 1]
    assert abc.denominator_share == pytest.approx(0.1)
    # the unadjusted 1/1 practice never leads the benchmark
    assert 2 not in abc.members


def test_abc_includes_ties_and_handles_inverse():
    abc = abc_benchmark([8, 8, 0], [10, 10, 100], min_share=0.05)
    # adjusted: 0.75, 0.75, 0.0098 -> the first reaches 5%, its tie is included
    assert sorted(abc.members.tolist()) == [0, 1] and abc.value == pytest.approx(0.8)
    inverse = abc_benchmark([8, 8, 0], [10, 10, 100], direction="decrease", min_share=0.05)
    assert inverse.members.tolist() == [2] and inverse.value == 0.0


def test_control_limits_depend_on_denominator():
    lim = control_limits(0.5, [25, 100])
    # sigma = sqrt(.25/25) = 0.1 and sqrt(.25/100) = 0.05
    assert lim.upper2.tolist() == pytest.approx([0.7, 0.6])
    assert lim.lower3.tolist() == pytest.approx([0.2, 0.35])
    assert control_limits(0.95, [4]).upper3[0] == 1.0  # clipped
    # a rate exactly on the 3-sigma limit (20/25 = 0.8) is within; no denominator is never flagged
    assert outside_limits([20, 50, 0], [25, 100, 0], 0.5).tolist() == [0, 0, 0]


def test_outside_limits_strict():
    assert outside_limits([21, 4, 50], [25, 25, 100], 0.5).tolist() == [1, -1, 0]


def test_small_cells_and_direction():
    assert small_cell([0, 1, 10, 11]).tolist() == [False, True, True, False]
    assert is_better([0.2], [0.3], "decrease").tolist() == [True]
    assert is_better([0.2], [0.3], "increase").tolist() == [False]
