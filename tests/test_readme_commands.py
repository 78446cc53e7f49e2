"""Issue 22 acceptance: the README's command table lists every command the parser has (a new command
without a row fails here) and says what a store without accounts allows."""

from __future__ import annotations

import re
from pathlib import Path

from carenet_desktop.cli import build_parser
from carenet_desktop.cli.gate import leaf_parsers

README = Path(__file__).resolve().parents[1] / "README.md"


def _word(word: str) -> str:
    return r"(?<![\w-])" + re.escape(word) + r"(?![\w-])"


def test_every_command_has_a_row_in_the_readme() -> None:
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `carenet")]
    missing = []
    for name, _parser in leaf_parsers(build_parser()):
        words = name.split()
        if not any(re.search(r"`carenet " + _word(words[0]), row) and all(re.search(_word(w), row) for w in words)
                   for row in rows):
            missing.append(name)
    assert not missing, f"commands without a row in README.md's command table: {missing}"


def test_the_readme_says_what_a_store_without_accounts_allows() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "A store **without** accounts is a local single-user store: every command is allowed" in text
