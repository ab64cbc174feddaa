"""The statistics keep up with history: a day's vehicles as a Roaring bitmap instead of a
list of ids, each month's figures kept beside its days (a year adds twelve), the indexes
the timer finds what changed since its last run by (decisions, booked hours, anomalies
detected), and the consignee's board's (the passes bound for an enterprise by validity)

Revision ID: 0032_figures_that_keep_up
Revises: 0031_enterprise_rejection
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from alembic import op
from pyroaring import BitMap

revision = "0032_figures_that_keep_up"
down_revision = "0031_enterprise_rejection"
branch_labels = None
depends_on = None

COUNTS = (
    "applications", "approved", "rejected", "approvals", "trips", "trips_closed", "loops",
    "stops", "bookings_kept", "bookings_off_hour", "bookings_missed", "scans", "entries", "exits",
)  # fmt: skip
HISTOGRAMS = ("waits", "anomalies", "slot_waits", "denials")


def _figure_columns() -> list[sa.Column[Any]]:
    zero = {"server_default": "0", "nullable": False}
    return [
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), **(zero if name in _DEFAULTED else {"nullable": False}))
            for name in COUNTS
        ),
        sa.Column("waits", sa.JSON(), nullable=False),
        sa.Column("anomalies", sa.JSON(), nullable=False),
        sa.Column("slot_waits", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("denials", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("vehicle_set", sa.LargeBinary(), nullable=False),
    ]


_DEFAULTED = {
    "stops", "bookings_kept", "bookings_off_hour", "bookings_missed", "scans", "entries", "exits",
}  # fmt: skip


def _figures(name: str, period: str) -> Any:
    """daily_figure or monthly_figure as the data steps of this revision read them."""
    return sa.table(
        name,
        sa.column(period, sa.String()),
        sa.column("enterprise_id", sa.Integer()),
        sa.column("vehicles", sa.JSON()),
        sa.column("vehicle_set", sa.LargeBinary()),
        *(sa.column(c, sa.Integer()) for c in COUNTS),
        *(sa.column(c, sa.JSON()) for c in HISTOGRAMS),
    )


def _convert(daily: Any, source: str, target: str, change: Any) -> None:
    """Write each day's vehicles from the `source` column into `target`, changed."""
    conn = op.get_bind()
    for day, enterprise_id, value in conn.execute(
        sa.select(daily.c.day, daily.c.enterprise_id, daily.c[source])
    ).all():
        conn.execute(
            daily.update()
            .where(daily.c.day == day, daily.c.enterprise_id == enterprise_id)
            .values({target: change(value)})
        )


def upgrade() -> None:
    with op.batch_alter_table("daily_figure") as batch:
        batch.add_column(sa.Column("vehicle_set", sa.LargeBinary(), nullable=True))
    daily = _figures("daily_figure", "day")
    _convert(daily, "vehicles", "vehicle_set", lambda ids: BitMap(ids or ()).serialize())
    with op.batch_alter_table("daily_figure") as batch:
        batch.drop_column("vehicles")
        batch.alter_column("vehicle_set", existing_type=sa.LargeBinary(), nullable=False)

    op.create_table(
        "monthly_figure",
        sa.Column("month", sa.String(length=7), nullable=False),
        *_figure_columns(),
        sa.PrimaryKeyConstraint("month", "enterprise_id"),
    )
    op.create_index(
        "ix_monthly_figure_enterprise_month", "monthly_figure", ["enterprise_id", "month"]
    )
    # One enterprise's days (everyone's among them) without reading every enterprise's.
    op.drop_index("ix_daily_figure_enterprise_id", table_name="daily_figure")
    op.create_index("ix_daily_figure_enterprise_day", "daily_figure", ["enterprise_id", "day"])
    _roll_up(op.get_bind(), daily)

    op.create_index("ix_pass_reviewed_at", "pass", ["reviewed_at"])
    op.create_index("ix_booking_slot_start", "booking", ["slot_start"])
    op.create_index("ix_anomaly_detected_at", "anomaly", ["detected_at"])
    op.create_index(
        "ix_pass_destination_valid", "pass", ["destination_enterprise_id", "valid_until"]
    )


def _roll_up(conn: sa.Connection, daily: Any) -> None:
    """Each month's figures from its days, as the timer keeps them from now on."""
    sums: dict[tuple[str, int], dict[str, Any]] = {}
    columns = [daily.c.day, daily.c.enterprise_id, daily.c.vehicle_set]
    columns += [daily.c[name] for name in (*COUNTS, *HISTOGRAMS)]
    for row in conn.execute(sa.select(*columns)).mappings():
        into = sums.setdefault(
            (row["day"][:7], row["enterprise_id"]),
            {**dict.fromkeys(COUNTS, 0), **{h: Counter() for h in HISTOGRAMS}, "v": BitMap()},
        )
        for name in COUNTS:
            into[name] += row[name] or 0
        for name in HISTOGRAMS:
            into[name].update(row[name] or {})
        into["v"] |= BitMap.deserialize(row["vehicle_set"])
    if not sums:
        return
    monthly = _figures("monthly_figure", "month")
    conn.execute(
        monthly.insert(),
        [
            {
                "month": month,
                "enterprise_id": enterprise_id,
                "vehicle_set": r.pop("v").serialize(),
                **{name: r[name] for name in COUNTS},
                **{name: dict(r[name]) for name in HISTOGRAMS},
            }
            for (month, enterprise_id), r in sums.items()
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_pass_destination_valid", table_name="pass")
    op.drop_index("ix_anomaly_detected_at", table_name="anomaly")
    op.drop_index("ix_booking_slot_start", table_name="booking")
    op.drop_index("ix_pass_reviewed_at", table_name="pass")
    op.drop_index("ix_daily_figure_enterprise_day", table_name="daily_figure")
    op.create_index("ix_daily_figure_enterprise_id", "daily_figure", ["enterprise_id"])
    op.drop_index("ix_monthly_figure_enterprise_month", table_name="monthly_figure")
    op.drop_table("monthly_figure")
    with op.batch_alter_table("daily_figure") as batch:
        batch.add_column(sa.Column("vehicles", sa.JSON(), nullable=True))
    daily = _figures("daily_figure", "day")
    _convert(daily, "vehicle_set", "vehicles", lambda kept: list(BitMap.deserialize(kept or b"")))
    with op.batch_alter_table("daily_figure") as batch:
        batch.drop_column("vehicle_set")
        batch.alter_column("vehicles", existing_type=sa.JSON(), nullable=False)
