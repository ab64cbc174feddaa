"""Exit-only trips: a trip without a number, for a truck that left with no recorded entry
on a pass that had no trip to give

Revision ID: 0006_exit_only_trips
Revises: 0005_alerts
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_exit_only_trips"
down_revision = "0005_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trip", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Exit-only records keep their rows, numbered below zero so they stay unique.
    op.execute("UPDATE trip SET seq = -id WHERE seq IS NULL")
    with op.batch_alter_table("trip", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
