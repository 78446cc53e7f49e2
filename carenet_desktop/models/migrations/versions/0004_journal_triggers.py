"""journal by construction: the store's history id, and the state the journal triggers read

The triggers themselves are (re)installed after every migration by ``models.journal.install_journal``
(SQLite's batch mode recreates tables without their triggers). A store upgraded here gets a new history
id and a journal row saying everything changed: its caches were keyed without either.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 16:40:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('store_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('history_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_identity'))
    )
    op.create_table('journal_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('suspended', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_state'))
    )
    op.execute(f"INSERT INTO store_identity (id, history_id) VALUES (1, '{uuid.uuid4()}')")
    op.execute("INSERT INTO journal_state (id, suspended) VALUES (1, 0)")
    op.execute("INSERT INTO data_change (at, practice_id, patient_id) VALUES (CURRENT_TIMESTAMP, NULL, NULL)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for (name,) in bind.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'journal_%'").all():
            op.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    else:
        for name, table in bind.exec_driver_sql(
                "SELECT DISTINCT trigger_name, event_object_table FROM information_schema.triggers "
                "WHERE trigger_name LIKE 'journal_%'").all():
            op.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
    op.drop_table('journal_state')
    op.drop_table('store_identity')
