"""Federation peers: jurisdictions whose federation key an administrator pinned

Revision ID: 0019_federation_peers
Revises: 0018_audit_nodes
Create Date: 2026-12-02 06:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0019_federation_peers"
down_revision = "0018_audit_nodes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_peer",
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sync_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("area_code", name=op.f("pk_federation_peer")),
    )


def downgrade() -> None:
    op.drop_table("federation_peer")
