"""A store created from the command line is encrypted unless --no-encryption is given (issue 22, item 4),
the same default as the set-up wizard."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carenet_desktop.cli import main
from carenet_desktop.models.encryption import PASSPHRASE_ENV, is_encrypted_file

PASSPHRASE = "a long enough passphrase 7"


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARENET_NO_ENCRYPTION", raising=False)  # the suite's shortcut (tests/conftest.py)
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    for var in ("CARENET_USER", "CARENET_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


def test_a_new_store_is_encrypted_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "new.db"
    assert main(["practices", "--db", str(path)]) == 1  # no passphrase, no terminal: refused, nothing made
    assert "--no-encryption" in capsys.readouterr().err and not path.exists()
    monkeypatch.setenv(PASSPHRASE_ENV, "short")
    assert main(["practices", "--db", str(path)]) == 1
    assert "at least" in capsys.readouterr().err and not path.exists()
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    assert main(["practices", "--db", str(path)]) == 0
    assert is_encrypted_file(path)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT count(*) FROM practice").fetchall()
    assert main(["practices", "--db", str(path)]) == 0  # and it opens again with its passphrase


def test_no_encryption_makes_a_plain_store(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    assert main(["practices", "--no-encryption", "--db", str(path)]) == 0
    assert not is_encrypted_file(path)
    assert main(["--no-encryption", "practices", "--db", str(path)]) == 0
