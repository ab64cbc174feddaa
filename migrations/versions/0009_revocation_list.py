"""The signed revocation list: a counter and the changes it numbers

Revision ID: 0009_revocation_list
Revises: 0008_driver_keys
Create Date: 2026-11-23 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0009_revocation_list"
down_revision = "0008_driver_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revocation_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ctr", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocation_head")),
    )
    op.create_table(
        "revocation_change",
        sa.Column("ctr", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("until", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("at", db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ctr", name=op.f("pk_revocation_change")),
    )
    with op.batch_alter_table("revocation_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revocation_change_pass_id"), ["pass_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_revocation_change_until"), ["until"], unique=False)
    # Passes revoked before the list existed, still within validity, start it.
    op.execute(
        "INSERT INTO revocation_change (ctr, pass_id, listed, until, at) "
        "SELECT ROW_NUMBER() OVER (ORDER BY id), id, true, valid_until, CURRENT_TIMESTAMP "
        "FROM pass WHERE status = 'revoked' AND valid_until > CURRENT_TIMESTAMP"
    )
    op.execute(
        "INSERT INTO revocation_head (id, ctr) "
        "SELECT 1, COALESCE(MAX(ctr), 0) FROM revocation_change"
    )


def downgrade() -> None:
    with op.batch_alter_table("revocation_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revocation_change_until"))
        batch_op.drop_index(batch_op.f("ix_revocation_change_pass_id"))
    op.drop_table("revocation_change")
    op.drop_table("revocation_head")
