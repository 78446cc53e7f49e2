"""PostgreSQL bulk writes with ``COPY ... FROM STDIN``: the rows an ``insert(table)`` executemany would write,
several times faster (psycopg formats and escapes the rows in C; batched INSERTs made the imports several
times slower than on SQLite).

Same rows as the INSERT they replace: each value goes through its column's SQLAlchemy bind processor (JSON
serialised as SQLAlchemy does, enums as their names), and a column a row does not give takes its Python-side
default as SQLAlchemy would apply it, else the server default (sequences included). COPY runs in the
caller's transaction: a failure mid-COPY rolls back with everything else. The change journal's
statement-level triggers fire for COPY as for INSERT (one statement per COPY; transition tables included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Column, Connection, Table, text


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _constant(value: Any) -> Any:
    return value


def _python_defaults(table: Table, given: Sequence[str]) -> list[tuple[str, Callable[[], Any]]]:
    """(column, value maker) for each column not given that SQLAlchemy would fill client-side on INSERT."""
    out: list[tuple[str, Callable[[], Any]]] = []
    for column in table.columns:
        default = column.default
        if column.name in given or default is None or not (default.is_scalar or default.is_callable):
            continue
        arg: Any = default.arg  # type: ignore[attr-defined]
        # a callable is wrapped by SQLAlchemy to take an execution context: called per row, as INSERT does
        out.append((column.name, partial(arg, None) if default.is_callable else partial(_constant, arg)))
    return out


def copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` (tuples in the order of ``columns``) into ``table``; returns the number of rows."""
    defaults = _python_defaults(table, columns)
    names = [*columns, *(name for name, _ in defaults)]
    dialect = conn.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    makers = [make for _, make in defaults]
    quoted = ", ".join(f'"{name}"' for name in names)
    raw: Any = conn.connection.driver_connection
    n = 0
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            values = [*row, *(make() for make in makers)] if makers else list(row)
            for i, process in active:
                values[i] = process(values[i])
            copy.write_row(values)
            n += 1
    return n


def copy_dicts(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """:func:`copy_rows` for dict rows with the same keys (as executemany takes them)."""
    if not rows:
        return 0
    columns = list(rows[0])
    return copy_rows(conn, table, columns, ([row[c] for c in columns] for row in rows))


def allocate_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` ids from the table's own sequence, ascending (the ids INSERTs would have taken, and the sequence
    moves past them: no setval afterwards); for a COPY whose caller needs the new rows' ids."""
    if n <= 0:
        return []
    id_column: Column[Any] = table.c.id
    sequence = f"pg_get_serial_sequence('\"{table.name}\"', '{id_column.name}')"
    ids = conn.execute(text(f"SELECT nextval({sequence}) FROM generate_series(1, :n)"), {"n": n}).scalars().all()
    return sorted(int(i) for i in ids)


def copy_dicts_returning_ids(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """COPY dict rows with ids taken from the table's sequence; the new ids, in the order of ``rows``."""
    ids = allocate_ids(conn, table, len(rows))
    if not rows:
        return ids
    columns = ["id", *(c for c in rows[0] if c != "id")]
    copy_rows(conn, table, columns, ([i, *(row[c] for c in columns[1:])] for i, row in zip(ids, rows, strict=True)))
    return ids


__all__ = ["allocate_ids", "copy_dicts", "copy_dicts_returning_ids", "copy_rows", "is_postgresql"]
