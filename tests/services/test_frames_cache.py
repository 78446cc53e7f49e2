"""The frames snapshot gives exactly the frames the store gives, and is refreshed after any change."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from carenet_desktop.models import Immunization
from carenet_desktop.services.frames_cache import load_measure_data_cached
from carenet_desktop.services.measure_data import load_measure_data


def _assert_same(a, b):
    """Equal frames, dtypes included (encounter diagnoses compared in a fixed order: they have no id)."""
    for name, frame in a.frames().items():
        other = getattr(b, name)
        if name == "encounter_diagnoses":
            keys = ["encounter_id", "condition_id", "key", "rank"]
            frame, other = (f.sort_values(keys, kind="stable", na_position="first") for f in (frame, other))
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), other.reset_index(drop=True),
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
    assert len(third.immunizations) == len(second.immunizations) - 1
    _assert_same(third, load_measure_data(db))


def test_snapshot_of_the_published_cases_round_trips(oracle, tmp_path):
    from carenet_desktop.services import frames_cache

    data, _ = oracle
    path = tmp_path / "o.npz"
    frames_cache._write(data, path)
    _assert_same(data, frames_cache._read(path))


def test_snapshot_is_patched_after_a_one_patient_edit_and_a_practice_bulk_change(demo_ctx, tmp_path):
    from carenet_desktop.models import Patient
    from carenet_desktop.models.changes import mark_practice_changed

    db = demo_ctx.db
    load_measure_data_cached(db, tmp_path)
    with db.session() as s:
        imm = s.scalars(select(Immunization).limit(1)).one()
        s.delete(imm)
    patched, served = load_measure_data_cached(db, tmp_path)
    assert served  # brought up to date from the journal, not re-read whole
    _assert_same(patched, load_measure_data(db))
    with db.session() as s:
        practice_id, patient_id = s.execute(select(Patient.practice_id, Patient.id).limit(1)).one()
        s.execute(Patient.__table__.update().where(Patient.id == patient_id).values(payer="chip"))
        mark_practice_changed(s, [practice_id])
    patched, served = load_measure_data_cached(db, tmp_path)
    assert served
    _assert_same(patched, load_measure_data(db))


def test_a_change_to_everything_reads_the_store_again(demo_ctx, tmp_path):
    from carenet_desktop.models.changes import mark_practice_changed

    db = demo_ctx.db
    load_measure_data_cached(db, tmp_path)
    with db.session() as s:
        mark_practice_changed(s, [None])  # e.g. value sets reloaded
    _, served = load_measure_data_cached(db, tmp_path)
    assert not served


def test_codes_handed_to_the_engine_give_the_same_results(demo_ctx, tmp_path, monkeypatch):
    """A cold load (the reader's codes) and a warm one (the snapshot's) hand the text columns' codes to the
    engine's memo; every measure then gives the rows it gives over frames loaded without them."""
    from carenet_desktop.metrics import primitives
    from carenet_desktop.metrics.engine import evaluate_measures
    from carenet_desktop.metrics.memo import ANY_PERIOD
    from carenet_desktop.metrics.period import Period
    from carenet_desktop.services.catalogue_source import load_catalogue

    monkeypatch.setattr(primitives, "_FACTORISE_MIN_ROWS", 0)  # the small demo's frames use them too
    db = demo_ctx.db
    cold, _ = load_measure_data_cached(db, tmp_path)
    warm, served = load_measure_data_cached(db, tmp_path)
    plain = load_measure_data(db)
    assert served and len(cold.memo) > 0 and len(warm.memo) > 0 and len(plain.memo) == 0
    seeded = warm.memo.get((warm.observations,), ("factorised", "status"), lambda: None, period=ANY_PERIOD)
    assert seeded is not None and seeded[0].dtype == "int8"  # the snapshot's own narrow codes
    measures = load_catalogue().all()
    expected = evaluate_measures(plain, Period.parse("2025"), measures).rows
    assert len(expected) > 0
    for data in (cold, warm):
        got = evaluate_measures(data, Period.parse("2025"), measures).rows
        pd.testing.assert_frame_equal(got, expected, check_dtype=True)


def test_a_read_of_the_whole_store_hands_its_freed_memory_back_before_the_evaluation(demo_ctx, tmp_path,
                                                                                      monkeypatch):
    """The reading threads' freed chunks stay in their arenas unless handed back (``heap.release``): ~220 MB
    of a cold evaluation's peak on the 250k demo. A snapshot read allocates no such chunks: no call."""
    from carenet_desktop.services import frames_cache, heap

    calls: list[str] = []
    real_load = frames_cache.load_measure_data_versioned

    def load(*args, **kwargs):
        calls.append("read")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(frames_cache, "load_measure_data_versioned", load)
    monkeypatch.setattr(heap, "release", lambda: calls.append("release") or True)
    load_measure_data_cached(demo_ctx.db, tmp_path)
    assert calls[:2] == ["read", "release"]
    frames_cache.wait_for_saves(tmp_path)
    calls.clear()
    _, served = load_measure_data_cached(demo_ctx.db, tmp_path)
    assert served and "read" not in calls
