"""MDS: infants turning 6 months in the period, seen for a well visit by then; caregiver screened by then."""

from __future__ import annotations

import pytest

from tests.metrics.network_builders import Builder, evaluate, numer, outcome

EPDS = ("loinc", "71354-5")


@pytest.mark.parametrize(("birth", "in_ip"), [
    ("2024-06-30", False),  # 6 months on 2024-12-30
    ("2024-07-01", True),   # 2025-01-01
    ("2025-06-30", True),   # 2025-12-30
    ("2025-07-01", False),  # 2026-01-01
])
def test_initial_population(birth: str, in_ip: bool) -> None:
    b = Builder()
    pid = b.patient(birth)
    assert bool(outcome(evaluate("MDS", b), pid)) is in_ip


def test_denominator_needs_a_well_visit_by_six_months() -> None:
    b = Builder()
    seen = b.patient("2025-01-15")       # 6 months 2025-07-15
    seen_late = b.patient("2025-01-15")
    b.visit(seen, "2025-07-15")
    b.visit(seen_late, "2025-07-16")
    result = evaluate("MDS", b)
    assert outcome(result, seen)["denominator"] is True
    assert outcome(result, seen_late)["denominator"] is False


@pytest.mark.parametrize(("day", "met"), [
    ("2024-08-31", True),   # day of birth
    ("2025-02-28", True),   # 6-month birthday: Aug 31 + 6 months clamps to Feb 28
    ("2025-03-01", False),  # the day after
])
def test_screening_window_with_month_end_clamp(day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient("2024-08-31")
    b.visit(pid, "2024-10-31")
    b.observation(pid, day, EPDS, value_num=4)
    assert numer(evaluate("MDS", b), pid) is met


def test_leap_year_clamp_to_feb_29() -> None:
    b = Builder()
    on = b.patient("2023-08-31")   # 6 months = 2024-02-29
    after = b.patient("2023-08-31")
    for pid in (on, after):
        b.visit(pid, "2023-10-31")
    b.procedure(on, "2024-02-29", ("cpt", "96161"))
    b.procedure(after, "2024-03-01", ("cpt", "96161"))
    result = evaluate("MDS", b, "2024")
    assert numer(result, on) is True
    assert numer(result, after) is False
