"""PostgreSQL reads the store with COPY into the same frames as the other readers, in one snapshot.

Runs in the PostgreSQL lane only (``CARENET_TEST_PG_URL``; ``dev.py test`` starts a server). The COPY
frames are compared, column by column with their dtypes, with the driver-cursor reader the COPY reader
replaced (``measure_data._read_generic``) on the same database, and with the SQLite reader on the same demo
network built into a file.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.valuesets import MULTI_SEP
from carenet_desktop.models import Encounter, Observation, Patient
from carenet_desktop.models.changes import current_version
from carenet_desktop.models.database import Database, open_database
from carenet_desktop.services import measure_data, pg_frames
from carenet_desktop.services.frames_cache import load_measure_data_cached
from carenet_desktop.services.measure_data import load_measure_data, load_measure_data_versioned
from tests.dbtargets import PG_ENV, fresh_database
from tests.stores import AS_OF

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} not set: no PostgreSQL server for this run")]

#: texts CSV, the NULL marker and pandas' type inference could each get wrong
AWKWARD_TEXTS = ["", "\\N", "~", "~x", "1", "1.0", "True", "NaN", "NA", "null", " padded ", 'a,b"c', "two\nlines",
                 "tab\there", "cr\r\nlf", "Zoë Ångström – 東京 🚑", "a\x1fb\x15c"]


def _assert_same(left: object, right: object) -> None:
    for name, frame in left.frames().items():  # type: ignore[attr-defined]
        pd.testing.assert_frame_equal(frame, right.frames()[name], check_dtype=True, obj=name)  # type: ignore[attr-defined]


def _generic(db: Database, monkeypatch: pytest.MonkeyPatch, **selection: object):  # type: ignore[no-untyped-def]
    """The frames through the driver's cursor (the reader before COPY), on the same database."""
    with monkeypatch.context() as m:
        m.setattr(pg_frames, "read_table", measure_data._read_generic)
        return load_measure_data(db, with_valuesets=False, **selection)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pg_demo(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The tests' small demo network (tests/stores.py arguments) built into a new PostgreSQL database."""
    from carenet_desktop.demo import build_demo

    with fresh_database("postgresql", tmp_path_factory.mktemp("pg")) as url:
        db = open_database(url)
        build_demo(db, practices=3, patients=600, seed=7, as_of=AS_OF)
        yield db
        db.dispose()


@pytest.fixture
def pg_db(tmp_path):  # type: ignore[no-untyped-def]
    with fresh_database("postgresql", tmp_path) as url:
        db = open_database(url)
        yield db
        db.dispose()


def test_copy_frames_equal_the_cursor_frames_and_the_sqlite_frames_of_the_same_demo(pg_demo, small_demo_file, monkeypatch):  # type: ignore[no-untyped-def]
    factorized: dict = {}  # type: ignore[type-arg]
    copied, _ = load_measure_data_versioned(pg_demo, with_valuesets=False, factorized=factorized)
    assert len(copied.patients) == 600 and len(copied.encounters) > 1000
    # the COPY reader hands over its text columns' codes (keys included), as the SQLite reader does
    assert {("encounters", "key"), ("patients", "sex"), ("immunizations", "key")} <= set(factorized)
    for (name, column), (codes, texts) in factorized.items():
        frame_column = getattr(copied, name)[column]
        rebuilt = pd.Series(np.append(np.asarray(texts, dtype=object), None)[np.where(codes >= 0, codes, len(texts))])
        assert rebuilt.isna().equals(frame_column.isna()) and (rebuilt.dropna() == frame_column.dropna()).all(), column
    partly_null = {str(f[c].dtype) for f in copied.frames().values() for c in f.columns if 0 < f[c].isna().sum() < len(f)}
    assert {"datetime64[us]", "str", "Int64", "float64"} <= partly_null  # NULLs among values, of every kind
    _assert_same(copied, _generic(pg_demo, monkeypatch))
    sqlite = open_database(small_demo_file)
    try:
        _assert_same(copied, load_measure_data(sqlite, with_valuesets=False))
    finally:
        sqlite.dispose()


@pytest.mark.parametrize("selection", ["practices", "patients"])
def test_restricted_loads_agree(pg_demo, monkeypatch, selection):  # type: ignore[no-untyped-def]
    with pg_demo.session() as s:
        some = list(s.scalars(select(Patient.id).order_by(Patient.id).limit(40)))
        practice = s.scalar(select(Patient.practice_id).order_by(Patient.id).limit(1))
    chosen = {"practice_id_list": [practice]} if selection == "practices" else {"patient_id_list": some[::3]}
    copied = load_measure_data(pg_demo, with_valuesets=False, **chosen)  # type: ignore[arg-type]
    assert 0 < len(copied.patients) < 600
    _assert_same(copied, _generic(pg_demo, monkeypatch, **chosen))


def test_awkward_values_are_read_exactly(pg_db, monkeypatch):  # type: ignore[no-untyped-def]
    """Empty text against NULL, separators, quotes, line breaks, unicode, texts that look like numbers;
    microseconds and dates without a time; floats to the last bit; rows with several codings."""
    from carenet_desktop.models import Practice

    with pg_db.session() as s:
        practice = Practice(code="A", name="Ä")
        s.add(practice)
        s.flush()
        patient = Patient(practice_id=practice.id, mrn="M1", birth_date=dt.date(2019, 2, 28), race="", language="Zoë 東京")
        s.add(patient)
        s.flush()
        for i, value in enumerate(AWKWARD_TEXTS):
            s.add(Observation(patient_id=patient.id, code_system="loinc", code=f"{i}-0", value_text=value,
                              value_num=[0.1 + 0.2, 1e-300, -0.0, None][i % 4],
                              effective_start=dt.datetime(2025, 3, 1, 10, 0, 0, 123457 * i % 1_000_000),
                              date_only="effective_start" if i % 2 else None,
                              codings="code\tsnomed|123\nvalue\tsnomed|9\ncategory\tlaboratory" if i % 3 == 0 else None))
        s.add(Observation(patient_id=patient.id, code="old", effective_start=dt.datetime(1969, 7, 20, 20, 17, 40, 500001),
                          effective_end=dt.datetime(1900, 1, 1), issued=dt.datetime(9000, 12, 31, 23, 59, 59, 999997)))
        s.add(Observation(patient_id=patient.id, code_system=None, code=None, value_text=None))  # all NULL
        s.add(Encounter(patient_id=patient.id, code_system="cpt", code="99213", start=dt.datetime(2025, 5, 1),
                        codings="code\tsnomed|185349003"))
    copied = load_measure_data(pg_db, with_valuesets=False)
    obs = copied.observations
    assert obs["value_text"].iloc[:len(AWKWARD_TEXTS)].tolist() == AWKWARD_TEXTS
    assert pd.isna(obs["value_text"].iloc[-1]) and pd.isna(obs["effective_start"].iloc[-1])
    assert obs["value_num"].iloc[0] == 0.1 + 0.2 and obs["value_num"].iloc[1] == 1e-300 and pd.isna(obs["value_num"].iloc[3])
    assert obs["effective_start"].iloc[1] == pd.Timestamp("2025-03-01 10:00:00.123457")
    old = obs.iloc[-2]
    assert (old["effective_start"], old["effective_end"], old["issued"]) == (
        pd.Timestamp("1969-07-20 20:17:40.500001"), pd.Timestamp("1900-01-01"), pd.Timestamp("9000-12-31 23:59:59.999997"))
    assert obs["key"].iloc[0] == f"loinc|0-0{MULTI_SEP}snomed|123" and obs["key"].iloc[1] == "loinc|1-0"
    assert obs["value_key"].iloc[0] == f"|{MULTI_SEP}snomed|9" and obs["category"].iloc[0] == ",laboratory"
    assert copied.encounters["key"].tolist() == [f"cpt|99213{MULTI_SEP}snomed|185349003"]
    assert pd.isna(obs["date_only"].iloc[0]) and obs["date_only"].iloc[1] == "effective_start"
    assert copied.patients["race"].tolist() == [""] and copied.patients["language"].tolist() == ["Zoë 東京"]
    assert copied.patients["birth_date"].iloc[0] == pd.Timestamp("2019-02-28")
    _assert_same(copied, _generic(pg_db, monkeypatch))


def test_an_empty_store_gives_empty_typed_frames(pg_db, monkeypatch):  # type: ignore[no-untyped-def]
    copied = load_measure_data(pg_db, with_valuesets=False)
    assert all(len(f) == 0 for f in copied.frames().values())
    _assert_same(copied, _generic(pg_db, monkeypatch))


def _commit_between_tables(db: Database, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """After the loader's first table, another connection commits a new patient with an encounter (and so
    a journal row) and waits for it to be done: the load must not see any of it."""
    done = threading.Event()
    claim = threading.Lock()  # tables are read on several connections at once: one of them writes
    reader = pg_frames.read_table

    def read_then_write(dbapi, table, cols, where):  # type: ignore[no-untyped-def]
        out = reader(dbapi, table, cols, where)
        if claim.acquire(blocking=False):
            def write() -> None:
                with db.session() as s:
                    practice = s.scalar(select(Patient.practice_id).limit(1))
                    late = Patient(practice_id=practice, mrn="LATE", birth_date=dt.date(2020, 1, 1))
                    s.add(late)
                    s.flush()
                    s.add(Encounter(patient_id=late.id, code_system="cpt", code="LATE", start=dt.datetime(2025, 1, 2)))

            writer = threading.Thread(target=write)  # a writer of its own, committing while the load is open
            writer.start()
            writer.join(timeout=60)
            done.set()
        return out

    monkeypatch.setattr(pg_frames, "read_table", read_then_write)
    return done


def test_a_commit_during_the_load_is_not_seen_and_the_version_is_the_snapshot_s(pg_db, monkeypatch):  # type: ignore[no-untyped-def]
    from carenet_desktop.demo import build_demo

    build_demo(pg_db, practices=2, patients=150, seed=4, as_of=AS_OF)
    with pg_db.session() as s:
        before = current_version(s)
    committed = _commit_between_tables(pg_db, monkeypatch)
    data, version = load_measure_data_versioned(pg_db, with_valuesets=False)
    assert committed.is_set()
    with pg_db.session() as s:
        assert current_version(s) > before  # the commit happened, and journaled itself
        assert s.scalar(select(Encounter.id).where(Encounter.code == "LATE")) is not None
    assert version == before
    assert len(data.patients) == 150 and not data.encounters["key"].str.endswith("|LATE").any()
    monkeypatch.undo()
    after = load_measure_data(pg_db, with_valuesets=False)  # a new load sees it
    assert len(after.patients) == 151 and after.encounters["key"].str.endswith("|LATE").any()
    with pg_db.session() as s:  # the load's read-only snapshot does not stay on the pooled connection
        s.add(Encounter(patient_id=int(after.patients["patient_id"].iloc[0]), code_system="cpt", code="AFTER"))


def test_a_snapshot_saved_during_a_commit_is_keyed_by_the_data_it_holds(pg_db, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """A commit during the cold load: the frames snapshot is saved under the version of the data read, so
    the next load replays the commit (and then equals a fresh load)."""
    from carenet_desktop.demo import build_demo

    build_demo(pg_db, practices=2, patients=150, seed=4, as_of=AS_OF)
    with pg_db.session() as s:
        before = current_version(s)
    _commit_between_tables(pg_db, monkeypatch)
    cold, served = load_measure_data_cached(pg_db, tmp_path, patient_view=True)  # (saved only for one)
    assert not served and not cold.encounters["key"].str.endswith("|LATE").any()
    assert [p.name.split("-")[0] for p in tmp_path.glob("v*.npz")] == [f"v{before}"]
    monkeypatch.undo()
    warm, served = load_measure_data_cached(pg_db, tmp_path, patient_view=True)
    assert served and warm.encounters["key"].str.endswith("|LATE").any()
    _assert_same(warm, load_measure_data(pg_db, with_valuesets=False))


def test_a_commit_just_before_the_load_names_the_snapshot_by_the_newer_version(pg_db, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """The cache reads the version, then the load opens its snapshot: a commit in between is in the data,
    and the snapshot is named by the version read inside the load's snapshot (not the older one)."""
    from carenet_desktop.demo import build_demo
    from carenet_desktop.services import frames_cache

    build_demo(pg_db, practices=2, patients=150, seed=4, as_of=AS_OF)
    with pg_db.session() as s:
        before = current_version(s)
    loader = frames_cache.load_measure_data_versioned

    def commit_then_load(db, **options):  # type: ignore[no-untyped-def]
        with db.session() as s:
            s.add(Patient(practice_id=s.scalar(select(Patient.practice_id).limit(1)), mrn="EARLY",
                          birth_date=dt.date(2020, 1, 1)))
        return loader(db, **options)

    monkeypatch.setattr(frames_cache, "load_measure_data_versioned", commit_then_load)
    cold, served = load_measure_data_cached(pg_db, tmp_path, patient_view=True)
    with pg_db.session() as s:
        after = current_version(s)
    assert after > before and len(cold.patients) == 151
    assert [p.name.split("-")[0] for p in tmp_path.glob("v*.npz")] == [f"v{after}"]


@pytest.mark.parametrize("failing", ["1 / 0", "CASE WHEN t.id > 300 THEN 1 / (t.id - t.id) ELSE 1 END"])
def test_a_copy_that_fails_raises_and_leaves_the_connection_usable(pg_demo, failing):  # type: ignore[no-untyped-def]
    """At once, or after rows were streamed: the error is raised and the connection is not left mid-COPY."""
    import psycopg
    from sqlalchemy import text

    from carenet_desktop.services.measure_data import Col

    with pg_demo.engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        with pytest.raises(psycopg.Error, match="division by zero"):
            pg_frames.read_table(dbapi, "patient", [Col("patient_id", "t.id", "int"), Col("x", failing, "int")], "1=1")
        conn.rollback()
        assert conn.execute(text("SELECT COUNT(*) FROM patient")).scalar_one() == 600


def test_the_demo_build_gives_back_every_foreign_key_and_they_hold(pg_db):  # type: ignore[no-untyped-def]
    """The PostgreSQL bulk writer drops the loaded tables' foreign keys while it COPYs, and adds them back."""
    import sqlalchemy.exc
    from sqlalchemy import text

    from carenet_desktop.demo import build_demo

    catalogue = text("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                     "WHERE contype = 'f' ORDER BY 1, 2")
    with pg_db.engine.connect() as conn:
        before = conn.execute(catalogue).all()
    assert len(before) > 20
    build_demo(pg_db, practices=2, patients=150, seed=4, as_of=AS_OF)
    with pg_db.engine.connect() as conn:
        assert conn.execute(catalogue).all() == before
    with pytest.raises(sqlalchemy.exc.IntegrityError), pg_db.session() as s:
        s.add(Encounter(patient_id=10**9, code_system="cpt", code="99213"))


def test_every_connection_of_a_load_reads_the_load_s_snapshot(pg_db, monkeypatch):  # type: ignore[no-untyped-def]
    """The helper connections start after a commit made once the load's snapshot was taken: they import
    that snapshot, so none of them sees the commit (the same table read on each of three connections)."""
    from carenet_desktop.demo import build_demo
    from carenet_desktop.services.measure_data import Col

    build_demo(pg_db, practices=2, patients=150, seed=4, as_of=AS_OF)
    cols = [Col("patient_id", "t.id", "int"), Col("mrn", "t.mrn", "str")]
    with pg_db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM patient").scalar_one() == 150  # the snapshot is taken
        with pg_db.session() as s:
            s.add(Patient(practice_id=s.scalar(select(Patient.practice_id).limit(1)), mrn="LATE",
                          birth_date=dt.date(2020, 1, 1)))
        jobs = [pg_frames.TableJob(f"copy{i}", "patient", cols, "1=1") for i in range(6)]
        backends: set[int] = set()
        reader = pg_frames.read_table

        def recording(dbapi, *args):  # type: ignore[no-untyped-def]
            backends.add(dbapi.info.backend_pid)
            time.sleep(0.2)  # each connection waits a little, so that every one of them takes a table
            return reader(dbapi, *args)

        monkeypatch.setattr(pg_frames, "read_table", recording)
        seen = pg_frames.read_tables(conn, jobs, connections=3)
    assert sorted(seen) == [job.name for job in jobs]
    for name, columns in seen.items():
        assert len(columns["patient_id"]) == 150 and "LATE" not in set(columns["mrn"].column()), name
    assert len(backends) == 3
    with pg_db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM patient").scalar_one() == 151


def test_a_copy_waiting_for_the_server_lets_other_threads_run(pg_demo):  # type: ignore[no-untyped-def]
    """libpq's blocking calls keep the GIL while they wait: the reader waits with ``select`` instead, so the
    other connections' threads of a load go on parsing while one waits for its server."""
    from carenet_desktop.services.measure_data import Col

    ticks: list[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            time.sleep(0.01)
            ticks.append(time.perf_counter())

    with pg_demo.engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        thread = threading.Thread(target=ticker)
        thread.start()
        try:
            start = time.perf_counter()
            out = pg_frames.read_table(dbapi, "patient", [Col("patient_id", "t.id", "int"),
                                                          Col("slow", "(SELECT 7 FROM pg_sleep(2))", "int")], "t.id = 1")
            end = time.perf_counter()
        finally:
            stop.set()
            thread.join()
    assert list(out["slow"]) == [7]
    assert sum(start < t < end for t in ticks) >= 10  # about 200 when the wait lets the GIL go; none when not


def test_a_helper_connection_that_cannot_be_had_only_does_not_help(pg_db, monkeypatch):  # type: ignore[no-untyped-def]
    """The server's connection limit reached, the snapshot refused: the load reads every table on the
    connections it has; a table's read that fails still fails the load (never a table silently missing)."""
    from carenet_desktop.demo import build_demo
    from carenet_desktop.services.measure_data import Col

    build_demo(pg_db, practices=2, patients=120, seed=5, as_of=AS_OF)
    cols = [Col("patient_id", "t.id", "int"), Col("mrn", "t.mrn", "str")]
    jobs = [pg_frames.TableJob(f"copy{i}", "patient", cols, "1=1") for i in range(4)]
    engine = pg_db.engine
    main_thread = threading.get_ident()
    connect = type(engine).connect

    def refusing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if threading.get_ident() != main_thread:
            raise OSError("too many clients already")
        return connect(self, *args, **kwargs)

    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with monkeypatch.context() as m:
            m.setattr(type(engine), "connect", refusing)
            seen = pg_frames.read_tables(conn, jobs, connections=3)
    assert sorted(seen) == [job.name for job in jobs]
    assert all(len(columns["patient_id"]) == 120 for columns in seen.values())

    reader = pg_frames.read_table
    calls: list[int] = []

    def failing(dbapi, table, cols, where):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:  # whichever connection reads it
            raise ValueError("a table's read failed")
        return reader(dbapi, table, cols, where)

    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        monkeypatch.setattr(pg_frames, "read_table", failing)
        with pytest.raises(ValueError, match="a table's read failed"):
            pg_frames.read_tables(conn, jobs, connections=3)
