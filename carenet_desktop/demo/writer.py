"""Bulk insertion of generated columns: raw DBAPI ``executemany`` for SQLite, ``COPY`` for PostgreSQL,
SQLAlchemy Core elsewhere."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, Table, delete, func, select, text
from sqlalchemy.schema import CreateIndex

from ..models import Base
from ..models.database import Database, is_sqlite
from .frames import Columns, length

BATCH = 50_000
#: tables a rebuild leaves alone (accounts, the audit trail, loaded value sets)
KEEP_TABLES = {"app_user", "user", "audit_log", "audit_head", "data_change", "value_set", "value_set_code", "alembic_version",
               "store_identity", "journal_state"}
_DT_TAIL = np.array([ord(ch) for ch in ".000000"], dtype=np.uint32)


def _sqlite_datetimes(arr: np.ndarray) -> list[Any]:
    """``YYYY-MM-DD HH:MM:SS.000000`` strings (SQLAlchemy's SQLite storage format), None for NaT."""
    arr = arr.astype("datetime64[s]")
    text19 = np.datetime_as_string(arr, unit="s").astype("<U19")
    buf = np.empty((len(arr), 26), dtype=np.uint32)
    buf[:, :19] = text19.view(np.uint32).reshape(-1, 19)
    buf[:, 10] = ord(" ")
    buf[:, 19:] = _DT_TAIL
    out = buf.view("<U26").ravel().astype(object)
    out[np.isnat(arr)] = None
    return out.tolist()


def _column_values(column_type: Any, value: Any, n: int, sqlite: bool) -> Iterable[Any]:
    if not isinstance(value, np.ndarray):
        if isinstance(value, dt.datetime) and sqlite:
            value = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        elif isinstance(value, bool) and sqlite:
            value = int(value)
        elif isinstance(value, dict | list) and sqlite:
            value = json.dumps(value)
        elif isinstance(value, np.generic):
            value = value.item()
        return itertools.repeat(value, n)
    kind = value.dtype.kind
    if kind == "M":
        if isinstance(column_type, DateTime):
            if sqlite:
                return _sqlite_datetimes(value)
            return value.astype("datetime64[us]").astype(object).tolist()
        days = value.astype("datetime64[D]")
        if sqlite:
            out = np.datetime_as_string(days, unit="D").astype(object)
            out[np.isnat(days)] = None
            return out.tolist()
        return days.astype(object).tolist()
    if kind == "f":
        missing = np.isnan(value)
        if isinstance(column_type, Integer):
            out = np.where(missing, 0, value).astype(np.int64).astype(object)
        else:
            out = value.astype(object)
        out[missing] = None
        return out.tolist()
    if kind == "b":
        return value.astype(int).tolist() if sqlite else value.tolist()
    if (kind == "O" and sqlite and not isinstance(column_type, Boolean | Integer | Date | DateTime)
            and any(isinstance(v, dict | list) for v in value[:1])):
        return [None if v is None else json.dumps(v) for v in value]
    return value.tolist()


@dataclass
class Prepared:
    table: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


class BulkWriter:
    """One transaction for the whole load; SQLite gets load-time PRAGMAs and foreign keys off."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sqlite = is_sqlite(db.url)
        self.postgresql = db.url.get_backend_name() == "postgresql"
        self.counts: dict[str, int] = {}
        self._raw: Any = None
        self._conn: Any = None
        self._trans: Any = None

    def __enter__(self) -> BulkWriter:
        if self.sqlite:
            self._raw = self.db.engine.raw_connection()
            con = self._raw.driver_connection
            self._isolation = con.isolation_level
            con.isolation_level = None  # we issue BEGIN/COMMIT ourselves
            for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY"):
                con.execute(f"PRAGMA {pragma}")
            # one big transaction: a rollback journal is cheaper than WAL (no second copy at checkpoint)
            self._journal = con.execute("PRAGMA journal_mode").fetchone()[0]
            if self._journal.lower() == "wal":
                con.execute("PRAGMA journal_mode=DELETE")
            con.execute("BEGIN")
            self._dropped = self._drop_indexes(con)
        else:
            self._conn = self.db.engine.connect()
            self._trans = self._conn.begin()
            self._dropped = self._drop_foreign_keys() if self.postgresql else []
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.sqlite:
            con = self._raw.driver_connection
            try:
                if exc_type:
                    con.execute("ROLLBACK")
                else:
                    for sql in self._dropped:  # rebuilding an index once is faster than maintaining it
                        con.execute(sql)
                    con.execute("COMMIT")
            finally:
                for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "cache_size=-65536",
                               f"journal_mode={self._journal}"):
                    con.execute(f"PRAGMA {pragma}")
                con.isolation_level = self._isolation
                self._raw.close()
        else:
            try:
                if exc_type:
                    self._trans.rollback()
                else:
                    for sql in self._dropped:  # each checked once, in one pass over the table
                        self._conn.exec_driver_sql(sql)
                    self._trans.commit()
            finally:
                self._conn.close()

    def _drop_indexes(self, con: Any) -> list[str]:
        """Drop the secondary indexes of the tables we load; returns the statements that recreate them."""
        existing = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        recreate: list[str] = []
        for table in Base.metadata.sorted_tables:
            if table.name in KEEP_TABLES:
                continue
            for index in table.indexes:
                if not index.unique and index.name in existing:
                    recreate.append(str(CreateIndex(index).compile(dialect=self.db.engine.dialect)))
                    con.execute(f'DROP INDEX "{index.name}"')
        return recreate

    def _drop_foreign_keys(self) -> list[str]:
        """PostgreSQL: drop the foreign keys of the tables we load (checked row by row, they took most of
        the time of a load); returns the statements that add them back, as the catalogue has them. All in
        the load's transaction: other sessions wait for its end, and a failed load restores them."""
        loaded = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP_TABLES]
        rows = self._conn.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(CAST(:tables AS regclass[])) ORDER BY conrelid, conname"),
            {"tables": [f'"{name}"' for name in loaded]}).all()
        recreate = []
        for table, name, definition in rows:
            self._conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        return recreate

    @property
    def connection(self) -> Any:
        """The connection the load runs on (DB-API for SQLite, SQLAlchemy for PostgreSQL), in its transaction."""
        return self._raw.driver_connection if self.sqlite else self._conn

    # -- queries ----------------------------------------------------------------------------------------
    def scalar(self, sql: str) -> Any:
        if self.sqlite:
            return self._raw.driver_connection.execute(sql).fetchone()[0]
        return self._conn.execute(text(sql)).scalar()

    def practice_count(self) -> int:
        return int(self.scalar('SELECT count(*) FROM "practice"') or 0)

    def next_id(self, table_name: str) -> int:
        table = Base.metadata.tables[table_name]
        if self.sqlite:
            value = self.scalar(f'SELECT max(id) FROM "{table_name}"')
        else:
            value = self._conn.execute(select(func.max(table.c.id))).scalar()
        return int(value or 0) + 1

    def max_ids(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and table.name not in KEEP_TABLES:
                out[table.name] = self.next_id(table.name)
        return out

    def clear(self) -> None:
        """Delete the network's data (everything except accounts, the audit trail and value sets)."""
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in KEEP_TABLES:
                continue
            if self.sqlite:
                self._raw.driver_connection.execute(f'DELETE FROM "{table.name}"')
            else:
                self._conn.execute(delete(table))

    # -- inserts ----------------------------------------------------------------------------------------
    def prepare(self, table_name: str, parts: list[Columns]) -> list[Prepared]:
        """Columns -> (column names, row tuples): the CPU-bound half of a write, safe to run in a thread."""
        table: Table = Base.metadata.tables[table_name]
        out: list[Prepared] = []
        for cols in parts:
            n = length(cols)
            unknown = set(cols) - set(table.c.keys())
            if unknown:
                raise KeyError(f"{table_name} has no column(s) {sorted(unknown)}")
            names = [k for k, v in cols.items() if v is not None]  # NULL scalars: leave to the default
            converted: dict[tuple[int, str], list[Any]] = {}  # one array used by two columns: convert once
            values: list[Iterable[Any]] = []
            for name in names:
                column_type, value = table.c[name].type, cols[name]
                if not isinstance(value, np.ndarray):  # scalars become one-shot iterators: never shared
                    values.append(_column_values(column_type, value, n, self.sqlite))
                    continue
                memo = (id(value), type(column_type).__name__)
                if memo not in converted:
                    converted[memo] = list(_column_values(column_type, value, n, self.sqlite))
                values.append(converted[memo])
            out.append(Prepared(table_name, names, list(zip(*values, strict=False))))
        return out

    def insert(self, prepared: list[Prepared]) -> None:
        for part in prepared:
            if self.sqlite:
                quoted = ", ".join(f'"{c}"' for c in part.columns)
                sql = f'INSERT INTO "{part.table}" ({quoted}) VALUES ({", ".join("?" * len(part.columns))})'
                cur = self._raw.driver_connection.cursor()
                for i in range(0, len(part.rows), BATCH):
                    cur.executemany(sql, part.rows[i:i + BATCH])
                cur.close()
            elif self.postgresql:
                self._copy_rows(part)
            else:
                stmt = Base.metadata.tables[part.table].insert()
                for i in range(0, len(part.rows), BATCH):
                    self._conn.execute(stmt, [dict(zip(part.columns, row, strict=True))
                                              for row in part.rows[i:i + BATCH]])
            self.counts[part.table] = self.counts.get(part.table, 0) + len(part.rows)

    def _copy_rows(self, part: Prepared) -> None:
        """PostgreSQL: ``COPY ... FROM STDIN`` (rows formatted by the driver in C; batched INSERTs made the
        demo build several times slower than on SQLite). Like SQLite's raw inserts, columns not given take
        their server default; JSON values are sent as their text."""
        table = Base.metadata.tables[part.table]
        json_columns = [i for i, c in enumerate(part.columns) if isinstance(table.c[c].type, JSON)]
        rows: Iterable[tuple[Any, ...]] = part.rows
        if json_columns:
            rows = (tuple(json.dumps(v) if i in json_columns and v is not None else v for i, v in enumerate(row))
                    for row in part.rows)
        quoted = ", ".join(f'"{c}"' for c in part.columns)
        with self._conn.connection.dbapi_connection.cursor() as cur, \
                cur.copy(f'COPY "{part.table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, table_name: str, parts: list[Columns]) -> None:
        self.insert(self.prepare(table_name, parts))

    def reset_sequences(self) -> None:
        """PostgreSQL: move each id sequence past the explicit ids we inserted."""
        if self.sqlite or self.db.url.get_backend_name() != "postgresql":
            return
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and table.name in self.counts:
                self._conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM \"{table.name}\"))"))

    def finish_import(self, import_id: int, finished_at: dt.datetime, added: int) -> None:
        table = Base.metadata.tables["data_import"]
        if self.sqlite:
            self._raw.driver_connection.execute(
                'UPDATE "data_import" SET status = ?, finished_at = ?, added = ? WHERE id = ?',
                ("done", finished_at.strftime("%Y-%m-%d %H:%M:%S.%f"), added, import_id))
        else:
            self._conn.execute(table.update().where(table.c.id == import_id)
                               .values(status="done", finished_at=finished_at, added=added))
