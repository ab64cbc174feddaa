"""A sign-up the administrator does not approve is rejected with a reason the enterprise
reads (on its home page and by SMS), instead of being suspended before it ever started

Revision ID: 0031_enterprise_rejection
Revises: 0030_checkpoint_places
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_enterprise_rejection"
down_revision = "0030_checkpoint_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enterprise") as batch:
        batch.add_column(
            sa.Column("status_reason", sa.String(length=200), server_default="", nullable=False)
        )


def downgrade() -> None:
    op.execute("UPDATE enterprise SET status = 'pending' WHERE status = 'rejected'")
    with op.batch_alter_table("enterprise") as batch:
        batch.drop_column("status_reason")
