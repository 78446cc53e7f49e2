"""The practice summary counted in one table (``results_codec.practice_summary``) and the arrays a results file
saves (``encode_entry``) at their edges: no practice, practices and groups with gaps, populations missing or
masked over a True, an empty period. Each gives exactly what the general pandas path gives."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from carenet_desktop.metrics.aggregate import summarize
from carenet_desktop.metrics.definition import POPULATIONS
from carenet_desktop.metrics.engine import ROW_COLUMNS
from carenet_desktop.metrics.period import Period
from carenet_desktop.services.results import CachedResults
from carenet_desktop.services.results_codec import (
    _conform,
    decode_head,
    encode_entry,
    measure_runs,
    practice_summary,
)


def _rows(practice: list[object], group: list[int] | None = None, measures: list[str] | None = None,
          flags: dict[str, list[object]] | None = None) -> pd.DataFrame:
    n = len(practice)
    rng = np.random.default_rng(n)
    rows = pd.DataFrame({
        "measure": pd.array(measures or ["CMS2"] * n, dtype="str"),
        "group_index": group if group is not None else [0] * n,
        "patient_id": np.arange(1, n + 1),
        "episode_id": pd.Series([pd.NA] * n, dtype=object),
    })
    for pop in POPULATIONS:
        rows[pop] = pd.array((flags or {}).get(pop, list(rng.random(n) < 0.5)), dtype="boolean")
    rows["practice_id"] = pd.array(practice, dtype="Int64")
    rows["provider_id"] = pd.array([7] * n, dtype="Int64")
    return _conform(rows[list(ROW_COLUMNS)])


def _same_as_pandas(rows: pd.DataFrame) -> None:
    assert measure_runs(rows["measure"]) is not None  # the fast path is the one tested
    pd.testing.assert_frame_equal(practice_summary(rows), summarize(rows, by=["practice_id"]), check_exact=True)


def test_rows_of_no_practice_at_all():
    _same_as_pandas(_rows([None] * 6, measures=["A"] * 3 + ["B"] * 3))


def test_rows_with_and_without_a_practice():
    _same_as_pandas(_rows([3, None, 3, 1, None, 1], measures=["B"] * 4 + ["A"] * 2))


def test_practices_and_groups_with_gaps():
    """Practices without patients between those with some (ids 2..899 have none), groups from 1 not 0."""
    _same_as_pandas(_rows([900, 1, 900, 5, 1, 5, 900], group=[1, 3, 3, 1, 1, 3, 3]))


def test_a_negative_practice_id_is_not_taken_for_a_missing_one():
    _same_as_pandas(_rows([-1, None, -1, 2], group=[0, 0, 1, 1]))


def test_a_population_masked_over_true_is_not_counted():
    """A missing flag counts as not in the population, whatever value lies under its mask."""
    rows = _rows([1, 1, 2, 2])
    for pop in POPULATIONS:
        rows[pop] = pd.arrays.BooleanArray(np.array([True, True, True, False]), np.array([True, False, True, True]))
    summary = practice_summary(rows)
    pd.testing.assert_frame_equal(summary, summarize(rows, by=["practice_id"]), check_exact=True)
    assert summary["denominator"].tolist() == [1, 0]
    _, body = encode_entry(CachedResults(Period.year(2025), (), 1, rows))
    assert body["numerator"].tolist() == [-1, 1, -1, -1]


def test_a_measure_without_some_populations():
    n = 6
    none: list[object] = [None] * n
    rows = _rows([1, 2] * 3, measures=["A"] * 3 + ["B"] * 3,
                 flags={"denominator-exception": none, "denominator-exclusion": [True] + [None] * (n - 1)})
    _same_as_pandas(rows)


def test_an_empty_period_saves_and_reads_back():
    rows = _rows([])
    pd.testing.assert_frame_equal(practice_summary(rows), summarize(rows, by=["practice_id"]), check_exact=True)
    head, body = encode_entry(CachedResults(Period.year(2025), (), 1, rows))
    assert all(len(array) == 0 for array in body.values())
    assert "meta" in head


def test_the_saved_summary_reads_back_as_computed():
    rows = _rows([4, 9, 4, 9, 4, 9], group=[0, 1, 0, 1, 0, 1], measures=["B"] * 2 + ["A"] * 4)
    entry = CachedResults(Period.year(2025), (), 1, rows)
    head, _ = encode_entry(entry)
    buffer = io.BytesIO()
    np.savez(buffer, **head)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as z:
        _, _, summary = decode_head(z)
    pd.testing.assert_frame_equal(summary, summarize(rows, by=["practice_id"]), check_exact=True)


def test_saved_columns_without_missing_values_are_the_values_themselves():
    """No NA: the column saved as it is (no copy); with NA: -1 there, the rows left as they were."""
    rows = _rows([1, 2, None, 4])
    practice_before = rows["practice_id"].copy()
    _, body = encode_entry(CachedResults(Period.year(2025), (), 1, rows))
    assert body["patient_id"].tolist() == [1, 2, 3, 4] and body["patient_id"].dtype == np.int64
    assert body["practice_id"].tolist() == [1, 2, -1, 4]
    assert body["episode_id"].tolist() == [-1] * 4
    pd.testing.assert_series_equal(rows["practice_id"], practice_before)
