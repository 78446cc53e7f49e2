"""Floats from SQLite's text of REAL values, parsed by NumPy passes over the bytes (no call per value).

SQLite writes a REAL as ``[-]digits.digits`` (``%!.15g``), or with an exponent when it is very large or
small. A chunk of such values joined by commas, NULLs as ``nan``, is parsed here by whole-array passes,
which release the GIL: the cold read runs them in its reading threads, beside the caller's thread's
work. Each value is ``M / 10**k`` with the mantissa ``M`` and ``10**k`` exact doubles (``M <= 2**53``,
``k <= 22``), so the one division rounds the exact decimal value correctly, as ``strtod`` does: the result
is bit for bit ``np.fromstring``'s. Anything else (an exponent, ``inf``, a longer mantissa) is not guessed
at: :func:`parse_decimals` answers ``None`` and the caller parses the chunk with ``np.fromstring``.
"""

from __future__ import annotations

import numpy as np

_POW10 = 10.0 ** np.arange(23)  # exact doubles
_IPOW10 = 10 ** np.arange(19, dtype=np.int64)
_MAX_DIGITS = 18  # digit characters of a token (int64 holds 10**18); the mantissa is checked below 2**53
_EXACT = 2**53


def parse_decimals(text: str, n: int) -> np.ndarray | None:
    """Floats of ``n`` comma-joined tokens ``[-]digits[.digits]`` or ``nan`` (NaN), as ``np.fromstring``
    parses them; ``None`` for anything else."""
    if not n or not text.isascii():
        return None
    b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    is_sep = b == ord(",")
    seps = np.flatnonzero(is_sep)
    if len(seps) != n - 1:
        return None
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = seps + 1
    ends = np.empty(n, dtype=np.int64)
    ends[:-1] = seps
    ends[-1] = len(b)
    if int((ends - starts).min()) < 1:
        return None
    first = b[starts]
    nan = (first == ord("n")) & (ends - starts == 3)
    if nan.any():
        at = starts[nan]
        if not (bool((b[at + 1] == ord("a")).all()) and bool((b[at + 2] == ord("n")).all())):
            return None
    neg = first == ord("-")
    digit = (b - np.uint8(ord("0"))) <= 9  # a byte below "0" wraps round: one test finds every non-digit
    dot = b == ord(".")
    at_dots = np.flatnonzero(dot)
    # every byte a digit, a separator, a dot, a leading minus or a letter of a nan
    if int(digit.sum()) + len(seps) + len(at_dots) + int(neg.sum()) + 3 * int(nan.sum()) != len(b):
        return None
    token = np.cumsum(is_sep, dtype=np.int64)  # each byte's token (a separator counts to the next one)
    if len(at_dots):
        # one dot at most per token, between two digits ("12.5", "-0.0"; not ".5", "5." or "-.5")
        if int(np.bincount(token[at_dots], minlength=n).max()) > 1 or at_dots[0] == 0 or at_dots[-1] + 1 >= len(b):
            return None
        if not (bool(digit[at_dots - 1].all()) and bool(digit[at_dots + 1].all())):
            return None
    count = np.cumsum(digit, dtype=np.int64)  # digits up to and including each byte
    before = np.empty(n, dtype=np.int64)  # digits before each token
    before[0] = 0
    before[1:] = count[seps]
    digits = np.empty(n, dtype=np.int64)
    digits[:-1] = before[1:] - before[:-1]
    digits[-1] = count[-1] - before[-1]
    if bool((digits[~nan] < 1).any()) or int(digits.max()) > _MAX_DIGITS:
        return None
    place = np.where(digit, before[token] + digits[token] - count, 0)  # each digit's power of ten
    values = np.where(digit, (b - np.uint8(ord("0"))).astype(np.int64) * _IPOW10[place], 0)
    mantissa = np.add.reduceat(values, starts)
    if int(mantissa.max()) > _EXACT:  # not exact in a double
        return None
    scale = np.zeros(n, dtype=np.int64)  # digits after the dot: from it to the token's end
    if len(at_dots):
        scale[token[at_dots]] = ends[token[at_dots]] - at_dots - 1
    out: np.ndarray = mantissa.astype(np.float64) / _POW10[scale]
    out[neg] = -out[neg]
    out[nan] = np.nan
    return out
