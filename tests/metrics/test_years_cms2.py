"""CMS2 by measurement year: the same adolescent gives the 2025 answer at 2025 (0.2.000) and the 2026 answer
at 2026 (0.4.001), one test per difference between the versions.

The patient (15 at the start of 2025, 16 at the start of 2026) has a qualifying visit on June 21st of each
year, 09:00-09:30, over one store with both years' value sets. Where a record of one year would also act on
the other (a bipolar disorder stays a history), the same story is told for one patient per year.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carenet_desktop.metrics.measures import cms2
from tests.metrics.network_builders import Builder
from tests.metrics.years_support import YEARS, by_year, codes, flags, needs_both_oracles

pytestmark = needs_both_oracles

VISIT = ("cpt", "90791")
ADDED_2026 = ("cpt", "59425")
SCREEN = ("loinc", "73831-0")
NEGATIVE = ("snomed", "428171000124102")
POSITIVE = ("snomed", "428181000124104")
DECLINED = ("snomed", "720834000")
BIPOLAR = ("icd10cm", "F31.9")
BIPOLAR_DROPPED_2026 = ("snomed", "191625000")
FLUOXETINE = "1190110"


def visit(b: Builder, pid: int, year: int, code: tuple[str, str] = VISIT) -> None:
    b.visit(pid, f"{year}-06-21", code, start=f"{year}-06-21 09:00", end=f"{year}-06-21 09:30")


def story(add: Callable[[Builder, int, int], Any], *, one_patient: bool = True,
          visit_code: tuple[str, str] = VISIT) -> dict[int, tuple[int, int, int]]:
    b = Builder()
    shared = b.patient("2010-02-01")
    pids = {year: shared if one_patient else b.patient(f"{year - 15}-02-01") for year in YEARS}
    for year in YEARS:
        visit(b, pids[year], year, visit_code)
        add(b, pids[year], year)
    results = by_year(b, "CMS2")
    return {year: flags(results[year], pids[year]) for year in YEARS}


def screened(value: tuple[str, str], status: str = "final") -> Callable[[Builder, int, int], None]:
    def add(b: Builder, pid: int, year: int) -> None:
        b.observation(pid, f"{year}-06-15", SCREEN, value_key=value, status=status, category="procedure")
    return add


def test_the_codes_used_here_are_in_both_years_lists() -> None:
    for year in YEARS:
        assert "cpt|90791" in codes(year, cms2.ENCOUNTER_TO_SCREEN)
        assert "icd10cm|F31.9" in codes(year, cms2.BIPOLAR_DISORDER)
        assert f"rxnorm|{FLUOXETINE}" in codes(year, cms2.ADOLESCENT_MEDICATIONS)
    assert "cpt|59425" in codes(2026, cms2.ENCOUNTER_TO_SCREEN)
    assert "cpt|59425" not in codes(2025, cms2.ENCOUNTER_TO_SCREEN)


def test_a_negative_final_screening_counts_in_both_years() -> None:
    assert story(screened(NEGATIVE)) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_a_corrected_screening_counts_only_in_2026() -> None:
    assert story(screened(NEGATIVE, "corrected")) == {2025: (1, 0, 0), 2026: (1, 0, 1)}


def test_a_visit_added_to_the_2026_list_qualifies_only_in_2026() -> None:
    assert story(screened(NEGATIVE), visit_code=ADDED_2026) == {2025: (0, 0, 0), 2026: (1, 0, 1)}


def _not_done(at: str) -> Callable[[Builder, int, int], None]:
    def add(b: Builder, pid: int, year: int) -> None:
        b.observation(pid, f"{year}-06-21", SCREEN, status="cancelled", category="procedure",
                      issued=f"{year}-06-21 {at}", status_reason=DECLINED)
    return add


def test_a_screening_declined_later_on_the_visit_day_is_an_exception_only_in_2026() -> None:
    """0.4.001: issued during *day of* the encounter (2025: within its period, to the instant)."""
    assert story(_not_done("15:00")) == {2025: (1, 0, 0), 2026: (1, 1, 0)}


def test_a_screening_declined_during_the_visit_is_an_exception_in_both_years() -> None:
    assert story(_not_done("09:15")) == {2025: (1, 1, 0), 2026: (1, 1, 0)}


def test_bipolar_disorder_starting_earlier_the_same_day_excludes_only_in_2025() -> None:
    """0.4.001 compares the onset with the day of the visit's start (2025: with the instant)."""
    def add(b: Builder, pid: int, year: int) -> None:
        screened(NEGATIVE)(b, pid, year)
        b.condition(pid, f"{year}-06-21 07:00", BIPOLAR)
    assert story(add, one_patient=False) == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_bipolar_disorder_the_day_before_excludes_in_both_years() -> None:
    def add(b: Builder, pid: int, year: int) -> None:
        screened(NEGATIVE)(b, pid, year)
        b.condition(pid, f"{year}-06-20", BIPOLAR)
    assert story(add, one_patient=False) == {2025: (1, 1, 0), 2026: (1, 1, 0)}


