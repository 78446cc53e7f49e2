"""PostgreSQL: the store's tables read with ``COPY ... TO STDOUT`` into typed columns, in one snapshot.

The generic path (a client-side cursor, a Python object per value, dates converted one by one) spent most
of its time building and converting Python objects. Here the server formats each table as CSV and
pandas' C parser reads the stream as it arrives:

* integers, booleans and timestamps come as integers (timestamps as epoch microseconds, computed by the
  server), NULL as a sentinel, so nothing is parsed as a date on the client;
* floats as text, parsed exactly (the same double the driver would give);
* text is read as a categorical: the parser hashes the raw bytes and builds a Python string only per
  distinct value (equal codes share one object, as on the other paths). CSV cannot tell NULL from an
  empty string once parsed, and pandas turns categories that all look like numbers into numbers, so every
  non-NULL text is sent with a ``~`` prefix (removed per distinct value) and only NULL arrives empty.

The caller runs every table (and the journal version) in one ``REPEATABLE READ`` transaction, so the
frames are one consistent snapshot of the store and the version names exactly the data read.
"""

from __future__ import annotations

import io
import logging
import re
import select
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

from .frame_columns import MISSING, MISSING_SQL, nulls, numeric
from .sqlite_frames import Coded, narrow_codes

_PREFIX = "~"  # before every non-NULL text value: also keeps pandas from reading "1" or "True" as a number/bool
_INTEGER_KINDS = ("int", "nint", "bool")
#: pandas 3.1 parses every float exactly (and deprecates the option); 3.0 needs the round-trip converter
_EXACT_FLOATS: dict[str, Any] = {} if tuple(map(int, pd.__version__.split(".")[:2])) >= (3, 1) else {
    "float_precision": "round_trip"}


class ColumnSpec(Protocol):
    """What :func:`read_table` needs of a column: its name, SQL over table ``t`` and kind (``measure_data.Col``)."""

    @property
    def name(self) -> str: ...
    @property
    def sql(self) -> str: ...
    @property
    def kind(self) -> str: ...


def _copy_expr(col: ColumnSpec) -> str:
    if col.kind == "date":
        # epoch microseconds of a date or a timestamp without time zone (the store's): whole days in integer
        # arithmetic, plus the time of day (under 2**37 us, exact through a double). The same numbers as
        # EXTRACT(EPOCH ...) * 1e6, whose numeric arithmetic took a fifth of the server's time.
        x = col.sql
        return (f"COALESCE((CAST({x} AS DATE) - DATE '1970-01-01') * CAST(86400000000 AS BIGINT) + "
                f"CAST(date_part('epoch', CAST(CAST({x} AS TIMESTAMP) AS TIME)) * 1000000 AS BIGINT), {MISSING_SQL})")
    if col.kind == "bool":
        return f"COALESCE(CAST(CAST({col.sql} AS INTEGER) AS BIGINT), {MISSING_SQL})"
    if col.kind in _INTEGER_KINDS:
        return f"COALESCE(CAST({col.sql} AS BIGINT), {MISSING_SQL})"
    if col.kind == "float":
        return f"CAST({col.sql} AS DOUBLE PRECISION)"
    return f"'{_PREFIX}' || CAST({col.sql} AS TEXT)"


