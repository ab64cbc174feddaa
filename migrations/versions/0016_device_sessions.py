"""Phones kept signed in for a shift (device-bound, revocable sessions)

Revision ID: 0016_device_sessions
Revises: 0015_daily_figures
Create Date: 2026-12-02 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0016_device_sessions"
down_revision = "0015_daily_figures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_device_session_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_device_session_token_hash")),
    )
    with op.batch_alter_table("device_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_session_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_session_user_id"))
    op.drop_table("device_session")
