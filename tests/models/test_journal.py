"""Every write to a measured table reaches the change journal, whatever wrote it (models/journal.py).

The store is a small demo network with value sets and one submission, so every measured table has rows.
For each table, with raw SQL (no ORM, no application code), a row is deleted, inserted again and updated;
each statement must add journal rows naming that row's practice and patient.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from carenet_desktop.models import Base
from carenet_desktop.models.changes import changes_since, current_version, history_id
from carenet_desktop.models.database import Database, open_database
from carenet_desktop.models.journal import UNMEASURED, bulk_rewrite, journal_rules
from tests.dbtargets import backends, fresh_database


def test_every_table_is_journaled_or_declared_unmeasured() -> None:
    rules = journal_rules(Base.metadata)  # raises for a table with no rule
    assert set(rules) | (UNMEASURED & set(Base.metadata.tables)) == set(Base.metadata.tables)
    assert {"patient", "encounter", "encounter_diagnosis", "immunization", "referral", "care_activity",
            "aggregate_entry", "value_set_code", "submitted_aggregate"} <= set(rules)


@pytest.fixture(scope="module", params=backends())
def demo_store(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    from carenet_desktop.demo import build_demo
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.valuesets import ensure_default_catalogue

    with fresh_database(request.param, tmp_path_factory.mktemp("journal")) as url:
        db = open_database(url)
        build_demo(db, practices=2, patients=150, seed=5, as_of=dt.date(2026, 6, 30))
        ensure_default_catalogue(ServiceContext(db))
        with db.engine.begin() as conn:  # the office's tables: one received package
            practice = conn.execute(text("SELECT min(id) FROM practice")).scalar()
            conn.execute(text(
                "INSERT INTO submission (practice_id, period_label, period_start, period_end, format_version, "
                "manifest_sha256, key_fingerprint, imported_at, status, row_count) VALUES "
                "(:p, '2025', '2025-01-01', '2025-12-31', 1, 'd', 'f', '2026-01-06', 'current', 1)"),
                {"p": practice})
            conn.execute(text(
                "INSERT INTO aggregate_entry (practice_id, measure_id, group_index, period_start, period_end, "
                "denominator, numerator, exclusions, exceptions, created_at, updated_at, version) VALUES "
                "(:p, 'DEV', 0, '2025-01-01', '2025-12-31', 10, 5, 0, 0, '2026-01-06', '2026-01-06', 1)"),
                {"p": practice})
            sub = conn.execute(text("SELECT min(id) FROM submission")).scalar()
            conn.execute(text("INSERT INTO submitted_aggregate (submission_id, measure_id, group_index, stratifier, "
                              "stratum, suppressed, initial_population, denominator, exclusions, exceptions, "
                              "numerator) VALUES (:s, 'CMS2', 0, '', '', false, 20, 20, 0, 0, 10)"), {"s": sub})
        yield db
        db.dispose()


def _columns(db: Database, table: str) -> list[str]:
    return [c.name for c in Base.metadata.tables[table].columns]


def _expected(conn, table: str, row_id: int) -> tuple[int | None, int | None]:  # type: ignore[no-untyped-def]
    rule = journal_rules(Base.metadata)[table]
    sql = f'SELECT {rule.practice}, {rule.patient} FROM "{table}" r WHERE r.id = :id'
    got = conn.execute(text(sql), {"id": row_id}).one()
    return got[0], got[1]


def test_raw_sql_writes_to_every_measured_table_are_journaled(demo_store: Database) -> None:
    db = demo_store
    for table, rule in journal_rules(Base.metadata).items():
        with db.engine.connect() as conn:
            trans = conn.begin()
            row_id = conn.execute(text(f'SELECT min(id) FROM "{table}"')).scalar()
            assert row_id is not None, f"the fixture store has no {table} row to write"
            practice, patient = _expected(conn, table, row_id)
            expected = (None, None) if rule.everything else (practice, patient)
            cols = ", ".join(f'"{c}"' for c in _columns(db, table))
            statements = [
                f'UPDATE "{table}" SET id = id WHERE id = :id',
                f'CREATE TEMP TABLE saved_row AS SELECT * FROM "{table}" WHERE id = :id',
                f'DELETE FROM "{table}" WHERE id = :id',
                f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM saved_row',
            ]
            for sql in statements:
                before = conn.execute(text("SELECT coalesce(max(id), 0) FROM data_change")).scalar()
                conn.execute(text(sql), {"id": row_id})
                if sql.startswith("CREATE"):
                    continue
                rows = conn.execute(text("SELECT practice_id, patient_id FROM data_change WHERE id > :v"),
                                    {"v": before}).all()
                assert expected in {tuple(r) for r in rows}, f"{table}: {sql.split()[0]} not journaled as {expected}"
            trans.rollback()


def test_a_bulk_rewrite_journals_everything_and_renews_the_history(demo_store: Database) -> None:
    db = demo_store
    with db.session() as s:
        old_history, old_version = history_id(s), current_version(s)
    with db.engine.begin() as conn, bulk_rewrite(conn):
        conn.execute(text("UPDATE patient SET zip_code = zip_code"))
        assert conn.execute(text("SELECT coalesce(max(id), 0) FROM data_change")).scalar() == old_version
    with db.session() as s:
        version, wholesale, patients = changes_since(s, old_version)
        assert history_id(s) != old_history and old_history
        assert wholesale == {None} and patients == set() and version > old_version
        assert s.execute(text("SELECT suspended FROM journal_state")).scalar() == 0  # on again for everyone


def test_a_journal_that_went_back_means_everything_changed(tmp_path: Path) -> None:
    db = open_database(tmp_path / "s.db")
    try:
        with db.session() as s:
            version = current_version(s)
            assert changes_since(s, version + 5) == (version, {None}, set())
    finally:
        db.dispose()


@pytest.mark.parametrize("backend", backends())
def test_the_journal_is_installed_on_a_new_store(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        db = open_database(url)
        try:
            with db.session() as s:
                assert history_id(s)
                before = current_version(s)
                s.execute(text("INSERT INTO practice (code, name, active, created_at, updated_at) "
                               "VALUES ('X', 'X', true, '2026-01-01', '2026-01-01')"))
            with db.session() as s:
                assert changes_since(s, before)[1] == {s.execute(text("SELECT id FROM practice WHERE code = 'X'")).scalar()}
        finally:
            db.dispose()
