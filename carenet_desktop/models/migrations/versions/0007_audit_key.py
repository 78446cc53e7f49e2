"""keyed audit chain: the head names its key (kept outside the store), the first keyed entry, and its MAC

Entries before ``keyed_from`` keep their unkeyed hashes (the chain as it stood); every later entry is an
HMAC under the key (``models/audit_key.py``), and the first keyed entry links to the last unkeyed one, so
the earlier entries cannot be edited without breaking a keyed link. A store whose head row was missing
gets one anchored on the trail as it stands.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from carenet_desktop.models.audit_key import head_mac, new_key

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_head') as batch:
        batch.add_column(sa.Column('key_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('keyed_from', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('head_mac', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    count, last_id = conn.execute(sa.text("SELECT count(*), max(id) FROM audit_log")).one()
    last_hash = conn.execute(sa.text("SELECT entry_hash FROM audit_log ORDER BY id DESC LIMIT 1")).scalar()
    head = conn.execute(sa.text("SELECT entries, last_hash FROM audit_head WHERE id = 1")).first()
    if head is None:
        conn.execute(sa.text("INSERT INTO audit_head (id, entries, last_hash) VALUES (1, :n, :h)"),
                     {"n": int(count), "h": last_hash})
        entries, last = int(count), last_hash
    else:
        entries, last = int(head[0]), head[1]
    kid, key = new_key()
    keyed_from = int(last_id or 0) + 1
    conn.execute(sa.text("UPDATE audit_head SET key_id = :k, keyed_from = :f, head_mac = :m WHERE id = 1"),
                 {"k": kid, "f": keyed_from, "m": head_mac(key, entries, last, keyed_from, kid)})


def downgrade() -> None:
    with op.batch_alter_table('audit_head') as batch:
        batch.drop_column('head_mac')
        batch.drop_column('keyed_from')
        batch.drop_column('key_id')
