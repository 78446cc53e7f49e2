"""The SQLite chunk reader gives the exact reader's frames (``_read_generic``), and its text codes make the
same frames snapshot: NULL cells, columns NULL in every row or in whole chunks, further codings, rows out
of id order, and text with the separator characters (the reader then falls back to the exact one)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from carenet_desktop.models import Condition, Encounter, Immunization, Observation, Patient
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext, frames_cache, measure_data, sqlite_frames
from carenet_desktop.services.measure_data import load_measure_data, load_measure_data_versioned
from carenet_desktop.services.practices import get_or_create_practice


@pytest.fixture
def db(tmp_path):  # type: ignore[no-untyped-def]
    store = open_database(tmp_path / "store.db")
    ctx = ServiceContext(store, username="tester")
    practice = get_or_create_practice(ctx, "A")
    with store.session() as s:
        patients = [Patient(practice_id=practice, mrn=f"M{i}", birth_date=dt.date(2015, 1, 1 + i),
                            source_id=f"p{i}" if i % 3 else None,
                            deceased_date=dt.date(2024, 5, 1) if i == 7 else None, sex="female" if i % 2 else None)
                    for i in range(12)]
        s.add_all(patients)
        s.flush()
        for i in range(60):
            patient = patients[(i * 5) % 12]  # interleaved patients: a patient's rows are not in id order
            s.add(Encounter(
                patient_id=patient.id, status="finished" if i % 4 else None,
                code_system="cpt" if i % 5 else None, code=f"9921{i % 4}" if i % 6 else None,
                class_code="AMB", start=dt.datetime(2025, 1, 1) + dt.timedelta(days=i),
                end=None if i % 2 else dt.datetime(2025, 1, 1, 10) + dt.timedelta(days=i),
                # only the last rows have a location: whole chunks of the column are NULL
                location_system="snomed" if i >= 55 else None, location_code="35971002" if i >= 55 else None,
                codings="code\tcpt|99999\nreason\ticd10cm|Z00.0" if i % 9 == 0 else None,
                date_only="start" if i % 7 == 0 else None,
                profile_claim="no" if i == 13 else None))
            s.add(Immunization(patient_id=patient.id, status="completed", code_system="cvx", code=str(10 + i % 3),
                               occurrence=dt.datetime(2020, 1, 1) + dt.timedelta(days=i)))
            s.add(Observation(patient_id=patient.id, status="final", code_system="loinc", code="59576-9",
                              effective_start=dt.datetime(2025, 3, 1), value_num=float(i) if i % 3 else None,
                              value_text=None if i % 2 else f"text {i % 4}", category="vital-signs,exam"
                              if i % 8 == 0 else "vital-signs"))
        s.add(Condition(patient_id=patients[0].id, code_system="icd10cm", code="J02.0",
                        onset=dt.datetime(2025, 3, 1), codings="category\tproblem-list-item"))
    yield store
    store.dispose()


def _exact(monkeypatch, store, **selection):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(sqlite_frames, "_plan_sqlite", lambda *a: (_ for _ in ()).throw(sqlite_frames.Fallback("x")))
        return load_measure_data(store, with_valuesets=False, **selection)


def _assert_same(fast, exact) -> None:  # type: ignore[no-untyped-def]
    for name, frame in exact.frames().items():
        pd.testing.assert_frame_equal(fast.frames()[name], frame, check_dtype=True, check_exact=True, obj=name)


@pytest.mark.parametrize("chunk_rows", [250_000, 7])
def test_chunk_reader_equals_the_exact_reader(db, monkeypatch, chunk_rows) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", chunk_rows)  # 7: many chunks, some all NULL in a column
    fast = load_measure_data(db, with_valuesets=False)
    exact = _exact(monkeypatch, db)
    _assert_same(fast, exact)
    enc = fast.encounters
    assert len(enc) == 59  # the row claiming no profile is left out
    assert enc["discharge_key"].eq("|").all() and enc["location_key"].eq("snomed|35971002").sum() == 5
    assert enc["end"].isna().sum() > 0 and enc["status"].isna().sum() > 0
    assert enc.loc[enc["key"].str.contains("cpt|99999", regex=False), "key"].str.contains(";|\\|", regex=True).all()
    assert "date_only" in enc.columns and "date_only" not in fast.immunizations.columns
    assert fast.patients["deceased_date"].notna().sum() == 1 and fast.conditions["status"].isna().all()


def test_chunk_reader_equals_the_exact_reader_for_some_patients(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 5)
    some = load_measure_data(db, with_valuesets=False).patients["patient_id"].tolist()[2:5]
    fast = load_measure_data(db, patient_id_list=some, with_valuesets=False)
    assert set(fast.encounters["patient_id"]) == set(some)
    _assert_same(fast, _exact(monkeypatch, db, patient_id_list=some))


def test_separator_in_a_value_falls_back_to_the_exact_reader(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    with db.session() as s:
        s.execute(update(Observation).where(Observation.value_num == 4.0).values(value_text="a\x1fb\x15c"))
    factorized: measure_data.Factorized = {}
    fast, _ = load_measure_data_versioned(db, with_valuesets=False, factorized=factorized)
    assert fast.observations["value_text"].tolist().count("a\x1fb\x15c") == 1
    assert factorized == {}  # nothing factorized is handed on from a load that fell back
    _assert_same(fast, _exact(monkeypatch, db))


def test_snapshot_from_the_reader_codes_equals_the_frames(db, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    factorized: measure_data.Factorized = {}
    data, _ = load_measure_data_versioned(db, with_valuesets=False, factorized=factorized)
    assert ("encounters", "status") in factorized and ("observations", "key") in factorized
    assert ("encounters", "key") not in factorized  # further codings joined in: factorized again on save
    assert ("conditions", "category") not in factorized
    frames_cache._write(data, tmp_path / "with-codes.npz", None, factorized)
    frames_cache._write(data, tmp_path / "plain.npz", None)
    for path in ("with-codes.npz", "plain.npz"):
        _assert_same(frames_cache._read(tmp_path / path), data)


def test_timestamps_in_another_layout_are_converted_by_sqlite(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Timestamps not written by SQLAlchemy (a date alone, an ISO 'T') are not parsed by NumPy: SQLite
    converts that chunk (``julianday``, as for every timestamp before), and the rows stay in step."""
    from sqlalchemy import text

    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    with db.session() as s:
        s.execute(text("UPDATE encounter SET start = '2025-02-03' WHERE id % 11 = 0"))
        s.execute(text("UPDATE encounter SET \"end\" = '2025-02-03T08:09:10' WHERE id % 13 = 0"))
        expected = s.execute(text(
            "SELECT id, CAST(ROUND((julianday(start) - 2440587.5) * 86400000.0) AS INTEGER), "
            "CAST(ROUND((julianday(\"end\") - 2440587.5) * 86400000.0) AS INTEGER) FROM encounter "
            "WHERE profile_claim IS NULL ORDER BY id")).all()
    enc = load_measure_data(db, with_valuesets=False).encounters
    assert enc["event_id"].tolist() == [row[0] for row in expected]
    for i, column in ((1, "start"), (2, "end")):
        ms = [row[i] for row in expected]  # SQLite's epoch milliseconds (None: NULL)
        assert enc[column].isna().tolist() == [m is None for m in ms]
        assert enc[column].dropna().tolist() == [pd.Timestamp(m, unit="ms") for m in ms if m is not None]
    assert (enc.loc[enc["event_id"] % 11 == 0, "start"] == pd.Timestamp("2025-02-03")).all()
    assert (enc.loc[enc["event_id"] % 13 == 0, "end"] == pd.Timestamp("2025-02-03 08:09:10")).all()


