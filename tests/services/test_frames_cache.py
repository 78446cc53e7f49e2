"""The frames snapshot gives exactly the frames the store gives, and is refreshed after any change."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from carenet_desktop.models import Immunization
from carenet_desktop.services.frames_cache import load_measure_data_cached
from carenet_desktop.services.measure_data import load_measure_data


def _assert_same(a, b):
    for name, frame in a.frames().items():
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), getattr(b, name).reset_index(drop=True),
                                      check_dtype=True, obj=name)


def test_snapshot_equals_the_store_and_follows_changes(demo_ctx, tmp_path):
    db = demo_ctx.db
    first, cached = load_measure_data_cached(db, tmp_path)
    assert not cached
    second, cached = load_measure_data_cached(db, tmp_path)
    assert cached
    _assert_same(second, load_measure_data(db))
    assert len(second.valuesets) == len(first.valuesets) > 0
    with db.session() as s:
        s.delete(s.scalars(select(Immunization).limit(1)).one())
    third, cached = load_measure_data_cached(db, tmp_path)
    assert not cached and len(third.immunizations) == len(second.immunizations) - 1


def test_snapshot_of_the_published_cases_round_trips(oracle, tmp_path):
    from carenet_desktop.services import frames_cache

    data, _ = oracle
    path = tmp_path / "o.npz"
    frames_cache._write(data, path)
    _assert_same(data, frames_cache._read(path))