def test_a_bipolar_code_dropped_from_the_2026_list_excludes_only_in_2025() -> None:
    assert "snomed|191625000" in codes(2025, cms2.BIPOLAR_DISORDER)
    assert "snomed|191625000" not in codes(2026, cms2.BIPOLAR_DISORDER)

    def add(b: Builder, pid: int, year: int) -> None:
        screened(NEGATIVE)(b, pid, year)
        b.condition(pid, f"{year}-06-20", BIPOLAR_DROPPED_2026, category="problem-list-item")
    assert story(add, one_patient=False) == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_bipolar_with_the_problem_list_profile_excludes_only_in_2026() -> None:
    """2025 reads the category (here encounter-diagnosis: no exclusion); 2026 the kind, which the
    problems-health-concerns profile fixes."""
    def add(b: Builder, pid: int, year: int) -> None:
        screened(NEGATIVE)(b, pid, year)
        if year == 2025:
            b.condition(pid, "2024-01-10", BIPOLAR, category="encounter-diagnosis",
                        profile_kind="problems-health-concerns")
    assert story(add) == {2025: (1, 0, 1), 2026: (1, 1, 0)}


def _medication(**order: Any) -> Callable[[Builder, int, int], None]:
    def add(b: Builder, pid: int, year: int) -> None:
        screened(POSITIVE)(b, pid, year)
        b.order(pid, f"{year}-06-21", FLUOXETINE, **order)
    return add


def test_an_order_with_a_medication_period_past_the_visit_follows_up_in_both_years() -> None:
    assert story(_medication(supply_days=30)) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_an_order_whose_medication_period_ends_on_the_visit_day_follows_up_only_in_2025() -> None:
    """0.4.001: the request's medication period must overlap after (day of) the qualifying visit."""
    assert story(_medication(supply_days=1)) == {2025: (1, 0, 1), 2026: (1, 0, 0)}


def test_an_order_without_supply_follows_up_in_both_years() -> None:
    """A null medication period converts to an unbounded interval (see cms2_2026), as the published case
    "medication request follow up within 2 days after end of encounter" expects."""
    assert story(_medication(supply_days=None)) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_an_original_order_follows_up_only_in_2026() -> None:
    assert story(_medication(supply_days=None, intent="original-order")) == {2025: (1, 0, 0), 2026: (1, 0, 1)}


def test_an_order_two_days_after_with_a_medication_period_follows_up_only_in_2025() -> None:
    """Ordered within the 2 days after the visit, but its medication period starts after the visit's day: it
    does not overlap after the visit (2026), while 2025 needs only the order date."""
    def add(b: Builder, pid: int, year: int) -> None:
        screened(POSITIVE)(b, pid, year)
        b.order(pid, f"{year}-06-23", FLUOXETINE, supply_days=30)
    assert story(add) == {2025: (1, 0, 1), 2026: (1, 0, 0)}