def test_stored_timestamps_parse_as_sqlite_converts_them() -> None:
    """The NumPy parse of the stored layout equals SQLite's julianday conversion, over the whole calendar
    (leap years, before 1970, a 31st of a short month); other layouts are left to SQLite."""
    import random
    import sqlite3

    import numpy as np

    from carenet_desktop.services.stored_timestamps import NO_TIME, julian_ms_sql, parse_stored_timestamps

    rng = random.Random(7)
    values: list[str | None] = [None if i % 17 == 0 else
                                f"{rng.choice([1, 1600, 1900, 1969, 1970, 2000, 2024, 9999, rng.randint(1, 9999)]):04d}-"
                                f"{rng.randint(1, 12):02d}-{rng.randint(1, 31):02d} {rng.randint(0, 23):02d}:"
                                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999) * 1000:06d}"
                                for i in range(20_000)]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(v,) for v in values])
    stored, exact = conn.execute(f"SELECT GROUP_CONCAT(COALESCE(v, '{NO_TIME}'), ','), "
                                 f"GROUP_CONCAT({julian_ms_sql('v')}, ',') FROM t").fetchone()
    parsed = parse_stored_timestamps(stored, len(values))
    assert parsed is not None
    np.testing.assert_array_equal(parsed, np.array(exact.split(","), dtype=np.int64))
    days = [None if v is None or i % 3 else v[:10] for i, v in enumerate(values)]  # a Date column (NULLs too)
    conn.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO d (v) VALUES (?)", [(v,) for v in days])
    stored, exact = conn.execute(f"SELECT GROUP_CONCAT(COALESCE(v, '{NO_TIME}'), ','), "
                                 f"GROUP_CONCAT({julian_ms_sql('v')}, ',') FROM d").fetchone()
    parsed = parse_stored_timestamps(stored, len(days))
    assert parsed is not None
    np.testing.assert_array_equal(parsed, np.array(exact.split(","), dtype=np.int64))
    for other in ("2025-01-01T10:00:00.000000", "2025-01-01 10:00:00.000500", "2025-13-01 10:00:00.000000",
                  "2025-02-31T10", "2025-1-01", "", f"2025-01-01,{NO_TIME[:10]}"):
        assert parse_stored_timestamps(other, other.count(",") + 1) is None, other


