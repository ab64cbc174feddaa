"""The pass feed peers read, and peers' passes kept here: a feed counter on each pass,
the issuing jurisdiction of a peer's pass, a destination outside this jurisdiction

Revision ID: 0020_pass_feed
Revises: 0019_federation_peers
Create Date: 2026-12-02 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_pass_feed"
down_revision = "0019_federation_peers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pass_feed_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ctr", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pass_feed_head")),
    )
    with op.batch_alter_table("pass") as batch:
        batch.add_column(sa.Column("feed_ctr", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("issuer_area_code", sa.String(length=6), nullable=True))
        batch.add_column(sa.Column("issuer_ref", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("destination_credit_code", sa.String(length=18), nullable=True))
        batch.add_column(sa.Column("destination_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("destination_area_code", sa.String(length=6), nullable=True))
        batch.create_index(batch.f("ix_pass_feed_ctr"), ["feed_ctr"])
        batch.create_unique_constraint(batch.f("uq_pass_issuer_ref"), ["issuer_ref"])
    add_column = sa.Column("peer_ctr", sa.Integer(), nullable=False, server_default="0")
    with op.batch_alter_table("federation_peer") as batch:
        batch.add_column(add_column)
    # Passes approved before the feed existed: in it from the start, in id order.
    op.execute(
        "UPDATE pass SET feed_ctr = id WHERE status IN ('approved', 'revoked')"
    )
    op.execute("INSERT INTO pass_feed_head (id, ctr) SELECT 1, COALESCE(MAX(feed_ctr), 0) FROM pass")


def downgrade() -> None:
    with op.batch_alter_table("federation_peer") as batch:
        batch.drop_column("peer_ctr")
    with op.batch_alter_table("pass") as batch:
        batch.drop_constraint(batch.f("uq_pass_issuer_ref"), type_="unique")
        batch.drop_index(batch.f("ix_pass_feed_ctr"))
        for column in (
            "destination_area_code",
            "destination_name",
            "destination_credit_code",
            "issuer_ref",
            "issuer_area_code",
            "feed_ctr",
        ):
            batch.drop_column(column)
    op.drop_table("pass_feed_head")
