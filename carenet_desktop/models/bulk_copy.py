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
    return _copy(conn, table, table.name, columns, rows, defaults)


def _copy(conn: Connection, table: Table, target: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          defaults: Sequence[tuple[str, Callable[[], Any]]] = ()) -> int:
    """COPY into ``target`` (``table`` or a temporary copy of its columns), values processed as ``table``'s."""
    names = [*columns, *(name for name, _ in defaults)]
    dialect = conn.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    makers = [make for _, make in defaults]
    quoted = ", ".join(f'"{name}"' for name in names)
    raw: Any = conn.connection.driver_connection
    n = 0
    with raw.cursor() as cursor, cursor.copy(f'COPY "{target}" ({quoted}) FROM STDIN') as copy:
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


def copy_update(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                also: str = "", params: Mapping[str, Any] | None = None) -> int:
    """``UPDATE table SET columns = ... [, also] WHERE id = ...`` for each row (its id first, then the values
    of ``columns``), as one statement: the rows are COPYed into a temporary table shaped like ``table``'s
    columns, then ``UPDATE ... FROM`` it. Row for row the same result as the executemany it replaces, ids
    being distinct (a repeated id would be one update, not two: refused). ``also``: more SQL assignments
    over the updated table ``t`` (``"version" = t."version" + 1``), with their ``params``. Returns the number
    of rows updated."""
    if not rows:
        return 0
    if len({row[0] for row in rows}) != len(rows):
        raise ValueError("copy_update: an id is given twice")
    temp = f"carenet_update_{table.name}"
    selected = ", ".join(f'"{name}"' for name in ("id", *columns))
    # in the caller's transaction: a failure rolls the temporary table back with the rest
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{temp}"')
    conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{temp}" ON COMMIT DROP AS SELECT {selected} FROM "{table.name}" '
                         "WITH NO DATA")
    _copy(conn, table, temp, ["id", *columns], rows)
    sets = [*(f'"{c}" = u."{c}"' for c in columns), *([also] if also else [])]
    values = dict(params or {})
    for column in table.columns:  # what SQLAlchemy's UPDATE adds: the onupdate of a column not set
        if column.onupdate is not None and column.name not in columns and f'"{column.name}"' not in also:
            update: Any = column.onupdate
            if update.is_scalar or update.is_callable:
                values[f"_onupdate_{column.name}"] = update.arg(None) if update.is_callable else update.arg
                sets.append(f'"{column.name}" = :_onupdate_{column.name}')
    result = conn.execute(text(f'UPDATE "{table.name}" AS t SET {", ".join(sets)} FROM "{temp}" AS u '
                               "WHERE t.id = u.id"), values)
    conn.exec_driver_sql(f'DROP TABLE "{temp}"')
    return int(result.rowcount)


__all__ = ["allocate_ids", "copy_dicts", "copy_dicts_returning_ids", "copy_rows", "copy_update", "is_postgresql"]