def test_a_chunk_of_one_text_value_is_coded_as_the_split_would_code_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A text chunk holding one value in every row (found by one comparison in C, without a split) gets
    the codes and distinct texts of the split-and-factorize path, dtypes included; any other chunk (two
    values, a separator inside a value) still takes that path."""
    import numpy as np

    from carenet_desktop.services.frame_columns import Col, factorize_texts

    col = Col("status", 't."status"', "str")
    sep, null = sqlite_frames._SEP, sqlite_frames._NULL

    def split_path(text: str, n: int):  # type: ignore[no-untyped-def]
        codes, uniques = factorize_texts(text.split(sep))
        return sqlite_frames.narrow_codes(codes, len(uniques)), uniques

    single = [("final", 1), ("final", 5), ("", 1), ("", 4), (null, 3), ("é ü", 2)]
    for value, n in single:
        text = sep.join([value] * n)
        expected_codes, expected_texts = split_path(text, n)
        with monkeypatch.context() as m:  # the single value is found without the split path
            m.setattr(sqlite_frames, "factorize_texts", lambda v: pytest.fail("split path taken"))
            coded = sqlite_frames._parse_chunk(text, col, n)
        assert coded.codes.dtype == expected_codes.dtype and coded.texts.dtype == expected_texts.dtype
        np.testing.assert_array_equal(coded.codes, expected_codes)
        assert coded.texts.tolist() == expected_texts.tolist()
    for values in (["final", "amended"], ["a", "a", "b"], ["", "x"], [null, "final", null]):
        text = sep.join(values)
        coded = sqlite_frames._parse_chunk(text, col, len(values))
        codes, texts = split_path(text, len(values))
        np.testing.assert_array_equal(coded.codes, codes)
        assert coded.texts.tolist() == texts.tolist()
    for text, n in ((f"a{sep}a", 1), (f"a{sep}b{sep}a{sep}b", 2), (f"a{sep}{sep}a", 2)):  # a separator in a value
        with pytest.raises(sqlite_frames.Fallback):
            sqlite_frames._parse_chunk(text, col, n)


def test_text_columns_concatenate_as_the_text_cast_would() -> None:
    """The reader gives ``group_concat`` a text column's values as stored (no ``CAST(... AS TEXT)``): for a
    value of every storage class (text, integer, real, blob) it must turn into the text the cast gives,
    and the query the reader plans must hold no text cast."""
    import sqlite3

    from carenet_desktop.services.frame_columns import Col

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")  # no affinity: each value keeps its class
    values = ["final", "", "é ü", 12, -7, 2**62, 0.1, 1e20, 123456789.125, -0.0, 1.5e-7, b"abc", b"", None]
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(v,) for v in values])
    col = Col("v", "t.v", "str")
    plain, cast = conn.execute(
        f"SELECT {sqlite_frames._concat(*sqlite_frames._sqlite_expr(col))}, "
        f"GROUP_CONCAT(COALESCE(CAST(t.v AS TEXT), '{sqlite_frames._NULL}'), '{sqlite_frames._SEP}') FROM t t").fetchone()
    assert plain == cast
    assert len(plain.split(sqlite_frames._SEP)) == len(values)
    cur = conn.cursor()
    plan = sqlite_frames._plan_sqlite(cur, "t", [Col("event_id", "t.id", "int"), col], "1=1", True)
    assert "AS TEXT" not in plan.sql and plan.sql.count("GROUP_CONCAT") == 2
    assert conn.execute(plan.sql, (0, 100)).fetchone()[2] == cast


def test_timestamps_are_parsed_by_the_reading_threads(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With a database file and several chunks, each chunk's stored timestamps and floats are parsed in the reading
    thread that fetched it (off the caller's thread, the read's longest path), and the frames stay the
    exact reader's."""
    import threading

    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    callers: list[bool] = []
    parse = sqlite_frames.parse_stored_timestamps

    def recorded(text, n):  # type: ignore[no-untyped-def]
        callers.append(threading.current_thread() is threading.main_thread())
        return parse(text, n)

    floats: list[bool] = []
    decimals = sqlite_frames.parse_decimals

    def recorded_floats(text, n):  # type: ignore[no-untyped-def]
        floats.append(threading.current_thread() is threading.main_thread())
        return decimals(text, n)

    monkeypatch.setattr(sqlite_frames, "parse_stored_timestamps", recorded)
    monkeypatch.setattr(sqlite_frames, "parse_decimals", recorded_floats)
    fast = load_measure_data(db, with_valuesets=False)
    assert callers and not any(callers)
    assert floats and not any(floats)  # observations' value_num
    monkeypatch.setattr(sqlite_frames, "parse_stored_timestamps", parse)
    monkeypatch.setattr(sqlite_frames, "parse_decimals", decimals)
    _assert_same(fast, _exact(monkeypatch, db))


