"""shared results: the store history each was computed for, so results of a past history can be pruned

One nullable column (``shared_result.history``); rows stored before it have none and are pruned by age
only (``services.shared_results.SharedResults.prune``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shared_result') as batch:
        batch.add_column(sa.Column('history', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shared_result') as batch:
        batch.drop_column('history')
