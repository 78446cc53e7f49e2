"""CMS146 by measurement year: the same patient's pharyngitis episodes give the 2025 answer at 2025
(0.1.001) and the 2026 answer at 2026 (0.3.000), one test per difference between the versions.

Each patient has one episode in each year (March 2025, September 2026: more than a year apart, so no
history of one reaches the other), over one store with both years' value sets.
"""

from __future__ import annotations

from typing import Any

from carenet_desktop.metrics.measures import _respiratory as resp
from carenet_desktop.metrics.measures import cms146
from tests.metrics.network_builders import Builder
from tests.metrics.years_support import YEARS, by_year, codes, flags, needs_both_oracles

pytestmark = needs_both_oracles

DAYS = {2025: "2025-03-10", 2026: "2026-09-21"}
OFFICE = ("cpt", "99213")
PHARYNGITIS = ("icd10cm", "J02.9")
COMORBID = ("snomed", "10041001")
COMPETING = ("snomed", "1010615002")
AMOXICILLIN = "1013659"
NEW_IN_2026 = "313252"
STREP = ("loinc", "11268-0")
POSITIVE = ("snomed", "10828004")


def episode(b: Builder, pid: int, year: int, *, category: str | None = "encounter-diagnosis",
            profile_kind: str | None = None, drug: str = AMOXICILLIN, intent: str = "order",
            test_category: str | None = "laboratory", referenced: bool = False) -> None:
    day = DAYS[year]
    cond = b.condition(pid, day, PHARYNGITIS, category=category, profile_kind=profile_kind)
    b.visit(pid, day, OFFICE, condition_id=cond if referenced else None)
    b.order(pid, day, drug, status="completed", intent=intent)
    b.observation(pid, day, STREP, value_key=POSITIVE, category=test_category)


def story(**episode_args: Any) -> dict[int, tuple[int, int, int]]:
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        episode(b, pid, year, **episode_args)
    results = by_year(b, "CMS146")
    return {year: flags(results[year], pid) for year in YEARS}


def test_the_codes_used_here_are_in_both_years_lists() -> None:
    for year in YEARS:
        assert "cpt|99213" in codes(year, resp.OFFICE_VISIT)
        assert "icd10cm|J02.9" in codes(year, resp.ACUTE_PHARYNGITIS)
        assert f"rxnorm|{AMOXICILLIN}" in codes(year, resp.ANTIBIOTIC_MEDICATIONS)
        assert "loinc|11268-0" in codes(year, cms146.GROUP_A_STREP_TEST)
        assert "snomed|10041001" in codes(year, resp.COMORBID_CONDITIONS)
    assert f"rxnorm|{NEW_IN_2026}" in codes(2026, resp.ANTIBIOTIC_MEDICATIONS)
    assert f"rxnorm|{NEW_IN_2026}" not in codes(2025, resp.ANTIBIOTIC_MEDICATIONS)


def test_an_encounter_diagnosis_episode_counts_in_both_years() -> None:
    assert story() == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_pharyngitis_on_the_problem_list_makes_an_episode_only_in_2025() -> None:
    """2026: ``[ConditionEncounterDiagnosis: "Acute Pharyngitis"]``."""
    assert story(category="problem-list-item") == {2025: (1, 0, 1), 2026: (0, 0, 0)}


def test_pharyngitis_with_the_encounter_diagnosis_profile_counts_in_both_years() -> None:
    """The published 2026 cases: profile encounter-diagnosis, category problem-list-item."""
    assert story(category="problem-list-item", profile_kind="encounter-diagnosis") == {2025: (1, 0, 1),
                                                                                        2026: (1, 0, 1)}


def test_pharyngitis_with_the_problem_list_profile_counts_only_in_2025() -> None:
    """The profile wins over the category: a problems-health-concerns profile is not an encounter diagnosis."""
    assert story(category="encounter-diagnosis", profile_kind="problems-health-concerns") == {
        2025: (1, 0, 1), 2026: (0, 0, 0)}


def test_pharyngitis_listed_in_encounter_diagnosis_counts_in_both_years() -> None:
    assert story(category="problem-list-item", referenced=True) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_a_new_2026_antibiotic_makes_an_episode_only_in_2026() -> None:
    assert story(drug=NEW_IN_2026) == {2025: (0, 0, 0), 2026: (1, 0, 1)}


def test_an_original_order_counts_as_an_order_only_in_2026() -> None:
    """Status 1.15: intent order or a specialisation of it (original-order, reflex-order ...)."""
    assert story(intent="original-order") == {2025: (0, 0, 0), 2026: (1, 0, 1)}


def test_a_strep_test_without_laboratory_category_counts_only_in_2026() -> None:
    """Status 1.15's isLaboratoryTestPerformed no longer asks for the laboratory category."""
    assert story(test_category=None) == {2025: (1, 0, 0), 2026: (1, 0, 1)}


def test_a_comorbid_condition_on_the_problem_list_excludes_only_in_2025() -> None:
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        episode(b, pid, year)
        b.condition(pid, DAYS[year], COMORBID, category="problem-list-item")
    results = by_year(b, "CMS146")
    assert {year: flags(results[year], pid) for year in YEARS} == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_a_comorbid_encounter_diagnosis_excludes_in_both_years() -> None:
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        episode(b, pid, year)
        b.condition(pid, DAYS[year], COMORBID, category="encounter-diagnosis")
    results = by_year(b, "CMS146")
    assert {year: flags(results[year], pid) for year in YEARS} == {2025: (1, 1, 0), 2026: (1, 1, 0)}


def test_an_in_progress_encounter_is_an_episode_only_in_2025() -> None:
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        day = DAYS[year]
        b.condition(pid, day, PHARYNGITIS, category="encounter-diagnosis")
        b.visit(pid, day, OFFICE, status="in-progress")
        b.order(pid, day, AMOXICILLIN, status="completed")
    results = by_year(b, "CMS146")
    assert {year: flags(results[year], pid) for year in YEARS} == {2025: (1, 0, 0), 2026: (0, 0, 0)}


def test_an_active_antibiotic_original_order_before_the_episode_excludes_only_in_2026() -> None:
    """Antibiotic history reads isMedicationActive: intent order in 2025, any order intent in 2026."""
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        episode(b, pid, year)
        before = {2025: "2025-02-28", 2026: "2026-09-11"}[year]
        b.order(pid, before, AMOXICILLIN, status="active", intent="original-order", supply_days=30)
    results = by_year(b, "CMS146")
    assert {year: flags(results[year], pid) for year in YEARS} == {2025: (1, 0, 1), 2026: (1, 1, 0)}


def test_the_competing_code_is_in_both_years_lists() -> None:
    for year in YEARS:
        assert "snomed|1010615002" in codes(year, resp.COMPETING_CONDITIONS)


def test_a_competing_condition_on_the_problem_list_excludes_only_in_2025() -> None:
    """2026: ``[ConditionEncounterDiagnosis: "Competing Conditions for Respiratory Conditions"]``."""
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        episode(b, pid, year)
        b.condition(pid, DAYS[year], COMPETING, category="problem-list-item")
    results = by_year(b, "CMS146")
    assert {year: flags(results[year], pid) for year in YEARS} == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_a_competing_encounter_diagnosis_excludes_in_both_years() -> None:
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        episode(b, pid, year)
        b.condition(pid, DAYS[year], COMPETING, category="encounter-diagnosis")
    results = by_year(b, "CMS146")
    assert {year: flags(results[year], pid) for year in YEARS} == {2025: (1, 1, 0), 2026: (1, 1, 0)}
