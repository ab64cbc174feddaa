"""Where each checkpoint stands (latitude and longitude, WGS 84), set by the admin, for
the map of checkpoints and vehicles inside

Revision ID: 0030_checkpoint_places
Revises: 0029_daily_scans
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_checkpoint_places"
down_revision = "0029_daily_scans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkpoint") as batch:
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkpoint") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