def test_missing_text_and_date_columns_as_pandas_builds_them() -> None:
    """``nulls`` of text and ``numeric`` of dates (shared by the SQLite and PostgreSQL readers) give what
    pandas' own routes give: a "str" array of missing values; milliseconds as microseconds, NULL as NaT."""
    import numpy as np

    from carenet_desktop.services.frame_columns import MISSING, nulls, numeric

    for n in (0, 1, 1000):
        expected = pd.Series(np.nan, index=pd.RangeIndex(n), dtype="str").array
        pd.testing.assert_extension_array_equal(nulls("str", n), expected)
        assert type(nulls("str", n)) is type(expected)
        # a date column NULL in every row: NaT in microseconds, the bits ``numeric`` gives NaN milliseconds
        no_dates, from_nan = nulls("date", n), numeric(np.full(n, np.nan), "date")
        assert no_dates.dtype == from_nan.dtype == np.dtype("datetime64[us]")
        np.testing.assert_array_equal(no_dates.view(np.int64), from_nan.view(np.int64))
        assert no_dates.view(np.int64).tolist() == [MISSING] * n
    ms = np.array([0, MISSING, -62_135_596_800_000, 253_402_300_799_999, 1, -1, 1_735_689_600_123], dtype=np.int64)
    expected_dates = ms.astype("datetime64[ms]").astype("datetime64[us]")
    expected_dates[ms == MISSING] = np.datetime64("NaT")
    dates = numeric(ms, "date")
    assert dates.dtype == expected_dates.dtype
    np.testing.assert_array_equal(dates.view(np.int64), expected_dates.view(np.int64))


