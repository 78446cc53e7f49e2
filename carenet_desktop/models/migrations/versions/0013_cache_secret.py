"""cache secret: the random key sealing an encrypted store's cache files, kept inside the store

A new one-row table only (``models.cache_secret.CacheSecret``), filled when an encrypted store is opened
(a plain store leaves it empty). No measure reads it, so it has no journal triggers (``journal.UNMEASURED``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'cache_secret',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cache_secret')),
    )


def downgrade() -> None:
    op.drop_table('cache_secret')
