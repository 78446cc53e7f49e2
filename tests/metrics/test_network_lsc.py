"""LSC: a blood lead test from birth through the 2nd birthday, for children turning 2 in the period."""

from __future__ import annotations

import pytest

from carenet_desktop.metrics.measures._network_common import LEAD_TEST
from tests.metrics.network_builders import Builder, evaluate, numer, outcome

LEAD = ("loinc", "5671-3")


@pytest.mark.parametrize(("birth", "in_ip"), [
    ("2022-12-31", False), ("2023-01-01", True), ("2023-12-31", True), ("2024-01-01", False),
])
def test_initial_population_is_the_2nd_birthday_in_the_period(birth: str, in_ip: bool) -> None:
    b = Builder()
    pid = b.patient(birth)
    assert bool(outcome(evaluate("LSC", b), pid)) is in_ip


@pytest.mark.parametrize(("day", "met"), [
    ("2023-05-20", True),   # day of birth
    ("2025-05-19", True),   # day before the 2nd birthday
    ("2025-05-20", True),   # the 2nd birthday
    ("2025-05-21", False),  # the day after
])
def test_lead_test_window_ends_on_the_2nd_birthday(day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient("2023-05-20")
    b.observation(pid, day, LEAD, category="laboratory")
    assert numer(evaluate("LSC", b), pid) is met


def test_leap_day_birth_turns_two_on_feb_28() -> None:
    b = Builder()
    on = b.patient("2024-02-29")
    after = b.patient("2024-02-29")
    b.observation(on, "2026-02-28", ("loinc", "10368-9"), category="laboratory")
    b.observation(after, "2026-03-01", ("loinc", "77307-7"), category="laboratory")
    result = evaluate("LSC", b, "2026")
    assert numer(result, on) is True
    assert numer(result, after) is False


def test_procedure_counts_and_unfinished_results_do_not() -> None:
    b = Builder()
    proc = b.patient("2023-05-20")
    cancelled = b.patient("2023-05-20")
    other_code = b.patient("2023-05-20")
    b.procedure(proc, "2024-05-20", ("cpt", "83655"))  # a lead assay billed as a procedure
    b.observation(cancelled, "2024-05-20", LEAD, status="cancelled")
    b.observation(other_code, "2024-05-20", ("loinc", "718-7"))  # hemoglobin
    result = evaluate("LSC", b, extra={LEAD_TEST: [("cpt", "83655")]})
    assert numer(result, proc) is True
    assert numer(result, cancelled) is False
    assert numer(result, other_code) is False


def test_death_in_the_period_excludes() -> None:
    b = Builder()
    died = b.patient("2023-05-20", deceased="2025-12-31")
    died_after = b.patient("2023-05-20", deceased="2026-01-01")
    result = evaluate("LSC", b)
    assert outcome(result, died)["denominator-exclusion"] is True
    assert outcome(result, died_after)["denominator-exclusion"] is False
