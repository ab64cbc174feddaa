"""The driver's short link: a random key per approved pass (/d/<key>)

Revision ID: 0008_driver_keys
Revises: 0007_low_s_codes
Create Date: 2026-11-23 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_driver_keys"
down_revision = "0007_low_s_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pass", schema=None) as batch_op:
        batch_op.add_column(sa.Column("driver_key", sa.String(length=10), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_pass_driver_key"), ["driver_key"])


def downgrade() -> None:
    with op.batch_alter_table("pass", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_pass_driver_key"), type_="unique")
        batch_op.drop_column("driver_key")
