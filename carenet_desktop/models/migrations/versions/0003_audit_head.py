"""audit head: the count and last hash of the audit chain, so a removed last entry is detected

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # anchor the chain as it stands
    op.execute("INSERT INTO audit_head (id, entries, last_hash) SELECT 1, count(*), "
               "(SELECT entry_hash FROM audit_log ORDER BY id DESC LIMIT 1) FROM audit_log")


def downgrade() -> None:
    op.drop_table('audit_head')
