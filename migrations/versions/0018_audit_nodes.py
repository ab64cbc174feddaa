"""The audit tree's inner nodes at every fourth level, so proofs read O(log n) rows

Revision ID: 0018_audit_nodes
Revises: 0017_scan_pass_recorded
Create Date: 2026-12-02 05:30:00

The nodes of the tree integrated so far are computed from the stored leaf hashes here,
once (a million entries take a few seconds).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0018_audit_nodes"
down_revision = "0017_scan_pass_recorded"
branch_labels = None
depends_on = None

STRIDE = 4


def upgrade() -> None:
    nodes = op.create_table(
        "audit_node",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_node")),
    )
    _backfill(op.get_bind(), nodes)


def _backfill(conn: sa.Connection, nodes: sa.Table) -> None:
    size = conn.scalar(sa.text("SELECT size FROM audit_tree WHERE id = 1")) or 0
    if not size:
        return
    page = sa.text(
        "SELECT seq, leaf_hash FROM audit_entry WHERE seq > :last AND seq <= :size "
        "ORDER BY seq LIMIT 5000"
    )
    right_edge: list[bytes] = []
    count, batch = 0, []
    while count < size:
        rows = conn.execute(page, {"last": count, "size": size}).all()
        if not rows or rows[0][0] != count + 1 or any(h is None for _, h in rows):
            # A log that is not whole: its nodes stop here and `flask audit verify` says why.
            print(f"warning: audit entry {count + 1} is missing; run flask audit verify")
            break
        for seq, leaf_hex in rows:
            if seq != count + 1:
                break
            count = _add(right_edge, bytes.fromhex(leaf_hex), count, batch)
        if len(batch) >= 5000:
            conn.execute(nodes.insert(), batch)
            batch = []
    if batch:
        conn.execute(nodes.insert(), batch)


def _add(right_edge: list[bytes], node: bytes, count: int, batch: list[dict]) -> int:
    """Append one leaf to the right edge, keeping the completed nodes of stored levels."""
    width, level = count, 0
    while width & 1:
        node = hashlib.sha256(b"\x01" + right_edge.pop() + node).digest()
        width, level = width >> 1, level + 1
        if level % STRIDE == 0:
            batch.append({"level": level, "idx": width, "hash": node.hex()})
    right_edge.append(node)
    return count + 1


def downgrade() -> None:
    op.drop_table("audit_node")
