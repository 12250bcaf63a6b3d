"""Counters: the figures ``status`` and the metrics show, kept in step by the writers.

Counted here once from the history (the same rules as ``daemon.counters.truth``, written out
in SQL so that this migration does not change when the code does); zero counts get no row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HERE = "(SELECT DISTINCT mailbox, message_pk FROM locations) AS h"
BACKFILL = (
    "SELECT '', 'messages', count(*) FROM messages HAVING count(*) > 0",
    "SELECT 'addresses', 'state:' || state, count(*) FROM addresses GROUP BY state",
    "SELECT 'addresses', 'suppressed:' || reason, count(*) FROM addresses "
    "WHERE state = 'suppressed' GROUP BY reason",
    f"SELECT h.mailbox, 'kind:' || m.kind, count(*) FROM {_HERE} "
    "JOIN messages m ON m.id = h.message_pk GROUP BY h.mailbox, m.kind",
    f"SELECT h.mailbox, 'reason:' || o.reason, count(*) FROM {_HERE} "
    "JOIN outcomes o ON o.message_pk = h.message_pk GROUP BY h.mailbox, o.reason",
    "SELECT mailbox, severity, count(*) FROM (SELECT h.mailbox, CASE WHEN o.hard "
    f"THEN 'severity:hard' ELSE 'severity:soft' END AS severity FROM {_HERE} "
    "JOIN outcomes o ON o.message_pk = h.message_pk) AS s GROUP BY mailbox, severity",
)


def upgrade() -> None:
    op.create_table('counters',
    sa.Column('scope', sa.String(length=512), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'name', name=op.f('pk_counters'))
    )
    for query in BACKFILL:
        op.execute(f"INSERT INTO counters (scope, name, value) {query}")


def downgrade() -> None:
    op.drop_table('counters')
