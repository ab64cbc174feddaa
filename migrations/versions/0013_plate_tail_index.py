"""An index on the plate after its province character, for searches typed without it

Revision ID: 0013_plate_tail_index
Revises: 0012_transparency_log
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_plate_tail_index"
down_revision = "0012_transparency_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_trip_plate_tail", "trip", [sa.text("substr(plate, 2)")])


def downgrade() -> None:
    op.drop_index("ix_trip_plate_tail", table_name="trip")
