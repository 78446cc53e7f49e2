"""The store's key derived ahead, on a thread, as ``carenet`` starts (``key_ahead``): used by the store's
connections (no second derivation), only for the passphrase and file it was derived for, never for a plain
file; and a fork while it derives leaves the child a lock of its own."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from carenet_desktop import key_ahead
from carenet_desktop.models.encryption import apply_key, cipher_module, connect_raw

PASSPHRASE = "a long passphrase 42"
GUARD_S = 30.0  # a freeze guard only


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The passphrases this process derives a key from (starting from none remembered)."""
    monkeypatch.setattr(key_ahead, "_DERIVED", {})
    monkeypatch.setattr(key_ahead, "_STARTED", False)
    calls: list[bytes] = []
    real = hashlib.pbkdf2_hmac

    def counting(name: str, password: bytes, *args: Any, **kwargs: Any) -> bytes:
        calls.append(password)
        return real(name, password, *args, **kwargs)

    monkeypatch.setattr(key_ahead.hashlib, "pbkdf2_hmac", counting)
    return calls


def _encrypted(path: Path) -> Path:
    con = cipher_module().connect(str(path))
    con.execute(f"PRAGMA key = '{PASSPHRASE}'")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    return path


def _start(path: Path, passphrase: str) -> None:
    thread = key_ahead.start(["--db", str(path), "measures", "evaluate"], {key_ahead.PASSPHRASE_ENV: passphrase})
    assert thread is not None
    thread.join(60)


def test_the_key_derived_ahead_opens_the_store_with_no_second_derivation(tmp_path: Path,
                                                                         derivations: list[bytes]) -> None:
    path = _encrypted(tmp_path / "store.db")
    _start(path, PASSPHRASE)
    assert derivations == [PASSPHRASE.encode()]
    con = connect_raw(path, key=PASSPHRASE)
    con.execute("SELECT x FROM t").fetchall()
    con.close()
    assert derivations == [PASSPHRASE.encode()]  # the connection took the key derived ahead
    # once a process: a second start (the command line's main after ``python -m``) derives nothing
    assert key_ahead.start(["--db", str(path)], {key_ahead.PASSPHRASE_ENV: PASSPHRASE}) is None


def test_a_key_derived_ahead_from_another_passphrase_opens_nothing(tmp_path: Path, derivations: list[bytes]) -> None:
    path = _encrypted(tmp_path / "store.db")
    _start(path, "not the passphrase at all")
    con = cipher_module().connect(str(path))
    apply_key(con, PASSPHRASE)  # the right one: derived for itself, not served the other's key
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    con.close()
    assert derivations == [b"not the passphrase at all", PASSPHRASE.encode()]
    with pytest.raises(Exception, match="wrong passphrase"):
        connect_raw(path, key="not the passphrase at all")


def test_nothing_is_derived_ahead_for_a_plain_file_a_url_or_no_passphrase(tmp_path: Path,
                                                                         derivations: list[bytes]) -> None:
    import sqlite3

    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    _start(plain, PASSPHRASE)
    assert derivations == []
    env = {key_ahead.PASSPHRASE_ENV: PASSPHRASE}
    assert key_ahead.start(["--db", "postgresql+psycopg://u@h/db"], env) is None
    assert key_ahead.start(["--db", str(tmp_path / "missing.db")], env) is None
    assert key_ahead.start(["--db", str(plain)], {}) is None
    assert key_ahead.store_path(["--db=" + str(plain)], {}) == plain
    assert key_ahead.store_path([], {key_ahead.DB_ENV: str(plain)}) == plain


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux", reason="fork")
def test_a_fork_while_a_thread_derives_leaves_the_child_a_lock_of_its_own(derivations: list[bytes]) -> None:
    with key_ahead._LOCK:  # as if the thread were deriving at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: a derivation of its own must not wait on the parent's held lock
            signal.alarm(20)
            code = 1
            try:
                key_ahead.derive(PASSPHRASE, b"s" * 16, 10)
                code = 0
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_a_store_whose_path_holds_a_hash_or_a_question_mark_is_probed_read_only_and_by_its_own_name(
        tmp_path: Path, derivations: list[bytes]) -> None:
    """The probe's address is a file URI (``#`` and ``?`` escaped): SQLite would otherwise cut the path there,
    open the shorter name read-write (making an empty file) and derive a key for its random salt."""
    for name in ("clinic#2.db", "st?re.db"):
        folder = tmp_path / name.replace("#", "h").replace("?", "q")
        folder.mkdir()
        store = folder / name
        _encrypted(store)
        before = sorted(p.name for p in folder.iterdir())
        key_ahead._derive_for(store, PASSPHRASE)
        assert sorted(p.name for p in folder.iterdir()) == before
    # each store's own salt (a SQLCipher file's first 16 bytes) derived, none for a file made on the way
    stores = [p for p in tmp_path.rglob("*.db") if p.is_file()]
    assert {salt for _, salt, _ in key_ahead.derived()} == {p.read_bytes()[:16] for p in stores}


def test_a_second_start_does_not_wait_for_a_derivation_under_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    store.write_bytes(b"x" * 64)
    monkeypatch.setattr(key_ahead, "_STARTED", True)
    with key_ahead._LOCK:  # a derivation under way on the key-ahead thread
        done = threading.Event()
        threading.Thread(target=lambda: (key_ahead.start(["--db", str(store)], {key_ahead.PASSPHRASE_ENV: "p"}),
                                         done.set()), daemon=True).start()
        assert done.wait(GUARD_S), "the second start waited for the derivation"


def test_the_command_line_and_the_windowed_launcher_start_the_derivation_with_their_words(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from carenet_desktop import cli

    started: list[list[str]] = []
    monkeypatch.setattr(key_ahead, "start", lambda words: started.append(list(words)))
    monkeypatch.setattr(sys, "argv", ["carenet", "--db", "store.db", "--version"])
    with pytest.raises(SystemExit):
        cli.main()
    assert started == [["--db", "store.db", "--version"]]
    monkeypatch.setattr(cli, "main", lambda argv=None: 0)
    monkeypatch.setattr(sys, "argv", ["carenet-gui", "--db", "store.db"])
    assert cli.gui_main() == 0
    assert started[-1] == ["--db", "store.db"]
