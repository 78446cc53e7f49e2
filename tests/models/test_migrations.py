"""Migrations: every revision upgrades cleanly, and the models match the migrated schema."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from carenet_desktop.models import Base
from carenet_desktop.models.backup import backup_sqlite
from carenet_desktop.models.database import make_engine, open_database, resolve_url
from carenet_desktop.models.migrations import alembic_config, current_revision, head_revision, upgrade


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_first_revision_upgrades_to_head(db_url):
    engine = make_engine(resolve_url(db_url))
    first = _revisions()[0]
    upgrade(engine, first)
    with engine.connect() as conn:
        assert current_revision(conn) == first
    db = open_database(db_url)  # opening upgrades to head
    with db.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    db.dispose()
    engine.dispose()


def test_each_revision_upgrades_from_the_one_before(db_url):
    engine = make_engine(resolve_url(db_url))
    for rev in _revisions():
        upgrade(engine, rev)
        with engine.connect() as conn:
            assert current_revision(conn) == rev
    engine.dispose()


def test_models_match_migrated_schema(db_url):
    db = open_database(db_url)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    db.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_every_model_table_exists_after_migration(db_url):
    db = open_database(db_url)
    tables = set(inspect(db.engine).get_table_names())
    db.dispose()
    assert set(Base.metadata.tables) <= tables


def test_backup_is_a_complete_copy(tmp_path):
    db = open_database(tmp_path / "live.db")
    from carenet_desktop.services import ServiceContext
    from carenet_desktop.services.practices import get_or_create_practice

    get_or_create_practice(ServiceContext(db), "P1", "Practice one")
    copy = backup_sqlite(db.engine, db.path, reason="test")
    db.dispose()
    con = sqlite3.connect(copy)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT code FROM practice").fetchall() == [("P1",)]
    con.close()


def test_backup_taken_before_a_migration_runs(tmp_path, monkeypatch):
    """A database behind the head revision is backed up before it is upgraded."""
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    revisions = _revisions()
    upgrade(engine, revisions[0])
    engine.dispose()
    import carenet_desktop.models.database as database

    calls: list[str] = []
    real_backup = database.backup_sqlite

    def spy(engine, db_path, *, reason="manual", dest=None, key=None):  # type: ignore[no-untyped-def]
        calls.append(reason)
        return real_backup(engine, db_path, reason=reason, dest=dest, key=key)

    monkeypatch.setattr(database, "backup_sqlite", spy)
    # pretend a newer head exists so that opening must migrate
    monkeypatch.setattr(database, "head_revision", lambda: "9999")
    monkeypatch.setattr(database, "upgrade", lambda engine: None)
    database.open_database(path).dispose()
    assert calls == [f"pre-migration-{revisions[0]}"]
    assert list((tmp_path / "backups").glob("old-*.db"))


def test_the_known_head_is_the_newest_migration(tmp_path):
    """``KNOWN_HEAD`` lets an up-to-date store open without Alembic; it must name the true head."""
    from carenet_desktop.models.migrations import KNOWN_HEAD, at_known_head

    assert head_revision() == KNOWN_HEAD
    db = open_database(tmp_path / "fresh.db")
    with db.engine.connect() as conn:
        assert at_known_head(conn)
    db.dispose()


def test_value_sets_survive_the_measure_years_upgrade(tmp_path):
    """0004 -> 0005: value sets keep their codes, a missing version becomes '', and a second expansion of
    the same URL can then be stored beside the first; conditions gain their profile kind."""
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO value_set (id, url, version, source) VALUES (1, 'http://x/ValueSet/a', NULL, 'vsac')")
        conn.exec_driver_sql("INSERT INTO value_set_code (value_set_id, code_system, code) VALUES (1, 'cvx', '20')")
    upgrade(engine, "0005")
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT url, version, expansion FROM value_set").fetchall() == [
            ("http://x/ValueSet/a", "", "")]
        assert conn.exec_driver_sql("SELECT code FROM value_set_code WHERE value_set_id = 1").fetchall() == [("20",)]
        conn.exec_driver_sql("INSERT INTO value_set (url, version, expansion) VALUES ('http://x/ValueSet/a', '', '2026')")
        assert "profile_kind" in {c["name"] for c in inspect(conn).get_columns("condition")}
    engine.dispose()
