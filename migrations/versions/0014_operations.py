"""Operations: heartbeats of workers and timers, shared rate-limit counts, the request
that wrote each audit entry, and when retention erased a driver's personal data

Revision ID: 0014_operations
Revises: 0013_plate_tail_index
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "0014_operations"
down_revision = "0013_plate_tail_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeat",
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_table(
        "rate_count",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("window", sa.BigInteger(), primary_key=True),  # seconds since 1970
        sa.Column("hits", sa.Integer(), nullable=False),
    )
    op.create_index("ix_rate_count_window", "rate_count", ["window"])
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
    with op.batch_alter_table("driver") as batch:
        batch.add_column(sa.Column("erased_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("driver") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("request_id")
    op.drop_index("ix_rate_count_window", table_name="rate_count")
    op.drop_table("rate_count")
    op.drop_table("heartbeat")
