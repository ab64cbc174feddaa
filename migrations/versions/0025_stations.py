"""Stations, the third point of 三点往返: a pass names its crew's designated stations and a
trip counts its stops there (checkpoint kind "station" needs no column of its own)

Revision ID: 0025_stations
Revises: 0024_crew_whitelist
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_stations"
down_revision = "0024_crew_whitelist"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both databases: no table copy, so trip keeps its expression index
    op.add_column("pass", sa.Column("station_ids", sa.JSON(), server_default="[]", nullable=False))
    op.add_column("trip", sa.Column("stops", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("trip") as batch:
        batch.drop_column("stops")
    with op.batch_alter_table("pass") as batch:
        batch.drop_column("station_ids")
    if op.get_bind().dialect.name == "sqlite":  # its table copy drops the expression index
        op.execute("CREATE INDEX IF NOT EXISTS ix_trip_plate_tail ON trip (substr(plate, 2))")
