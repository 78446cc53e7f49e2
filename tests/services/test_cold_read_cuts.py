"""The cold read's shortcuts give the exact reader's frames: chunks whose ids are a whole range are read without
their ids' text (a gap the probe missed reads the chunk again with them), a text column NULL in every row is
handed on as codes, and key pairs are coded in 32-bit integers where they fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import delete

from carenet_desktop.models import Immunization
from carenet_desktop.services import measure_data, sqlite_frames
from carenet_desktop.services.measure_data import load_measure_data, load_measure_data_versioned
from tests.services import test_measure_data_reader as reader
from tests.services.test_measure_data_reader import _assert_same, _exact

db = reader.db  # the reader tests' store: NULL cells and columns, a profile claimed 'no', further codings


def _queries(monkeypatch):  # type: ignore[no-untyped-def]
    """(table, with its ids' text) of every chunk query the reading threads run."""
    seen: list[tuple[str, bool]] = []
    fetch = sqlite_frames.SqliteReader._fetch

    def recording(self, sql, start, stop):  # type: ignore[no-untyped-def]
        seen.append((sql.split('FROM "', 1)[1].split('"', 1)[0], sql.startswith("SELECT COUNT(*), GROUP_CONCAT(t.id),")))
        return fetch(self, sql, start, stop)

    monkeypatch.setattr(sqlite_frames.SqliteReader, "_fetch", recording)
    return seen


def test_chunks_holding_every_id_of_their_range_are_read_without_the_ids(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    seen = _queries(monkeypatch)
    fast = load_measure_data(db, with_valuesets=False)
    immunizations = [with_ids for table, with_ids in seen if table == "immunization"]
    assert len(immunizations) == 9 and not any(immunizations)  # 60 rows, none missing: no ids' text
    # the encounter claiming no profile leaves a gap that the probe (the whole small table) finds
    assert all(with_ids for table, with_ids in seen if table == "encounter")
    assert fast.immunizations["event_id"].tolist() == list(range(1, 61))
    _assert_same(fast, _exact(monkeypatch, db))


def test_a_gap_the_probe_missed_reads_its_chunk_again_with_the_ids(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Probe windows of one row miss the encounter claiming no profile (id 14) and a deleted immunization
    (id 40): the chunk holding each is read without its ids, found short of a row, and read again with them,
    as is the rest of its table."""
    with db.session() as s:
        s.execute(delete(Immunization).where(Immunization.id == 40))
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    monkeypatch.setattr(sqlite_frames, "PROBE_ROWS", 1)
    seen = _queries(monkeypatch)
    fast = load_measure_data(db, with_valuesets=False)
    for table in ("encounter", "immunization"):
        reads = [with_ids for t, with_ids in seen if t == table]
        assert not reads[0] and reads[-1], table  # first without the ids, the last chunks with them
    assert 40 not in fast.immunizations["event_id"].tolist() and len(fast.immunizations) == 59
    assert 14 not in fast.encounters["event_id"].tolist()
    _assert_same(fast, _exact(monkeypatch, db))


def test_a_text_column_null_in_every_row_is_handed_on_as_codes(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Read as codes (all -1), not made into a ``str`` column of missing values then checked: the frame's
    column is the same, and its codes go on to the snapshot and the engine like any text column's."""
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    factorized: measure_data.Factorized = {}
    fast, _ = load_measure_data_versioned(db, with_valuesets=False, factorized=factorized)
    codes, texts = factorized[("conditions", "status")]  # the one condition has no status
    assert codes.tolist() == [-1] and not len(texts)
    codes, texts = factorized[("encounters", "discharge_key")]  # both parts NULL throughout
    assert set(codes.tolist()) == {0} and texts.tolist() == ["|"]
    assert fast.conditions["status"].isna().all() and str(fast.conditions["status"].dtype) == "str"
    _assert_same(fast, _exact(monkeypatch, db))


def test_key_pairs_are_built_in_32_bit_integers_where_they_fit(monkeypatch) -> None:
    pairs: list[np.dtype] = []
    first_seen = measure_data._first_seen_codes

    def recording(pair, space):
        pairs.append(pair.dtype)
        return first_seen(pair, space)

    monkeypatch.setattr(measure_data, "_first_seen_codes", recording)
    systems = sqlite_frames.Coded(np.array([0, -1, 0, 1], dtype=np.int8), np.array(["cpt", "loinc"], dtype=object))
    codes = sqlite_frames.Coded(np.array([1, 0, -1, 1], dtype=np.int8), np.array(["1", "2"], dtype=object))
    keys = measure_data._key(systems, codes)
    assert pairs == [np.dtype(np.int32)]
    assert keys.tolist() == ["cpt|2", "|1", "cpt|", "loinc|2"]
    many = pd.array([f"c{i}" for i in range(70_000)], dtype="str")  # a space past 2**31: 64-bit pairs
    wide = measure_data._key(many, many)
    assert pairs[-1] == np.dtype(np.int64) and wide[69_999] == "c69999|c69999"


def test_every_query_without_the_ids_walks_the_rowid_range_in_order(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A chunk read without its ids is given the ids ``start..stop`` in order (``SqliteReader._row``): right only
    while SQLite visits the rows of the range in rowid order, a search of the rowid tree. An index or a query
    change that makes it visit them another way (the order of ``group_concat`` then undefined) fails here."""
    monkeypatch.setattr(sqlite_frames, "CHUNK_ROWS", 7)
    plans: dict[str, set[str]] = {}
    fetch = sqlite_frames.SqliteReader._fetch

    def explained(self, sql, start, stop):  # type: ignore[no-untyped-def]
        if not sql.startswith("SELECT COUNT(*), GROUP_CONCAT(t.id),"):  # the query without the ids
            table = sql.split('FROM "', 1)[1].split('"', 1)[0]
            steps = self._conn().execute("EXPLAIN QUERY PLAN " + sql, (start, stop)).fetchall()
            plans.setdefault(table, set()).update(step[-1] for step in steps)
        return fetch(self, sql, start, stop)

    monkeypatch.setattr(sqlite_frames.SqliteReader, "_fetch", explained)
    load_measure_data(db, with_valuesets=False)
    assert "immunization" in plans and len(plans) > 3, sorted(plans)  # (the encounters have a gap: with ids)
    for table, steps in plans.items():
        assert steps == {"SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"}, (table, steps)
