"""REF: referrals placed in the period (episodes) closed within 30/60/90 days; cancelled excluded."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.measure_catalogue import get_measure
from tests.metrics.network_builders import Builder, evaluate, numer, outcome


def _after(day: str, days: int) -> str:
    return (pd.Timestamp(day) + pd.Timedelta(days=days)).date().isoformat()


@pytest.mark.parametrize(("elapsed", "expected"), [
    (0, [True, True, True]),
    (30, [True, True, True]),
    (31, [False, True, True]),
    (60, [False, True, True]),
    (61, [False, False, True]),
    (90, [False, False, True]),
    (91, [False, False, False]),
    (-1, [False, False, False]),  # closed before it was placed: a data error, never counted
])
def test_closed_within_30_60_90_days(elapsed: int, expected: list[bool]) -> None:
    b = Builder()
    pid = b.patient("2020-01-01")
    eid = b.referral(pid, "2025-03-01", status="closed", closed_on=_after("2025-03-01", elapsed))
    result = evaluate("REF", b)
    assert [numer(result, pid, g, eid) for g in range(3)] == expected


def test_report_received_closes_the_loop_and_the_earliest_date_counts() -> None:
    b = Builder()
    pid = b.patient("2020-01-01")
    report = b.referral(pid, "2025-03-01", status="report-received", report_received_on="2025-03-31")
    both = b.referral(pid, "2025-03-01", status="closed", report_received_on="2025-03-31", closed_on="2025-05-01")
    seen_only = b.referral(pid, "2025-03-01", status="seen", seen_on="2025-03-10")
    result = evaluate("REF", b)
    assert numer(result, pid, 0, report) is True
    assert numer(result, pid, 0, both) is True
    assert numer(result, pid, 2, seen_only) is False


def test_lost_and_cancelled() -> None:
    b = Builder()
    pid = b.patient("2020-01-01")
    lost = b.referral(pid, "2025-03-01", status="lost", lost_on="2025-04-01", closed_on="2025-03-10")
    cancelled = b.referral(pid, "2025-03-01", status="cancelled")
    result = evaluate("REF", b)
    assert numer(result, pid, 2, lost) is False
    assert outcome(result, pid, 0, cancelled)["denominator-exclusion"] is True


@pytest.mark.parametrize(("placed", "in_ip"), [
    ("2024-12-31", False), ("2025-01-01", True), ("2025-12-31", True), ("2026-01-01", False),
])
def test_episodes_are_referrals_placed_in_the_period(placed: str, in_ip: bool) -> None:
    b = Builder()
    pid = b.patient("2020-01-01")
    eid = b.referral(pid, placed)
    assert bool(outcome(evaluate("REF", b), pid, 0, eid)) is in_ip


def test_each_referral_is_an_episode_and_types_are_available_for_strata() -> None:
    b = Builder()
    pid = b.patient("2020-01-01")
    hmg = b.referral(pid, "2025-03-01", referral_type="help-me-grow", status="closed", closed_on="2025-03-05")
    bh = b.referral(pid, "2025-03-01", referral_type="behavioral-health")
    data = b.data()
    from carenet_desktop.metrics.period import Period

    measure = get_measure("REF")
    result = measure.evaluate(data, Period.year(2025))
    assert len(result[result["group_index"] == 0]) == 2
    types = measure.referral_types(data).set_index("episode_id")["referral_type"]
    assert types[hmg] == "help-me-grow" and types[bh] == "behavioral-health"
    merged = result.merge(measure.referral_types(data), on="episode_id")
    by_type = merged[merged["group_index"] == 0].groupby("referral_type")["numerator"].sum()
    assert by_type.to_dict() == {"behavioral-health": 0, "help-me-grow": 1}
