"""CMS146 rules read from the published logic that the day-window edge tests do not cover.

A qualifying visit only has to *end* between the period start and 3 days before its end; it may start
earlier, and the antibiotic must be ordered 0-3 days after the visit start, so the order itself may
predate the measurement period.
"""

from __future__ import annotations

from tests.metrics.test_episode_edges import (
    AMOXICILLIN,
    OFFICE,
    PHARYNGITIS_CODE,
    build,
    condition,
    counts,
    encounter,
    order,
    patient,
)


def _long_visit_case(order_time: str) -> dict[str, int]:
    data = build(
        patients=[patient(1, "2015-05-05")],
        encounters=[encounter(1, OFFICE, "2024-12-30 09:00", "2025-01-01 10:00")],
        conditions=[condition(1, PHARYNGITIS_CODE, "2024-12-30 09:30")],
        medication_requests=[order(1, AMOXICILLIN, order_time)],
    )
    return counts("CMS146", data)


def test_cms146_order_before_the_period_counts_for_a_visit_ending_in_it() -> None:
    # visit Dec 30 - Jan 1, antibiotic ordered Dec 31 (1 day after the visit start)
    assert _long_visit_case("2024-12-31 12:00").get("initial-population", 0) == 1


def test_cms146_order_more_than_three_days_after_a_long_visit_start_does_not_count() -> None:
    assert _long_visit_case("2025-01-03 12:00").get("initial-population", 0) == 0
