"""measure years: value-set expansions by (url, version, expansion); the Condition profile kind

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 16:45:00

Each measure year evaluates with its own value-set expansions, so one canonical URL may now be stored in
several versions side by side. ``version`` becomes non-null ('' when the file gave none) and a new
``expansion`` column (the expansion's timestamp, '' when none) tells apart expansions that keep the same
business version. Conditions keep the QI-Core 6 profile kind they claim (encounter diagnosis, or problem
list item / health concern); QI-Core 6 measures retrieve conditions by that kind.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE value_set SET version = '' WHERE version IS NULL")
    with op.batch_alter_table('value_set', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expansion', sa.String(length=64), server_default='', nullable=False))
        batch_op.alter_column('version', existing_type=sa.String(length=64), nullable=False, server_default='')
        batch_op.drop_constraint('uq_value_set_url', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_value_set_url_version_expansion'),
                                          ['url', 'version', 'expansion'])
        batch_op.create_index(batch_op.f('ix_value_set_url'), ['url'], unique=False)
    with op.batch_alter_table('condition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_kind', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('condition', schema=None) as batch_op:
        batch_op.drop_column('profile_kind')
    # keep one expansion per URL (the most recently loaded) so the old unique constraint holds
    op.execute("DELETE FROM value_set WHERE id NOT IN (SELECT max(id) FROM value_set GROUP BY url)")
    with op.batch_alter_table('value_set', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_value_set_url'))
        batch_op.drop_constraint(batch_op.f('uq_value_set_url_version_expansion'), type_='unique')
        batch_op.create_unique_constraint('uq_value_set_url', ['url'])
        batch_op.alter_column('version', existing_type=sa.String(length=64), nullable=True, server_default=None)
        batch_op.drop_column('expansion')
