"""Pass codes carry low-S signatures only: rewrite stored high-S codes to their twin

ECDSA accepts (r, s) and (r, n - s) alike; tokens are now signed and accepted low-S only,
so each pass has exactly one valid text. The twin of a stored high-S code is computed
without the private key. A driver or a printout holding the old text of such a pass
needs the new one (the approval SMS can be sent again).

Revision ID: 0007_low_s_codes
Revises: 0006_exit_only_trips
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

import base64

import sqlalchemy as sa
from alembic import op

revision = "0007_low_s_codes"
down_revision = "0006_exit_only_trips"
branch_labels = None
depends_on = None

ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def low_s(code: str) -> str:
    prefix, _, token = code.rpartition("/P/")
    data = base64.b32decode(token + "=" * (-len(token) % 8))
    s = int.from_bytes(data[-32:], "big")
    if s <= ORDER // 2:
        return code
    twin = data[:-32] + (ORDER - s).to_bytes(32, "big")
    return f"{prefix}/P/{base64.b32encode(twin).decode().rstrip('=')}"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, code FROM pass WHERE code IS NOT NULL")).all()
    for pass_id, code in rows:
        fixed = low_s(code)
        if fixed != code:
            bind.execute(
                sa.text("UPDATE pass SET code = :code WHERE id = :id"), {"code": fixed, "id": pass_id}
            )


def downgrade() -> None:
    pass  # low-S codes verify under the old rule too
