"""Freed memory handed back to the system once a large piece of work is done.

A worklist, a trend or a snapshot update allocates and frees hundreds of megabytes of arrays on a thread
of its own. glibc's allocator keeps much of what is freed (each thread its own arena, and free pages
inside an arena are not returned by ``free``): on the 250,000-patient demo the window's process stayed
~0.9 GB above what it still used after the sparklines, and the next large step came on top of that
(``benchmarks/bench_memory.py --trim``). :func:`release` hands the free pages of every arena back
(``malloc_trim``); it takes milliseconds. Elsewhere (Windows, macOS, musl) it does nothing: their
allocators return large blocks themselves.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from typing import Any

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
#: ``malloc_trim`` once resolved; False where there is none
_TRIM: list[Any] = []


def _trim_function() -> Any:
    with _LOCK:
        if not _TRIM:
            found: Any = False
            if sys.platform.startswith("linux"):
                try:
                    found = ctypes.CDLL("libc.so.6").malloc_trim
                    found.argtypes = [ctypes.c_size_t]
                    found.restype = ctypes.c_int
                except (OSError, AttributeError):  # not glibc
                    found = False
            _TRIM.append(found)
        return _TRIM[0]


def release() -> bool:
    """Hand the allocator's free pages back to the system; False where this is not possible."""
    trim = _trim_function()
    if not trim:
        return False
    try:
        trim(0)
    except OSError as exc:  # pragma: no cover - never seen; memory only stays held
        log.debug("malloc_trim failed (%s)", exc)
        return False
    return True


__all__ = ["release"]
