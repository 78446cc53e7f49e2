"""appointments: the practice's schedule (patient, start, provider, visit type, status)

A new table only. No measure reads it, so it has no journal triggers (``journal.UNMEASURED``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'appointment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=True),
        sa.Column('provider_name', sa.String(length=200), nullable=True),
        sa.Column('start', sa.DateTime(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=True),
        sa.Column('visit_type', sa.String(length=100), nullable=True),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('date_only', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('updated_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=True),
        sa.Column('source_id', sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(['import_id'], ['data_import.id'], name=op.f('fk_appointment_import_id_data_import'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_appointment_patient_id_patient'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_appointment_provider_id_provider'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
    )
    with op.batch_alter_table('appointment') as batch:
        batch.create_index('ix_appointment_start', ['start'], unique=False)
        batch.create_index(batch.f('ix_appointment_patient_id'), ['patient_id'], unique=False)
        batch.create_index(batch.f('ix_appointment_source_id'), ['source_id'], unique=False)


def downgrade() -> None:
    op.drop_table('appointment')
