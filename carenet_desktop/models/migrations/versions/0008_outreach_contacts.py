"""care-gap outreach as data: how the family was contacted, what came of it, when to try again; contacts

Three nullable columns on ``care_activity``: rows written before (outreach with a free-text note only)
stay as they are and read as "method and outcome not recorded". Three nullable columns on ``patient``:
phone, guardian and preferred contact method (the preferred language is ``patient.language``). Plain
``ADD COLUMN`` (no table rebuild), so the journal triggers stay in place.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('care_activity', sa.Column('contact_method', sa.String(length=20), nullable=True))
    op.add_column('care_activity', sa.Column('outcome', sa.String(length=20), nullable=True))
    op.add_column('care_activity', sa.Column('follow_up_date', sa.Date(), nullable=True))
    op.add_column('patient', sa.Column('phone', sa.String(length=40), nullable=True))
    op.add_column('patient', sa.Column('guardian', sa.String(length=200), nullable=True))
    op.add_column('patient', sa.Column('contact_method', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('patient') as batch:
        batch.drop_column('contact_method')
        batch.drop_column('guardian')
        batch.drop_column('phone')
    with op.batch_alter_table('care_activity') as batch:
        batch.drop_column('follow_up_date')
        batch.drop_column('outcome')
        batch.drop_column('contact_method')
