"""Timestamps as SQLite stores them, parsed by NumPy instead of by SQLite's ``julianday`` per row.

SQLAlchemy writes a ``DateTime`` as fixed-width text (``YYYY-MM-DD HH:MM:SS.ffffff``), a ``Date`` as
``YYYY-MM-DD``. A chunk of such values joined by commas is parsed as a byte matrix per layout, a few
vectorised passes for millions of rows; asking SQLite for epoch milliseconds instead costs a date parse
per value in the reading threads. A chunk with
anything else (another layout, an ISO ``T``, a sub-millisecond part) is not guessed at:
:func:`parse_stored_timestamps` answers ``None`` and the reader asks SQLite (:func:`julian_ms_sql`) for it.
"""

from __future__ import annotations

import numpy as np

from .frame_columns import MISSING, MISSING_SQL

WIDTH = 26  # len("2025-01-31 10:00:00.000000")
NO_TIME = "~" * WIDTH  # a NULL in a chunk: the same width as a value
_LAYOUT = {4: ord("-"), 7: ord("-"), 10: ord(" "), 13: ord(":"), 16: ord(":"), 19: ord(".")}
_MS_PER_DAY = 86_400_000


def stored_text_sql(sql: str) -> str:
    """The ``group_concat`` expression of a timestamp column read as its stored text."""
    return f"COALESCE({sql}, '{NO_TIME}')"


def julian_ms_sql(sql: str) -> str:
    """Epoch milliseconds computed by SQLite (any layout ``julianday`` understands), NULL as ``MISSING``."""
    return f"COALESCE(CAST(ROUND((julianday({sql}) - 2440587.5) * 86400000.0) AS INTEGER), {MISSING_SQL})"


def parse_stored_timestamps(text: str, n: int) -> np.ndarray | None:
    """Epoch milliseconds (``MISSING`` for NULL) of ``n`` comma-joined stored timestamps, exactly as
    :func:`julian_ms_sql` gives them; ``None`` unless every value has a stored layout - a ``DateTime``
    with a whole millisecond, or a ``Date`` (``YYYY-MM-DD``) - (then the two agree bit for bit: no
    rounding is involved)."""
    if not text.isascii():
        return None
    if len(text) == n * (WIDTH + 1) - 1:  # every row a DateTime or NULL: one matrix, no search
        rows = np.frombuffer(text.encode("ascii") + b",", dtype=np.uint8).reshape(n, WIDTH + 1)
        if not bool((rows[:, WIDTH] == ord(",")).all()):
            return None
        return _parse_rows(rows[:, :WIDTH], n)
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    ends = np.append(np.flatnonzero(raw == ord(",")), len(raw))
    if len(ends) != n:
        return None
    starts = np.concatenate([[0], ends[:-1] + 1])
    widths = ends - starts
    out = np.full(n, MISSING, dtype=np.int64)
    for width in (WIDTH, DAY_WIDTH):  # rows of each layout gathered into a matrix of their own
        mine = np.flatnonzero(widths == width)
        if len(mine):
            part = _parse_rows(raw[starts[mine, None] + np.arange(width)], len(mine))
            if part is None:
                return None
            out[mine] = part
    if int(np.isin(widths, (WIDTH, DAY_WIDTH)).sum()) != n:
        return None
    return out


DAY_WIDTH = 10  # len("2025-01-31"): a Date column


def _parse_rows(rows: np.ndarray, n: int) -> np.ndarray | None:
    """Epoch milliseconds of a byte matrix, a row per value (``WIDTH`` columns: DateTimes or NULL markers;
    ``DAY_WIDTH``: dates); ``None`` when a row is anything else."""
    width = rows.shape[1]
    missing = rows[:, 0] == ord("~")
    some_missing = bool(missing.any())
    if some_missing and (width != WIDTH or not bool((rows[missing] == ord("~")).all())):
        return None
    given = rows[~missing] if some_missing else rows  # no copy of a column without NULLs
    layout = {p: b for p, b in _LAYOUT.items() if p < width}
    for position, byte in layout.items():
        if not bool((given[:, position] == byte).all()):
            return None
    # one contiguous row of bytes per digit position (the transposed gather), as digit values: a byte
    # below "0" wraps round in uint8, so one test finds every non-digit; then two digits at a time in
    # uint8 (at most 99): each field is one or two narrow passes, not a pass per digit in a wide type
    digits = given.T[[i for i in range(width) if i not in layout]] - np.uint8(ord("0"))
    if not bool((digits <= 9).all()):
        return None
    pairs = digits[0::2] * np.uint8(10) + digits[1::2]  # yy yy MM dd [hh mm ss µµ µµ µµ]
    year = pairs[0].astype(np.int32) * np.int32(100) + pairs[1]
    month, day = pairs[2], pairs[3]
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    if width == WIDTH:
        hour, minute, second = pairs[4], pairs[5], pairs[6]
        valid &= (hour <= 23) & (minute <= 59) & (second <= 59) & (pairs[8] % np.uint8(10) == 0) & (pairs[9] == 0)
    if not bool(valid.all()):
        return None
    # days since 1970 of the month's first day, looked up (a table of every year and month), then the day:
    # linear in the day, as ``julianday`` is, so a 31st of a short month lands where SQLite puts it
    days = _month_starts()[year * np.int32(12) + month - np.int32(1)] + (day.astype(np.int32) - np.int32(1))
    out = np.full(n, MISSING, dtype=np.int64)
    ms: np.ndarray = days.astype(np.int64) * _MS_PER_DAY
    if width == WIDTH:
        # milliseconds of the day: below 2**31, so int32 (a whole millisecond: the last three of the six
        # fraction digits are 0, so the milliseconds are the first three)
        ms += (hour.astype(np.int32) * np.int32(3_600_000) + minute.astype(np.int32) * np.int32(60_000)
               + second.astype(np.int32) * np.int32(1000) + pairs[7].astype(np.int32) * np.int32(10)
               + pairs[8] // np.uint8(10))
    if some_missing:
        out[~missing] = ms
        return out
    return ms


_MONTH_STARTS: list[np.ndarray] = []


def _month_starts() -> np.ndarray:
    """Days since 1970-01-01 of the first day of each month of the years 0000-9999 (index year*12 +
    month - 1), from :func:`_days_from_civil`: built once, 480 kB."""
    if not _MONTH_STARTS:
        years = np.repeat(np.arange(10_000, dtype=np.int32), 12)
        months = np.tile(np.arange(1, 13, dtype=np.int32), 10_000)
        _MONTH_STARTS.append(_days_from_civil(years, months, np.ones_like(years)).astype(np.int32))
    return _MONTH_STARTS[0]


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm; linear in the day, as
    ``julianday`` is, so a 31st of a short month lands where SQLite puts it)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468  # type: ignore[no-any-return]
