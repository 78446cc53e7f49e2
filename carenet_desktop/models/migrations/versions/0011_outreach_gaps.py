"""outreach gaps: the care gaps open when an outreach attempt was logged

A new table only (``models.coordination.OutreachGap``). No measure reads it, so it has no journal triggers
(``journal.UNMEASURED``); the outreach it belongs to is a journaled ``care_activity``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outreach_gap',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('measure_id', sa.String(length=32), nullable=False),
        sa.Column('group_index', sa.Integer(), nullable=False),
        sa.Column('item', sa.String(length=200), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['activity_id'], ['care_activity.id'],
                                name=op.f('fk_outreach_gap_activity_id_care_activity'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_outreach_gap_patient_id_patient'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_outreach_gap_practice_id_practice'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outreach_gap')),
    )
    with op.batch_alter_table('outreach_gap') as batch:
        batch.create_index(batch.f('ix_outreach_gap_activity_id'), ['activity_id'], unique=False)
        batch.create_index(batch.f('ix_outreach_gap_practice_id'), ['practice_id'], unique=False)


def downgrade() -> None:
    op.drop_table('outreach_gap')
