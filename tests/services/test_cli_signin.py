"""The command line signs in like the window: a store with accounts needs --user and the password; each
command then runs with that user's role and practices (a clinician of P001 cannot export P002)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carenet_desktop.cli import main
from carenet_desktop.services.audit import verify_chain

PASSWORD = "correct-horse-42"


@pytest.fixture
def store(demo_ctx, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    path = demo_ctx.db.path
    demo_ctx.db.dispose()
    for var in ("CARENET_USER", "CARENET_PASSWORD", "CARENET_NEW_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CARENET_NEW_PASSWORD", PASSWORD)
    assert main(["users", "add", "admin", "--role", "network_admin", "--db", str(path)]) == 0
    monkeypatch.setenv("CARENET_PASSWORD", PASSWORD)
    assert main(["users", "add", "dr-lee", "--role", "clinician", "--practice", "P001", "--db", str(path),
                 "--user", "admin"]) == 0
    return path


def test_a_store_with_accounts_refuses_commands_without_a_user(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    assert main(["practices", "--db", str(store)]) == 1
    assert "--user" in capsys.readouterr().err


def test_the_first_account_must_be_an_administrator(demo_ctx, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    path = demo_ctx.db.path
    demo_ctx.db.dispose()
    monkeypatch.setenv("CARENET_NEW_PASSWORD", PASSWORD)
    assert main(["users", "add", "ann", "--role", "clinician", "--practice", "P001", "--db", str(path)]) == 1
    assert "first user must be a network administrator" in capsys.readouterr().err


def test_wrong_password_is_refused_and_audited(store: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CARENET_PASSWORD", "not-the-password-1")
    capsys.readouterr()
    assert main(["practices", "--db", str(store), "--user", "admin"]) == 1
    assert "Wrong user name or password" in capsys.readouterr().err
    monkeypatch.setenv("CARENET_PASSWORD", PASSWORD)
    assert main(["audit", "verify", "--db", str(store), "--user", "admin"]) == 0
    assert main(["audit", "export", "--db", str(store), "--user", "admin", "--out", str(store.parent / "a.csv")]) == 0
    assert "login-failed" in (store.parent / "a.csv").read_text()


def test_a_clinician_reads_only_their_own_practice(store: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    own = tmp_path / "own.csv"
    other = tmp_path / "other.csv"
    capsys.readouterr()
    assert main(["gaps", "--db", str(store), "--user", "dr-lee", "--practice", "P001", "--measure", "LSC",
                 "--period", "2026", "--as-of", "2026-06-30", "--out", str(own)]) == 1
    assert "Not allowed" in capsys.readouterr().err  # clinicians read worklists on screen but do not export
    assert main(["gaps", "--db", str(store), "--user", "admin", "--practice", "P002", "--measure", "LSC",
                 "--period", "2026", "--as-of", "2026-06-30", "--out", str(other)]) == 0
    assert main(["export", "submission", "--db", str(store), "--user", "dr-lee", "--practice", "P002",
                 "--period", "2026", "--out", str(tmp_path / "p.zip")]) == 1
    assert "Not allowed" in capsys.readouterr().err
    assert not (tmp_path / "p.zip").exists() and not own.exists()
    assert main(["users", "list", "--db", str(store), "--user", "dr-lee"]) == 1
    assert main(["backup", "--db", str(store), "--user", "dr-lee"]) == 1


def test_user_management_and_the_chain_hold(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["users", "list", "--db", str(store), "--user", "admin"]) == 0
    listing = capsys.readouterr().out
    assert "admin\tnetwork_admin\tactive" in listing and "dr-lee\tclinician\tactive\tP001" in listing
    assert main(["users", "disable", "dr-lee", "--db", str(store), "--user", "admin"]) == 0
    assert main(["practices", "--db", str(store), "--user", "dr-lee"]) == 1
    from carenet_desktop.models.database import open_database

    db = open_database(store)
    try:
        with db.sessions() as s:
            assert verify_chain(s) == []
    finally:
        db.dispose()
