"""The NumPy parse of SQLite's REAL text (``decimal_floats``) gives ``np.fromstring``'s doubles bit for
bit, and refuses (``None``) what it does not parse, so the reader parses that chunk the old way."""

from __future__ import annotations

import random
import sqlite3

import numpy as np
import pytest

from carenet_desktop.services import sqlite_frames
from carenet_desktop.services.decimal_floats import parse_decimals


def _sqlite_text(values: list[float | None]) -> str:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v DOUBLE)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(v,) for v in values])
    text: str = conn.execute("SELECT GROUP_CONCAT(COALESCE(v, 'nan')) FROM t").fetchone()[0]
    return text


def test_sqlite_reals_parse_as_fromstring_parses_them() -> None:
    rng = random.Random(11)
    values: list[float | None] = []
    for _ in range(50_000):
        r = rng.random()
        values.append(None if r < 0.2 else round(rng.uniform(-1000, 1000), rng.randint(0, 6)) if r < 0.4
                      else float(rng.randint(-10**6, 10**6)) if r < 0.5 else rng.uniform(0, 1) if r < 0.6
                      else rng.choice([0.0, -0.0, 0.1, 0.2, 0.3, 1e-5, 123456789012345.0, 99999999999999.9,
                                       0.000123, 2.0**53, 1e15]) if r < 0.7 else round(rng.uniform(0, 300), 1))
    tokens = _sqlite_text(values).split(",")
    plain = [t for t in tokens if parse_decimals(t, 1) is not None]
    assert len(plain) > 0.9 * len(tokens) and "nan" in plain
    text = ",".join([*plain, "-0.0", "-12.5", "0.0", "9007199254740992"])
    parsed = parse_decimals(text, len(plain) + 4)
    assert parsed is not None
    expected = np.fromstring(text, dtype=np.float64, sep=",")
    np.testing.assert_array_equal(parsed.view(np.int64), expected.view(np.int64))  # NaN and -0.0 included


@pytest.mark.parametrize("text", [
    "1e5", "1.0e+20", "inf", "-inf", ".5", "5.", "-.5", "1..2", "1.2.3", "--1", "1-2", "-", "nan2", "na", "-nan",
    "1,,2", "", "9007199254740993", "1234567890123456789", "0.0000000000000000001", "a", "1.5,x", "é"])
def test_what_is_not_a_plain_decimal_is_refused(text) -> None:  # type: ignore[no-untyped-def]
    assert parse_decimals(text, text.count(",") + 1) is None


def test_a_refused_chunk_is_parsed_by_fromstring() -> None:
    """The reader keeps a refused chunk as text and parses it on the caller's thread as before."""
    col = sqlite_frames.Col("value_num", 't."value_num"', "float")
    plan = sqlite_frames._Plan("t", [col], 1, 3, "")
    text = _sqlite_text([1e20, None, 2.5])
    row = sqlite_frames._parse_in_thread(plan, (3, "1,2,3", text))
    assert row[2] == text  # left as text: an exponent
    np.testing.assert_array_equal(sqlite_frames._parse_chunk(row[2], col, 3), [1e20, np.nan, 2.5])
    row = sqlite_frames._parse_in_thread(plan, (3, "1,2,3", "1.5,nan,-2.0"))
    assert isinstance(row[2], sqlite_frames.Parsed)
    np.testing.assert_array_equal(row[2].values, [1.5, np.nan, -2.0])
