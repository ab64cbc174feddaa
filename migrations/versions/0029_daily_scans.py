"""The daily figures' scans: every scan recorded, the entries and exits let through, and
the refused scans by reason (the statistics page's charts and the province's report)

Revision ID: 0029_daily_scans
Revises: 0028_enterprise_details
Create Date: 2026-12-04 09:30:00

Kept rows written before it read 0 scans until the next `flask statistics refresh --all`
(a plain refresh recounts the settling days only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_daily_scans"
down_revision = "0028_enterprise_details"
branch_labels = None
depends_on = None

FIGURES = ("scans", "entries", "exits")


def upgrade() -> None:
    for name in FIGURES:
        op.add_column(
            "daily_figure", sa.Column(name, sa.Integer(), server_default="0", nullable=False)
        )
    op.add_column(
        "daily_figure", sa.Column("denials", sa.JSON(), server_default="{}", nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("daily_figure") as batch:
        for name in (*FIGURES, "denials"):
            batch.drop_column(name)
