"""Pruning shared results that are no longer current (services.shared_results.SharedResults.prune), on
SQLite and PostgreSQL: results of a past store history and keys left unused go; the newest row a client
reads now, and every row of a key a live lease is computing, stay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import insert, select, text

from carenet_desktop.models import ResultLease, SharedResult
from carenet_desktop.models.base import utcnow
from carenet_desktop.models.changes import StoreIdentity
from carenet_desktop.models.database import Database, open_database
from carenet_desktop.services import results_codec, shared_results
from carenet_desktop.services.shared_results import STALE_AFTER, SharedResults, _db_now
from tests.dbtargets import backends, fresh_database

OLD = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(params=backends())
def db(request, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    with fresh_database(request.param, tmp_path) as url:
        database = open_database(url)
        yield database
        database.dispose()


def _state(db: Database) -> tuple[str, int]:
    with db.engine.begin() as conn:
        history = conn.execute(select(StoreIdentity.history_id)).scalar_one()
        # a journal version to be current at (the store has no data yet)
        conn.execute(text("INSERT INTO data_change (at, practice_id, patient_id) VALUES (:at, NULL, NULL)"),
                     {"at": utcnow()})
    with db.engine.connect() as conn:  # after the commit: PostgreSQL numbers journal rows in commit order
        version = int(conn.execute(text("SELECT max(id) FROM data_change")).scalar_one())
    return history, version


def _row(db: Database, key: str, version: int, history: str | None, age: dt.timedelta = dt.timedelta(0)) -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(SharedResult).values(key=key.ljust(64, "0"), version=version, history=history,
                                                 created_at=utcnow() - age, summary_data=b"s", row_data=b"r"))


def _lease(db: Database, key: str, version: int, *, live: bool) -> None:
    with db.engine.begin() as conn:
        expires = _db_now(conn) + (30 if live else -5)
        conn.execute(insert(ResultLease).values(key=f"{key.ljust(64, '0')}:{version}", holder="h", expires_at=expires))


def _left(db: Database) -> set[tuple[str, int]]:
    with db.engine.connect() as conn:
        return {(key.rstrip("0"), version) for key, version in conn.execute(select(SharedResult.key, SharedResult.version))}


def test_results_of_a_past_store_history_go_unless_a_live_lease_is_computing_them(db):  # type: ignore[no-untyped-def]
    history, version = _state(db)
    _row(db, "a", version, OLD)           # a past history: never asked for again
    _row(db, "b", version, history)       # what clients read now
    _row(db, "c", version - 1, history)   # the one before: a base to bring up to date
    _row(db, "d", version, None)          # stored before the history was recorded: judged by age only
    _row(db, "e", version, OLD)
    _lease(db, "e", version + 1, live=True)  # a client is computing e: it may be reading it
    _row(db, "f", version, OLD)
    _lease(db, "f", version + 1, live=False)  # its holder died: no protection
    assert SharedResults(db).prune() == 2
    assert _left(db) == {("b", version), ("c", version - 1), ("d", version), ("e", version)}


def test_keys_unused_for_long_go_but_the_newest_current_row_stays_however_old(db):  # type: ignore[no-untyped-def]
    history, version = _state(db)
    long_ago = STALE_AFTER + dt.timedelta(days=1)
    _row(db, "old", version - 1, history, long_ago)     # nobody brought it up to date since
    _row(db, "quiet", version, history, long_ago)       # no write for long: still what clients read
    _row(db, "quiet", version - 1, history, long_ago)   # ... and its base
    _row(db, "recent", version - 1, history, dt.timedelta(days=1))
    _row(db, "held", version - 1, history, long_ago)
    _lease(db, "held", version, live=True)
    _row(db, "nulls", version - 1, None, long_ago)
    assert SharedResults(db).prune() == 2
    assert _left(db) == {("quiet", version), ("quiet", version - 1), ("recent", version - 1), ("held", version - 1)}


def test_publishing_prunes_and_records_the_store_history(db, monkeypatch):  # type: ignore[no-untyped-def]
    history, version = _state(db)
    _row(db, "a", version, OLD)
    monkeypatch.setattr(results_codec, "encode_entry", lambda entry: ({"meta": np.zeros(1, np.uint8)}, {}))

    class Entry:
        pass

    entry = Entry()
    entry.version = version  # type: ignore[attr-defined]
    SharedResults(db).publish("n".ljust(64, "0"), entry)  # type: ignore[arg-type]
    assert _left(db) == {("n", version)}
    with db.engine.connect() as conn:
        assert conn.execute(select(SharedResult.history)).scalar_one() == history
    assert shared_results.KEEP_VERSIONS >= 1
