"""Sealed cache files: what goes in comes out with the key, and anything else does not open; the key is the
encrypted store's own (random, kept inside it), a plain store has none, and another store's key never opens
these files."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from carenet_desktop.models import write_guard
from carenet_desktop.models.cache_secret import KEY_BYTES
from carenet_desktop.models.database import open_database
from carenet_desktop.models.encryption import connect_raw, encrypt_copy
from carenet_desktop.services import cache_files
from carenet_desktop.services.cache_files import MAGIC, cache_key, open_npz, save_npz

PASSPHRASE = "a long passphrase 42"
KEY = os.urandom(32)


@pytest.fixture
def small_segments(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cache_files, "SEGMENT", 1024)  # many segments from a small archive


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"ids": np.arange(2000, dtype=np.int64), "values": rng.random(500),
            "meta": np.frombuffer(b'{"mrn": "001-0137205"}', dtype=np.uint8)}


def _segments(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of every sealed segment, size field included."""
    out, at = [], len(MAGIC) + 8
    while at < len(raw):
        (size,) = struct.unpack(">I", raw[at:at + 4])
        out.append((at, at + 4 + size))
        at += 4 + size
    return out


def _opens(path: Path, key: bytes | None) -> bool:
    try:
        with open_npz(path, key) as z:
            z["ids"]
    except ValueError:
        return False
    return True


def test_round_trip_in_many_segments(tmp_path: Path, small_segments) -> None:  # type: ignore[no-untyped-def]
    key = KEY
    path = tmp_path / "r.npz"
    save_npz(path, _arrays(), key)
    raw = path.read_bytes()
    assert raw.startswith(MAGIC) and len(_segments(raw)) > 10
    assert b"001-0137205" not in raw and b"PK" not in raw[len(MAGIC) + 8:len(MAGIC) + 40]
    with open_npz(path, key) as z:
        for name, values in _arrays().items():
            np.testing.assert_array_equal(z[name], values)
    assert {p.name for p in tmp_path.iterdir()} == {"r.npz"}  # no temporary file left behind


def test_wrong_key_tampering_and_truncation_do_not_open(tmp_path: Path, small_segments) -> None:  # type: ignore[no-untyped-def]
    key = KEY
    path = tmp_path / "r.npz"
    save_npz(path, _arrays(), key)
    raw = path.read_bytes()
    segments = _segments(raw)
    assert _opens(path, key)
    assert not _opens(path, os.urandom(32))
    assert not _opens(path, None)  # a sealed file where a plain one belongs
    cases = {
        "flipped byte": raw[:200] + bytes([raw[200] ^ 1]) + raw[201:],
        "cut after a middle segment": raw[:segments[3][1]],
        "cut inside a segment": raw[:segments[3][1] - 5],
        "middle segment removed": raw[:segments[2][0]] + raw[segments[3][0]:],
        "segments swapped": raw[:segments[2][0]] + raw[segments[3][0]:segments[3][1]]
        + raw[segments[2][0]:segments[2][1]] + raw[segments[3][1]:],
        "data after the last segment": raw + b"x",
        "header only": raw[:len(MAGIC) + 8],
        "other magic": b"X" + raw[1:],
    }
    for name, content in cases.items():
        path.write_bytes(content)
        assert not _opens(path, key), name


def test_a_changed_segment_fails_when_its_member_is_read(tmp_path: Path, small_segments) -> None:  # type: ignore[no-untyped-def]
    """Segments are decrypted as they are read (a start reads only a results file's head): one changed in
    the middle of the file lets the archive open and the members before it read, and fails the member
    that lies in it - never wrong values."""
    path = tmp_path / "r.npz"
    save_npz(path, _arrays(), KEY)
    raw = path.read_bytes()
    segments = _segments(raw)
    with open_npz(path, KEY) as z:
        values_at = z.zip.getinfo("values.npy").header_offset  # where the second member begins (plain offset)
    plain = 1024  # (small_segments) plain bytes per segment
    hit = values_at // plain + 2  # a segment inside the "values" member, after the "ids" member's
    assert hit < len(segments) - 1
    start, stop = segments[hit]
    path.write_bytes(raw[:stop - 20] + bytes([raw[stop - 20] ^ 1]) + raw[stop - 19:])
    with open_npz(path, KEY) as z:
        np.testing.assert_array_equal(z["ids"], _arrays()["ids"])
        for _ in range(2):  # the failed segment is not taken for read: a second read fails as well
            with pytest.raises(ValueError, match="authenticate"):
                z["values"]


