"""The consignee receives its truck: a trip names the enterprise it is bound for (so the
consignee reads the trips arriving at it) and who met the truck at the gate (接引); trips
recorded before are given their pass's destination

Revision ID: 0023_consignee_board
Revises: 0022_pass_area_codes
Create Date: 2026-12-02 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0023_consignee_board"
down_revision = "0022_pass_area_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trip") as batch:
        batch.add_column(sa.Column("destination_enterprise_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("escort_name", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("escorted_at", db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escorted_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_trip_destination_enterprise_id_enterprise",
            "enterprise",
            ["destination_enterprise_id"],
            ["id"],
        )
        batch.create_foreign_key(
            "fk_trip_escorted_by_id_user_account", "user_account", ["escorted_by_id"], ["id"]
        )
        batch.create_index(
            "ix_trip_destination_state", ["destination_enterprise_id", "state"], unique=False
        )
    _keep_plate_tail_index()
    op.execute(
        "UPDATE trip SET destination_enterprise_id = "
        "(SELECT destination_enterprise_id FROM pass WHERE pass.id = trip.pass_id)"
    )


def _keep_plate_tail_index() -> None:
    """SQLite's batch copies the table without the index on an expression (the plate
    after its province, 0013), which it cannot reflect: put it back."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE INDEX IF NOT EXISTS ix_trip_plate_tail ON trip (substr(plate, 2))")


def downgrade() -> None:
    with op.batch_alter_table("trip") as batch:
        batch.drop_index("ix_trip_destination_state")
        batch.drop_constraint("fk_trip_escorted_by_id_user_account", type_="foreignkey")
        batch.drop_constraint("fk_trip_destination_enterprise_id_enterprise", type_="foreignkey")
        batch.drop_column("escorted_by_id")
        batch.drop_column("escorted_at")
        batch.drop_column("escort_name")
        batch.drop_column("destination_enterprise_id")
    _keep_plate_tail_index()
