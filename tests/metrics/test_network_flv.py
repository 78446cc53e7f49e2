"""FLV: ages 1-4 at the period end with a well visit; fluoride varnish within the period."""

from __future__ import annotations

import pytest

from tests.metrics.network_builders import Builder, evaluate, numer, outcome

VARNISH = ("cpt", "99188")


@pytest.mark.parametrize(("birth", "in_ip"), [
    ("2024-12-31", True), ("2025-01-01", False), ("2021-01-01", True), ("2020-12-31", False),
])
def test_age_window(birth: str, in_ip: bool) -> None:
    b = Builder()
    pid = b.patient(birth)
    b.visit(pid, "2025-12-31")
    assert bool(outcome(evaluate("FLV", b), pid)) is in_ip


def test_denominator_needs_a_well_visit_in_the_period() -> None:
    b = Builder()
    no_visit = b.patient("2022-05-01")
    visit_before = b.patient("2022-05-01")
    b.visit(visit_before, "2024-12-31")
    b.procedure(no_visit, "2025-03-01", VARNISH)
    result = evaluate("FLV", b)
    assert outcome(result, no_visit)["denominator"] is False
    assert outcome(result, visit_before)["denominator"] is False


@pytest.mark.parametrize(("day", "met"), [
    ("2024-12-31", False), ("2025-01-01", True), ("2025-12-31", True), ("2026-01-01", False),
])
def test_varnish_within_the_period(day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient("2022-05-01")
    b.visit(pid, "2025-06-01")
    b.procedure(pid, day, VARNISH)
    assert numer(evaluate("FLV", b), pid) is met


def test_dental_code_counts() -> None:
    b = Builder()
    pid = b.patient("2022-05-01")
    b.visit(pid, "2025-06-01")
    b.procedure(pid, "2025-06-01", ("cdt", "D1206"))
    assert numer(evaluate("FLV", b), pid) is True
