"""Python-syntax parses (``ast.parse``) take turns in this process.

CPython builds an AST's Python objects with a recursion counter that every thread shares: two threads parsing
at once can interleave (a garbage collection inside one lets the other run), and one of them then fails with
``SystemError: AST constructor recursion depth mismatch`` (CPython gh-106905). NumPy parses every ``.npy``
header with ``ast.literal_eval``, so a frames snapshot or results file read on a worker thread failed, at
random, when another thread parsed at the same moment (another read, a traceback being formatted, a module
compiled by pytest). One process-wide lock around ``ast.parse`` (which ``literal_eval`` calls) removes the
race; the parses it serialises are small (a header, a line of source), so nobody waits long.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_lock = threading.RLock()  # re-entrant: a parse may, through a garbage collection, run code that parses
_MARK = "_carenet_takes_turns"


def install() -> None:
    """Make ``ast.parse`` (and so ``ast.literal_eval``) take the lock; once per process, idempotent."""
    if getattr(ast.parse, _MARK, False):
        return
    parse = ast.parse

    def parse_in_turn(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return parse(*args, **kwargs)

    setattr(parse_in_turn, _MARK, True)
    parse_in_turn.__wrapped__ = parse  # type: ignore[attr-defined]
    parse_in_turn.__doc__ = parse.__doc__
    ast.parse = parse_in_turn
