"""Alert settings of oversight users and the notifications they receive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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


class DailyFigure(Base):
    """The statistics of one local day and one enterprise, added up by the statistics
    page instead of a year of passes and trips (`flask statistics refresh`, on a timer)."""

    __tablename__ = "daily_figure"
    __tenant_key__ = "enterprise_id"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # local, YYYY-MM-DD
    enterprise_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    applications: Mapped[int] = mapped_column(Integer, default=0)  # filed that day
    approved: Mapped[int] = mapped_column(Integer, default=0)  # of those: approved (or revoked)
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # of those: rejected
    approvals: Mapped[int] = mapped_column(Integer, default=0)  # approved that day
    trips: Mapped[int] = mapped_column(Integer, default=0)  # opened that day, not void
    trips_closed: Mapped[int] = mapped_column(Integer, default=0)
    loops: Mapped[int] = mapped_column(Integer, default=0)  # entry, arrival and exit
    # Whole minutes from filing to decision -> passes, of those filed that day and decided.
    waits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    anomalies: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # detected that day
    stops: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of those trips
    # Bookings whose hour was that day: kept (entered in it), off hour (entered outside
    # it), missed (its hour over, not entered); minutes from the hour to entry -> bookings.
    bookings_kept: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bookings_off_hour: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bookings_missed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    slot_waits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default="{}")
    # Scans recorded that day (supervision/statistics_scans.py): all of them, the entries
    # and exits let through, and the refused ones by first reason -> scans.
    scans: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    exits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    denials: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default="{}")
    # The vehicles of the passes filed that day and approved: a range's distinct vehicles
    # are the union of its days' (a count would not add up).
    vehicles: Mapped[list[int]] = mapped_column(JSON, default=list)
