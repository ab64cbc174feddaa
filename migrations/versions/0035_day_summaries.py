"""Each day's (and month's) kept figures carry the median decision time and the totals of
refusals and anomalies beside their histograms, so a year's chart reads 365 small rows
instead of parsing and sorting 365 histograms

Revision ID: 0035_day_summaries
Revises: 0034_sms_templates
Create Date: 2026-12-04 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035_day_summaries"
down_revision = "0034_sms_templates"
branch_labels = None
depends_on = None

TABLES = {"daily_figure": "day", "monthly_figure": "month"}


def _median(waits: dict[str, int]) -> float | None:
    total = sum(waits.values())
    if not total:
        return None
    low_at, high_at, seen, low = (total - 1) // 2, total // 2, 0, None
    for minute, n in sorted((int(m), n) for m, n in waits.items()):
        seen += n
        if low is None and seen > low_at:
            low = minute
        if seen > high_at:
            return (low + minute) / 2  # type: ignore[operator]
    return None


def upgrade() -> None:
    conn = op.get_bind()
    for name, period in TABLES.items():
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("median_wait_minutes", sa.Float(), nullable=True))
            batch.add_column(
                sa.Column("denials_total", sa.Integer(), server_default="0", nullable=False)
            )
            batch.add_column(
                sa.Column("anomalies_total", sa.Integer(), server_default="0", nullable=False)
            )
        table = sa.table(
            name,
            sa.column(period, sa.String()),
            sa.column("enterprise_id", sa.Integer()),
            sa.column("waits", sa.JSON()),
            sa.column("denials", sa.JSON()),
            sa.column("anomalies", sa.JSON()),
            sa.column("median_wait_minutes", sa.Float()),
            sa.column("denials_total", sa.Integer()),
            sa.column("anomalies_total", sa.Integer()),
        )
        rows = conn.execute(
            sa.select(table.c[period], table.c.enterprise_id, table.c.waits, table.c.denials,
                      table.c.anomalies)
        ).all()  # fmt: skip
        for key, enterprise_id, waits, denials, anomalies in rows:
            conn.execute(
                table.update()
                .where(table.c[period] == key, table.c.enterprise_id == enterprise_id)
                .values(
                    median_wait_minutes=_median(waits or {}),
                    denials_total=sum((denials or {}).values()),
                    anomalies_total=sum((anomalies or {}).values()),
                )
            )


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("anomalies_total")
            batch.drop_column("denials_total")
            batch.drop_column("median_wait_minutes")