class _CopyOut(io.RawIOBase):
    """A file over ``COPY ... TO STDOUT``, driven through libpq (``psycopg.pq``): the server sends a message
    per row, and the driver's ``Copy.read`` costs microseconds of Python per row (seconds per million
    rows); ``PGconn.get_copy_data`` is one C call. Rows are gathered into the reader's buffer. ``close``
    reads whatever is left and the final result, so the connection is usable (and its error raised)."""

    def __init__(self, pgconn: Any, sql: str) -> None:
        from psycopg import pq

        self._pgconn = pgconn
        self._pending = bytearray()
        self._done = False
        pgconn.send_query(sql.encode())
        started = self._result()
        if started is None or started.status != pq.ExecStatus.COPY_OUT:
            self._finish(started)

    def readable(self) -> bool:
        return True

    def _wait(self) -> None:
        """Until more of the server's output has arrived. libpq's blocking calls keep Python's GIL while they
        wait, which stalls the other connections' threads of a parallel load; ``select`` lets it go."""
        _wait_readable(self._pgconn.socket)
        self._pgconn.consume_input()

    def _result(self) -> Any:
        """The next result, waited for without holding the GIL."""
        while self._pgconn.is_busy():
            self._wait()
        return self._pgconn.get_result()

    def _finish(self, first: Any = None) -> None:
        """Take the results after the data (``COMMAND_OK``, or the error, which is raised)."""
        from psycopg import OperationalError, pq

        self._done = True
        results = [first] if first is not None else []
        while (result := self._result()) is not None:
            results.append(result)
        failed = [r for r in results if r.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.COPY_OUT)]
        if failed or not results:
            message = failed[0].error_message if failed else self._pgconn.error_message
            raise OperationalError(f"COPY failed: {bytes(message).decode(errors='replace').strip()}")

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        pending = self._pending
        get = self._pgconn.get_copy_data
        want, have = len(target), len(pending)
        while have < want and not self._done:
            nbytes, data = get(1)  # the next row if it has arrived (without waiting: see _wait)
            if nbytes > 0:
                pending += data  # (a list of the driver's row buffers, joined, was 3x slower)
                have += nbytes
            elif nbytes == 0:
                self._wait()
            else:  # -1: the end of the data; -2: an error
                self._finish()
        n = min(want, have)
        target[:n] = pending[:n]
        del pending[:n]
        return n

    def close(self) -> None:
        try:
            while not self._done:
                nbytes, _ = self._pgconn.get_copy_data(1)
                if nbytes == 0:
                    self._wait()
                elif nbytes < 0:
                    self._finish()
        finally:
            super().close()


def read_table(dbapi: Any, table: str, cols: Sequence[ColumnSpec], where: str) -> dict[str, Any]:
    """One table's columns (``where`` over ``t``), in id order, typed as the other readers type them.
    Columns the table lacks (``sql == "NULL"``) are not read."""
    read = [c for c in cols if c.sql != "NULL"]
    names = [f"c{i}" for i in range(len(read))]
    sql = (f"COPY (SELECT {', '.join(_copy_expr(c) for c in read)} FROM \"{table}\" t WHERE {where} ORDER BY t.id) "
           "TO STDOUT WITH (FORMAT csv)")
    dtypes: dict[str, Any] = {}
    na_values: dict[str, list[str]] = {}
    for name, col in zip(names, read, strict=True):
        dtypes[name] = "category" if col.kind == "str" else np.float64 if col.kind == "float" else np.int64
        na_values[name] = ["", "NaN"] if col.kind == "float" else [""] if col.kind == "str" else []
    encoding = getattr(getattr(dbapi, "info", None), "encoding", None) or "utf-8"
    with _CopyOut(dbapi.pgconn, sql) as copy:
        try:
            frame = pd.read_csv(io.BufferedReader(copy, buffer_size=1 << 20), header=None, names=names, dtype=dtypes,
                                na_values=na_values, keep_default_na=False, skip_blank_lines=False,
                                encoding=encoding, engine="c", **_EXACT_FLOATS)
        except pd.errors.EmptyDataError:  # no rows
            frame = None
    n = 0 if frame is None else len(frame)
    out: dict[str, Any] = {}
    for col in cols:
        if frame is None or col.sql == "NULL":
            out[col.name] = nulls(col.kind, n)
            continue
        series = frame[names[read.index(col)]]
        if col.kind == "str":
            out[col.name] = _text(series)
        elif col.kind == "date":
            values = series.to_numpy(dtype=np.int64)
            dates = values.astype("datetime64[us]")
            dates[values == MISSING] = np.datetime64("NaT")
            out[col.name] = dates
        elif col.kind == "float":
            out[col.name] = series.to_numpy(dtype=np.float64)
        else:
            out[col.name] = numeric(series.to_numpy(dtype=np.int64), col.kind)
    return out


