"""Parse a source file for a test that scans code (layering, a pure measure core, latest-request-wins).

CPython 3.11 keeps the depth counter of its AST builder in interpreter-wide state, so two threads building an
AST at the same moment can corrupt each other's count (python/cpython#106905): ``ast.parse`` then fails with
"SystemError: AST constructor recursion depth mismatch". In a long test run another thread does build ASTs
now and then (3.11's traceback formatting parses the failing line to draw its ``^^^`` markers, and the
window's worker threads log the errors that tests provoke). The file is fine and a second parse succeeds, so
that one error is retried; any other error, and a file that really does not parse, fail as before.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

_ATTEMPTS = 5


def parse_file(path: Path) -> ast.Module:
    source = path.read_text(encoding="utf-8")
    for attempt in range(_ATTEMPTS):
        try:
            return ast.parse(source, filename=str(path))
        except SystemError as exc:  # the race above, not the file
            if "recursion depth mismatch" not in str(exc) or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")
