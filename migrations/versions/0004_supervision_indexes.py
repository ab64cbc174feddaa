"""Indexes for the dashboard and statistics: trips by opening time, scans by recording
time, passes by category

Revision ID: 0004_supervision_indexes
Revises: 0003_checkpoints
Create Date: 2026-11-22 02:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_supervision_indexes"
down_revision = "0003_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_trip_opened_state", "trip", ["opened_at", "state"])
    op.create_index("ix_pass_category", "pass", ["category"])
    op.create_index("ix_scan_recorded", "scan", ["recorded_at", "checkpoint_id", "event", "decision"])


def downgrade() -> None:
    op.drop_index("ix_scan_recorded", table_name="scan")
    op.drop_index("ix_trip_opened_state", table_name="trip")
    op.drop_index("ix_pass_category", table_name="pass")
