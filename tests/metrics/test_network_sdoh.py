"""SDOH: screened at a well visit (same day); first positive screen followed by a referral or intervention
within 30 days."""

from __future__ import annotations

import pytest

from carenet_desktop.metrics.measures import _network_common as nc
from tests.metrics.network_builders import Builder, evaluate, numer, outcome

AHC = ("loinc", "96777-8")
HVS = ("loinc", "96777-8")  # answered with a finding code
SCREENED, FOLLOWED = 0, 1


def test_screening_on_the_day_of_a_well_visit() -> None:
    b = Builder()
    same_day = b.patient("2015-01-01")
    next_day = b.patient("2015-01-01")
    sick_visit_day = b.patient("2015-01-01")
    second_visit = b.patient("2015-01-01")
    for pid in (same_day, next_day, sick_visit_day):
        b.visit(pid, "2025-03-10")
    b.observation(same_day, "2025-03-10", AHC, interpretation="negative")
    b.observation(next_day, "2025-03-11", AHC, interpretation="negative")
    b.visit(sick_visit_day, "2025-05-01", ("cpt", "99213"))
    b.observation(sick_visit_day, "2025-05-01", AHC, interpretation="negative")
    b.visit(second_visit, "2025-02-01")
    b.visit(second_visit, "2025-08-01")
    b.procedure(second_visit, "2025-08-01", ("hcpcs", "G0136"))  # screening billed as a procedure
    result = evaluate("SDOH", b, extra={nc.SOCIAL_NEEDS_SCREENING: [("hcpcs", "G0136")]})
    assert numer(result, same_day, SCREENED) is True
    assert numer(result, next_day, SCREENED) is False
    assert numer(result, sick_visit_day, SCREENED) is False
    assert numer(result, second_visit, SCREENED) is True


def test_screening_at_a_visit_outside_the_period_does_not_count() -> None:
    b = Builder()
    pid = b.patient("2015-01-01")
    b.visit(pid, "2024-12-31")
    b.observation(pid, "2024-12-31", AHC)
    b.visit(pid, "2025-01-01")
    result = evaluate("SDOH", b)
    assert numer(result, pid, SCREENED) is False
    no_visit = Builder()
    q = no_visit.patient("2015-01-01")
    no_visit.observation(q, "2025-03-01", AHC)
    assert outcome(evaluate("SDOH", no_visit), q, SCREENED) == {}


@pytest.mark.parametrize(("placed", "met"), [
    ("2025-03-01", True),   # same day
    ("2025-03-31", True),   # 30 days after
    ("2025-04-01", False),  # 31 days after
    ("2025-02-28", False),  # before the screen
])
def test_referral_within_30_days_of_the_positive_screen(placed: str, met: bool) -> None:
    b = Builder()
    pid = b.patient("2015-01-01")
    b.observation(pid, "2025-03-01", AHC, interpretation="positive")
    b.referral(pid, placed, referral_type="community-service")
    assert numer(evaluate("SDOH", b), pid, FOLLOWED) is met


def test_intervention_counts_and_cancelled_referral_does_not() -> None:
    b = Builder()
    intervention = b.patient("2015-01-01")
    cancelled = b.patient("2015-01-01")
    for pid in (intervention, cancelled):
        b.observation(pid, "2025-03-01", AHC, interpretation="abnormal")
    b.procedure(intervention, "2025-03-31", ("snomed", "410606002"))
    b.referral(cancelled, "2025-03-05", status="cancelled")
    result = evaluate("SDOH", b)
    assert numer(result, intervention, FOLLOWED) is True
    assert numer(result, cancelled, FOLLOWED) is False


def test_what_makes_a_screen_positive() -> None:
    b = Builder()
    answer = b.patient("2015-01-01")
    diagnosis = b.patient("2015-01-01")
    negative = b.patient("2015-01-01")
    b.observation(answer, "2025-03-01", HVS, value_key=("loinc", "LA19952-3"))
    b.condition(diagnosis, "2025-03-01", ("icd10cm", "Z59.41"))
    b.observation(negative, "2025-03-01", AHC, interpretation="negative")
    result = evaluate("SDOH", b)
    assert outcome(result, answer, FOLLOWED)["denominator"] is True
    assert outcome(result, diagnosis, FOLLOWED)["denominator"] is True
    assert outcome(result, negative, FOLLOWED) == {}


def test_follow_up_is_measured_from_the_first_positive_screen_in_the_period() -> None:
    b = Builder()
    pid = b.patient("2015-01-01")
    b.observation(pid, "2024-12-20", AHC, interpretation="positive")   # before the period: ignored
    b.observation(pid, "2025-01-10", AHC, interpretation="positive")
    b.observation(pid, "2025-06-01", AHC, interpretation="positive")
    b.referral(pid, "2025-06-05")
    assert numer(evaluate("SDOH", b), pid, FOLLOWED) is False
    b.referral(pid, "2025-02-09")   # 30 days after 2025-01-10
    assert numer(evaluate("SDOH", b), pid, FOLLOWED) is True


def test_positive_answer_code_without_interpretation() -> None:
    b = Builder()
    pid = b.patient("2015-01-01")
    b.observation(pid, "2025-03-01", AHC, value_key=("snomed", "10828004"))
    b.referral(pid, "2025-03-02", referral_type="community-service")
    assert numer(evaluate("SDOH", b), pid, FOLLOWED) is True
