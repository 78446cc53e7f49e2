"""The code-scanning tests' parser retries only CPython's AST depth race, never a real error."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import source_trees


def test_the_depth_race_is_retried_and_the_file_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n", encoding="utf-8")
    real, calls = ast.parse, []

    def racing(source: str, filename: str = "<unknown>") -> ast.Module:
        calls.append(filename)
        if len(calls) == 1:
            raise SystemError("AST constructor recursion depth mismatch (before=126, after=56)")
        return real(source, filename=filename)

    monkeypatch.setattr(source_trees.ast, "parse", racing)
    tree = source_trees.parse_file(path)
    assert len(calls) == 2 and isinstance(tree.body[0], ast.Assign)


def test_any_other_error_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n", encoding="utf-8")
    with pytest.raises(SyntaxError):
        source_trees.parse_file(broken)

    def failing(source: str, filename: str = "<unknown>") -> ast.Module:
        raise SystemError("something else")

    monkeypatch.setattr(source_trees.ast, "parse", failing)
    with pytest.raises(SystemError, match="something else"):
        source_trees.parse_file(broken)
