"""WCV: ages 3-21 at the period end, a well-care visit within the period."""

from __future__ import annotations

import pytest

from tests.metrics.network_builders import Builder, evaluate, numer, outcome


@pytest.mark.parametrize(("birth", "in_ip"), [
    ("2022-12-31", True),   # turns 3 on the last day of the period
    ("2023-01-01", False),  # still 2
    ("2004-01-01", True),   # 21
    ("2003-12-31", False),  # turned 22 on the last day of the period
    ("2004-02-29", True),   # leap-day birth, 21
])
def test_age_window_at_period_end(birth: str, in_ip: bool) -> None:
    b = Builder()
    pid = b.patient(birth)
    assert bool(outcome(evaluate("WCV", b), pid)) is in_ip


@pytest.mark.parametrize(("day", "met"), [
    ("2024-12-31", False), ("2025-01-01", True), ("2025-12-31", True), ("2026-01-01", False),
])
def test_visit_within_the_period(day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient("2015-06-01")
    b.visit(pid, day, ("cpt", "99393"))
    assert numer(evaluate("WCV", b), pid) is met


def test_sick_visit_and_cancelled_visit_do_not_count() -> None:
    b = Builder()
    sick = b.patient("2015-06-01")
    cancelled = b.patient("2015-06-01")
    b.visit(sick, "2025-05-01", ("cpt", "99213"), diagnosis=("icd10cm", "J02.9"))
    b.visit(cancelled, "2025-05-01", ("cpt", "99393"), status="cancelled")
    result = evaluate("WCV", b)
    assert numer(result, sick) is False
    assert numer(result, cancelled) is False


def test_quarter_period() -> None:
    b = Builder()
    pid = b.patient("2015-06-01")
    b.visit(pid, "2025-04-01", ("cpt", "99393"))
    assert numer(evaluate("WCV", b, "2025-Q1"), pid) is False
    assert numer(evaluate("WCV", b, "2025-Q2"), pid) is True
