"""The keyed audit chain (issue 22, item 2): what an editor of the store's tables can no longer do unseen.

Each attack below passed ``audit verify`` with the unkeyed chain: shortening the trail and deleting the
head, deleting everything, deleting the head alone, editing an entry and recomputing the chain with the
app's own (unkeyed) hash. A store from before the key keeps verifying (upgrade path), and the head leaves
the store in each backup's manifest and each submission package.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from carenet_desktop.models import AuditLog
from carenet_desktop.models.audit_key import AUDIT_KEY_DIR_ENV
from carenet_desktop.models.backup import read_manifest
from carenet_desktop.models.database import open_database
from carenet_desktop.models.migrations import upgrade
from carenet_desktop.services import ServiceContext, audit
from carenet_desktop.services.audit_export import verify_audit
from carenet_desktop.services.practices import get_or_create_practice


def _store(tmp_path: Path, entries: int = 5) -> Path:
    path = tmp_path / "store.db"
    db = open_database(path)
    ctx = ServiceContext(db, username="alice")
    for i in range(entries):
        get_or_create_practice(ctx, f"P{i}", f"Practice {i}")
    db.dispose()
    return path


def _verify(path: Path, *, append: bool = False) -> bool:
    """Whether the trail verifies; ``append``: the application writes one more entry first (a sign-in)."""
    db = open_database(path)
    try:
        ctx = ServiceContext(db, username="bob")
        if append:
            with db.session() as s:
                audit.record(s, "bob", "login", "user")
        return verify_audit(ctx).intact
    finally:
        db.dispose()


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    try:
        for statement in statements:
            con.execute(statement)
        con.commit()
    finally:
        con.close()


def _unkeyed(row: dict[str, object]) -> str:
    """The app's old hash of an entry, as anyone reading the code can recompute it."""
    payload = json.dumps([row["prev_hash"], row["at"], row["username"], row["action"], row["entity"],
                          row["entity_id"], row["practice_id"], row["before"], row["after"], row["summary"]],
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def test_an_untouched_trail_is_intact(tmp_path: Path) -> None:
    path = _store(tmp_path)
    assert _verify(path) and _verify(path, append=True)


@pytest.mark.parametrize("append", [False, True])
def test_removing_the_last_entries_and_the_head_is_detected(tmp_path: Path, append: bool) -> None:
    path = _store(tmp_path)
    _sql(path, "DELETE FROM audit_log WHERE id > 2", "DELETE FROM audit_head")
    assert not _verify(path, append=append)


@pytest.mark.parametrize("append", [False, True])
@pytest.mark.parametrize("tables", [("audit_log",), ("audit_log", "audit_head")])
def test_removing_everything_is_detected(tmp_path: Path, append: bool, tables: tuple[str, ...]) -> None:
    path = _store(tmp_path)
    _sql(path, *(f"DELETE FROM {t}" for t in tables))
    assert not _verify(path, append=append)


@pytest.mark.parametrize("append", [False, True])
def test_removing_the_head_alone_is_detected(tmp_path: Path, append: bool) -> None:
    path = _store(tmp_path)
    _sql(path, "DELETE FROM audit_head")
    assert not _verify(path, append=append)
    assert not _verify(path, append=True)  # and stays detected while the application goes on writing


def _rewrite_with_unkeyed_hashes(path: Path) -> None:
    """Edit entry 2's summary and recompute every hash and the head, as the old code would."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        con.execute("UPDATE audit_log SET summary = 'nothing happened' WHERE id = 2")
        prev = None
        for row in con.execute("SELECT * FROM audit_log ORDER BY id").fetchall():
            record = dict(row)
            record["at"] = dt.datetime.fromisoformat(record["at"]).isoformat()
            for name in ("before", "after"):
                record[name] = None if record[name] is None else json.loads(record[name])
            record["prev_hash"] = prev
            new = _unkeyed(record)
            con.execute("UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE id = ?", (prev, new, row["id"]))
            prev = new
        count = con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        con.execute("UPDATE audit_head SET entries = ?, last_hash = ?", (count, prev))
        con.commit()
    finally:
        con.close()


def test_an_edited_entry_with_a_recomputed_chain_is_detected(tmp_path: Path) -> None:
    path = _store(tmp_path)
    _rewrite_with_unkeyed_hashes(path)
    assert not _verify(path)


def test_an_edited_head_is_detected(tmp_path: Path) -> None:
    path = _store(tmp_path)
    _sql(path, "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
         "UPDATE audit_head SET entries = entries - 1, "
         "last_hash = (SELECT entry_hash FROM audit_log ORDER BY id DESC LIMIT 1)")
    assert not _verify(path)
    _sql(path, "UPDATE audit_head SET key_id = NULL")
    assert not _verify(path, append=True)


def test_without_the_key_the_trail_is_not_called_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _store(tmp_path)
    monkeypatch.setenv(AUDIT_KEY_DIR_ENV, str(tmp_path / "another-computer"))
    assert not _verify(path)
    db = open_database(path)
    try:
        with db.session() as s:
            problem = audit.head_problem(s)
    finally:
        db.dispose()
    assert problem is not None and "not on this computer" in problem


def test_a_store_from_before_the_key_is_upgraded_and_its_old_entries_still_guarded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine, "0006")  # the schema before the keyed chain
    from sqlalchemy.orm import Session

    with Session(engine) as s, s.begin():  # two entries written the old way (unkeyed hashes)
        prev = None
        for n in range(2):
            entry = AuditLog(at=dt.datetime(2026, 1, 1 + n), username="old", action="create", entity="practice",
                             entity_id=str(n), summary=f"entry {n}", prev_hash=prev)
            entry.entry_hash = audit.entry_hash(entry)
            s.add(entry)
            prev = entry.entry_hash
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE audit_head SET entries = 2, last_hash = ?", (prev,))
    engine.dispose()
    assert _verify(path)  # opening migrates to the keyed head; the old entries verify as they were written
    assert _verify(path, append=True)
    db = open_database(path)
    with db.session() as s:
        entries = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        assert entries[-1].entry_hash != audit.entry_hash(entries[-1])  # the new entry is keyed
    db.dispose()
    _sql(path, "UPDATE audit_log SET summary = 'edited' WHERE id = 1")
    assert not _verify(path)


def test_the_head_leaves_the_store_in_backups_and_packages(tmp_path: Path) -> None:
    path = _store(tmp_path)
    db = open_database(path)
    try:
        copy = db.backup(reason="manual")
        with db.session() as s:
            anchor = audit.head_anchor(s)
    finally:
        db.dispose()
    manifest = read_manifest(copy)
    assert manifest is not None and manifest["audit"] == anchor and anchor["entries"] == 5
    assert isinstance(anchor["last_hash"], str) and len(anchor["last_hash"]) == 64


def test_a_shared_server_without_the_key_refuses_instead_of_re_keying(db_url, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL every desktop needs the one key; a desktop without it must not start another (the
    desktops would take turns re-keying). A SQLite file on a computer without its key starts a new key
    with an entry that stays reported."""
    from carenet_desktop.services.context import ServiceError

    db = open_database(db_url)
    try:
        get_or_create_practice(ServiceContext(db, username="alice"), "P1")
        monkeypatch.setenv(AUDIT_KEY_DIR_ENV, str(tmp_path / "another-computer"))
        if db.url.get_backend_name() == "sqlite":
            with db.session() as s:
                audit.record(s, "bob", "login", "user")
            with db.session() as s:
                assert audit.verify_chain(s)  # the re-key entry (and the entries before it) are reported
        else:
            with pytest.raises(ServiceError, match="CARENET_AUDIT_KEY"), db.session() as s:
                audit.record(s, "bob", "login", "user")
    finally:
        db.dispose()
