"""A pass's latest scans by time, for the repeat lookup on every scan

Revision ID: 0017_scan_pass_recorded
Revises: 0016_device_sessions
Create Date: 2026-12-02 03:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0017_scan_pass_recorded"
down_revision = "0016_device_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.create_index("ix_scan_pass_recorded", ["pass_id", "recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_pass_recorded")
