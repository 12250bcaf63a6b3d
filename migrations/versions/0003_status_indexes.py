"""Indexes for large databases: pending moves per mailbox; suppressions by state and reason.

``locations (mailbox, uidvalidity, moved_at)``: the poller's pending moves (every pass) and
``status`` read only the unmoved rows instead of the mailbox's whole history.
``addresses (state, reason)`` replaces ``(state)``: counts by reason come from the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.create_index('ix_locations_pending', ['mailbox', 'uidvalidity', 'moved_at'],
                              unique=False)
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_addresses_state')
        batch_op.create_index('ix_addresses_state_reason', ['state', 'reason'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_addresses_state_reason')
        batch_op.create_index('ix_addresses_state', ['state'], unique=False)
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_index('ix_locations_pending')
