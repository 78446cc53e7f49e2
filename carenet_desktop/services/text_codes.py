"""A chunk of text values (one ``group_concat`` string) factorized by NumPy passes, without a ``str`` per row.

The SQLite reader gets each text column of a chunk as one string, values separated by one byte (US, 0x1f).
Splitting it makes a Python object per row, then hashes each, all holding the GIL on the caller's thread.
Here the chunk's UTF-8 bytes are cut into words instead: every value's bytes read as little-endian 64-bit
words (a window per value start, the bytes past its end masked off). A value of at most 7 bytes (most
columns: codes, systems, units) is its own key: its bytes, and its length in the top byte. Longer ones are
mixed with their length into one 64-bit key per row, a hash, so two different values could share one: the
codes are kept only when every row's length and words equal those of a row with its code (so equal codes
mean equal bytes); otherwise, and for long values, :func:`code_texts` answers ``None`` and the caller splits
the text. The keys are factorized as integers. The codes and the distinct texts are exactly ``factorize_texts``'s of the split text (first
appearance order; the texts are the values' ``str``). Every pass is over whole arrays, which release the GIL,
so the reading threads run it beside the caller's thread.
"""

from __future__ import annotations

import numpy as np

try:  # pandas' hash table for 64-bit keys (the one pd.factorize picks for uint64)
    from pandas._libs.hashtable import UInt64HashTable as _UInt64HashTable
except ImportError:  # pragma: no cover - another pandas build: the public route
    _UInt64HashTable = None

MAX_BYTES = 63  # longer values (8 words and more) are split by the caller instead
_KEEP = np.array([(1 << (8 * j)) - 1 for j in range(8)] + [(1 << 64) - 1], dtype=np.uint64)  # low j bytes
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SHIFT = np.uint64(31)
_TOP = np.uint64(56)


def _factorize(key: np.ndarray, n: int) -> np.ndarray:
    """Codes of 64-bit keys in order of first appearance."""
    if _UInt64HashTable is not None:
        return _UInt64HashTable(max(n // 64, 64)).factorize(key)[1]  # type: ignore[no-any-return]
    import pandas as pd  # pragma: no cover

    return pd.factorize(key)[0]  # type: ignore[no-any-return]  # pragma: no cover


def _a_row_of_each(codes: np.ndarray) -> np.ndarray:
    """For each code, the index of one row holding it (whichever a scatter leaves: any row serves, as the
    rows of a code are checked equal or are equal by construction)."""
    rows = np.empty(int(codes.max()) + 1, dtype=np.intp)
    rows[codes] = np.arange(len(codes), dtype=np.intp)
    return rows


def code_texts(text: str, n: int, sep: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, distinct texts) of ``n`` values joined by the byte ``sep`` (an ASCII control character, so
    it is never part of a multi-byte UTF-8 character): the codes ``intp`` in first appearance order, the
    texts an object array of ``str``. ``None`` when the text does not hold ``n`` values, when a value is
    longer than ``MAX_BYTES`` bytes, or when two different values share a key."""
    if not n:
        return None
    raw = text.encode("utf-8")
    b = np.frombuffer(raw, dtype=np.uint8)
    bounds = np.flatnonzero(b == sep)
    if len(bounds) != n - 1:
        return None
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = bounds + 1
    lengths = np.empty(n, dtype=np.int64)
    lengths[:-1] = bounds
    lengths[-1] = len(b)
    lengths -= starts
    longest = int(lengths.max())
    if longest > MAX_BYTES:
        return None
    words = longest // 8 + 1
    padded = np.zeros(len(b) + 8 * words, dtype=np.uint8)  # a whole word can be read at every value's start
    padded[:len(b)] = b
    window = np.ndarray(buffer=padded, dtype="<u8", shape=(len(padded) - 7,), strides=(1,))  # the 8 bytes at i
    if longest < 8:  # one word: the value's bytes below its length in the top byte, a key that is no hash
        key = window[starts]
        key &= _KEEP[lengths]
        key |= lengths.astype(np.uint64) << _TOP
        codes = _factorize(key, n)
        first = _a_row_of_each(codes)
    else:
        parts = [lengths]
        key = lengths.astype(np.uint64) * _GOLDEN
        for w in range(words):
            word = window[starts + 8 * w] if w else window[starts]
            word &= _KEEP[np.clip(lengths - 8 * w, 0, 8)]  # the value's bytes only
            parts.append(word)
            key ^= word
            key *= _MIX
            key ^= key >> _SHIFT
        codes = _factorize(key, n)
        first = _a_row_of_each(codes)
        for part in parts:  # equal codes must mean equal lengths and equal bytes
            if not np.array_equal(part[first][codes], part):
                return None
    texts = np.empty(len(first), dtype=object)
    texts[:] = [raw[s:s + length].decode("utf-8") for s, length in zip(starts[first].tolist(),
                                                                         lengths[first].tolist(), strict=True)]
    return codes, texts
