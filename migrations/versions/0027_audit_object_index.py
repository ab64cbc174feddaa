"""The audit log found by its objects: the page's filter takes a pass number or a plate and
looks for the entries of the pass, its trips, scans, anomalies and bookings

Revision ID: 0027_audit_object_index
Revises: 0026_bookings
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0027_audit_object_index"
down_revision = "0026_bookings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_entry_object", "audit_entry", ["object_type", "object_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_entry_object", table_name="audit_entry")
