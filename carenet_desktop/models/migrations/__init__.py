"""Alembic migrations, run programmatically (no alembic.ini needed at run time).

Alembic is imported only when a store is not at ``KNOWN_HEAD``: importing it costs ~0.15 s, paid at every
start of the window otherwise. A test keeps ``KNOWN_HEAD`` equal to the newest revision in ``versions/``,
and a store at any other revision goes through Alembic, which knows the true head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent
#: the newest revision in versions/ (checked by tests/models/test_migrations.py)
KNOWN_HEAD = "0013"


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def at_known_head(conn: Connection) -> bool:
    """True when the store's one recorded revision is ``KNOWN_HEAD`` (read with plain SQL, no Alembic)."""
    if not inspect(conn).has_table("alembic_version"):
        return False
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    return [r[0] for r in rows] == [KNOWN_HEAD]


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)
