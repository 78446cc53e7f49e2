"""Small-cell suppression: cells with a numerator or denominator of 1-10 hidden, and never recoverable
from the total minus the published strata."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from carenet_desktop.metrics.suppression import COMPLEMENTARY, PRIMARY, suppress_small_cells


def _table(strata: dict[str, list[tuple[int, int]]], measure: str = "M", group: int = 0) -> pd.DataFrame:
    """A total row plus the strata of each stratification; (numerator, denominator) per stratum."""
    rows = []
    first = next(iter(strata.values()))
    rows.append({"measure": measure, "group_index": group, "stratifier": "", "stratum": "",
                 "numerator": sum(n for n, _ in first), "denominator": sum(d for _, d in first)})
    for name, cells in strata.items():
        assert sum(d for _, d in cells) == rows[0]["denominator"] and sum(n for n, _ in cells) == rows[0]["numerator"]
        for i, (num, den) in enumerate(cells):
            rows.append({"measure": measure, "group_index": group, "stratifier": name, "stratum": f"{name}{i}",
                         "numerator": num, "denominator": den})
    return pd.DataFrame(rows)


def test_small_numerator_or_denominator_is_hidden_with_its_rate() -> None:
    frame = pd.DataFrame({"measure": ["A", "B", "C", "D"], "group_index": 0, "stratifier": "",
                          "numerator": [5, 40, 0, 11], "denominator": [50, 40, 7, 11], "rate": [0.1, 1.0, 0.0, 1.0]})
    out = suppress_small_cells(frame)
    assert out["suppression"].tolist() == [PRIMARY, "", PRIMARY, ""]
    assert out["numerator"].isna().tolist() == [True, False, True, False]
    assert out["denominator"].isna().tolist() == [True, False, True, False]
    assert out["rate"].isna().tolist() == [True, False, True, False]
    assert out.loc[1, "numerator"] == 40 and out.loc[3, "denominator"] == 11


def test_every_published_count_and_its_complements_are_guarded() -> None:
    """Issue 22: exclusion/exception counts of 1-10 and complements (denominator minus numerator) were published."""
    frame = pd.DataFrame({"measure": list("ABCDEF"), "group_index": 0, "stratifier": "",
                          "initial_population": [200, 200, 200, 200, 205, 200],
                          "denominator": [200, 200, 200, 200, 200, 200],
                          "exclusions": [3, 0, 0, 0, 0, 40], "exceptions": [0, 7, 0, 0, 0, 0],
                          "numerator": [100, 100, 195, 100, 100, 150]})
    out = suppress_small_cells(frame)
    # A: 3 excluded; B: 7 exceptions; C: 5 missed; D: nothing small; E: 5 not in the denominator;
    # F: 160 in the rate's base, 150 met it: 10 missed
    assert out["suppression"].tolist() == [PRIMARY, PRIMARY, PRIMARY, "", PRIMARY, PRIMARY]
    assert out.loc[0, ["exclusions", "numerator", "denominator"]].isna().all()


def test_zero_is_not_a_small_cell() -> None:
    out = suppress_small_cells(pd.DataFrame({"measure": ["A"], "group_index": 0, "stratifier": "",
                                             "numerator": [0], "denominator": [0]}))
    assert out["suppression"].tolist() == [""]


def test_lone_suppressed_stratum_takes_the_next_smallest_with_it() -> None:
    out = suppress_small_cells(_table({"payer": [(3, 30), (20, 40), (30, 200)]}))
    by = dict(zip(out["stratum"], out["suppression"], strict=True))
    assert by == {"": "", "payer0": PRIMARY, "payer1": COMPLEMENTARY, "payer2": ""}
    total = out[out["stratifier"] == ""].iloc[0]
    assert total["numerator"] == 53  # the total stays published


def test_complementary_prefers_a_non_empty_stratum() -> None:
    out = suppress_small_cells(_table({"race": [(0, 0), (4, 40), (30, 50)]}))
    assert dict(zip(out["stratum"], out["suppression"], strict=True))["race2"] == COMPLEMENTARY
    assert dict(zip(out["stratum"], out["suppression"], strict=True))["race0"] == ""


def test_two_suppressed_strata_need_no_complement() -> None:
    out = suppress_small_cells(_table({"sex": [(2, 20), (5, 30), (40, 60)]}))
    assert out["suppression"].tolist() == ["", PRIMARY, PRIMARY, ""]


def test_each_stratification_and_each_table_on_its_own() -> None:
    frame = pd.concat([_table({"payer": [(3, 30), (20, 40), (30, 200)], "sex": [(25, 130), (28, 140)]}, "A"),
                       _table({"payer": [(20, 40), (30, 200)]}, "B")], ignore_index=True)
    out = suppress_small_cells(frame)
    hidden = out[out["suppression"] != ""]
    assert set(zip(hidden["measure"], hidden["stratum"], strict=True)) == {("A", "payer0"), ("A", "payer1")}


cells = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)).map(lambda t: (min(t), max(t))), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(cells, min_size=1, max_size=3))
def test_properties(stratifications: list[list[tuple[int, int]]]) -> None:
    # every stratification must cover the same total: rescale all to the first one's totals by adding a cell
    first = stratifications[0]
    num, den = sum(n for n, _ in first), sum(d for _, d in first)
    strata: dict[str, list[tuple[int, int]]] = {"s0": first}
    for i, other in enumerate(stratifications[1:], start=1):
        rest_n, rest_d = num - sum(n for n, _ in other), den - sum(d for _, d in other)
        if rest_n < 0 or rest_d < rest_n:
            continue
        strata[f"s{i}"] = [*other, (rest_n, rest_d)]
    frame = _table(strata)
    out = suppress_small_cells(frame)
    published = out[out["suppression"] == ""]
    # 1. nothing published is a small cell (nor those who miss), and published counts are the true ones
    assert not published["numerator"].between(1, 10).any() and not published["denominator"].between(1, 10).any()
    assert not (published["denominator"] - published["numerator"]).between(1, 10).any()
    merged = published.merge(frame, on=["stratifier", "stratum"], suffixes=("", "_true"))
    assert (merged["numerator"] == merged["numerator_true"]).all()
    assert (merged["denominator"] == merged["denominator_true"]).all()
    # 2. every cell that was small is hidden
    small = (frame["numerator"].between(1, 10) | frame["denominator"].between(1, 10)
             | (frame["denominator"] - frame["numerator"]).between(1, 10))
    assert (out.loc[small, "suppression"] != "").all()
    # 3. no stratification hides exactly one cell (else total minus the others gives it away), unless
    #    that cell is the whole stratification and the total is hidden with it
    total_hidden = bool((out.loc[out["stratifier"] == "", "suppression"] != "").all())
    for _, part in out[out["stratifier"] != ""].groupby("stratifier"):
        hidden = int((part["suppression"] != "").sum())
        assert hidden != 1 or (len(part) == 1 and total_hidden)
