"""Shared results: computed once for every client of a store, read by the others without patient rows.

Each test runs on SQLite and, in the PostgreSQL lane (``CARENET_TEST_PG_URL``), on a PostgreSQL server -
the network office's case. A "client" is a store opened on its own engine with its own results cache, as
a second workstation opens the server.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, delete, event, text

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Base, ResultLease, SharedResult
from carenet_desktop.models.changes import current_version
from carenet_desktop.models.database import Database, open_database
from carenet_desktop.services import pg_frames, shared_results
from carenet_desktop.services.context import Progress, ServiceContext
from carenet_desktop.services.gap_source import GapSource
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.scorecard import ScorecardService
from tests.dbtargets import backends, fresh_database
from tests.stores import AS_OF

PERIOD = Period.year(2025)
MEASURES = ("CMS117", "CMS155", "CMS146", "LSC")
#: the tables that hold patients' records (the change journal names patients by id only: it is read to
#: know the store's version)
PATIENT_TABLES = frozenset(name for name, table in Base.metadata.tables.items()
                           if name in ("patient", "encounter_diagnosis")
                           or ("patient_id" in table.columns and name != "data_change"))


@pytest.fixture(scope="module", params=backends())
def store_url(request, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The tests' small demo network, built once per backend (each test empties the shared results)."""
    from carenet_desktop.demo import build_demo

    with fresh_database(request.param, tmp_path_factory.mktemp("shared")) as url:
        db = open_database(url)
        build_demo(db, practices=3, patients=600, seed=7, as_of=AS_OF)
        db.dispose()
        yield url


@pytest.fixture
def client(store_url, tmp_path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A factory of clients of the store: (context, results cache with its own cache folders)."""
    opened: list[Database] = []
    db = open_database(store_url)
    with db.engine.begin() as conn:  # what an earlier test stored is not this test's
        conn.execute(delete(SharedResult))
        conn.execute(delete(ResultLease))
    db.dispose()

    def make(name: str, **options: object) -> tuple[ServiceContext, ResultsCache]:
        db = open_database(store_url)
        opened.append(db)
        ctx = ServiceContext(db)
        folder = tmp_path / name
        return ctx, ResultsCache(ctx, cache_dir=folder / "results", frames_folder=folder / "frames", **options)  # type: ignore[arg-type]

    yield make
    for db in opened:
        db.dispose()


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    return rows.sort_values(keys, na_position="first").reset_index(drop=True).astype(str)


def _from_scratch(client, name: str) -> object:  # type: ignore[no-untyped-def]
    _, cache = client(name, shared=False)
    cache.on_disk = False
    return cache.compute_here(PERIOD, MEASURES, Progress())


def _count_computes(monkeypatch: pytest.MonkeyPatch, during=None) -> list[int]:  # type: ignore[no-untyped-def]
    """Calls of ``ResultsCache.compute_here`` (a whole period computed from the store), by any client."""
    calls: list[int] = []
    original = ResultsCache.compute_here

    def counted(self, period, ids, progress):  # type: ignore[no-untyped-def]
        calls.append(1)
        if during is not None:
            during(self)
        return original(self, period, ids, progress)

    monkeypatch.setattr(ResultsCache, "compute_here", counted)
    return calls


class PatientReads:
    """Statements a client's engine sends that read a patient table, and COPYs (which bypass the engine)."""

    _TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"?(\w+)"?', re.IGNORECASE)

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[str] = []
        self.all: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._seen)
        original = pg_frames._CopyOut.__init__

        def copy(this, pgconn, sql):  # type: ignore[no-untyped-def]
            self._seen(None, None, sql, None, None, False)
            original(this, pgconn, sql)

        monkeypatch.setattr(pg_frames._CopyOut, "__init__", copy)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        self.all.append(statement)
        if PATIENT_TABLES & {t.lower() for t in self._TABLE.findall(statement)}:
            self.statements.append(statement)


