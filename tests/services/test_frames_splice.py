"""The frames patch after a write builds the new frame in one copy (``frames_cache._spliced``): the same
frame, row for row and dtype for dtype, as dropping the changed patients' rows, appending theirs read again
and sorting stably (the general way, which held three copies of a frame of millions of rows at once)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.services.frames_cache import _MOST_PIECES, _spliced


def _general(frame: pd.DataFrame, mine: np.ndarray, new: pd.DataFrame, order: str | None) -> pd.DataFrame:
    kept = frame[~mine]
    merged = pd.concat([kept, new], ignore_index=True) if len(new) else kept.reset_index(drop=True)
    return merged.sort_values(order, kind="stable", ignore_index=True) if order is not None else merged


def _frame(rng: np.random.Generator, n: int, patients: int) -> pd.DataFrame:
    event = np.sort(rng.integers(0, 3 * n + 1, n))  # repeated keys too: equal keys keep kept rows first
    return pd.DataFrame({
        "event_id": event.astype("int64"),
        "patient_id": rng.integers(0, patients, n).astype("int64"),
        "code": pd.array(rng.choice(["a", "b", None], n), dtype="str"),
        "value": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
        "when": pd.to_datetime(rng.integers(0, 10**9, n), unit="s"),
    })


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("order", ["event_id", None])
def test_spliced_equals_drop_append_and_stable_sort(seed: int, order: str | None) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    frame = _frame(rng, n, patients=12)
    changed = set(rng.choice(12, int(rng.integers(0, 4)), replace=False).tolist())
    mine = frame["patient_id"].isin(changed).to_numpy()
    new = _frame(rng, int(rng.integers(0, 8)), patients=12)
    new = new[new["patient_id"].isin(changed)].sample(frac=1.0, random_state=seed)  # in no order
    got = _spliced(frame, mine, new, order)
    assert got is not None
    pd.testing.assert_frame_equal(got, _general(frame, mine, new, order))


def test_a_frame_not_in_order_or_too_scattered_is_left_to_the_general_way() -> None:
    rng = np.random.default_rng(1)
    frame = _frame(rng, 40, patients=5)
    unsorted = frame.iloc[::-1].reset_index(drop=True)
    mine = unsorted["patient_id"].eq(0).to_numpy()
    assert _spliced(unsorted, mine, unsorted[mine], "event_id") is None
    many = pd.DataFrame({"event_id": np.arange(4 * _MOST_PIECES, dtype="int64"),
                         "patient_id": np.arange(4 * _MOST_PIECES, dtype="int64") % 2})
    every_other = many["patient_id"].eq(1).to_numpy()
    assert _spliced(many, every_other, many[every_other], "event_id") is None
