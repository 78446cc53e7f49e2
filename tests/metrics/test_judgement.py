"""The one judgement of a rate (metrics.judgement) on worked examples, and its equivalence with the funnel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from carenet_desktop.metrics.judgement import (
    MIN_BASE,
    ORDER,
    Status,
    counts,
    explain,
    headline,
    judge,
    judge_one,
)
from carenet_desktop.metrics.statistics import Z95


def test_significantly_better_than_the_network() -> None:
    # 180/200 = 90%, 95% interval 85.0–93.5%: the network's 80% lies below it
    assert judge_one(180, 200, 0.80) is Status.BETTER


def test_significantly_worse_than_the_network() -> None:
    # 140/200 = 70%, interval 63.3–76.0%: the network's 80% lies above it
    assert judge_one(140, 200, 0.80) is Status.WORSE


def test_indistinguishable_from_the_network_is_not_red() -> None:
    # the CMS154: 90.8% (interval 89.1–92.2%) beside a 91.0% network rate
    assert judge_one(1180, 1300, 0.910) is Status.NO_DIFFERENCE
    # a worse point estimate is no verdict while the interval holds the network rate
    assert judge_one(78, 100, 0.80) is Status.NO_DIFFERENCE


def test_too_few_to_say_however_good_the_rate() -> None:
    assert judge_one(5, 6, 0.50) is Status.TOO_FEW  # 83% of 6: not green
    assert judge_one(10, 10, 0.10, target=0.5) is Status.TOO_FEW
    assert judge_one(0, 0, 0.5) is Status.TOO_FEW
    assert judge_one(None, None, 0.5) is Status.TOO_FEW
    assert judge_one(MIN_BASE, MIN_BASE, 0.10) is Status.BETTER


def test_a_met_target_comes_before_the_network_comparison() -> None:
    assert judge_one(92, 100, 0.97, target=0.90) is Status.MEETS_TARGET  # worse than the network, target met
    assert judge_one(140, 200, 0.80, target=0.90) is Status.WORSE  # short of the target and of the network


def test_lower_is_better_measures_are_judged_the_other_way() -> None:
    assert judge_one(10, 200, 0.15, direction="decrease") is Status.BETTER
    assert judge_one(50, 200, 0.15, direction="decrease") is Status.WORSE
    assert judge_one(10, 200, 0.15, target=0.06, direction="decrease") is Status.MEETS_TARGET
    assert judge_one(25, 200, 0.15, target=0.06, direction="decrease") is Status.NO_DIFFERENCE


def test_a_zero_rate_beside_a_zero_network_rate_is_no_difference() -> None:
    assert judge_one(0, 598, 0.0) is Status.NO_DIFFERENCE


def test_the_interval_test_is_the_95_percent_funnel() -> None:
    """The network rate outside the Wilson interval exactly when the rate is outside the network's 95%
    funnel limits for its denominator: the table and the network report cannot disagree."""
    rng = np.random.default_rng(7)
    n = rng.integers(MIN_BASE, 3000, 4000)
    p0 = rng.uniform(0.02, 0.98, 4000)
    x = rng.binomial(n, np.clip(p0 + rng.normal(0, 0.05, 4000), 0, 1))
    frame = pd.DataFrame({"numerator": x, "rate_base": n, "network_rate": p0, "direction": "increase"})
    judged = judge(frame)
    outside = np.abs(x / n - p0) > Z95 * np.sqrt(p0 * (1 - p0) / n)
    assert ((judged != Status.NO_DIFFERENCE.value) == outside).all()
    assert (judged == Status.BETTER.value).sum() > 100 and (judged == Status.WORSE.value).sum() > 100


def test_headline_counts_every_status_in_order() -> None:
    statuses = ["Meets target", "Worse than network", "Meets target", "Too few to say", None]
    tally = counts(statuses)
    assert list(tally) == list(ORDER)
    assert tally[Status.MEETS_TARGET] == 2 and tally[Status.WORSE] == 1 and tally[Status.BETTER] == 0
    assert headline(statuses) == ("4 rates — Meets target: 2 · Better than network: 0 · No difference: 0 · "
                                  "Worse than network: 1 · Too few to say: 1")


def test_explain_names_the_interval_the_network_and_the_target() -> None:
    text = explain({"status": "No difference", "numerator": 1180, "rate_base": 1300, "rate": 1180 / 1300,
                    "network_rate": 0.91, "target": None})
    assert text.startswith("No difference") and "90.8%" in text and "network 91.0%" in text and "no target" in text

