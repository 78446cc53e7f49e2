"""Aggregation of result rows: counts, rates, intervals, equity gaps, rolling periods."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from carenet_desktop.metrics.aggregate import (
    age_band,
    attach_patient_columns,
    episodes_per_patient,
    equity_gaps,
    summarize,
)
from carenet_desktop.metrics.period import Period, quarters, rolling_12_months


def _rows(records):
    cols = ["measure", "group_index", "patient_id", "episode_id", "initial-population", "denominator",
            "denominator-exclusion", "denominator-exception", "numerator"]
    frame = pd.DataFrame(records, columns=cols)
    for c in cols[4:]:
        frame[c] = frame[c].astype("boolean")
    return frame


def test_summarize_rate_excludes_exclusions_and_exceptions():
    rows = _rows([
        ("M", 0, 1, None, True, True, False, False, True),
        ("M", 0, 2, None, True, True, True, False, False),
        ("M", 0, 3, None, True, True, False, True, False),
        ("M", 0, 4, None, True, True, False, False, False),
        ("M", 0, 5, None, True, False, False, False, False),
    ])
    s = summarize(rows).iloc[0]
    assert (s.initial_population, s.denominator, s.exclusions, s.exceptions, s.numerator) == (5, 4, 1, 1, 1)
    assert s.rate_base == 2 and s.rate == pytest.approx(0.5)
    assert s.ci_low < 0.5 < s.ci_high


def test_summarize_by_practice_and_missing_populations():
    rows = _rows([("M", 0, 1, None, True, True, False, pd.NA, True), ("M", 0, 2, None, True, True, False, pd.NA, False)])
    patients = pd.DataFrame({"patient_id": [1, 2], "practice_id": [10, 20]})
    s = summarize(attach_patient_columns(rows, patients, ["practice_id"]), by=["practice_id"])
    assert s["practice_id"].tolist() == [10, 20]
    assert s["rate"].tolist() == [1.0, 0.0]
    assert s["exceptions"].tolist() == [0, 0]


def test_equity_gap_best_group_and_significance():
    rows = []
    pid = 0
    for _payer, met, total in (("commercial", 90, 100), ("medicaid", 60, 100), ("chip", 1, 2)):
        for i in range(total):
            pid += 1
            rows.append(("M", 0, pid, None, True, True, False, False, i < met))
    frame = _rows(rows)
    frame["payer"] = ["commercial"] * 100 + ["medicaid"] * 100 + ["chip"] * 2
    gaps = equity_gaps(summarize(frame, by=["payer"]), "payer").set_index("payer")
    assert (gaps["best"] == "commercial").all()
    assert gaps.loc["medicaid", "gap"] == pytest.approx(0.3)
    assert bool(gaps.loc["medicaid", "significant"]) is True
    assert bool(gaps.loc["chip", "significant"]) is False  # 1/2: too few to tell
    assert bool(gaps.loc["chip", "small"]) and pd.isna(gaps.loc["chip", "gap"])
    assert gaps.loc["commercial", "gap"] == 0


def test_equity_gap_inverse_measure():
    frame = _rows([("M", 0, 1, None, True, True, False, False, True), ("M", 0, 2, None, True, True, False, False, False)])
    frame["sex"] = ["female", "male"]
    gaps = equity_gaps(summarize(frame, by=["sex"]), "sex", direction="decrease", rank_min=1).set_index("sex")
    assert (gaps["best"] == "male").all() and gaps.loc["female", "gap"] == 1.0


def test_groups_under_eleven_are_kept_but_never_ranked():
    """Issue 23: 3 of 3 is not the best-served group; its gap is not a number to act on."""
    rows, pid = [], 0
    for met, total in ((70, 100), (50, 100), (3, 3), (0, 0)):
        for i in range(total):
            pid += 1
            rows.append(("M", 0, pid, None, True, True, False, False, i < met))
    frame = _rows(rows)
    frame["language"] = ["english"] * 100 + ["spanish"] * 100 + ["somali"] * 3
    gaps = equity_gaps(summarize(frame, by=["language"]), "language").set_index("language")
    assert (gaps["best"] == "english").all()
    assert bool(gaps.loc["somali", "small"]) and pd.isna(gaps.loc["somali", "gap"])
    assert not gaps.loc["somali", "significant"] and not gaps.loc["english", "small"]
    only_small = equity_gaps(summarize(frame[frame["language"] == "somali"], by=["language"]), "language")
    assert only_small["best"].isna().all() and only_small["gap"].isna().all()


def test_episodes_counted_per_patient():
    rows = _rows([
        ("E", 0, 1, 11, True, True, False, pd.NA, True),
        ("E", 0, 1, 12, True, True, True, pd.NA, False),
        ("E", 0, 2, 13, True, True, False, pd.NA, False),
    ])
    out = episodes_per_patient(rows).set_index("patient_id")
    assert out.loc[1, "initial-population"] == 2 and out.loc[1, "denominator-exclusion"] == 1
    assert out.loc[1, "numerator"] == 1 and out.loc[2, "numerator"] == 0
    assert out["denominator-exception"].isna().all()


def test_age_bands_at_birthday_boundary():
    births = pd.Series(pd.to_datetime(["2022-06-30", "2022-07-01", "2008-01-01"]))
    assert age_band(births, pd.Timestamp("2025-06-30")).tolist() == ["3-5", "0-2", "12-17"]


def test_rolling_and_quarter_periods():
    periods = rolling_12_months(dt.date(2025, 3, 15), 3)
    assert [p.label for p in periods] == ["2024-02-01..2025-01-31", "2024-03-01..2025-02-28", "2024-04-01..2025-03-31"]
    assert rolling_12_months(dt.date(2025, 12, 1), 1)[0] == Period.year(2025)
    assert quarters(2024)[0] == Period(dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert Period.parse("2024-02").end == dt.date(2024, 2, 29)


def test_self_reported_counts_replace_computed_ones():
    from carenet_desktop.metrics.aggregate import apply_self_reported

    rows = _rows([("SDOH", 0, 1, None, True, True, False, False, True), ("SDOH", 0, 2, None, True, True, False, False, False)])
    rows["practice_id"] = [10, 20]
    summary = summarize(rows, by=["practice_id"])
    entries = pd.DataFrame({
        "measure": ["SDOH", "SDOH", "SDOH"], "group_index": [0, 0, 0], "practice_id": [20, 20, 30],
        "denominator": [40, 60, 5], "numerator": [30, 45, 1], "exclusions": [0, 0, 0], "exceptions": [0, 0, 0],
    })
    out = apply_self_reported(summary, entries).set_index("practice_id")
    assert out.loc[10, "source"] == "computed" and out.loc[10, "rate"] == 1.0
    assert out.loc[20, "source"] == "self-reported"
    assert (out.loc[20, "denominator"], out.loc[20, "numerator"], out.loc[20, "rate"]) == (100, 75, 0.75)
    assert out.loc[30, "source"] == "self-reported" and out.loc[30, "rate_base"] == 5  # paper-only practice
    assert out.loc[20, "ci_low"] < 0.75 < out.loc[20, "ci_high"]


def test_every_rate_gives_each_practice_every_rate_with_zero_counts() -> None:
    from carenet_desktop.metrics.aggregate import every_rate

    by_practice = pd.DataFrame({
        "measure": ["A", "A", "B"], "group_index": [0, 0, 1], "practice_id": [1, 2, 1],
        "initial_population": [5, 7, 3], "denominator": [5, 7, 3], "exclusions": [0, 1, 0], "exceptions": [0, 0, 0],
        "numerator": [2, 3, 1], "rate_base": [5, 6, 3], "rate": [0.4, 0.5, 1 / 3], "ci_low": [0.1, 0.2, 0.05],
        "ci_high": [0.8, 0.8, 0.8], "source": ["computed", "self-reported", "computed"]})
    out = every_rate(by_practice, [1, 2, 3])
    assert len(out) == 6  # 2 rates x 3 practices
    added = out.merge(by_practice[["measure", "group_index", "practice_id"]], how="left", indicator=True)
    added = out[(added["_merge"] == "left_only").to_numpy()]
    assert sorted(zip(added["measure"], added["practice_id"], strict=True)) == [("A", 3), ("B", 2), ("B", 3)]
    assert (added[["initial_population", "denominator", "numerator", "rate_base"]] == 0).all().all()
    assert added["rate"].isna().all() and set(added["source"]) == {"computed"}
    assert out["numerator"].dtype == by_practice["numerator"].dtype
    kept = out.merge(by_practice, how="inner")
    assert len(kept) == 3  # the rows that were there are unchanged
    assert every_rate(by_practice.iloc[0:0], [1]).empty
