"""The crew whitelist (司乘人员白名单): a reviewer puts a driver on it until a date, with
what was checked; where the jurisdiction requires it, only whitelisted crews get passes

Revision ID: 0024_crew_whitelist
Revises: 0023_consignee_board
Create Date: 2026-12-03 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0024_crew_whitelist"
down_revision = "0023_consignee_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("driver") as batch:
        batch.add_column(sa.Column("whitelist_until", db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("whitelist_note", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("whitelisted_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("whitelisted_at", db.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_driver_whitelisted_by_id_user_account", "user_account", ["whitelisted_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("driver") as batch:
        batch.drop_constraint("fk_driver_whitelisted_by_id_user_account", type_="foreignkey")
        batch.drop_column("whitelisted_at")
        batch.drop_column("whitelisted_by_id")
        batch.drop_column("whitelist_note")
        batch.drop_column("whitelist_until")
