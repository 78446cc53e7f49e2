"""every coding and date precision of clinical events: ``codings`` (the further codings of each coded
element) and ``date_only`` (the time columns given without a time of day) on each clinical event table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('encounter', 'condition', 'observation', 'procedure', 'immunization', 'medication_request',
          'medication_dispense', 'service_request')


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no default): instant on SQLite and PostgreSQL, no table rebuild
    for table in TABLES:
        op.add_column(table, sa.Column('codings', sa.Text(), nullable=True))
        op.add_column(table, sa.Column('date_only', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('date_only')
            batch.drop_column('codings')
