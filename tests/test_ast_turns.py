"""``ast.parse`` takes turns across threads once the package is imported (CPython gh-106905: two parses at
once could fail a frames or results read with ``SystemError``)."""

from __future__ import annotations

import ast
import threading
import time

import numpy as np

import carenet_desktop  # noqa: F401  (installs the turns)
from carenet_desktop import ast_turns


def test_the_package_makes_parses_take_turns(monkeypatch):
    inner = ast.parse.__wrapped__  # type: ignore[attr-defined]
    inside = [0]
    most = [0]
    guard = threading.Lock()

    def slow_parse(*args, **kwargs):  # type: ignore[no-untyped-def]
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.002)  # a parse long enough for the other thread to come in, if it may
        try:
            return inner(*args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(ast, "parse", _rewrapped(slow_parse))
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"
    errors: list[BaseException] = []

    def parse_many() -> None:
        try:
            for _ in range(50):
                assert ast.literal_eval(header)["shape"] == (3,)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=parse_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert most[0] == 1  # never two parses at once


def _rewrapped(parse):  # type: ignore[no-untyped-def]
    """``ast_turns.install`` applied to ``parse``: the wrapper the package installs, around another parse."""
    real = ast.parse
    try:
        ast.parse = parse
        ast_turns.install()
        return ast.parse
    finally:
        ast.parse = real


def test_installed_once_and_numpy_headers_still_read(tmp_path):
    before = ast.parse
    ast_turns.install()
    assert ast.parse is before  # idempotent
    path = tmp_path / "a.npy"
    np.save(path, np.arange(5))
    assert np.load(path).tolist() == [0, 1, 2, 3, 4]
