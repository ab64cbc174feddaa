"""The audit log becomes a transparency log: entries are appended pending, with no shared
lock, and a sequencer numbers them into a Merkle tree and signs checkpoints

Revision ID: 0012_transparency_log
Revises: 0011_scanner_devices
Create Date: 2026-11-24 09:00:00

The entries of the hash chain keep their numbers and hashes: they become the tree's first
leaves (the sequencer integrates them first) and verification still checks their chain.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

from core import db

revision = "0012_transparency_log"
down_revision = "0011_scanner_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("leaf_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_tree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree")),
    )
    op.bulk_insert(
        sa.table(
            "audit_tree",
            sa.column("id"),
            sa.column("size"),
            sa.column("root_hash"),
            sa.column("frontier", sa.JSON()),
        ),
        [{"id": 1, "size": 0, "root_hash": hashlib.sha256(b"").hexdigest(), "frontier": []}],
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
        sa.UniqueConstraint("size", name=op.f("uq_audit_checkpoint_size")),
    )
    op.drop_table("audit_head")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM audit_entry WHERE hash IS NULL")).scalar():
        raise RuntimeError("entries written to the transparency log have no hash chain to go back to")
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) SELECT 1, COALESCE(MAX(seq), 0), "
        f"COALESCE((SELECT hash FROM audit_entry ORDER BY seq DESC LIMIT 1), '{'0' * 64}') "
        "FROM audit_entry"
    )
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_tree")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("leaf_hash")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
