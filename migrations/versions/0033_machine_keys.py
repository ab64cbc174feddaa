"""Machine keys: an enterprise's systems (or the jurisdiction's) call the API with named,
scoped, revocable keys, each acting as a machine user of its own

Revision ID: 0033_machine_keys
Revises: 0032_figures_that_keep_up
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0033_machine_keys"
down_revision = "0032_figures_that_keep_up"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(
            sa.Column("machine", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_index("ix_api_key_enterprise_id", "api_key", ["enterprise_id"])


def downgrade() -> None:
    op.drop_index("ix_api_key_enterprise_id", table_name="api_key")
    op.drop_table("api_key")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("machine")