def _text(series: pd.Series) -> Coded:
    """A categorical of prefixed values as codes into its distinct texts (the prefix removed once per
    distinct value), as the SQLite reader gives them: the frame's column, the ``system|code`` keys and the
    snapshot's encoding are then made from the codes, without hashing every row's text again."""
    texts = np.array([str(c)[len(_PREFIX):] for c in series.cat.categories], dtype=object)
    return Coded(narrow_codes(np.asarray(series.cat.codes), len(texts)), texts)


#: connections a load reads its tables on (the load's own and helpers sharing its snapshot); the server
#: formats one table per connection while the client parses another
CONNECTIONS = 3
log = logging.getLogger(__name__)
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")


def _wait_readable(fd: int) -> None:
    """Until ``fd`` can be read. ``poll`` where it exists: ``select`` fails for a descriptor of 1024 or more
    (a process holding many files: mapped snapshots, worker pipes)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        poller.poll()
    else:  # Windows: no poll, and no 1024 limit on its select
        select.select([fd], [], [])


class TableJob(NamedTuple):
    name: str
    table: str
    cols: Sequence[ColumnSpec]
    where: str


def read_tables(conn: Any, jobs: Sequence[TableJob], connections: int | None = None) -> dict[str, dict[str, Any]]:
    """Every job's columns (``read_table``), read on up to ``connections`` connections at once, all in the
    snapshot of ``conn`` (a SQLAlchemy connection whose ``REPEATABLE READ`` transaction has begun): the
    helpers import it (``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``) before reading anything, so
    a commit made during the load is seen by none of them. Largest tables first; the first error is raised
    once every connection has stopped."""
    connections = CONNECTIONS if connections is None else connections
    pending = deque(_largest_first(conn, jobs))
    helpers = max(0, min(connections, len(pending)) - 1)
    snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()) if helpers else ""
    if helpers and not _SNAPSHOT_ID.match(snapshot):
        raise ValueError("unexpected snapshot id")
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(dbapi: Any) -> None:
        while True:
            with lock:
                if errors or not pending:
                    return
                job = pending.popleft()
            try:
                results[job.name] = read_table(dbapi, job.table, job.cols, job.where)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                raise

    def helper() -> None:
        """One more connection in the load's snapshot. One that cannot be had (the server's connection limit,
        the pool's timeout, the snapshot refused) only does not help: the others read its share. A table's read
        that fails (recorded by ``work``) fails the load."""
        try:
            with conn.engine.connect() as other:
                other = other.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                other.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the first statement
                work(other.connection.dbapi_connection)
                other.rollback()
        except Exception as exc:  # noqa: BLE001 - not a table's read (those are in ``errors``): read without it
            with lock:
                if exc not in errors:
                    log.warning("A helper connection of the load was not available (%s); read without it",
                                type(exc).__name__)
        except BaseException as exc:
            with lock:
                if exc not in errors:
                    errors.append(exc)

    threads = [threading.Thread(target=helper, name=f"pg-load-{i}", daemon=True) for i in range(helpers)]
    for thread in threads:
        thread.start()
    try:
        work(conn.connection.dbapi_connection)
    except BaseException as exc:  # an interrupt outside ``work``'s own handler included: never a table missing
        with lock:
            if exc not in errors:
                errors.append(exc)
    finally:
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return results


def _largest_first(conn: Any, jobs: Sequence[TableJob]) -> list[TableJob]:
    """The jobs by their table's size on disk, largest first (the longest reads start first)."""
    sizes = dict(conn.exec_driver_sql(
        "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
        "WHERE c.relkind = 'r' AND c.relnamespace = to_regnamespace(current_schema())::oid").all())
    return sorted(jobs, key=lambda job: -int(sizes.get(job.table, 0)))
