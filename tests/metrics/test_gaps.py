"""Care gaps, the generic part: who is a gap, the default text and due date, the text helpers, and the
upcoming window (due on as_of + N included, as_of + N + 1 not)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics import gaps as g
from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.definition import Group, Measure
from carenet_desktop.metrics.period import Period
from tests.measure_catalogue import all_measures, get_measure
from tests.metrics.network_builders import Builder

LEAD = ("loinc", "5671-3")
P2025 = Period.year(2025)


class _Toy(Measure):
    """A measure whose populations are given by the test (not registered)."""

    id = "TOY"
    title = "Toy"
    groups = (Group("Toy rate one"), Group("Toy rate two"))
    frames: ClassVar[list[pd.DataFrame]] = []

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        return [f.copy() for f in self.frames]


def _toy_frames() -> list[pd.DataFrame]:
    # patients: 1 numerator, 2 gap, 3 excluded, 4 excepted, 5 not in the denominator
    base = pd.DataFrame({
        "patient_id": [1, 2, 3, 4, 5],
        "initial-population": True,
        "denominator": [True, True, True, True, False],
        "denominator-exclusion": [False, False, True, False, False],
        "denominator-exception": [False, False, False, True, False],
        "numerator": [True, False, False, False, False],
    })
    second = base.copy()
    second["numerator"] = [False, True, False, False, False]
    return [base, second]


def _toy_data() -> MeasureData:
    b = Builder()
    for birth in ("2020-01-31", "2021-02-28", "2022-03-15", "2023-04-01", "2024-05-05"):
        b.patient(birth)
    return b.data()


def test_only_denominator_members_not_excluded_excepted_or_in_the_numerator_are_gaps() -> None:
    toy = _Toy()
    pops = (*Group("x").populations, "denominator-exception")
    toy.groups = (Group("Toy rate one", populations=pops), Group("Toy rate two", populations=pops))
    _Toy.frames = _toy_frames()
    data = _toy_data()
    rows = toy.evaluate(data, P2025)
    gaps = toy.gaps(data, P2025, rows)
    assert list(zip(gaps["group_index"], gaps["patient_id"], strict=True)) == [(0, 2), (1, 1)]
    assert list(gaps.columns) == list(g.GAP_COLUMNS)


def test_default_gap_is_the_group_title_due_by_the_period_end() -> None:
    toy = _Toy()
    _Toy.frames = _toy_frames()
    data = _toy_data()
    gaps = toy.gaps(data, P2025, toy.evaluate(data, P2025))
    first = gaps[gaps["group_index"] == 0].iloc[0]
    second = gaps[gaps["group_index"] == 1].iloc[0]
    assert (first["missing"], first["due_date"]) == ("Toy rate one", dt.date(2025, 12, 31))
    assert (second["missing"], second["due_date"]) == ("Toy rate two", dt.date(2025, 12, 31))


def test_default_gap_uses_an_exposed_birthday_anchor() -> None:
    toy = _Toy()
    toy.gap_anchor = {0: (0, 15), 1: (2, 0)}  # type: ignore[attr-defined]
    _Toy.frames = _toy_frames()
    data = _toy_data()
    gaps = toy.gaps(data, P2025, toy.evaluate(data, P2025)).sort_values(["group_index", "patient_id"])
    # the group has no exceptions, so patient 4 is a gap too (born 2023-04-01)
    # rate 1 (+15 months): patient 2 born 2021-02-28 -> 2022-05-28; patient 4 -> 2024-07-01
    # rate 2 (+2 years): patient 1 born 2020-01-31 -> 2022-01-31; patient 4 -> 2025-04-01
    assert list(gaps["patient_id"]) == [2, 4, 1, 4]
    assert list(gaps["due_date"]) == [dt.date(2022, 5, 28), dt.date(2024, 7, 1), dt.date(2022, 1, 31),
                                      dt.date(2025, 4, 1)]


def test_custom_measure_gap_is_due_at_its_numerator_window_end() -> None:
    vis = get_measure("VIS")  # the shipped network-defined measure: window = the period
    b = Builder()
    pid = b.patient("2021-05-01")
    b.visit(pid, "2025-03-01")
    data = b.data()
    gaps = vis.gaps(data, P2025, vis.evaluate(data, P2025))
    assert list(gaps["patient_id"]) == [pid]
    assert gaps.iloc[0]["due_date"] == dt.date(2025, 12, 31)
    assert gaps.iloc[0]["missing"] == vis.groups[0].title


def test_inverse_measures_have_no_gap_list() -> None:
    cms75 = get_measure("CMS75")
    assert cms75.improvement == "decrease"
    rows = pd.DataFrame({"measure": "CMS75", "group_index": [0], "patient_id": [1], "episode_id": [pd.NA],
                         "initial-population": [True], "denominator": [True], "denominator-exclusion": [False],
                         "denominator-exception": [pd.NA], "numerator": [False]})
    assert cms75.gaps(MeasureData(), P2025, rows).empty


def test_open_members_reads_nullable_booleans_and_other_measures() -> None:
    rows = pd.DataFrame({
        "measure": ["A", "A", "B"], "group_index": [0, 0, 0], "patient_id": [1, 2, 3], "episode_id": pd.NA,
        "denominator": pd.array([True, True, True], dtype="boolean"),
        "denominator-exclusion": pd.array([pd.NA, False, False], dtype="boolean"),
        "denominator-exception": pd.array([pd.NA, pd.NA, pd.NA], dtype="boolean"),
        "numerator": pd.array([False, pd.NA, False], dtype="boolean"),
    })
    assert list(g.open_members(rows, "A")["patient_id"]) == [1, 2]


@pytest.mark.parametrize(("have", "need", "text"), [
    (3, 4, "DTaP #4 (has 3 of 4)"),
    (2, 4, "DTaP #3-#4 (has 2 of 4)"),
    (0, 1, "DTaP #1 (has 0 of 1)"),
    (5, 4, "DTaP #4 (has 3 of 4)"),  # capped: short by another rule
])
def test_count_text(have: int, need: int, text: str) -> None:
    assert list(g.count_text("DTaP", [have], [need])) == [text]


def test_count_text_qualifier_and_join() -> None:
    assert g.count_text("Visit", [1], [2], "after 15 months")[0] == "Visit #2 after 15 months (has 1 of 2)"
    joined = g.join_texts([(np.array([True, False, True]), "A"), (np.array([True, True, False]), "B")])
    assert list(joined) == ["A; B", "B", "A"]


# ----------------------------------------------------------------------------------- upcoming window


def _lead_children(as_of: dt.date, n: int) -> tuple[Builder, dict[str, int]]:
    """Children whose 2nd birthday is the day before the window, its first day, its last day, and the day
    after; one more on the last day who already had a lead test."""
    b = Builder()
    ids = {}
    for name, offset in (("before", -1), ("first", 0), ("last", n), ("after", n + 1)):
        bd2 = as_of + dt.timedelta(days=offset)
        ids[name] = b.patient(bd2.replace(year=bd2.year - 2).isoformat())
    done_bd2 = as_of + dt.timedelta(days=n)
    ids["tested"] = b.patient(done_bd2.replace(year=done_bd2.year - 2).isoformat())
    b.observation(ids["tested"], (done_bd2 - dt.timedelta(days=100)).isoformat(), LEAD, category="laboratory")
    return b, ids


@pytest.mark.parametrize("within_days", [0, 30])
def test_upcoming_window_includes_as_of_plus_n_and_not_the_day_after(within_days: int) -> None:
    as_of = dt.date(2026, 3, 10)
    b, ids = _lead_children(as_of, within_days)
    found = g.upcoming(b.data(), [get_measure("LSC")], as_of, within_days)
    expected = {ids["first"], ids["last"]}
    assert set(found["patient_id"]) == expected
    assert set(found["due_date"]) == {as_of, as_of + dt.timedelta(days=within_days)}
    assert set(found["missing"]) == {"Blood lead test"}


def test_upcoming_crosses_the_year_end() -> None:
    as_of = dt.date(2025, 12, 20)
    b, ids = _lead_children(as_of, 20)  # last day 2026-01-09
    found = g.upcoming(b.data(), [get_measure("LSC")], as_of, 20)
    assert set(found["patient_id"]) == {ids["first"], ids["last"]}


def test_upcoming_skips_measures_without_an_anchor_and_sorts_by_due_date() -> None:
    as_of = dt.date(2026, 3, 10)
    b, ids = _lead_children(as_of, 30)
    measures = [get_measure(m) for m in ("WCV", "CMS2", "LSC")]
    found = g.upcoming(b.data(), measures, as_of, 30)
    assert set(found["measure"]) == {"LSC"}
    assert list(found["due_date"]) == sorted(found["due_date"])


def test_upcoming_rejects_negative_days() -> None:
    with pytest.raises(ValueError):
        g.window(dt.date(2026, 1, 1), -1)


def test_every_measure_has_a_gaps_method_returning_gap_columns() -> None:
    data = MeasureData()
    for m in all_measures():
        rows = pd.DataFrame(columns=["measure", "group_index", "patient_id", "episode_id", "initial-population",
                                     "denominator", "denominator-exclusion", "denominator-exception", "numerator"])
        assert list(m.gaps(data, P2025, rows).columns) == list(g.GAP_COLUMNS), m.id
