"""What each scanning phone last reported (lists' age, queued scans)

Revision ID: 0011_scanner_devices
Revises: 0010_offline_scans
Create Date: 2026-11-23 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0011_scanner_devices"
down_revision = "0010_offline_scans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scanner_device",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=True),
        sa.Column("lists_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("oldest_queued_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"], ["checkpoint.id"], name=op.f("fk_scanner_device_checkpoint_id_checkpoint")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_scanner_device_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_scanner_device")),
    )
    with op.batch_alter_table("scanner_device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scanner_device_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_scanner_device_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scanner_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scanner_device_user_id"))
        batch_op.drop_index(batch_op.f("ix_scanner_device_reported_at"))
    op.drop_table("scanner_device")
