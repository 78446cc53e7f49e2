"""DEV: developmental screening by the 1st, 2nd and 3rd birthdays (non-overlapping windows) and total."""

from __future__ import annotations

import pytest

from tests.metrics.network_builders import Builder, evaluate, numer, outcome

SCREEN = ("cpt", "96110")
R1, R2, R3, TOTAL = range(4)


@pytest.mark.parametrize(("birth", "group"), [
    ("2024-01-01", R1), ("2024-12-31", R1), ("2023-01-01", R2), ("2022-12-31", R3),
])
def test_each_child_is_in_the_rate_of_the_birthday_it_reaches_in_the_period(birth: str, group: int) -> None:
    b = Builder()
    pid = b.patient(birth)
    result = evaluate("DEV", b)
    assert [bool(outcome(result, pid, g)) for g in (R1, R2, R3)] == [g == group for g in (R1, R2, R3)]
    assert outcome(result, pid, TOTAL)["denominator"] is True


def test_not_yet_one_and_already_four_are_out() -> None:
    b = Builder()
    young = b.patient("2025-01-01")   # turns 1 in 2026
    old = b.patient("2021-12-31")     # turned 3 in 2024
    result = evaluate("DEV", b)
    assert all(outcome(result, pid, g) == {} for pid in (young, old) for g in range(4))


@pytest.mark.parametrize(("birth", "group", "day", "met"), [
    ("2024-05-10", R1, "2024-05-10", True),   # day of birth
    ("2024-05-10", R1, "2025-05-10", True),   # the 1st birthday
    ("2024-05-10", R1, "2025-05-11", False),  # the day after
    ("2023-05-10", R2, "2024-05-10", False),  # the 1st birthday belongs to rate 1, not rate 2
    ("2023-05-10", R2, "2024-05-11", True),   # the day after the 1st birthday
    ("2023-05-10", R2, "2025-05-10", True),   # the 2nd birthday
    ("2023-05-10", R2, "2025-05-11", False),
    ("2022-05-10", R3, "2024-05-10", False),
    ("2022-05-10", R3, "2024-05-11", True),
    ("2022-05-10", R3, "2025-05-10", True),
    ("2022-05-10", R3, "2025-05-11", False),
])
def test_windows(birth: str, group: int, day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient(birth)
    b.procedure(pid, day, SCREEN)
    result = evaluate("DEV", b)
    assert numer(result, pid, group) is met
    assert numer(result, pid, TOTAL) is met


def test_leap_day_birth_first_birthday_is_feb_28() -> None:
    b = Builder()
    on = b.patient("2024-02-29")
    after = b.patient("2024-02-29")
    b.procedure(on, "2025-02-28", SCREEN)
    b.procedure(after, "2025-03-01", SCREEN)
    result = evaluate("DEV", b)
    assert numer(result, on, R1) is True
    assert numer(result, after, R1) is False


def test_total_pools_the_three_rates() -> None:
    b = Builder()
    kids = [b.patient(d) for d in ("2024-03-01", "2023-03-01", "2022-03-01", "2022-04-01")]
    # the 3-year-old's screening is in the year before the 2nd birthday: it does not count for rate 3
    for pid, day in zip(kids[:3], ("2024-09-01", "2024-09-01", "2023-09-01"), strict=True):
        b.procedure(pid, day, SCREEN)
    result = evaluate("DEV", b)
    total = result[result["group_index"] == TOTAL]
    assert int(total["denominator"].sum()) == 4
    assert int(total["numerator"].sum()) == 2
