"""Federation events and witnessing: the outbox of scans owed to a peer about its passes,
the reports peers sent about ours, and each peer's audit log as we witnessed it

Revision ID: 0021_federation_events
Revises: 0020_pass_feed
Create Date: 2026-12-02 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0021_federation_events"
down_revision = "0020_pass_feed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("peer_area_code", sa.String(length=6), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["pass.id"], name=op.f("fk_federation_event_pass_id_pass")
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scan.id"], name=op.f("fk_federation_event_scan_id_scan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_federation_event_event_id")),
        sa.UniqueConstraint("scan_id", name=op.f("uq_federation_event_scan_id")),
    )
    op.create_index(
        "ix_federation_event_due", "federation_event", ["peer_area_code", "status", "id"]
    )
    op.create_index(op.f("ix_federation_event_pass_id"), "federation_event", ["pass_id"])
    op.create_table(
        "federation_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("previous_event_id", sa.String(length=32), nullable=True),
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_code", sa.String(length=32), nullable=False),
        sa.Column("checkpoint_name", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["pass.id"], name=op.f("fk_federation_report_pass_id_pass")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_report")),
        sa.UniqueConstraint("event_id", name=op.f("uq_federation_report_event_id")),
    )
    op.create_index(op.f("ix_federation_report_pass_id"), "federation_report", ["pass_id"])
    with op.batch_alter_table("federation_peer") as batch:
        batch.add_column(sa.Column("witnessed", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("witness_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("witness_error", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("holds_ours", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("federation_peer") as batch:
        for column in ("holds_ours", "witness_error", "witness_state", "witnessed"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_federation_report_pass_id"), table_name="federation_report")
    op.drop_table("federation_report")
    op.drop_index(op.f("ix_federation_event_pass_id"), table_name="federation_event")
    op.drop_index("ix_federation_event_due", table_name="federation_event")
    op.drop_table("federation_event")
