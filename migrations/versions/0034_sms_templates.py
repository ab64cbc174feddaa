"""Each SMS keeps the template it was made from and the values filled in, for providers
that send registered templates (Alibaba Cloud SMS, mainland China); error codes of up to
48 characters (theirs are names, `isv.MOBILE_NUMBER_ILLEGAL`)

Revision ID: 0034_sms_templates
Revises: 0033_machine_keys
Create Date: 2026-12-04 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034_sms_templates"
down_revision = "0033_machine_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_message") as batch:
        batch.add_column(sa.Column("template", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.alter_column(
            "error_code", existing_type=sa.String(length=16), type_=sa.String(length=48)
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_message") as batch:
        batch.alter_column(
            "error_code", existing_type=sa.String(length=48), type_=sa.String(length=16)
        )
        batch.drop_column("params")
        batch.drop_column("template")
