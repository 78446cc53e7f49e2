"""Every command goes through one permission table (cli.gate.COMMANDS): a row per command, found by walking
the parsers; destructive commands need a network administrator, take a backup first and are audited."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carenet_desktop.cli import build_parser, main
from carenet_desktop.cli.gate import COMMANDS, leaf_parsers
from carenet_desktop.services.permissions import ACTIONS

PASSWORD = "correct-horse-42"


def test_every_command_has_exactly_one_row() -> None:
    commands = {name for name, _ in leaf_parsers(build_parser())}
    assert commands, "the walk found no commands"
    assert {"demo", "import csv", "audit verify", "restore", "encrypt", "users add"} <= commands
    missing = commands - set(COMMANDS)
    assert not missing, f"commands without a row in cli.gate.COMMANDS: {sorted(missing)}"
    stale = set(COMMANDS) - commands
    assert not stale, f"rows for commands that do not exist: {sorted(stale)}"
    for name, rule in COMMANDS.items():
        assert rule.action is None or rule.action in ACTIONS, name
        assert rule.store in {"always", "never", "if_sound", "if_db"}, name


def test_a_command_without_a_row_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import carenet_desktop.cli.gate as gate

    monkeypatch.setattr(gate, "COMMANDS", {k: v for k, v in gate.COMMANDS.items() if k != "practices"})
    monkeypatch.setenv("CARENET_DEBUG", "1")
    with pytest.raises(LookupError):
        main(["practices", "--db", str(tmp_path / "x.db")])
    assert not (tmp_path / "x.db").exists()


@pytest.fixture
def store(demo_ctx, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    path: Path = demo_ctx.db.path
    demo_ctx.db.dispose()
    for var in ("CARENET_USER", "CARENET_PASSWORD", "CARENET_NEW_PASSWORD", "CARENET_DB_PASSPHRASE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CARENET_NEW_PASSWORD", PASSWORD)
    assert main(["users", "add", "admin", "--role", "network_admin", "--db", str(path)]) == 0
    monkeypatch.setenv("CARENET_PASSWORD", PASSWORD)
    for name, role in (("ana", "analyst"), ("pm", "practice_manager")):
        extra = ["--practice", "P001"] if role == "practice_manager" else []
        assert main(["users", "add", name, "--role", role, *extra, "--db", str(path), "--user", "admin"]) == 0
    return path


def _patients(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM patient").fetchone()[0])
    finally:
        con.close()


def _audit_summaries(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[0] or "" for r in con.execute("SELECT summary FROM audit_log WHERE action = 'command' ORDER BY id")]
    finally:
        con.close()


DEMO = ["demo", "--replace", "--practices", "1", "--patients", "10", "--as-of", "2025-12-31"]


@pytest.mark.parametrize("user", ["ana", "pm"])
def test_only_an_administrator_replaces_the_network(store: Path, user: str, capsys) -> None:  # type: ignore[no-untyped-def]
    before = _patients(store)
    capsys.readouterr()
    assert main([*DEMO, "--db", str(store), "--user", user]) == 1
    assert "Not allowed" in capsys.readouterr().err
    assert _patients(store) == before
    assert not list((store.parent / "backups").glob("*before-demo*"))


def test_a_replace_takes_a_backup_first_and_is_audited(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    before = _patients(store)
    assert main([*DEMO, "--db", str(store), "--user", "admin"]) == 0
    assert _patients(store) == 10
    (backup,) = (store.parent / "backups").glob("*before-demo*.db")
    assert _patients(backup) == before
    (entry,) = _audit_summaries(store)
    assert entry.startswith("carenet demo --replace") and backup.name in entry
    capsys.readouterr()
    assert main(["audit", "verify", "--db", str(store), "--user", "admin"]) == 0


def test_encrypt_is_for_administrators_backed_up_and_audited(store: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CARENET_DB_PASSPHRASE", "a long enough passphrase 1")
    out = tmp_path / "enc.db"
    capsys.readouterr()
    assert main(["encrypt", "--db", str(store), "--out", str(out), "--user", "ana"]) == 1
    assert "Not allowed" in capsys.readouterr().err and not out.exists()
    assert main(["encrypt", "--db", str(store), "--out", str(out)]) == 1
    assert "--user" in capsys.readouterr().err and not out.exists()
    assert main(["encrypt", "--db", str(store), "--out", str(out), "--user", "admin"]) == 0
    assert list((store.parent / "backups").glob("*before-encrypt*.db"))
    assert any(s.startswith("carenet encrypt") for s in _audit_summaries(store))


@pytest.mark.parametrize("command", [["check"], ["backups"], ["backup"]])
def test_store_commands_need_a_sign_in_when_the_store_has_accounts(store: Path, command: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    assert main([*command, "--db", str(store)]) == 1
    assert "--user" in capsys.readouterr().err
    assert main([*command, "--db", str(store), "--user", "admin"]) == 0


def test_backups_are_an_administrators_listing(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    assert main(["backups", "--db", str(store), "--user", "ana"]) == 1
    assert "Not allowed" in capsys.readouterr().err


def test_check_of_a_damaged_store_needs_no_sign_in(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(store.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = b"\xff" * 4096
    store.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["check", "--db", str(store)]) == 1
    assert "damaged" in capsys.readouterr().out


def test_restore_is_for_administrators_and_names_them_in_the_trail(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["backup", "--db", str(store), "--user", "admin"]) == 0
    capsys.readouterr()
    assert main(["restore", "--db", str(store), "--latest", "--yes", "--user", "ana"]) == 1
    assert "Not allowed" in capsys.readouterr().err
    assert main(["restore", "--db", str(store), "--latest", "--yes"]) == 1  # accounts: sign in first
    assert main(["restore", "--db", str(store), "--latest", "--yes", "--user", "admin"]) == 0
    con = sqlite3.connect(store)
    try:
        assert con.execute("SELECT username FROM audit_log WHERE action = 'restore'").fetchall() == [("admin",)]
    finally:
        con.close()
