"""A text chunk factorized from its bytes (``text_codes``) equals the split-and-factorize path exactly (codes,
their dtype, the distinct texts in order of first appearance), gives up where it must (a separator inside a
value, long values, two values sharing a key), and the SQLite reader runs it in its reading threads."""

from __future__ import annotations

import random
import threading

import numpy as np
import pandas as pd

from carenet_desktop.services import sqlite_frames, text_codes
from carenet_desktop.services.frame_columns import factorize_texts
from carenet_desktop.services.measure_data import load_measure_data

SEP, NULL = sqlite_frames._SEP, sqlite_frames._NULL


def _split_path(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return factorize_texts(SEP.join(values).split(SEP))


def _assert_as_split(values: list[str]) -> None:
    found = text_codes.code_texts(SEP.join(values), len(values), 0x1F)
    assert found is not None, values[:5]
    codes, texts = found
    expected_codes, expected_texts = _split_path(values)
    assert codes.dtype == expected_codes.dtype and texts.dtype == expected_texts.dtype == object
    np.testing.assert_array_equal(codes, expected_codes)
    assert texts.tolist() == expected_texts.tolist()
    assert all(type(t) is str for t in texts)


def test_codes_equal_the_split_path() -> None:
    # values that differ only in their length, past the first word, in a byte the mask must drop, or in
    # a non-ASCII character; the empty text; the NULL marker
    tricky = ["", "a", "a\x00", "\x00", "abcdefgh", "abcdefgh\x00", "abcdefghi", "abcdefgX", "abcdefgh" * 7 + "1234567",
              "abcdefgh" * 7 + "123456", "é", "é ü", "ü é", NULL, "final", "finalX", "x" * 15, "x" * 16, "x" * 17,
              "http://loinc.org", "http://loinc.org/"]
    _assert_as_split(tricky)
    _assert_as_split(list(reversed(tricky)) * 3)
    _assert_as_split(["final"])
    _assert_as_split([""])
    _assert_as_split(["", ""])
    rng = random.Random(26)
    alphabet = "ab\x00é|,;\t\n-"
    for _ in range(200):
        vocab = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 22))) for _ in range(rng.randrange(1, 40))]
        _assert_as_split([rng.choice(vocab) for _ in range(rng.randrange(1, 300))])


def test_gives_up_where_the_bytes_cannot_be_trusted() -> None:
    assert text_codes.code_texts(f"a{SEP}b", 1, 0x1F) is None  # a separator inside a value
    assert text_codes.code_texts(f"a{SEP}b{SEP}c", 2, 0x1F) is None
    assert text_codes.code_texts("a", 2, 0x1F) is None
    assert text_codes.code_texts("", 0, 0x1F) is None
    longest = "y" * text_codes.MAX_BYTES
    assert text_codes.code_texts(SEP.join([longest, "a"]), 2, 0x1F) is not None
    assert text_codes.code_texts(SEP.join([longest + "y", "a"]), 2, 0x1F) is None  # too long: split instead
    assert text_codes.code_texts(SEP.join(["é" * 32, "a"]), 2, 0x1F) is None  # 64 bytes in UTF-8


