"""shared results: measure results computed once for every workstation, and the compute leases

Two new tables (``models.shared_results``). No measure reads them, so they have no journal triggers
(``journal.UNMEASURED``). On PostgreSQL the journal triggers installed after this migration (as after every
one, ``journal.install_journal``) include the one that gives change ids in commit order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'shared_result',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('summary_data', sa.LargeBinary(), nullable=False),
        sa.Column('row_data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shared_result')),
        sa.UniqueConstraint('key', 'version', name=op.f('uq_shared_result_key_version')),
    )
    if op.get_bind().dialect.name == "postgresql":
        # stored as sent: compressing tens of megabytes on every write (pglz) took seconds, and gained little
        op.execute("ALTER TABLE shared_result ALTER COLUMN row_data SET STORAGE EXTERNAL")
    op.create_table(
        'result_lease',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_result_lease')),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('DROP TRIGGER IF EXISTS "journal_commit_order" ON "data_change"')
        op.execute('DROP FUNCTION IF EXISTS "journal_commit_order"()')
    op.drop_table('result_lease')
    op.drop_table('shared_result')
