"""Opening the store: URL resolution, SQLite settings, foreign keys, optimistic concurrency."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from carenet_desktop.models import Encounter, Patient, Practice
from carenet_desktop.models.database import DatabaseError, open_database, resolve_url


def test_resolve_url_path_env_and_url(tmp_path, monkeypatch):
    monkeypatch.delenv("CARENET_DB", raising=False)
    assert resolve_url(tmp_path / "a.db").database == str(tmp_path / "a.db")
    monkeypatch.setenv("CARENET_DB", str(tmp_path / "env.db"))
    assert resolve_url(None).database == str(tmp_path / "env.db")
    url = resolve_url("postgresql+psycopg://u:p@localhost:5432/carenet")
    assert url.get_backend_name() == "postgresql" and url.database == "carenet"


def test_bad_url_is_a_clear_error():
    with pytest.raises(DatabaseError, match="Not a valid database URL"):
        resolve_url("nonsense://::")


def test_sqlite_pragmas(tmp_path):
    db = open_database(tmp_path / "p.db")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 10000
    db.dispose()


def test_foreign_keys_enforced(db_url):
    db = open_database(db_url)
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Encounter(patient_id=999_999, status="finished"))
    db.dispose()


def test_cascade_deletes_events_with_patient(db_url):
    db = open_database(db_url)
    with db.session() as s:
        practice = Practice(code="P", name="P")
        s.add(practice)
        s.flush()
        patient = Patient(practice_id=practice.id, mrn="1", birth_date=dt.date(2020, 1, 1))
        s.add(patient)
        s.flush()
        s.add(Encounter(patient_id=patient.id, status="finished", start=dt.datetime(2024, 1, 1)))
    with db.session() as s:
        s.delete(s.get(Patient, patient.id))
    with db.session() as s:
        assert s.query(Encounter).count() == 0
    db.dispose()


def test_concurrent_update_of_a_patient_is_detected(db_url):
    """Two sessions edit the same patient: the second commit fails instead of silently overwriting."""
    db = open_database(db_url)
    with db.session() as s:
        practice = Practice(code="P", name="P")
        s.add(practice)
        s.flush()
        s.add(Patient(practice_id=practice.id, mrn="1", birth_date=dt.date(2020, 1, 1), payer="medicaid"))
    first, second = db.sessions(), db.sessions()
    a = first.query(Patient).one()
    b = second.query(Patient).one()
    a.payer = "commercial"
    first.commit()
    b.payer = "uninsured"
    with pytest.raises(StaleDataError):
        second.commit()
    second.rollback()
    first.close()
    second.close()
    with db.session() as s:
        assert s.query(Patient).one().payer == "commercial"
    db.dispose()


def test_foreign_database_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE something (x INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(DatabaseError, match="not created by CareNet"):
        open_database(path)


def test_checking_for_encryption_keeps_this_process_s_locks(tmp_path):  # type: ignore[no-untyped-def]
    """Asking whether an open store is encrypted must not drop this process's locks on it: another process
    closing its connection would then delete the write-ahead log under this one's ("disk I/O error")."""
    import subprocess
    import sys

    from carenet_desktop.models.encryption import is_encrypted_file

    path = tmp_path / "store.db"
    first = open_database(path)
    try:
        with first.session() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
            s.execute(text("INSERT INTO t VALUES (1)"))
        with first.engine.connect() as c:  # the pool keeps this connection open, as the window's does
            c.execute(text("SELECT count(*) FROM t")).scalar_one()
        assert not is_encrypted_file(path)
        other = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                 "c.execute('SELECT count(*) FROM t').fetchone(); c.close()")
        subprocess.run([sys.executable, "-c", other, str(path)], check=True)
        assert (tmp_path / "store.db-wal").exists()  # the other process did not take itself for the last one
        second = open_database(path)
        try:
            with second.session() as s:
                assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
        finally:
            second.dispose()
    finally:
        first.dispose()