@pytest.mark.parametrize("share", [1.0, 0.1, -1.0])  # every nullable column sparse, the probe's pick, none
@pytest.mark.parametrize("chunk_rows", [250_000, 7])
def test_columns_read_sparse_equal_the_exact_reader(db, monkeypatch, share, chunk_rows) -> None:  # type: ignore[no-untyped-def]
    """A column read sparse (the ids of its rows with a value, and those values) gives the frames and the
    text codes of the dense read, whatever the probe picks: text, timestamps, floats, nullable integers,
    booleans, further codings, chunks without a value, a column the table lacks."""
    from sqlalchemy import text

    with db.session() as s:  # a boolean and a nullable integer with a value in a few rows
        s.execute(text("INSERT INTO medication_request (patient_id, status, code_system, code, authored_on, "
                       "do_not_perform, dose_quantity) SELECT patient_id, 'active', 'rxnorm', '1', start, "
                       "CASE WHEN id % 9 = 0 THEN 1 WHEN id % 7 = 0 THEN 0 END, CASE WHEN id % 4 = 0 THEN 2.5 END "
                       "FROM encounter"))
        s.execute(text("UPDATE encounter_diagnosis SET rank = 2 WHERE id % 3 = 0"))
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(sqlite_frames, "SPARSE_SHARE", share)
    factorized: measure_data.Factorized = {}
    fast, _ = load_measure_data_versioned(db, with_valuesets=False, factorized=factorized)
    monkeypatch.setattr(sqlite_frames, "SPARSE_SHARE", -1.0)
    dense: measure_data.Factorized = {}
    load_measure_data_versioned(db, with_valuesets=False, factorized=dense)
    assert factorized.keys() == dense.keys()
    for key, (codes, texts) in dense.items():
        assert codes.dtype == factorized[key][0].dtype and codes.tolist() == factorized[key][0].tolist(), key
        assert texts.tolist() == factorized[key][1].tolist(), key
    _assert_same(fast, _exact(monkeypatch, db))
    assert fast.medication_requests["do_not_perform"].notna().sum() > 0
    assert fast.encounters["location_key"].eq("snomed|35971002").sum() == 5


def test_the_probe_reads_mostly_null_columns_sparse(db) -> None:  # type: ignore[no-untyped-def]
    """The plan of a whole-store read reads sparse the columns with a value in at most a tenth of the
    probed rows (here: the encounters' location, deceased dates), densely the others; a read of some
    patients reads every column densely."""
    conn = db.engine.raw_connection()
    try:
        reader = sqlite_frames.SqliteReader(conn, None)
        existing = {r[1] for r in conn.execute('PRAGMA table_info("encounter")')}
        cols = measure_data._columns("encounters", "encounter", existing)
        where = measure_data._where("encounters", None, True)
        plan, = reader.plan([("encounter", cols, where, True)])
        assert {"location_system", "location_code", "discharge_system"} <= plan.sparse
        assert not {"status", "code", "start", "end", "patient_id"} & plan.sparse
        assert plan.sql.count("FILTER (WHERE") == 2 * len(plan.sparse)
        some, = reader.plan([("encounter", cols, measure_data._where("encounters", "SELECT 1", True), False)])
        assert not some.sparse and "FILTER" not in some.sql
        patients = measure_data._columns("patients", "patient", {r[1] for r in conn.execute('PRAGMA table_info("patient")')})
        plan, = reader.plan([("patient", patients, "1=1", True)])
        assert "deceased_date" in plan.sparse and "birth_date" not in plan.sparse
    finally:
        conn.close()


