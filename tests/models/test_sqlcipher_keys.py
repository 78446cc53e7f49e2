"""The SQLCipher key derived once per process (``encryption.apply_key``): the same key SQLCipher derives
from the passphrase, so files written either way open either way, a wrong passphrase still opens
nothing, and a second connection to a file - or a worker handed the keys - derives nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from carenet_desktop import key_ahead
from carenet_desktop.models import encryption
from carenet_desktop.models.encryption import apply_key, cipher_module, derived_keys, remember_derived_keys

PASSPHRASE = "a long passphrase 42"


def _sqlcipher_own(path: Path, passphrase: str) -> Any:
    """A connection keyed as SQLCipher alone does it (its own PBKDF2 from the passphrase)."""
    con = cipher_module().connect(str(path))
    con.execute("PRAGMA cipher_log_level = NONE")
    con.execute(f"PRAGMA key = {encryption.quote(passphrase)}")
    return con


def _ours(path: Path, passphrase: str) -> Any:
    con = cipher_module().connect(str(path))
    apply_key(con, passphrase)
    return con


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the derivations this process makes (starting from none remembered)."""
    monkeypatch.setattr(key_ahead, "_DERIVED", {})
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(key_ahead.hashlib, "pbkdf2_hmac", counting)
    return calls


def _write(con: Any, value: int) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS t (x)")
    con.execute("INSERT INTO t VALUES (?)", (value,))
    con.commit()
    con.close()


def _read(con: Any) -> list[int]:
    try:
        return [r[0] for r in con.execute("SELECT x FROM t ORDER BY x")]
    finally:
        con.close()


def test_a_file_written_with_the_derived_key_opens_with_the_passphrase_and_back(tmp_path: Path,
                                                                                 derivations: list[int]) -> None:
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    _write(_ours(ours, PASSPHRASE), 1)  # a new file, keyed raw with the salt SQLCipher chose for it
    assert _read(_sqlcipher_own(ours, PASSPHRASE)) == [1]
    _write(_sqlcipher_own(theirs, PASSPHRASE), 2)
    assert _read(_ours(theirs, PASSPHRASE)) == [2]
    _write(_ours(theirs, PASSPHRASE), 3)  # and written to again through the derived key
    assert _read(_sqlcipher_own(theirs, PASSPHRASE)) == [2, 3]
    assert len(derivations) == 2  # one per file (per salt), whatever the number of connections


def test_a_wrong_passphrase_still_opens_nothing(tmp_path: Path, derivations: list[int]) -> None:
    path = tmp_path / "store.db"
    _write(_ours(path, PASSPHRASE), 1)
    for wrong in ("not the passphrase", PASSPHRASE + " "):
        con = _ours(path, wrong)
        with pytest.raises(cipher_module().DatabaseError, match="not a database"):
            _read(con)
    assert _read(_ours(path, PASSPHRASE)) == [1]


def test_a_worker_handed_the_keys_derives_none(tmp_path: Path, derivations: list[int],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.db"
    _write(_ours(path, PASSPHRASE), 1)
    handed = derived_keys()  # what the parent puts in a worker's job
    assert len(handed) == 1
    monkeypatch.setattr(key_ahead, "_DERIVED", {})  # the worker: a new process
    monkeypatch.setattr(key_ahead.hashlib, "pbkdf2_hmac", lambda *a, **k: pytest.fail("derived again"))
    remember_derived_keys(handed)
    assert _read(_ours(path, PASSPHRASE)) == [1]
