"""A frames snapshot written from frames in hand stores the text codes their memo holds already: only the
frames a patch replaced are hashed again (the window's update after a write, a start that patched an older
snapshot), and what is written still reads back equal to a from-scratch read of the store."""

from __future__ import annotations

from pathlib import Path

from carenet_desktop.models.changes import store_state
from carenet_desktop.services import frames_cache, snapshot_keeper
from tests.services.test_snapshot_keeper import _assert_from_scratch, _start_warm, _write


def _spy_hashed(monkeypatch) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(frame, column) of each text column a snapshot write hashes itself (no codes handed to it)."""
    hashed: list[tuple[str, str]] = []
    encode = frames_cache._encode

    def spy(prefix, series, arrays, coded=None):  # type: ignore[no-untyped-def]
        if str(series.dtype) == "str" and coded is None:
            hashed.append(tuple(prefix.split("/", 1)))  # type: ignore[arg-type]
        return encode(prefix, series, arrays, coded)

    monkeypatch.setattr(frames_cache, "_encode", spy)
    return hashed


def _text_columns(data) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(name, column) for name, frame in data.frames().items() for column in frame.columns
            if str(frame[column].dtype) == "str"}


def test_held_codes_are_those_of_the_very_frames_held(demo_ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(demo_ctx.db, folder)
    frames_cache.wait_for_saves()
    data, served = frames_cache.load_measure_data_cached(demo_ctx.db, folder)  # read: the memo seeded
    assert served
    codes = frames_cache.held_codes(data)
    assert set(codes) == _text_columns(data) and codes
    data.immunizations = data.immunizations.copy()  # another frame object: its codes are not taken
    codes = frames_cache.held_codes(data)
    assert not {k for k in codes if k[0] == "immunizations"}
    assert set(codes) == {k for k in _text_columns(data) if k[0] != "immunizations"}


def test_the_update_of_held_frames_hashes_only_the_frames_the_write_replaced(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    db = demo_ctx.db
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(db, folder)
    frames_cache.wait_for_saves()
    held, _ = frames_cache.load_measure_data_cached(db, folder)  # as the care-gap page holds them
    with db.session() as s:
        history, version = store_state(s)
    snapshot_keeper.offer(folder, history, version, held)
    _write(demo_ctx, "entry", tmp_path)  # one immunization
    hashed = _spy_hashed(monkeypatch)
    assert snapshot_keeper.bring_current(db, folder) == "patched held"
    assert hashed  # the immunizations frame was replaced: its text columns are hashed again ...
    assert {name for name, _ in hashed} <= {"immunizations"}, hashed  # ... and no other frame's
    assert len(hashed) < len(_text_columns(held))
    monkeypatch.undo()
    fresh, data, served = _start_warm(db.path, None, folder, monkeypatch)
    assert served
    _assert_from_scratch(fresh, data)
    fresh.dispose()


def test_a_start_that_patched_an_older_snapshot_writes_it_with_the_codes_it_read(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    db = demo_ctx.db
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(db, folder)
    frames_cache.wait_for_saves()
    _write(demo_ctx, "entry", tmp_path)
    hashed = _spy_hashed(monkeypatch)
    data, served = frames_cache.load_measure_data_cached(db, folder)  # the old snapshot patched, written anew
    frames_cache.wait_for_saves()
    assert served
    assert {name for name, _ in hashed} <= {"immunizations"}, hashed
    assert len(hashed) < len(_text_columns(data))
    monkeypatch.undo()
    fresh, again, served = _start_warm(db.path, None, folder, monkeypatch)
    assert served
    _assert_from_scratch(fresh, again)
    fresh.dispose()


def test_the_update_thread_hands_back_what_it_freed(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The background update of the snapshot (patched frames, encoded arrays) frees what it made and hands
    it back to the system before its thread ends (services/heap.py)."""
    import threading

    from carenet_desktop.services import heap

    db = demo_ctx.db
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(db, folder)
    frames_cache.wait_for_saves()
    _write(demo_ctx, "entry", tmp_path)
    released: list[int] = []
    monkeypatch.setattr(heap, "release", lambda: released.append(threading.get_ident()) or True)
    snapshot_keeper.keep_current(db, folder)
    snapshot_keeper.finish(folder=folder)
    assert released and threading.get_ident() not in released
