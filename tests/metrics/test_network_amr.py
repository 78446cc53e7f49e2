"""AMR: ages 5-18 with persistent asthma; controller units / all asthma units >= 0.50 in the period."""

from __future__ import annotations

import pytest

from tests.metrics.network_builders import Builder, evaluate, numer, outcome

PERSISTENT = ("icd10cm", "J45.40")
UNSPECIFIED = ("icd10cm", "J45.901")
FLOVENT = "895994"      # controller
MONTELUKAST = "242438"  # controller
ALBUTEROL = "2123076"   # reliever (albuterol MDI)


def _asthmatic(b: Builder, birth: str = "2015-05-01", **kw: str) -> int:
    pid = b.patient(birth, **kw)
    b.condition(pid, "2023-06-01", PERSISTENT)
    return pid


@pytest.mark.parametrize(("birth", "in_ip"), [
    ("2020-12-31", True), ("2021-01-01", False), ("2007-01-01", True), ("2006-12-31", False),
])
def test_age_window(birth: str, in_ip: bool) -> None:
    b = Builder()
    pid = _asthmatic(b, birth)
    b.dispense(pid, "2025-02-01", FLOVENT)
    assert bool(outcome(evaluate("AMR", b), pid)) is in_ip


@pytest.mark.parametrize(("controllers", "relievers", "met"), [
    (1, 1, True),    # exactly 0.50
    (1, 2, False),   # 0.33
    (2, 1, True),
    (0, 3, False),
    (1, 0, True),
])
def test_ratio_threshold(controllers: int, relievers: int, met: bool) -> None:
    b = Builder()
    pid = _asthmatic(b)
    for i in range(controllers):
        b.dispense(pid, f"2025-0{i + 1}-10", FLOVENT)
    for i in range(relievers):
        b.dispense(pid, f"2025-0{i + 4}-10", ALBUTEROL)
    assert numer(evaluate("AMR", b), pid) is met


def test_units_per_started_30_days_of_supply() -> None:
    b = Builder()
    pid = _asthmatic(b)
    b.dispense(pid, "2025-02-01", MONTELUKAST, days_supply=61)  # 3 units
    for day in ("2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01"):
        b.dispense(pid, day, ALBUTEROL, days_supply=30)  # 4 units -> 3/7 < 0.5
    assert numer(evaluate("AMR", b), pid) is False
    b2 = Builder()
    q = _asthmatic(b2)
    b2.dispense(q, "2025-02-01", MONTELUKAST, days_supply=90)  # 3 units
    for day in ("2025-03-01", "2025-04-01", "2025-05-01"):
        b2.dispense(q, day, ALBUTEROL, days_supply=30)   # 3 units -> 0.50
    assert numer(evaluate("AMR", b2), q) is True


def test_medications_outside_the_period_do_not_count_for_the_ratio() -> None:
    b = Builder()
    pid = _asthmatic(b)
    b.dispense(pid, "2024-12-31", FLOVENT)
    b.dispense(pid, "2026-01-01", FLOVENT)
    b.dispense(pid, "2025-06-01", ALBUTEROL)
    assert numer(evaluate("AMR", b), pid) is False


def test_no_asthma_medication_in_the_period_is_not_in_the_population() -> None:
    b = Builder()
    pid = _asthmatic(b)
    b.dispense(pid, "2024-12-31", FLOVENT)
    assert outcome(evaluate("AMR", b), pid) == {}


def test_dispensings_take_precedence_over_orders() -> None:
    b = Builder()
    dispensed = _asthmatic(b)
    ordered = _asthmatic(b)
    b.dispense(dispensed, "2025-02-01", ALBUTEROL)
    b.order(dispensed, "2025-02-01", FLOVENT)
    b.order(dispensed, "2025-03-01", FLOVENT)
    b.order(ordered, "2025-02-01", FLOVENT)
    b.order(ordered, "2025-03-01", ALBUTEROL)
    b.order(ordered, "2025-04-01", ALBUTEROL, intent="plan")  # not an order
    result = evaluate("AMR", b)
    assert numer(result, dispensed) is False
    assert numer(result, ordered) is True


@pytest.mark.parametrize(("abatement", "in_ip"), [("2023-12-31", False), ("2024-01-01", True)])
def test_persistent_asthma_must_be_active_in_the_period_or_the_year_before(abatement: str, in_ip: bool) -> None:
    b = Builder()
    pid = b.patient("2015-05-01")
    b.condition(pid, "2020-01-01", PERSISTENT, abatement=abatement, clinical_status="resolved")
    b.dispense(pid, "2025-02-01", FLOVENT)
    assert bool(outcome(evaluate("AMR", b), pid)) is in_ip


@pytest.mark.parametrize(("days", "in_ip"), [
    (["2024-01-01", "2024-06-01", "2025-01-05", "2025-02-01"], True),   # 4 medication days in the two years
    (["2023-12-31", "2024-06-01", "2025-01-05", "2025-02-01"], False),  # one before the look-back
    (["2024-06-01", "2024-06-01", "2025-01-05", "2025-02-01"], False),  # duplicate day
])
def test_unspecified_asthma_needs_medication_on_four_days(days: list[str], in_ip: bool) -> None:
    b = Builder()
    pid = b.patient("2015-05-01")
    b.condition(pid, "2022-01-01", UNSPECIFIED)
    for d in days:
        b.dispense(pid, d, ALBUTEROL)
    assert bool(outcome(evaluate("AMR", b), pid)) is in_ip


def test_exclusions() -> None:
    b = Builder()
    copd = _asthmatic(b)
    b.condition(copd, "2025-12-31", ("icd10cm", "E84.0"))
    later = _asthmatic(b)
    b.condition(later, "2026-01-01", ("icd10cm", "E84.0"))
    died = _asthmatic(b, deceased="2025-07-01")
    for pid in (copd, later, died):
        b.dispense(pid, "2025-02-01", FLOVENT)
    result = evaluate("AMR", b)
    assert outcome(result, copd)["denominator-exclusion"] is True
    assert outcome(result, later)["denominator-exclusion"] is False
    assert outcome(result, died)["denominator-exclusion"] is True
