"""What an administrator vets a sign-up against: the enterprise's registered address, its
legal representative and business scope, as printed on its business licence

Revision ID: 0028_enterprise_details
Revises: 0027_audit_object_index
Create Date: 2026-12-03 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_enterprise_details"
down_revision = "0027_audit_object_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enterprise") as batch:
        batch.add_column(sa.Column("address", sa.String(200), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("legal_representative", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("business_scope", sa.String(500), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("enterprise") as batch:
        batch.drop_column("business_scope")
        batch.drop_column("legal_representative")
        batch.drop_column("address")
