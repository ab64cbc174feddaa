"""Daily figures for the statistics: one row per local day and enterprise, counted by
`flask statistics refresh`; a covering index for vehicles with approved passes

Revision ID: 0015_daily_figures
Revises: 0014_operations
Create Date: 2026-11-24 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_daily_figures"
down_revision = "0014_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_figure",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("enterprise_id", sa.Integer(), primary_key=True),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.Column("trips", sa.Integer(), nullable=False),
        sa.Column("trips_closed", sa.Integer(), nullable=False),
        sa.Column("loops", sa.Integer(), nullable=False),
        sa.Column("waits", sa.JSON(), nullable=False),
        sa.Column("anomalies", sa.JSON(), nullable=False),
        sa.Column("vehicles", sa.JSON(), nullable=False),
    )
    op.create_index("ix_daily_figure_enterprise_id", "daily_figure", ["enterprise_id"])
    # Vehicles with approved passes in a range: read from the index alone.
    op.drop_index("ix_pass_status_created", table_name="pass")
    op.create_index("ix_pass_status_created", "pass", ["status", "created_at", "vehicle_id"])


def downgrade() -> None:
    op.drop_index("ix_pass_status_created", table_name="pass")
    op.create_index("ix_pass_status_created", "pass", ["status", "created_at"])
    op.drop_index("ix_daily_figure_enterprise_id", table_name="daily_figure")
    op.drop_table("daily_figure")
