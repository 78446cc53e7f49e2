"""IMA: MenACWY 11-13, Tdap 10-13, HPV 9-13 (3 days, or 2 days >= 146 days apart), combinations."""

from __future__ import annotations

import pytest

from carenet_desktop.metrics.measures import _network_common as nc
from tests.metrics.network_builders import Builder, evaluate, numer, outcome

BIRTH = "2012-06-15"  # 9th 2021-06-15, 10th 2022-06-15, 11th 2023-06-15, 13th 2025-06-15
MEN, TDAP, HPV, CMB1, CMB2 = range(5)


@pytest.mark.parametrize(("birth", "in_ip"), [
    ("2011-12-31", False), ("2012-01-01", True), ("2012-12-31", True), ("2013-01-01", False),
])
def test_initial_population_turns_13_in_the_period(birth: str, in_ip: bool) -> None:
    b = Builder()
    pid = b.patient(birth)
    assert bool(outcome(evaluate("IMA", b), pid, MEN)) is in_ip


@pytest.mark.parametrize(("day", "met"), [
    ("2023-06-14", False),  # too early: the day before the 11th birthday
    ("2023-06-15", True),   # the 11th birthday
    ("2025-06-15", True),   # the 13th birthday
    ("2025-06-16", False),  # too late
])
def test_menacwy_window_11th_to_13th_birthday(day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient(BIRTH)
    b.immunization(pid, day, "114")
    assert numer(evaluate("IMA", b), pid, MEN) is met


@pytest.mark.parametrize(("day", "met"), [
    ("2022-06-14", False), ("2022-06-15", True), ("2025-06-15", True), ("2025-06-16", False),
])
def test_tdap_window_10th_to_13th_birthday(day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient(BIRTH)
    b.immunization(pid, day, "115")
    assert numer(evaluate("IMA", b), pid, TDAP) is met


@pytest.mark.parametrize(("days", "met"), [
    (["2021-06-15", "2021-11-08"], True),                 # 146 days apart
    (["2021-06-15", "2021-11-07"], False),                # 145 days apart
    (["2021-06-14", "2021-11-08"], False),                # first dose too early (day before 9th birthday)
    (["2025-01-17", "2025-06-12"], True),                 # 146 days, ending before the 13th birthday
    (["2025-01-20", "2025-06-15"], True),                 # 146 days, the second on the 13th birthday
    (["2025-01-21", "2025-06-16"], False),                # second dose the day after the 13th birthday
    (["2022-01-01", "2022-02-01", "2022-03-01"], True),   # three doses on different days
    (["2022-01-01", "2022-02-01", "2022-02-01"], False),  # two of them on the same day: 2 days, 31 apart
])
def test_hpv_series(days: list[str], met: bool) -> None:
    b = Builder()
    pid = b.patient(BIRTH)
    for d in days:
        b.immunization(pid, d, "165")
    assert numer(evaluate("IMA", b), pid, HPV) is met


def test_combinations_and_procedure_codes() -> None:
    b = Builder()
    cmb1 = b.patient(BIRTH)
    cmb2 = b.patient(BIRTH)
    b.immunization(cmb1, "2024-01-10", "136")
    b.procedure(cmb1, "2024-01-10", ("cpt", "90715"))  # Tdap by CPT
    b.procedure(cmb2, "2024-01-10", ("cpt", "90734"))
    b.immunization(cmb2, "2024-01-10", "115")
    b.immunization(cmb2, "2022-01-10", "62")
    b.procedure(cmb2, "2022-07-10", ("cpt", "90651"))
    extra = {nc.TDAP_VACCINE: [("cpt", "90715")], nc.MENACWY_VACCINE: [("cpt", "90734")],
             nc.HPV_VACCINE: [("cvx", "62"), ("cpt", "90651")]}
    result = evaluate("IMA", b, extra=extra)
    assert [numer(result, cmb1, g) for g in range(5)] == [True, True, False, True, False]
    assert [numer(result, cmb2, g) for g in range(5)] == [True, True, True, True, True]


def test_leap_day_birth_has_birthdays_on_feb_28() -> None:
    b = Builder()
    on = b.patient("2012-02-29")    # 11th birthday 2023-02-28, 13th 2025-02-28
    early = b.patient("2012-02-29")
    b.immunization(on, "2023-02-28", "114")
    b.immunization(early, "2023-02-27", "114")
    result = evaluate("IMA", b)
    assert numer(result, on, MEN) is True
    assert numer(result, early, MEN) is False


def test_not_administered_doses_do_not_count() -> None:
    b = Builder()
    pid = b.patient(BIRTH)
    b.immunization(pid, "2024-01-10", "114", status="not-done")
    assert numer(evaluate("IMA", b), pid, MEN) is False