def test_values_sharing_a_key_are_not_coded_alike(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Keys are hashes: with a mix that gives every row the same key, the check of each row's bytes against
    its code's first row must refuse the codes (the caller then splits the text)."""
    monkeypatch.setattr(text_codes, "_GOLDEN", np.uint64(0))
    monkeypatch.setattr(text_codes, "_MIX", np.uint64(0))
    long_a, long_b = "completed", "cancelled"  # 8 bytes and more: hashed keys
    assert text_codes.code_texts(SEP.join([long_a, long_b, long_a]), 3, 0x1F) is None
    assert text_codes.code_texts(SEP.join([long_a, "x", long_b]), 3, 0x1F) is None
    assert text_codes.code_texts(SEP.join([long_a, long_a]), 2, 0x1F) is not None  # equal values: kept
    # up to 7 bytes the key is the value's bytes and length (no hash): the constants play no part
    _assert_as_split(["a", "b", "a", "", "abcdefg", "abcdef", "a\x00"])
    col = sqlite_frames.Col("code", 't."code"', "str")
    coded = sqlite_frames._parse_chunk(SEP.join([long_a, long_b, long_a]), col, 3)  # the caller's split path
    np.testing.assert_array_equal(coded.codes, [0, 1, 0])


def test_reading_threads_code_the_text_columns(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With a database file and several chunks, the text chunks are coded by the reading threads (not the
    caller's thread) and the frames are the exact reader's."""
    import datetime as dt

    from carenet_desktop.models import Observation, Patient
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import ServiceContext
    from carenet_desktop.services.practices import get_or_create_practice

    store = open_database(tmp_path / "store.db")
    practice = get_or_create_practice(ServiceContext(store, username="tester"), "A")
    with store.session() as s:
        patients = [Patient(practice_id=practice, mrn=f"M{i}", birth_date=dt.date(2015, 1, 1 + i),
                            sex="female" if i % 2 else None) for i in range(9)]
        s.add_all(patients)
        s.flush()
        for i in range(50):
            s.add(Observation(patient_id=patients[i % 9].id, status="final" if i % 4 else "amended",
                              code_system="loinc", code=f"{1000 + i % 6}-{i % 3}", category="vital-signs",
                              value_text=None if i % 3 else "é" * (i % 20) + "x" * (i % 11),
                              effective_start=dt.datetime(2025, 3, 1)))
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    callers: list[bool] = []
    code = text_codes.code_texts

    def recorded(text, n, sep):  # type: ignore[no-untyped-def]
        callers.append(threading.current_thread() is threading.main_thread())
        return code(text, n, sep)

    monkeypatch.setattr(sqlite_frames, "code_texts", recorded)
    try:
        fast = load_measure_data(store, with_valuesets=False)
        assert callers and not any(callers)
        with monkeypatch.context() as m:  # the exact reader: every row fetched and converted
            m.setattr(sqlite_frames, "_plan_sqlite", lambda *a: (_ for _ in ()).throw(sqlite_frames.Fallback("x")))
            exact = load_measure_data(store, with_valuesets=False)
        for name, frame in exact.frames().items():
            pd.testing.assert_frame_equal(fast.frames()[name], frame, check_dtype=True, check_exact=True, obj=name)
        assert fast.observations["value_text"].notna().sum() == 17
    finally:
        store.dispose()


def test_chunks_join_into_the_tables_codes() -> None:
    """A table's text chunks (each coded on its own, the NULL marker among the texts or code -1) join into
    codes whose texts give every row's value back, NULL as -1, in the narrow type for the distinct texts."""
    rng = random.Random(7)
    for _ in range(300):
        chunks, values = [], []
        for _ in range(rng.randrange(1, 6)):
            rows = [rng.choice(["a", "b", "c", NULL, "é", ""]) for _ in range(rng.randrange(0, 30))]
            if rows and rng.random() < 0.2:  # a chunk NULL in every row, kept as codes -1 into no texts
                rows = [NULL] * len(rows)
                chunks.append(sqlite_frames._null_chunk(sqlite_frames.Col("c", "t.c", "str"), len(rows)))
            elif rows:
                chunks.append(sqlite_frames._parse_chunk(SEP.join(rows), sqlite_frames.Col("c", "t.c", "str"), len(rows)))
            values += rows
        if not chunks:
            continue
        joined = sqlite_frames._join_coded(chunks)
        assert NULL not in joined.texts.tolist() and len(set(joined.texts.tolist())) == len(joined.texts)
        assert joined.codes.dtype == sqlite_frames.narrow_codes(np.zeros(1, dtype=np.int64), len(joined.texts)).dtype
        table = np.append(joined.texts, None)
        assert table[joined.codes].tolist() == [None if v == NULL else v for v in values]