def test_sparse_timestamps_in_another_layout_are_converted_by_sqlite(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A sparse timestamp column's chunk with a value SQLAlchemy did not write is converted by SQLite,
    as a dense one's."""
    from sqlalchemy import text

    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    monkeypatch.setattr(sqlite_frames, "SPARSE_SHARE", 1.0)
    with db.session() as s:
        s.execute(text("UPDATE encounter SET \"end\" = '2025-02-03T08:09:10' WHERE id % 13 = 0"))
    sparse = load_measure_data(db, with_valuesets=False)
    enc = sparse.encounters
    assert (enc.loc[enc["event_id"] % 13 == 0, "end"] == pd.Timestamp("2025-02-03 08:09:10")).all()
    monkeypatch.setattr(sqlite_frames, "SPARSE_SHARE", -1.0)  # dense (the exact reader coerces an ISO 'T' to NaT)
    _assert_same(sparse, load_measure_data(db, with_valuesets=False))


def test_rows_of_ids_in_any_order() -> None:
    """A sparse column's ids are found in the chunk's ids whether these are in order or not; an id not
    among them makes the reader fall back."""
    import numpy as np

    ids = np.array([10, 11, 15, 20, 21], dtype=np.int64)
    assert sqlite_frames._rows_of(ids, np.array([11, 20, 21])).tolist() == [1, 3, 4]
    shuffled = np.array([21, 10, 15, 11, 20], dtype=np.int64)
    assert sqlite_frames._rows_of(shuffled, np.array([11, 20, 21])).tolist() == [3, 4, 0]
    for missing in ([12], [22], [9]):
        with pytest.raises(sqlite_frames.Fallback):
            sqlite_frames._rows_of(ids, np.array(missing))


def test_further_codings_join_the_key_columns_as_stored(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each row's key columns computed here from its stored row: its own ``system|code``, then each further
    coding of the element (``MULTI_SEP`` between keys; categories as a comma list), for both readers."""
    from sqlalchemy import text

    from carenet_desktop.metrics.valuesets import MULTI_SEP

    with db.session() as s:
        encounters = s.execute(text("SELECT code_system, code, reason_system, reason_code, codings FROM encounter "
                                    "WHERE profile_claim IS NULL ORDER BY id")).all()
        conditions = s.execute(text("SELECT category, codings FROM condition ORDER BY id")).all()

    def extras(codings, element):  # type: ignore[no-untyped-def]
        return [line.split("\t", 1)[1] for line in (codings or "").split("\n") if line.startswith(element + "\t")]

    def key(system, code, codings, element):  # type: ignore[no-untyped-def]
        return MULTI_SEP.join([f"{system or ''}|{code or ''}", *extras(codings, element)])

    for data in (load_measure_data(db, with_valuesets=False), _exact(monkeypatch, db)):
        assert data.encounters["key"].tolist() == [key(r[0], r[1], r[4], "code") for r in encounters]
        assert data.encounters["reason_key"].tolist() == [key(r[2], r[3], r[4], "reason") for r in encounters]
        assert data.conditions["category"].tolist() == [
            ",".join([r[0] or "", *extras(r[1], "category")]) if extras(r[1], "category") else r[0] for r in conditions]
    assert sum(MULTI_SEP in k for k in data.encounters["key"]) == 7


def test_key_pairs_are_coded_as_factorize_codes_them() -> None:
    """The key columns' pair codes (through a table of first rows when the pair space is small) are
    ``pd.factorize``'s: the same codes in order of first appearance, the same distinct values; a key part
    missing in every row codes as missing without hashing."""
    import numpy as np

    rng = np.random.default_rng(26)
    for n, space in ((0, 5), (1, 1), (1000, 7), (5000, 4000), (3000, 100_000), (20_000, (1 << 22) + 1)):
        pair = rng.integers(0, space, n) if n else np.zeros(0, dtype=np.int64)
        pair = np.where(rng.random(n) < 0.3, pair.min(initial=0), pair).astype(np.int64)  # repeats
        codes, uniques = measure_data._first_seen_codes(pair, space)
        expected_codes, expected_uniques = pd.factorize(pair)
        assert codes.dtype == expected_codes.dtype and codes.tolist() == expected_codes.tolist(), (n, space)
        assert uniques.dtype == expected_uniques.dtype and uniques.tolist() == expected_uniques.tolist(), (n, space)
    missing = pd.array([None] * 4, dtype="str")
    codes, texts = measure_data._part_codes(missing)
    assert codes.tolist() == [-1] * 4 and not len(texts)
    systems = sqlite_frames.Coded(np.array([0, -1, 0, 0], dtype=np.int8), np.array(["cpt"], dtype=object))
    assert measure_data._key(systems, missing).tolist() == ["cpt|", "|", "cpt|", "cpt|"]


def test_an_sqlite_without_filter_clauses_reads_every_column_densely(db) -> None:  # type: ignore[no-untyped-def]
    """Aggregate ``FILTER`` clauses came with SQLite 3.30: an older library (a SQLCipher build, say) reads
    densely."""
    class Old:
        def __init__(self, cur) -> None:  # type: ignore[no-untyped-def]
            self.cur = cur

        def execute(self, sql, *args):  # type: ignore[no-untyped-def]
            return self.cur.execute("SELECT '3.29.0'" if "sqlite_version()" in sql else sql, *args)

    conn = db.engine.raw_connection()
    try:
        patients = measure_data._columns("patients", "patient", {r[1] for r in conn.execute('PRAGMA table_info("patient")')})
        assert sqlite_frames._plan_sqlite(conn.cursor(), "patient", patients, "1=1", True).sparse
        plan = sqlite_frames._plan_sqlite(Old(conn.cursor()), "patient", patients, "1=1", True)
        assert not plan.sparse and "FILTER" not in plan.sql
    finally:
        conn.close()