def _pg_tuples_read(url: str) -> int:
    """Rows read from the patient tables of the PostgreSQL database at ``url`` since it was created, once
    every other connection to it has closed (a backend's counters reach the statistics when it exits)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for _ in range(100):
                others = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid()")).scalar_one()
                if not others:
                    break
                threading.Event().wait(0.1)
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(conn.execute(text(
                "SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) "
                "FROM pg_stat_user_tables WHERE relname = ANY(:names)"), {"names": sorted(PATIENT_TABLES)}).scalar_one())
    finally:
        engine.dispose()


def test_a_second_client_opens_the_network_scorecard_from_shared_results_without_reading_patient_rows(client, store_url, monkeypatch):  # type: ignore[no-untyped-def]
    postgres = store_url.startswith("postgresql")
    computes = _count_computes(monkeypatch)
    first_ctx, first_cache = client("first", shared=True)
    first_table = ScorecardService(first_ctx, first_cache).network_table(PERIOD, MEASURES)
    assert computes == [1] and len(first_table) > 0
    first_ctx.db.dispose()
    before = _pg_tuples_read(store_url) if postgres else 0
    assert not postgres or before > 0  # the first client's compute read patient rows: the count sees reads

    second_ctx, second_cache = client("second", shared=True)
    reads = PatientReads(second_ctx.db, monkeypatch)
    second_table = ScorecardService(second_ctx, second_cache).network_table(PERIOD, MEASURES)
    assert reads.all, "the second client's statements are seen"
    assert reads.statements == [] and computes == [1]  # no patient table read, nothing computed
    pd.testing.assert_frame_equal(second_table, first_table)
    second_ctx.db.dispose()
    if postgres:
        assert _pg_tuples_read(store_url) == before  # the server read no patient row for it

    # what it showed is what a from-scratch compute of the store gives, rows and all
    fresh = _from_scratch(client, "fresh")
    served = second_cache.results(PERIOD, MEASURES)
    pd.testing.assert_frame_equal(served.summary(["practice_id"]), fresh.summary(["practice_id"]))  # type: ignore[attr-defined]
    assert _sorted(served.rows).equals(_sorted(fresh.rows))  # type: ignore[attr-defined]


def test_two_clients_racing_compute_once_and_the_other_waits_and_reads(client, monkeypatch):  # type: ignore[no-untyped-def]
    waiting = threading.Event()

    def hold_until_the_other_waits(cache: ResultsCache) -> None:
        assert waiting.wait(20), "the other client did not wait for the lease"

    computes = _count_computes(monkeypatch, during=hold_until_the_other_waits)
    clients = [client(f"c{i}", shared=True) for i in range(2)]
    start = threading.Barrier(2)
    got: dict[int, object] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        def seen(fraction: float, message: str) -> None:
            if message == shared_results.WAITING:
                waiting.set()
        try:
            start.wait()
            got[i] = clients[i][1].results(PERIOD, MEASURES, Progress(seen))
        except BaseException as exc:  # raised in the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert computes == [1] and waiting.is_set()
    a, b = got[0], got[1]
    assert a.version == b.version  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(a.summary(["practice_id"]), b.summary(["practice_id"]))  # type: ignore[attr-defined]
    assert _sorted(a.rows).equals(_sorted(b.rows))  # type: ignore[attr-defined]


def test_a_lease_whose_holder_died_expires_and_is_taken_over(client, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(shared_results, "POLL_S", 0.05)
    ctx, cache = client("survivor", shared=True)
    ids = MEASURES
    key = cache._shared_key(PERIOD, ids, cache.stamp(ids))
    with ctx.db.engine.begin() as conn:
        version = current_version(ctx.db.sessions())
        dead_until = shared_results._db_now(conn) + 1.5  # a holder that stopped renewing its lease
        conn.execute(ResultLease.__table__.insert().values(key=f"{key[:64]}:{version}", holder="crashed",
                                                           expires_at=dead_until))
    started_at: list[float] = []

    def note_start(this: ResultsCache) -> None:
        with this.ctx.db.engine.connect() as conn:
            started_at.append(shared_results._db_now(conn))

    computes = _count_computes(monkeypatch, during=note_start)
    entry = cache.results(PERIOD, MEASURES)
    assert computes == [1] and started_at[0] >= dead_until  # waited for the lease to lapse, then computed
    assert entry.version == version and cache.shared is not None and cache.shared.has(key, version)
    with ctx.db.engine.connect() as conn:
        assert conn.execute(ResultLease.__table__.select()).all() == []  # released after storing


def test_a_write_makes_the_stored_results_unusable_and_the_next_client_brings_them_up_to_date(client, monkeypatch):  # type: ignore[no-untyped-def]
    first_ctx, first_cache = client("first", shared=True)
    before = first_cache.results(PERIOD, MEASURES)
    rows = before.rows
    child = int(rows.loc[(rows["measure"] == "CMS117") & rows["numerator"].fillna(False).astype(bool), "patient_id"].iloc[0])
    with first_ctx.db.engine.begin() as conn:  # the child's vaccines are deleted: CMS117 changes
        conn.execute(text("DELETE FROM immunization WHERE patient_id = :p"), {"p": child})
    with first_ctx.db.session() as s:
        version = current_version(s)
    assert version > before.version
    ids = MEASURES
    key = first_cache._shared_key(PERIOD, ids, first_cache.stamp(ids))
    assert first_cache.shared is not None and first_cache.shared.has(key, before.version)
    assert first_cache.shared.fetch(key, version, PERIOD, ids, pd.DataFrame) is None  # never for another version

    computes = _count_computes(monkeypatch)
    second_ctx, second_cache = client("second", shared=True)
    after = second_cache.results(PERIOD, MEASURES)
    assert after.version == version and computes == []  # brought up to date from the journal, not recomputed
    assert not after.summary(["practice_id"]).equals(before.summary(["practice_id"]))
    fresh = _from_scratch(client, "fresh")
    pd.testing.assert_frame_equal(after.summary(["practice_id"]), fresh.summary(["practice_id"]))  # type: ignore[attr-defined]
    assert _sorted(after.rows).equals(_sorted(fresh.rows))  # type: ignore[attr-defined]
    # stored for the next client at the new version, and the first client now reads it too
    assert second_cache.shared is not None and second_cache.shared.has(key, version)
    again = first_cache.results(PERIOD, MEASURES)
    assert again.version == version and computes == [1]  # (the from-scratch compute above)
    assert _sorted(again.rows).equals(_sorted(fresh.rows))  # type: ignore[attr-defined]


def test_patient_level_frames_reach_a_workstation_disk_only_for_a_patient_level_view(client, store_url):  # type: ignore[no-untyped-def]
    ctx, cache = client("office", shared=True)
    ScorecardService(ctx, cache).network_table(PERIOD, MEASURES)
    files = lambda folder: sorted(p.name for p in Path(folder).rglob("*") if p.is_file())  # noqa: E731
    if store_url.startswith("postgresql"):
        # the server's office: nothing of a patient on this computer's disk for the scorecard
        assert files(cache.frames_folder) == [] and files(cache.root) == []
    else:  # a SQLite store lies on this disk already: its snapshot makes the next start fast
        assert any(name.endswith(".npz") for name in files(cache.frames_folder))
    practice = int(cache.results(PERIOD, MEASURES).rows["practice_id"].iloc[0])
    GapSource(ctx, cache).inputs(PERIOD, [ctx.catalogue.get(m) for m in MEASURES], [practice])
    assert any(name.endswith(".npz") for name in files(cache.frames_folder))  # the worklist: the user's choice


def test_a_trend_is_precomputed_in_the_workers_and_stored_except_a_period_another_client_computes(client, monkeypatch):  # type: ignore[no-untyped-def]
    from carenet_desktop.services import compute_pool

    periods = [PERIOD, Period.year(2024), Period.year(2023)]
    ctx, cache = client("trend", shared=True)
    ids = MEASURES
    stamp = cache.stamp(ids)
    with ctx.db.session() as s:
        version = current_version(s)
    busy = cache._shared_key(periods[2], ids, stamp)
    with ctx.db.engine.begin() as conn:  # another workstation is computing the last period (a live lease)
        conn.execute(ResultLease.__table__.insert().values(key=f"{busy[:64]}:{version}", holder="other",
                                                           expires_at=shared_results._db_now(conn) + 600))
    compute_pool.configure(1)
    try:
        cache.precompute(periods, list(ids))
    finally:
        compute_pool.configure(0)
    assert cache.shared is not None
    stored = [cache.shared.has(cache._shared_key(p, ids, stamp), version) for p in periods]
    assert stored == [True, True, False]
    computes = _count_computes(monkeypatch)
    other_ctx, other = client("other", shared=True)
    assert other.holds(periods[0], list(ids)) and not other.holds(periods[2], list(ids))
    served = other.results(periods[1], ids)
    assert computes == [] and served.version == version  # read, not computed
    fresh_ctx, fresh = client("fresh", shared=False)
    fresh.on_disk = False
    expected = fresh.compute_here(periods[1], ids, Progress())
    pd.testing.assert_frame_equal(served.summary(["practice_id"]), expected.summary(["practice_id"]))
