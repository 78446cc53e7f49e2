"""Database targets for storage tests: SQLite always, PostgreSQL when ``CARENET_TEST_PG_URL`` is set.

``dev.py test`` (and so CI) starts a throwaway PostgreSQL server and sets the variable; each test
using ``db_url`` then runs once per backend, each PostgreSQL run in a fresh database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ENV = "CARENET_TEST_PG_URL"


def backends() -> list[object]:
    pg = os.environ.get(PG_ENV)
    return [
        "sqlite",
        pytest.param("postgresql", marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not pg, reason=f"{PG_ENV} not set: no PostgreSQL server for this run"),
        ]),
    ]


@contextmanager
def fresh_database(backend: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A new, empty database URL (a file under tmp_path, or a new PostgreSQL database dropped after)."""
    if backend == "sqlite":
        yield str(tmp_path / "test.db")
        return
    base = make_url(os.environ[PG_ENV])
    name = f"carenet_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
