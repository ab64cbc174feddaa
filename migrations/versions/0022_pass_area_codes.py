"""Every pass records the counties it starts and ends in (origin_area_code beside the
destination's), as the national pass of 2022 did; passes filed before are given this
jurisdiction's own code (the first six digits of their number) for both

Revision ID: 0022_pass_area_codes
Revises: 0021_federation_events
Create Date: 2026-12-02 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_pass_area_codes"
down_revision = "0021_federation_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pass") as batch:
        batch.add_column(sa.Column("origin_area_code", sa.String(length=6), nullable=True))
    for column in ("origin_area_code", "destination_area_code"):
        op.execute(
            f"UPDATE pass SET {column} = substr(number, 1, 6) "  # noqa: S608 - fixed names
            f"WHERE {column} IS NULL AND issuer_ref IS NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("pass") as batch:
        batch.drop_column("origin_area_code")
