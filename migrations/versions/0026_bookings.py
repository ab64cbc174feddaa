"""Bookings at gates (预约制): a gate's capacity per hour, the hours booked for passes, and
the daily figures' bookings and stops

Revision ID: 0026_bookings
Revises: 0025_stations
Create Date: 2026-12-03 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0026_bookings"
down_revision = "0025_stations"
branch_labels = None
depends_on = None

FIGURES = ("stops", "bookings_kept", "bookings_off_hour", "bookings_missed")


def upgrade() -> None:
    op.add_column("checkpoint", sa.Column("capacity_per_hour", sa.Integer(), nullable=True))
    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("slot_start", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("arrived_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("trip_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["pass_id"], ["pass.id"]),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoint.id"]),
        sa.ForeignKeyConstraint(["trip_id"], ["trip.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_booking_slot", "booking", ["checkpoint_id", "slot_start", "status"])
    op.create_index("ix_booking_pass", "booking", ["pass_id", "status"])
    op.create_index("ix_booking_enterprise_id", "booking", ["enterprise_id"])
    for name in FIGURES:
        op.add_column("daily_figure", sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "daily_figure", sa.Column("slot_waits", sa.JSON(), server_default="{}", nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("daily_figure") as batch:
        for name in (*FIGURES, "slot_waits"):
            batch.drop_column(name)
    op.drop_table("booking")
    with op.batch_alter_table("checkpoint") as batch:
        batch.drop_column("capacity_per_hour")
