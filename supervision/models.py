"""Alert settings of oversight users and the notifications they receive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyroaring import BitMap
from sqlalchemy import (
    JSON,
    Boolean,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from core.db import Base, UTCDateTime


class AlertSettings(Base):
    """What one user is told about: anomaly kinds, by SMS too, and a daily summary."""

    __tablename__ = "alert_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    sms: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(16))
    daily_summary: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """An in-app notice; `key` makes raising it twice add nothing."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_inbox", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(24))  # an anomaly kind, or daily_summary
    anomaly_id: Mapped[int | None] = mapped_column(ForeignKey("anomaly.id"), index=True)
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trip.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VehicleSet(TypeDecorator[BitMap]):
    """A set of vehicle ids, kept as a serialized Roaring bitmap: a year's days join into
    its distinct vehicles in a millisecond, where lists of ids took a set of millions."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: BitMap | None, dialect: Dialect) -> bytes:
        return BitMap(value or ()).serialize()

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> BitMap:
        return BitMap.deserialize(value) if value else BitMap()


class Figures:
    """The statistics of one enterprise over one period, added up by the statistics page
    instead of the passes and trips themselves (`flask statistics refresh`, on a timer)."""

    __tenant_key__ = "enterprise_id"

    enterprise_id: Mapped[int] = mapped_column(Integer)
    applications: Mapped[int] = mapped_column(Integer, default=0)  # filed then
    approved: Mapped[int] = mapped_column(Integer, default=0)  # of those: approved (or revoked)
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # of those: rejected
    approvals: Mapped[int] = mapped_column(Integer, default=0)  # approved then
    trips: Mapped[int] = mapped_column(Integer, default=0)  # opened then, not void
    trips_closed: Mapped[int] = mapped_column(Integer, default=0)
    loops: Mapped[int] = mapped_column(Integer, default=0)  # entry, arrival and exit
    # Whole minutes from filing to decision -> passes, of those filed then and decided.
    waits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    anomalies: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # detected then
    stops: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of those trips
    # Bookings whose hour was then: kept (entered in it), off hour (entered outside it),
    # missed (its hour over, not entered); minutes from the hour to entry -> bookings.
    bookings_kept: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bookings_off_hour: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bookings_missed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    slot_waits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default="{}")
    # Scans recorded then (supervision/statistics_scans.py): all of them, the entries and
    # exits let through, and the refused ones by first reason -> scans.
    scans: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    exits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    denials: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default="{}")
    # The vehicles of the passes filed then and approved: a range's distinct vehicles are
    # the union of its periods' (a count would not add up).
    vehicles: Mapped[BitMap] = mapped_column("vehicle_set", VehicleSet(), default=BitMap)
    # Read by a range's chart day by day without its histograms: the median of `waits`
    # and the totals of `denials` and `anomalies`, kept with them.
    median_wait_minutes: Mapped[float | None] = mapped_column(Float)
    denials_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    anomalies_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DailyFigure(Figures, Base):
    """One local day's figures of one enterprise (EVERYONE: of all together)."""

    __tablename__ = "daily_figure"
    __table_args__ = (
        PrimaryKeyConstraint("day", "enterprise_id"),
        # One enterprise's days (everyone's among them) without reading the others' rows.
        Index("ix_daily_figure_enterprise_day", "enterprise_id", "day"),
    )

    day: Mapped[str] = mapped_column(String(10))  # local, YYYY-MM-DD


class MonthlyFigure(Figures, Base):
    """One local month's, the sum of its days, kept with them: a year's statistics add
    twelve of these per enterprise instead of 365 days."""

    __tablename__ = "monthly_figure"
    __table_args__ = (
        PrimaryKeyConstraint("month", "enterprise_id"),
        Index("ix_monthly_figure_enterprise_month", "enterprise_id", "month"),
    )

    month: Mapped[str] = mapped_column(String(7))  # local, YYYY-MM
