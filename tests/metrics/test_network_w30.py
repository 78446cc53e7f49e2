"""W30: 6+ well-child visits by the 15-month birthday; 2+ from the day after it through 30 months."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.metrics.network_builders import Builder, evaluate, numer, outcome

DAYS = pd.Timedelta(days=1)


def _visits(b: Builder, pid: int, last: str, count: int, step_days: int = 20) -> None:
    """``count`` well visits on distinct days, the last one on ``last``."""
    end = pd.Timestamp(last)
    for i in range(count):
        b.visit(pid, (end - i * step_days * DAYS).date().isoformat())


@pytest.mark.parametrize(("birth", "in_rate1"), [
    ("2023-09-30", False),  # 15-month birthday 2024-12-30: before the period
    ("2023-10-01", True),   # 2025-01-01: first day
    ("2024-09-30", True),   # 2025-12-30
    ("2024-10-01", False),  # 2026-01-01: after the period
])
def test_rate1_initial_population_is_the_15_month_birthday_in_the_period(birth: str, in_rate1: bool) -> None:
    b = Builder()
    pid = b.patient(birth)
    result = evaluate("W30", b)
    assert bool(outcome(result, pid, 0)) is in_rate1


def test_rate1_sixth_visit_on_the_15_month_birthday_counts_the_day_after_does_not() -> None:
    b = Builder()
    on = b.patient("2024-01-10")    # 15-month birthday 2025-04-10
    after = b.patient("2024-01-10")
    _visits(b, on, "2025-04-10", 6)
    _visits(b, after, "2025-03-21", 5)
    b.visit(after, "2025-04-11")
    result = evaluate("W30", b)
    assert numer(result, on, 0) is True
    assert numer(result, after, 0) is False


def test_rate1_two_visits_on_the_same_day_count_once() -> None:
    b = Builder()
    pid = b.patient("2024-01-10")
    _visits(b, pid, "2025-04-01", 5)
    b.visit(pid, "2025-04-01", ("cpt", "99391"))  # a second visit on the day of the fifth
    assert numer(evaluate("W30", b), pid, 0) is False
    b.visit(pid, "2024-01-12")
    assert numer(evaluate("W30", b), pid, 0) is True


def test_rate1_month_end_clamp_nov_30_birth() -> None:
    # 2023-11-30 + 15 months = 2025-02-28 (no Feb 30): a visit on Feb 28 counts, on Mar 1 it does not
    b = Builder()
    on = b.patient("2023-11-30")
    late = b.patient("2023-11-30")
    _visits(b, on, "2025-02-28", 6)
    _visits(b, late, "2025-02-08", 5)
    b.visit(late, "2025-03-01")
    result = evaluate("W30", b)
    assert numer(result, on, 0) is True
    assert numer(result, late, 0) is False


def test_rate1_leap_day_15_month_birthday() -> None:
    # 2022-11-29 + 15 months = 2024-02-29
    b = Builder()
    on = b.patient("2022-11-29")
    late = b.patient("2022-11-29")
    _visits(b, on, "2024-02-29", 6)
    _visits(b, late, "2024-02-09", 5)
    b.visit(late, "2024-03-01")
    result = evaluate("W30", b, "2024")
    assert numer(result, on, 0) is True
    assert numer(result, late, 0) is False


def test_well_visit_recognised_by_diagnosis_or_reason_and_only_when_performed() -> None:
    b = Builder()
    dx = b.patient("2024-01-10")
    cancelled = b.patient("2024-01-10")
    for i in range(6):
        day = f"2024-0{2 + i}-15"
        b.visit(dx, day, ("cpt", "99213"), diagnosis=("icd10cm", "Z00.129") if i % 2 else None,
                reason=None if i % 2 else ("icd10cm", "Z00.129"))
        b.visit(cancelled, day, status="finished" if i else "cancelled")
    result = evaluate("W30", b)
    assert numer(result, dx, 0) is True
    assert numer(result, cancelled, 0) is False


@pytest.mark.parametrize(("days", "met"), [
    # born 2024-04-10: 15-month birthday 2025-07-10, 30-month birthday 2026-10-10
    (["2025-07-10", "2025-09-01"], False),  # the 15-month birthday itself belongs to rate 1
    (["2025-07-11", "2025-09-01"], True),   # the day after it starts rate 2
    (["2025-09-01", "2026-10-10"], True),   # the 30-month birthday counts
    (["2025-09-01", "2026-10-11"], False),  # the day after does not
    (["2025-09-01", "2025-09-01"], False),  # same day twice
])
def test_rate2_window_from_day_after_15_months_through_30_months(days: list[str], met: bool) -> None:
    b = Builder()
    pid = b.patient("2024-04-10")
    for d in days:
        b.visit(pid, d)
    assert numer(evaluate("W30", b, "2026"), pid, 1) is met


def test_rate2_initial_population_and_deceased_exclusion() -> None:
    b = Builder()
    in_ = b.patient("2022-07-01")     # 30 months 2025-01-01
    out = b.patient("2022-06-30")     # 2024-12-30
    died = b.patient("2022-08-01", deceased="2025-03-01")
    result = evaluate("W30", b)
    assert outcome(result, in_, 1)["denominator"] is True
    assert outcome(result, out, 1) == {}
    assert outcome(result, died, 1)["denominator-exclusion"] is True
