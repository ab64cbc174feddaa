"""Offline scans: a flag on scans decided on a phone without network and synced later

Revision ID: 0010_offline_scans
Revises: 0009_revocation_list
Create Date: 2026-11-23 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_offline_scans"
down_revision = "0009_revocation_list"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("offline", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_column("offline")