def test_a_plain_file_does_not_open_as_sealed(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    save_npz(path, _arrays(), None)
    assert path.read_bytes().startswith(b"PK") and _opens(path, None)
    assert not _opens(path, KEY)  # an encrypted store never reads plain rows
    assert not list(tmp_path.glob("*.tmp.npz"))


def _stored_secret(path: Path, passphrase: str = PASSPHRASE) -> list[bytes]:
    con = connect_raw(path, key=passphrase, read_only=True)
    try:
        return [bytes(r[0]) for r in con.execute("SELECT key FROM cache_secret")]
    finally:
        con.close()


def test_an_encrypted_store_keeps_its_own_random_cache_key_inside(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    db = open_database(path, key=PASSPHRASE)
    try:
        key = cache_key(db)
        assert key is not None and len(key) == KEY_BYTES
        assert cache_key(db) == key
    finally:
        db.dispose()
    assert _stored_secret(path) == [key]  # inside the store (SQLCipher-encrypted with it)...
    assert key not in path.read_bytes()  # ...so never readable from the file without the passphrase
    again = open_database(path, key=PASSPHRASE)  # a new start (another engine: read from the store again)
    try:
        assert cache_key(again) == key
    finally:
        again.dispose()
    other = open_database(tmp_path / "b.db", key=PASSPHRASE)  # the same passphrase: another key all the same
    try:
        assert cache_key(other) not in (None, key)
    finally:
        other.dispose()


def test_a_plain_store_has_no_cache_key(tmp_path: Path) -> None:
    db = open_database(tmp_path / "plain.db")
    try:
        assert cache_key(db) is None
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM cache_secret").scalar_one() == 0
    finally:
        db.dispose()


def test_a_reader_thread_may_make_the_key(tmp_path: Path) -> None:
    """The window reads results on reader threads (``write_guard``): its first read makes the key."""
    db = open_database(tmp_path / "a.db", key=PASSPHRASE)
    got: list[bytes | None] = []

    def read() -> None:
        with write_guard.reading():
            got.append(cache_key(db))

    try:
        thread = threading.Thread(target=read)
        thread.start()
        thread.join(30)
        assert got and got[0] is not None and len(got[0]) == KEY_BYTES
    finally:
        db.dispose()


def test_a_new_store_at_the_same_path_never_opens_the_old_ones_caches(tmp_path: Path) -> None:
    """A store replaced by another under the same name and passphrase (made again, encrypted again):
    its cache files, left in the same folder, do not open - they are computed again."""
    path = tmp_path / "store.db"
    db = open_database(path, key=PASSPHRASE)
    sealed = tmp_path / "cache.npz"
    try:
        save_npz(sealed, _arrays(), cache_key(db))
        assert _opens(sealed, cache_key(db))
    finally:
        db.dispose()
    for leftover in tmp_path.glob("store.db*"):
        leftover.unlink()
    db = open_database(path, key=PASSPHRASE)
    try:
        assert not _opens(sealed, cache_key(db))
    finally:
        db.dispose()


def test_an_encrypted_copy_makes_a_key_of_its_own(tmp_path: Path) -> None:
    """``carenet encrypt`` carries no key over (not even one planted in the plain store, where it would lie
    in plain text): each copy makes its own when first opened."""
    plain = tmp_path / "plain.db"
    open_database(plain).dispose()
    con = connect_raw(plain)
    con.execute("INSERT INTO cache_secret (id, key) VALUES (1, ?)", (b"k" * KEY_BYTES,))
    con.commit()
    con.close()
    keys = []
    for name in ("one.db", "two.db"):
        encrypt_copy(plain, tmp_path / name, PASSPHRASE)
        assert _stored_secret(tmp_path / name) == []
        db = open_database(tmp_path / name, key=PASSPHRASE)
        try:
            keys.append(cache_key(db))
        finally:
            db.dispose()
    assert None not in keys and b"k" * KEY_BYTES not in keys and keys[0] != keys[1]


def test_an_encrypted_stores_damaged_or_foreign_caches_are_ignored_and_computed_again(demo_ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Through the frames snapshot and the results cache themselves: a flipped byte, a cut file, or files
    sealed under another key (the store's key replaced) are not served; the store is read again and the
    same results come back."""
    import pandas as pd


    with demo_ctx.db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    target = tmp_path / "encrypted.db"
    encrypt_copy(demo_ctx.db.path, target, PASSPHRASE)
    frames, results_dir = tmp_path / "frames", tmp_path / "results"

    def fresh_start() -> tuple[bool, bool, pd.DataFrame]:
        return _fresh_start(target, PASSPHRASE, frames, results_dir)

    served, from_disk, expected = fresh_start()
    assert not served and not from_disk  # the first start computes and saves
    served, from_disk, rows = fresh_start()
    assert served and from_disk  # the sealed files open on the next start
    pd.testing.assert_frame_equal(rows, expected)

    def damage(how: str) -> None:
        for path in [*frames.rglob("*.npz"), *results_dir.rglob("*.npz")]:
            raw = path.read_bytes()
            path.write_bytes(raw[:len(raw) // 2] if how == "cut" else raw[:-100] + bytes([raw[-100] ^ 1]) + raw[-99:])

    for how in ("flip", "cut"):
        damage(how)
        served, from_disk, rows = fresh_start()
        assert not served and not from_disk, how
        pd.testing.assert_frame_equal(rows, expected)
    con = connect_raw(target, key=PASSPHRASE)  # the store's key replaced: every file sealed before is foreign
    con.execute("UPDATE cache_secret SET key = ?", (os.urandom(KEY_BYTES),))
    con.commit()
    con.close()
    served, from_disk, rows = fresh_start()
    assert not served and not from_disk
    pd.testing.assert_frame_equal(rows, expected)
    served, from_disk, _ = fresh_start()
    assert served and from_disk  # and written again under the new key


def test_a_plain_stores_damaged_caches_are_ignored_and_written_again(demo_ctx, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """A plain archive that is cut or altered raises ``zipfile.BadZipFile`` (not an ``OSError``): the frames
    snapshot and the results file are still ignored, the same results computed, and the files written again
    (a damaged snapshot that stayed would make every start fail, or read the whole store)."""
    import shutil

    import pandas as pd


    with demo_ctx.db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    target = tmp_path / "plain.db"
    shutil.copyfile(demo_ctx.db.path, target)
    frames, results_dir = tmp_path / "frames", tmp_path / "results"

    def fresh_start() -> tuple[bool, bool, pd.DataFrame]:
        return _fresh_start(target, None, frames, results_dir)

    served, from_disk, expected = fresh_start()
    assert not served and not from_disk
    for how in ("flip", "cut"):
        for path in [*frames.rglob("*.npz"), *results_dir.rglob("*.npz")]:
            raw = path.read_bytes()
            path.write_bytes(raw[:len(raw) // 2] if how == "cut" else raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:])
        caplog.clear()
        served, from_disk, rows = fresh_start()
        assert not served, how
        # a cut archive does not open; an altered one may open and fail when its rows are read
        assert not from_disk or how == "flip", how
        assert "ignored" in caplog.text, how
        pd.testing.assert_frame_equal(rows, expected)
        fresh_start()  # the damaged files are gone: computed and written again (the snapshot already was)
        caplog.clear()
        served, from_disk, rows = fresh_start()
        assert served and from_disk, how  # written again, whole
        assert "ignored" not in caplog.text, how
        pd.testing.assert_frame_equal(rows, expected)


@pytest.mark.parametrize("sealed", [False, True])
def test_threads_saving_one_file_at_once_leave_a_whole_file(tmp_path: Path, sealed: bool) -> None:
    """Two threads of one process saving the same cache file (a background snapshot save beside another load
    of the same version) each write a file of their own: the one moved into place is whole, never a mix."""
    key = KEY if sealed else None
    rng = np.random.default_rng(7)
    writes = [{"ids": np.arange(400_000, dtype=np.int64) * (i + 1), "values": rng.random(400_000)} for i in range(2)]
    path = tmp_path / "v1-abc.npz"
    for _ in range(8):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def save(arrays: dict[str, np.ndarray], barrier: threading.Barrier = barrier,
                 errors: list[BaseException] = errors) -> None:
            barrier.wait()
            try:
                save_npz(path, arrays, key)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=save, args=(w,)) for w in writes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        with open_npz(path, key) as z:
            ids = z["ids"]
            assert any(np.array_equal(ids, w["ids"]) and np.array_equal(z["values"], w["values"]) for w in writes)
        assert not list(tmp_path.glob("*.tmp.npz"))


def _fresh_start(target: Path, passphrase: str | None, frames: Path, results_dir: Path) -> tuple[bool, bool, Any]:
    """(snapshot served, results read from disk, the rows of 2025) as a new start of the window sees them."""
    from carenet_desktop.metrics.period import Period
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.frames_cache import load_measure_data_cached
    from carenet_desktop.services.results import ResultsCache

    db = open_database(target, key=passphrase)
    try:
        data, served = load_measure_data_cached(db, frames)
        assert len(data.patients) > 0
        cache = ResultsCache(ServiceContext(db), cache_dir=results_dir, frames_folder=frames, in_process=True)
        ids = tuple(m.id for m in cache.ctx.catalogue.select(None))
        period = Period.year(2025)
        from_disk = cache._read_disk(period, ids) is not None
        rows = cache.results(period).rows
        cache.flush()
        return served, from_disk, rows.sort_values(["measure", "group_index", "patient_id"]).reset_index(drop=True)
    finally:
        db.dispose()


def test_a_sealed_read_decrypts_only_the_segments_it_reads_and_each_once(tmp_path: Path, small_segments) -> None:  # type: ignore[no-untyped-def]
    """A read of one small member (a results file's head) decrypts the segments it lies in and the directory's,
    not the large members'; a read of every member decrypts each segment once, never again."""
    path = tmp_path / "r.npz"
    arrays = {"meta": np.frombuffer(b'{"v": 1}', dtype=np.uint8), "rows": np.arange(20_000, dtype=np.int64),
              "tail": np.arange(3000, dtype=np.int32)}
    save_npz(path, arrays, KEY)
    segments = len(_segments(path.read_bytes()))
    assert segments > 150
    with open_npz(path, KEY) as z:
        np.testing.assert_array_equal(z["meta"], arrays["meta"])
        assert z.decrypted <= 4  # the first segment (meta), the directory's at the end
    with open_npz(path, KEY, mapped=True) as z:
        for _ in range(2):
            for name, values in arrays.items():
                np.testing.assert_array_equal(z[name], values)
        assert z.decrypted == segments


def test_a_sealed_archives_arrays_are_views_when_mapped_else_copies(tmp_path: Path, small_segments) -> None:  # type: ignore[no-untyped-def]
    """Mapped (the frames snapshot): the arrays are views of the decrypted archive, no copy; else each array
    has memory of its own, as ``np.load`` gives (a results reader keeps a small array, not the archive)."""
    path = tmp_path / "r.npz"
    save_npz(path, _arrays(), KEY)
    with open_npz(path, KEY, mapped=True) as z:
        ids, values = z["ids"], z["values"]
        assert not ids.flags.owndata and ids.base is not None and np.shares_memory(ids.base, values.base)
    np.testing.assert_array_equal(ids, _arrays()["ids"])  # still there after the file is closed
    with open_npz(path, KEY) as z:
        ids = z["ids"]
        assert ids.flags.owndata
    np.testing.assert_array_equal(ids, _arrays()["ids"])
