"""The results file's fast paths (what a worker spends on each trend period besides the engine) give exactly
what the general pandas calls they stand in for give: the practice summary, the stored arrays, the dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.aggregate import summarize
from carenet_desktop.metrics.definition import POPULATIONS
from carenet_desktop.metrics.engine import ROW_COLUMNS
from carenet_desktop.metrics.period import Period
from carenet_desktop.services import results_codec, results_entry
from carenet_desktop.services.results import CachedResults, ResultsCache
from carenet_desktop.services.results_codec import (
    INT_COLUMNS,
    _as_int64,
    _conform,
    encode_entry,
    measure_codes,
    practice_summary,
    sorted_codes,
)

MEASURES = ["CMS117", "CMS155", "CMS146", "LSC"]


def _engine_rows(seed: int, n: int = 4000, *, practices_missing: float = 0.05, shuffled: bool = False) -> pd.DataFrame:
    """Rows as the engine gives them: runs of measures (not in name order), episode ids on some measures
    only (an object column of ints and NA), populations with NA where a measure has none."""
    rng = np.random.default_rng(seed)
    names = ["CMS2", "AMR", "CMS155", "W30", "CMS117", "DEV"][: rng.integers(1, 7)]
    sizes = rng.multinomial(n, np.ones(len(names)) / len(names))
    measure = np.repeat(np.array(names, dtype=object), sizes)
    episode = np.empty(n, dtype=object)
    episode[:] = pd.NA
    episodic = np.isin(measure, ["CMS2", "W30"])
    episode[episodic] = [int(v) for v in rng.integers(1, 10**6, episodic.sum())]
    practice = pd.array(rng.integers(1, 40, n), dtype="Int64")
    practice[rng.random(n) < practices_missing] = pd.NA
    rows = pd.DataFrame({
        "measure": pd.array(measure, dtype="str"),
        "group_index": rng.integers(0, 3, n),
        "patient_id": rng.integers(1, 10**5, n),
        "episode_id": episode,
    })
    for pop in POPULATIONS:
        flags = pd.array(rng.random(n) < 0.5, dtype="boolean")
        flags[rng.random(n) < 0.1] = pd.NA
        if pop == "denominator-exception":
            flags[np.isin(measure, ["AMR"])] = pd.NA  # a population a measure does not have
        rows[pop] = flags
    rows["practice_id"] = practice
    rows["provider_id"] = pd.array(rng.integers(1, 200, n), dtype="Int64")
    rows = rows[list(ROW_COLUMNS)]
    if shuffled:
        rows = rows.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return rows


def _old_conform(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.copy()
    out["measure"] = out["measure"].astype(object)
    for col in INT_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for pop in POPULATIONS:
        out[pop] = out[pop].astype("boolean")
    return out


def _old_body(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    measures = sorted(rows["measure"].astype(str).unique().tolist())
    body = {"measure": pd.Categorical(rows["measure"], categories=measures).codes.astype(np.int16)}
    for col in INT_COLUMNS:
        body[col] = pd.to_numeric(rows[col], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    for pop in POPULATIONS:
        body[pop] = rows[pop].astype("Int8").fillna(-1).to_numpy(dtype=np.int8)
    return body


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("shuffled", [False, True])
def test_the_fast_paths_give_what_pandas_gives(seed, shuffled):
    raw = _engine_rows(seed, practices_missing=0.0 if seed % 3 == 0 else 0.05, shuffled=shuffled)
    rows = _conform(raw)
    pd.testing.assert_frame_equal(rows, _old_conform(raw), check_exact=True)
    pd.testing.assert_frame_equal(practice_summary(rows), summarize(rows, by=["practice_id"]), check_exact=True)
    entry = CachedResults(Period.year(2025), (), 7, rows)
    head, body = encode_entry(entry)
    expected = _old_body(rows)
    assert body.keys() == expected.keys()
    for name, array in expected.items():
        assert body[name].dtype == array.dtype and np.array_equal(body[name], array), name
    slow = CachedResults(Period.year(2025), (), 7, rows, _summaries={("practice_id",): summarize(rows, by=["practice_id"])})
    old_head, _ = encode_entry(slow)
    assert head.keys() == old_head.keys() and ("summary.measure" in head) == (seed % 3 == 0)
    for name, array in old_head.items():
        assert head[name].dtype == array.dtype and np.array_equal(head[name], array, equal_nan=True), name


def test_the_practice_summary_of_rows_in_other_dtypes_or_none():
    rows = _conform(_engine_rows(1))
    for other in (rows.astype({"group_index": "int64"}), rows.astype({"measure": "str"}), rows.iloc[:0]):
        pd.testing.assert_frame_equal(practice_summary(other), summarize(other, by=["practice_id"]), check_exact=True)
    lost = rows.copy()
    lost.loc[3, "measure"] = None  # a row without its measure: no fast path
    assert measure_codes(lost["measure"]) is None
    pd.testing.assert_frame_equal(practice_summary(lost), summarize(lost, by=["practice_id"]), check_exact=True)


def test_measures_coded_run_by_run():
    codes, names = measure_codes(pd.Series(["b", "b", "a", "c", "c", "a"], dtype=object))
    assert names == ["a", "b", "c"] and codes.tolist() == [1, 1, 0, 2, 2, 0]
    scattered = pd.Series(["a", "b"] * 100, dtype=object)  # no runs: hashing is cheaper
    assert measure_codes(scattered) is None


@pytest.mark.parametrize("series", [
    *(pd.Series(values, dtype=object) for values in (
        [1, pd.NA, 3, None, np.nan], [pd.NA, None], [], [2**60 + 1, pd.NA], [2**60 + 1, 5], [1.5, 2], ["7", "x", pd.NA],
        [True, 1], [1, pd.NaT, 3], [pd.NA] * 4, [np.nan, 2], [None, "x"], [pd.NA, 2.5], [pd.NA, True])),
    pd.Series([3, 1, 2]), pd.Series(np.array([7, -2], dtype=np.int32)), pd.Series(np.array([1, 255], dtype=np.uint8)),
    pd.Series(np.array([2**63 + 5, 1], dtype=np.uint64)), pd.Series([1, None, 3], dtype="Int64"),
    pd.Series([], dtype="int64"), pd.Series([4, 5], index=[10, 20], name="x"),
])
def test_integer_columns_as_to_numeric_makes_them(series):
    """Object columns (with NA, floats, text) and integer or nullable columns alike."""
    try:
        expected = pd.to_numeric(series, errors="coerce").astype("Int64")
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            _as_int64(series)
        return
    pd.testing.assert_series_equal(_as_int64(series), expected, check_exact=True)


def test_conforming_leaves_the_engine_rows_as_they_were():
    raw = _engine_rows(3)
    before = raw.copy()
    rows = _conform(raw)
    rows.loc[0, "practice_id"] = 999_999  # (a refresh changing the conformed rows)
    rows.loc[1, "numerator"] = pd.NA
    pd.testing.assert_frame_equal(raw, before, check_exact=True)


@pytest.mark.parametrize("values", [
    [5, 3, 3, 9, -2, 5], [7], [], [0, 10**12, 3], [-(2**62), 2**62], list(range(1000, 0, -1)),
])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint64])
def test_sorted_codes_as_factorize_makes_them(values, dtype):
    if np.dtype(dtype).itemsize < 8 or dtype is np.uint64:
        values = [v for v in values if np.iinfo(dtype).min <= v <= np.iinfo(dtype).max]
    array = np.array(values, dtype=dtype)
    codes, uniques = sorted_codes(array)
    want_codes, want_uniques = pd.factorize(array, sort=True)
    assert codes.dtype == want_codes.dtype and np.array_equal(codes, want_codes)
    assert uniques.dtype == want_uniques.dtype and np.array_equal(uniques, want_uniques)


def test_the_demo_periods_rows_summary_and_file_as_before(demo_ctx, tmp_path):
    """On the demo's engine rows: the practice summary and the saved arrays equal the general path's."""
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c")
    entry = cache.results(Period.year(2025), MEASURES)
    rows = entry.rows
    assert measure_codes(rows["measure"]) is not None  # the engine's rows come in runs: the fast path is taken
    pd.testing.assert_frame_equal(entry.summary(["practice_id"]), summarize(rows, by=["practice_id"]), check_exact=True)
    _, body = encode_entry(entry)
    for name, array in _old_body(rows).items():
        assert np.array_equal(body[name], array), name


def test_the_summary_takes_the_fast_path(monkeypatch):
    """``CachedResults.summary`` of the practices counts with ``practice_summary`` (not ``summarize``)."""
    rows = _conform(_engine_rows(2))
    calls: list[str] = []
    for module in (results_codec, results_entry):
        monkeypatch.setattr(module, "summarize", lambda *a, **k: calls.append("slow") or summarize(*a, **k))
    CachedResults(Period.year(2025), (), 1, rows).summary(["practice_id"])
    assert calls == []
