"""The SQLite read of ``measure_data``: one ``group_concat`` string per column and chunk of rows.

Each column of a chunk comes back as ONE string built in C and is parsed vectorised: numbers by NumPy,
timestamps from their stored text (``stored_timestamps``), text factorized once (``Coded``: the codes serve
the frame's str column, the ``system|code`` keys, the snapshot and the engine). Two threads run the SQL
(SQLite releases the GIL) and parse their chunk's timestamps, floats and text by NumPy passes, which release
it too (``text_codes``: text without a ``str`` per row), while the caller's thread joins the chunks. A column NULL in every row is found
so by comparing its chunk texts, without a scan of its own. A column mostly NULL (in a probe of a few
thousand rows: ``_probe_sparse``) is read sparse, the ids of its rows with a value and those values
(aggregate ``FILTER`` clauses): a NULL then costs SQLite a test, not a marker appended to the chunk's text,
copied into Python and compared (about a third of the 250k store's cells). Text with the separator characters inside a
value makes the reader give up (``Fallback``): the table is then read exactly (``measure_data._read_generic``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .decimal_floats import parse_decimals
from .frame_columns import MISSING, Col, factorize_texts, str_column
from .frame_columns import MISSING_SQL as _MISSING_SQL
from .frame_columns import nulls as _nulls
from .frame_columns import numeric as _numeric
from .stored_timestamps import NO_TIME, julian_ms_sql, parse_stored_timestamps, stored_text_sql
from .text_codes import code_texts

_SEP = "\x1f"  # unit separator between values of one column
_SEP_BYTE = 0x1F
_NULL = "\x15"  # marks a NULL text value
CHUNK_ROWS = 250_000
_IN_FLIGHT = 4  # chunk queries queued ahead of the parsing thread


_INT_KINDS = ("int", "nint", "bool", "date")


_ID = Col("id", "t.id", "int")


def _sqlite_expr(col: Col) -> tuple[str, str]:
    """(expression, separator) for ``group_concat`` of a column, NULLs made explicit.

    Integers and floats come as comma-separated decimal text, parsed by ``np.fromstring`` in C; timestamps
    as their stored text (``stored_timestamps``); text values separated by US (0x1f). Decimal integers rather than
    ``printf`` hex, and the control characters as literals rather than ``char()``: a function call per
    value allocates a string per value, and SQLite's allocator serialises threads, so two reading threads
    were slower than one. Text goes in as it is stored, without ``CAST(... AS TEXT)``: ``group_concat``
    turns a value into text by the very conversion the cast applies (``sqlite3VdbeMemStringify`` for a
    number, a blob's bytes taken as text), so the cast only added an opcode per value (~12% of a text
    column's cost). The comma-separated kinds use ``group_concat``'s default separator (a second argument
    is read again for every row).
    """
    if col.kind == "date":  # the stored text, parsed by NumPy (``stored_timestamps``)
        return stored_text_sql(col.sql), ","
    if col.kind in _INT_KINDS:
        return f"COALESCE(CAST({col.sql} AS INTEGER), {_MISSING_SQL})", ","
    if col.kind == "float":
        return f"COALESCE({col.sql}, 'nan')", ","
    return f"COALESCE({col.sql}, '{_NULL}')", _SEP


def _concat(expr: str, sep: str) -> str:
    """The ``group_concat`` of an expression: the default separator (a comma) is not passed."""
    return f"GROUP_CONCAT({expr})" if sep == "," else f"GROUP_CONCAT({expr}, '{sep}')"


@dataclass
class _Plan:
    """How one table is read on SQLite: its id range and the chunk query (every column: one that is NULL
    in every row is found so by its chunks, not by a scan of its own). ``bare_sql`` is the same query
    without the ids: a chunk whose count of rows is the width of its id range holds every id of it (ids are
    the rowid, unique), so its ids need no text of their own (``SqliteReader._row``); a chunk with a gap
    (rows deleted, or left out by ``where``) is read again with them, and so is the rest of the table."""

    table: str
    cols: list[Col]
    lo: int | None
    hi: int | None
    sql: str
    where: str = "1=1"
    #: columns read sparse (``_sparse_exprs``): mostly NULL in the probed rows
    sparse: frozenset[str] = frozenset()
    bare_sql: str = ""
    #: a chunk (or a probe window) had a gap in its ids: the remaining chunks are read with their ids
    gappy: bool = False

    @property
    def read(self) -> list[Col]:
        """The columns the chunk query reads: not the row id again (``event_id``), taken from the ids."""
        return [c for c in self.cols if not _is_row_id(c)]

    def chunks(self) -> list[tuple[int, int]]:
        """The id ranges ``[start, stop)`` of the chunks, within the planned ``[lo, hi]`` (a row added
        since, above ``hi``, is not read: the load's journal version was read before it)."""
        if self.lo is None or self.hi is None or not self.cols:
            return []
        return [(a, min(a + CHUNK_ROWS, self.hi + 1)) for a in range(self.lo, self.hi + 1, CHUNK_ROWS)]


def _plan_sqlite(cur: Any, table: str, cols: list[Col], where: str, everyone: bool = False) -> _Plan:
    """The table's plan. Its id range is two lookups in the rowid tree when every row is read
    (``everyone``: the chunk queries apply ``where``, and the columns mostly NULL in a probe of a few
    thousand rows are read sparse); for some patients it is read through ``where``."""
    if everyone:
        lo, hi = cur.execute(f'SELECT (SELECT MIN(id) FROM "{table}"), (SELECT MAX(id) FROM "{table}")').fetchone()
    else:
        lo, hi = cur.execute(f'SELECT MIN(t.id), MAX(t.id) FROM "{table}" t WHERE {where}').fetchone()
    sparse, gappy = _probe_sparse(cur, table, cols, where, lo, hi) if everyone else (frozenset(), True)
    aggregates = []
    for c in cols:
        if _is_row_id(c):
            continue
        aggregates.extend(_sparse_exprs(c) if c.name in sparse else [_concat(*_sqlite_expr(c))])
    # straight from the table, no ordered subquery: a subquery's rows are copied value by value (an
    # allocation per text value, serialising the reading threads); the id column restores the order
    rest = f'FROM "{table}" t WHERE {where} AND t.id >= ? AND t.id < ?'
    sql = f"SELECT {', '.join(['COUNT(*)', _concat('t.id', ','), *aggregates])} {rest}" if cols else ""
    bare = f"SELECT {', '.join(['COUNT(*)', *aggregates])} {rest}" if cols and not gappy else ""
    return _Plan(table, cols, lo, hi, sql, where, sparse, bare, gappy)


#: rows of each probe window (at the start, middle and end of the table's ids)
PROBE_ROWS = 2_000
#: a column with values in at most this share of the probed rows is read sparse
SPARSE_SHARE = 0.1


def _probe_sparse(cur: Any, table: str, cols: list[Col], where: str, lo: int | None,
                  hi: int | None) -> tuple[frozenset[str], bool]:
    """The columns to read sparse: those with a value in at most ``SPARSE_SHARE`` of the rows of three
    windows of ids (a few milliseconds; a small table whole). A guess only: either form reads any column exactly, the probe
    only picks the cheaper one (a column NULL in most rows costs a test per row read sparse, a value
    appended per row read densely; one with values in most rows costs its ids once more read sparse).
    And whether a window has a gap in its ids (``_Plan.gappy``: its chunks are read with their ids)."""
    candidates = [c for c in cols if c.kind != "int" and not _is_row_id(c)]
    if lo is None or hi is None or not candidates or not _has_filter(cur):
        return frozenset(), False
    counts = ", ".join(f"COUNT({c.sql})" for c in candidates)
    sql = f'SELECT COUNT(*), {counts} FROM "{table}" t WHERE {where} AND t.id >= ? AND t.id < ?'
    rows, values, width = 0, [0] * len(candidates), 0
    small = hi - lo < 3 * PROBE_ROWS  # probed whole
    for start in [lo] if small else [lo, (lo + hi) // 2, hi + 1 - PROBE_ROWS]:
        stop = hi + 1 if small else start + PROBE_ROWS
        n, *found = cur.execute(sql, (start, stop)).fetchone()
        rows, width = rows + n, width + stop - start
        values = [v + f for v, f in zip(values, found, strict=True)]
    return frozenset(c.name for c, v in zip(candidates, values, strict=True) if v <= SPARSE_SHARE * rows), rows < width


def _has_filter(cur: Any) -> bool:
    """Whether this SQLite (the system's, or SQLCipher's own) has aggregate ``FILTER`` clauses (3.30)."""
    version = tuple(int(p) for p in str(cur.execute("SELECT sqlite_version()").fetchone()[0]).split(".")[:2])
    return version >= (3, 30)


def _sparse_exprs(col: Col) -> list[str]:
    """The two aggregates of a column read sparse: the ids of its rows with a value, and those values
    (as ``_sqlite_expr`` gives them, without the NULL markers): a NULL costs a test, not a value."""
    sql = col.sql
    value = (f"CAST({sql} AS INTEGER)" if col.kind in ("nint", "bool") else sql)
    has = f"FILTER (WHERE {sql} IS NOT NULL)"
    return [f"{_concat('t.id', ',')} {has}", f"{_concat(value, _SEP if col.kind == 'str' else ',')} {has}"]


def _is_row_id(col: Col) -> bool:
    return col.sql == _ID.sql and col.kind == "int"


def _null_unit(col: Col) -> str:
    """The text of a NULL of this column in a chunk (see ``_sqlite_expr``)."""
    return _NULL if col.kind == "str" else "nan" if col.kind == "float" else NO_TIME if col.kind == "date" \
        else str(MISSING)


def _all_null(text: str, col: Col, n: int) -> bool:
    """Whether a chunk's text of a column is NULL in each of its ``n`` rows (compared in C, not parsed)."""
    unit = _null_unit(col)
    sep = _SEP if col.kind == "str" else ","
    if len(text) != n * len(unit) + n - 1:
        return False
    return text == (unit + sep) * (n - 1) + unit


class SqliteReader:
    """Reads planned tables chunk by chunk; with a database file, two threads run the SQL (SQLite releases
    the GIL while it works) while this thread parses the chunks already fetched."""

    def __init__(self, dbapi: Any, path: str | None, key: str | None = None) -> None:
        self.dbapi = dbapi
        self.path = path
        self.key = key  # an encrypted file: its own connections open with SQLCipher and the passphrase
        self._local = threading.local()
        self._opened: list[Any] = []

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.key is None:
                conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            else:
                from ..models.encryption import apply_key, cipher_module

                conn = cipher_module().connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
                apply_key(conn, self.key)
            self._local.conn = conn
            self._opened.append(conn)
        return conn

    def _fetch(self, sql: str, start: int, stop: int) -> tuple[Any, ...]:
        return tuple(self._conn().execute(sql, (start, stop)).fetchone())

    def _fetch_parsed(self, plan: _Plan, start: int, stop: int) -> tuple[Any, ...]:
        """A reading thread's task: the chunk's row, its timestamps and floats already parsed
        (``_parse_in_thread``)."""
        return _parse_in_thread(plan, self._row(plan, start, stop, self._fetch))

    @staticmethod
    def _row(plan: _Plan, start: int, stop: int, fetch: Any) -> tuple[Any, ...]:
        """The chunk's row (``fetch(sql, start, stop)``): its ids as their text, or as an array where the
        query without them (``_Plan.bare_sql``) found a row for every id of the range."""
        if plan.bare_sql and not plan.gappy:
            row = fetch(plan.bare_sql, start, stop)
            if row[0] == stop - start:
                # the ids in order: relies on SQLite visiting a rowid-range search's rows in rowid order, so
                # the group_concat values come in id order (EXPLAIN QUERY PLAN: SEARCH t USING INTEGER
                # PRIMARY KEY; test_cold_read_cuts checks it for every table's query without the ids)
                return (row[0], np.arange(start, stop, dtype=np.int64), *row[1:])
            plan.gappy = True  # (another thread may read a chunk or two more without ids: each is checked)
        return tuple(fetch(plan.sql, start, stop))

    def plan(self, tables: list[tuple[str, list[Col], str, bool]]) -> list[_Plan]:
        """Plan every table: index lookups only, on the caller's connection."""
        cur = self.dbapi.cursor()
        try:
            return [_plan_sqlite(cur, *spec) for spec in tables]
        finally:
            cur.close()

    def read(self, plans: list[_Plan]) -> Iterator[tuple[_Plan, dict[str, Any]]]:
        """Yield each table's columns as soon as its last chunk is parsed (so chunks are freed early)."""
        tasks = [(plan, start, stop) for plan in plans for start, stop in plan.chunks()]
        remaining = {p.table: len(p.chunks()) for p in plans}
        parts: dict[str, _Parts] = {p.table: _Parts(p) for p in plans}
        self._opened = []
        pool = ThreadPoolExecutor(max_workers=2) if self.path and len(tasks) > 1 else None
        cur = self.dbapi.cursor() if pool is None else None
        futures: deque[Future[tuple[Any, ...]]] = deque()
        pending = iter(tasks)

        def submit() -> None:
            nxt = next(pending, None)
            if nxt is not None and pool is not None:
                futures.append(pool.submit(self._fetch_parsed, *nxt))

        self._local = threading.local()
        try:
            for _ in range(_IN_FLIGHT):
                submit()
            done: set[str] = set()
            for plan, start, stop in tasks:
                if pool is not None:
                    row = futures.popleft().result()
                    submit()
                else:
                    assert cur is not None
                    row = _expand_sparse(plan, self._row(plan, start, stop, lambda sql, a, b: tuple(
                        cur.execute(sql, (a, b)).fetchone())))
                self._take(plan, row, parts[plan.table], start, stop)
                remaining[plan.table] -= 1
                if not remaining[plan.table]:
                    done.add(plan.table)
                    yield plan, self._finish(plan, parts.pop(plan.table))
            for plan in plans:  # tables without chunks (empty)
                if plan.table not in done:
                    yield plan, self._finish(plan, parts.pop(plan.table))
        finally:
            for future in futures:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True)
            for conn in self._opened:
                conn.close()
            if cur is not None:
                cur.close()

    @staticmethod
    def _finish(plan: _Plan, parts: _Parts) -> dict[str, Any]:
        """The table's columns, in id order (as every chunk's ids are a range after the last's, only
        rows within a chunk can be out of order). A column NULL in every row is the kind's missing column;
        a text one as codes (all -1), as a text column read: a key's part, ``codings`` or ``date_only``
        NULL throughout is then integer work, not a ``str`` column of missing values made and checked."""
        order: np.ndarray | None = None
        if parts.ids:
            ids = np.concatenate(parts.ids)
            if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
                order = np.argsort(ids, kind="stable")
        else:
            ids = np.zeros(0, dtype=np.int64)
        parts.ids = []
        out: dict[str, Any] = {}
        read = iter(range(len(plan.read)))
        for c in plan.cols:
            if _is_row_id(c):
                out[c.name] = ids if order is None else ids[order]
                continue
            i = next(read)
            if parts.seen[i]:
                values = _join(parts.columns[i], c, parts.total)
                if order is not None:
                    values = Coded(values.codes[order], values.texts) if isinstance(values, Coded) else values[order]
                out[c.name] = values
            else:
                out[c.name] = _null_chunk(c, parts.total) if c.kind == "str" else _nulls(c.kind, parts.total)
            parts.columns[i] = []
        return out

    def _take(self, plan: _Plan, row: tuple[Any, ...], parts: _Parts, start: int, stop: int) -> None:
        n = row[0]
        if not n:
            return
        parts.total += n
        ids = row[1] if isinstance(row[1], np.ndarray) else _parse_numbers(row[1], _ID, n)
        parts.ids.append(ids)
        for i, (col, text) in enumerate(zip(plan.read, row[2:], strict=True)):
            if isinstance(text, Parsed):  # by the reading thread
                parts.seen[i] = True
                parts.columns[i].append(text.values)
            elif text is _NO_VALUES or text is not _ASK_SQLITE and _all_null(text, col, n):  # the column may have no value in any chunk
                parts.columns[i].append(_null_chunk(col, n))
            elif col.kind == "date":
                parts.seen[i] = True
                ms = None if text is _ASK_SQLITE else parse_stored_timestamps(text, n)
                parts.columns[i].append(ms if ms is not None else self._julian_ms(plan, col, start, stop, ids, n))
            else:
                parts.seen[i] = True
                parts.columns[i].append(_parse_chunk(text, col, n))

    def _julian_ms(self, plan: _Plan, col: Col, start: int, stop: int, ids: np.ndarray, n: int) -> np.ndarray:
        """A chunk's timestamps not in the stored layout, converted by SQLite (on this thread's connection:
        the chunk's ids must come back the same, else the table is read exactly)."""
        cur = self.dbapi.cursor()
        try:
            again, text = cur.execute(
                f"SELECT GROUP_CONCAT(t.id, ','), GROUP_CONCAT({julian_ms_sql(col.sql)}, ',') "
                f'FROM "{plan.table}" t WHERE {plan.where} AND t.id >= ? AND t.id < ?', (start, stop)).fetchone()
        finally:
            cur.close()
        if again is None or not np.array_equal(_parse_numbers(again, _ID, n), ids):
            raise Fallback(col.name)
        return _parse_numbers(text, col, n)


@dataclass(frozen=True)
class Parsed:
    """A chunk's column parsed by a reading thread: timestamps (epoch milliseconds, ``MISSING`` for NULL),
    floats (NaN for NULL) or text (``Coded``)."""

    values: np.ndarray | Coded


def _parse_in_thread(plan: _Plan, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row with each timestamp column (in the stored layout), float column (plain decimals) and text
    column (``_code_in_thread``) that has a value parsed (``Parsed``); the others stay text for the
    caller's thread (NULL in every row, converted by SQLite, ``np.fromstring``, or split). Run by a reading
    thread: these parses are NumPy passes over whole arrays, which release the GIL, so they run beside the
    caller's thread's work rather than on it (that thread is the cold read's longest path)."""
    row = _expand_sparse(plan, row)
    n = row[0]
    if not n:
        return row
    out = list(row)
    for i, col in enumerate(plan.read, start=2):
        if isinstance(row[i], Parsed) or row[i] is _NO_VALUES or row[i] is _ASK_SQLITE:
            continue
        if col.kind in ("date", "float", "str") and not _all_null(row[i], col, n):
            if col.kind == "str":
                coded = _code_in_thread(row[i], n)
                if coded is not None:
                    out[i] = Parsed(coded)
                continue
            values = parse_stored_timestamps(row[i], n) if col.kind == "date" else parse_decimals(row[i], n)
            if values is not None:
                out[i] = Parsed(values)
    return tuple(out)


_NO_VALUES = object()  # a sparse column without a value in a chunk
_ASK_SQLITE = object()  # a sparse timestamp column whose values are not in the stored layout: converted by SQLite


def _expand_sparse(plan: _Plan, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The chunk's row with one item per column read: each sparse column's (ids, values) pair becomes its
    ``Parsed`` values in every row of the chunk (the kind's NULL where it has none), ``_NO_VALUES``, or
    ``_ASK_SQLITE``. The chunk's ids are then parsed here and stand in the row for their text."""
    if not plan.sparse:
        return row
    n = row[0]
    out: list[Any] = [n, row[1]]
    at = 2
    for col in plan.read:
        if col.name not in plan.sparse:
            out.append(row[at])
            at += 1
            continue
        where, values = row[at], row[at + 1]
        at += 2
        if not n or where is None:
            out.append(_NO_VALUES)
            continue
        if not isinstance(out[1], np.ndarray):
            out[1] = _parse_numbers(row[1], _ID, n)
        rows = _rows_of(out[1], _parse_numbers(where, _ID, where.count(",") + 1))
        out.append(_sparse_values(col, values, rows, n))
    return tuple(out)


def _rows_of(ids: np.ndarray, some: np.ndarray) -> np.ndarray:
    """The positions in a chunk's ``ids`` of ``some`` of them (each must be there, else ``Fallback``)."""
    order = None if len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])) else np.argsort(ids, kind="stable")
    at = np.searchsorted(ids, some, sorter=order)
    at = np.minimum(at, len(ids) - 1)
    if order is not None:
        at = order[at]
    if not np.array_equal(ids[at], some):
        raise Fallback("id")
    return at


def _sparse_values(col: Col, text: str, rows: np.ndarray, n: int) -> Any:
    """A sparse column's chunk: the values at their ``rows``, the kind's NULL elsewhere."""
    k = len(rows)
    if col.kind == "str":
        coded = _code_in_thread(text, k)
        some = coded if coded is not None else _parse_chunk(text, col, k)
        assert isinstance(some, Coded)
        codes = np.full(n, -1, dtype=some.codes.dtype)
        codes[rows] = some.codes
        return Parsed(Coded(codes, some.texts))
    if col.kind == "date":
        ms = parse_stored_timestamps(text, k)
        if ms is None:
            return _ASK_SQLITE
        values: np.ndarray = ms
    elif col.kind == "float":
        floats = parse_decimals(text, k)
        values = floats if floats is not None else _parse_numbers(text, col, k)
    else:
        values = _parse_numbers(text, col, k)
    full = _null_chunk(col, n)
    assert isinstance(full, np.ndarray)
    full[rows] = values
    return Parsed(full)


def _code_in_thread(text: str, n: int) -> Coded | None:
    """A text chunk's ``Coded`` as ``_parse_chunk`` makes it, from NumPy passes over its bytes
    (``text_codes``) instead of a ``str`` per row; ``None`` where those give up (the caller splits it)."""
    single = _single_text(text, n)
    if single is not None:
        return Coded(np.zeros(n, dtype=np.int8), np.array([single], dtype=object))
    found = code_texts(text, n, _SEP_BYTE)
    if found is None:
        return None
    codes, texts = found
    return Coded(narrow_codes(codes, len(texts)), texts)


class _Parts:
    """A table's chunks read so far: ids, each column's parsed chunks, whether it had a value, rows."""

    def __init__(self, plan: _Plan) -> None:
        self.ids: list[np.ndarray] = []
        self.columns: list[list[Any]] = [[] for _ in plan.read]
        self.seen = [False] * len(plan.read)
        self.total = 0


def _null_chunk(col: Col, n: int) -> np.ndarray | Coded:
    if col.kind == "str":
        return Coded(np.full(n, -1, dtype=np.int8), np.zeros(0, dtype=object))
    return np.full(n, np.nan) if col.kind == "float" else np.full(n, MISSING, dtype=np.int64)


@dataclass(frozen=True)
class Coded:
    """A text column as read: ``codes`` into ``texts`` (distinct ``str``), -1 for NULL. Factorized once
    here, it gives the frame column (``str_column``), the ``system|code`` keys by integer work (``_key``)
    and the snapshot's encoding (``Factorized``) without hashing every row's text again."""

    codes: np.ndarray
    texts: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def column(self) -> Any:
        return str_column(self.codes, self.texts)


def _parse_chunk(text: str, col: Col, n: int) -> np.ndarray | Coded:
    if col.kind == "str":
        single = _single_text(text, n)
        if single is not None:  # one value in every row (a status, a code system ...): no split, no hashing
            return Coded(np.zeros(n, dtype=np.int8), np.array([single], dtype=object))
        values = text.split(_SEP)
        if len(values) != n:  # a separator inside a value: read this table exactly instead
            raise Fallback(col.name)
        codes, uniques = factorize_texts(values)
        return Coded(narrow_codes(codes, len(uniques)), uniques)
    return _parse_numbers(text, col, n)


def _single_text(text: str, n: int) -> str | None:
    """The value of a text column's chunk that holds one value in each of its ``n`` rows (compared in C);
    ``None`` otherwise. The value is the text before the first separator, so it holds none: the chunk
    splits into exactly ``n`` copies of it, as ``_parse_chunk`` would find."""
    first = text.find(_SEP)
    value = text if first < 0 else text[:first]
    if len(text) != n * len(value) + n - 1:
        return None
    return value if text == (value + _SEP) * (n - 1) + value else None


def _parse_numbers(text: str, col: Col, n: int) -> np.ndarray:
    numbers = np.fromstring(text, dtype=np.int64 if col.kind in _INT_KINDS else np.float64, sep=",")
    if len(numbers) != n:
        raise Fallback(col.name)
    return numbers


def _join_coded(chunks: list[Coded]) -> Coded:
    """One table's chunks of a text column as one ``Coded``: each chunk's distinct texts mapped to the
    table's (the NULL marker to -1), so only the distinct texts are hashed again, not the rows."""
    texts = np.concatenate([c.texts for c in chunks]) if len(chunks) > 1 else chunks[0].texts
    joined, uniques = pd.factorize(texts) if len(texts) else (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=object))
    uniques = np.asarray(uniques, dtype=object)
    keep = uniques != _NULL
    renumber = np.where(keep, np.cumsum(keep) - 1, -1)
    remap = narrow_codes(np.append(renumber[joined], -1), int(keep.sum()))  # the last slot: -1 stays -1
    if len(chunks) == 1:
        return Coded(remap[chunks[0].codes], uniques[keep])  # a code -1 takes the last slot
    # each chunk's codes looked up in its own slice of ``remap``, with -1 as its last slot (a code -1
    # indexes it): no wide copy of the codes, one gather per chunk in the narrow type
    pieces, start = [], 0
    for c in chunks:
        own = np.append(remap[start:start + len(c.texts)], remap[-1])
        pieces.append(own[c.codes])
        start += len(c.texts)
    return Coded(np.concatenate(pieces), uniques[keep])


def narrow_codes(codes: np.ndarray, distinct: int) -> np.ndarray:
    """Codes (-1 missing) in the smallest integer type for ``distinct`` texts: most text columns have a
    few distinct values, and the codes stay in memory beside the frames until the snapshot is written."""
    dtype = np.int8 if distinct < 127 else np.int16 if distinct < 32_767 else np.int32
    return codes.astype(dtype, copy=False)


def _join(chunks: list[Any], col: Col, total: int) -> Any:
    if not chunks:
        return _nulls(col.kind, total)
    if col.kind == "str":
        coded = _join_coded(chunks)
        if len(coded) != total:
            raise Fallback(col.name)
        return coded
    values = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    if len(values) != total:
        raise Fallback(col.name)
    return _numeric(values, col.kind)


class Fallback(Exception):
    """The fast reader could not split a column reliably."""
