"""Checkpoints, officer assignments, trips, scans and anomalies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    case,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Enterprise, User
from core.db import Base, UTCDateTime
from passes.models import Pass

officer_checkpoint = Table(
    "officer_checkpoint",
    Base.metadata,
    Column("user_id", ForeignKey("user_account.id"), primary_key=True),
    Column("checkpoint_id", ForeignKey("checkpoint.id"), primary_key=True),
)


class Checkpoint(Base):
    __tablename__ = "checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bookings a gate takes in each hour (预约制); None: it takes none.
    capacity_per_hour: Mapped[int | None] = mapped_column(Integer)
    # Where it stands (WGS 84 degrees), for the map; set by the admin, None until then.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    enterprise: Mapped[Enterprise | None] = relationship()
    officers: Mapped[list[User]] = relationship(secondary=officer_checkpoint)


class Trip(Base):
    """One loop of a pass: entry -> arrival -> exit. State is recomputed from its scans."""

    __tablename__ = "trip"
    __table_args__ = (
        UniqueConstraint("pass_id", "seq"),
        # At most one open trip per pass, whatever races the scanners run.
        Index(
            "uq_trip_open_per_pass",
            "pass_id",
            unique=True,
            sqlite_where=text("state IN ('entered', 'arrived')"),
            postgresql_where=text("state IN ('entered', 'arrived')"),
        ),
        Index("ix_trip_enterprise_state", "enterprise_id", "state"),
        # Trips opened per day (dashboard, statistics) without reading the table.
        Index("ix_trip_opened_state", "opened_at", "state"),
        # The consignee's board: the trips bound for one enterprise, open ones first.
        Index("ix_trip_destination_state", "destination_enterprise_id", "state"),
    )
    __tenant_key__ = "enterprise_id"
    # ...and the consignee reads the trips arriving at it (accounts.scoping).
    __tenant_also__ = "destination_enterprise_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("pass.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    plate: Mapped[str] = mapped_column(String(16), index=True)
    # The pass's trip number; None for an exit-only record (a truck that left without a
    # recorded entry on a pass that had no trip to give), which uses no trip.
    seq: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    entry_checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoint.id"))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    arrival_checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoint.id"))
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exit_checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoint.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The pass's destination when the trip opened (the consignee who receives it).
    destination_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    # Who met the truck at the gate for the consignee (接引), as its staff recorded it.
    escort_name: Mapped[str | None] = mapped_column(String(64))
    escorted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escorted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Stops at stations on the way (events "stop"): counted, replayed like the rest.
    stops: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    pass_: Mapped[Pass] = relationship()
    entry_checkpoint: Mapped[Checkpoint | None] = relationship(foreign_keys=[entry_checkpoint_id])
    arrival_checkpoint: Mapped[Checkpoint | None] = relationship(
        foreign_keys=[arrival_checkpoint_id]
    )
    exit_checkpoint: Mapped[Checkpoint | None] = relationship(foreign_keys=[exit_checkpoint_id])


# Plates searched without the province character (f88 finds 浙F88A66): the same range walk
# as on `plate`, over the plate after its first character (history.PLATE_TAIL).
PLATE_TAIL = func.substr(Trip.plate, literal_column("2"))
Index("ix_trip_plate_tail", PLATE_TAIL)


class Scan(Base):
    """Immutable record of every scan, allowed or denied, and of every annulment."""

    __tablename__ = "scan"
    __table_args__ = (
        Index("ix_scan_checkpoint_recorded", "checkpoint_id", "recorded_at"),
        # Scans per hour by gate, event and decision (dashboard), from the index alone.
        Index("ix_scan_recorded", "recorded_at", "checkpoint_id", "event", "decision"),
        # A pass's scans of the last minutes: the repeat lookup (scan_store.LAST_HERE).
        Index("ix_scan_pass_recorded", "pass_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[str] = mapped_column(String(36), unique=True)
    pass_id: Mapped[int | None] = mapped_column(ForeignKey("pass.id"), index=True)
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trip.id"), index=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    event: Mapped[str] = mapped_column(String(8))  # entry|arrival|exit|none|annul
    decision: Mapped[str] = mapped_column(String(8))  # allow|deny
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    direction: Mapped[str | None] = mapped_column(String(8))
    annuls_id: Mapped[int | None] = mapped_column(ForeignKey("scan.id"), unique=True)
    note: Mapped[str | None] = mapped_column(String(500))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Decided on a phone without network and synced later (scanned_at is the phone's time).
    offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    checkpoint: Mapped[Checkpoint] = relationship()
    officer: Mapped[User] = relationship()

    @property
    def plate(self) -> str | None:
        shown = (self.response or {}).get("pass") or {}
        return shown.get("plate")


# When a scan happened: the phone's time for one decided offline (as it recorded it), the
# server's otherwise. Trips are stamped with it; repeats are matched by it.
SCAN_MOMENT = case((Scan.offline.is_(True), Scan.scanned_at), else_=Scan.recorded_at)


class Anomaly(Base):
    __tablename__ = "anomaly"
    __table_args__ = (
        UniqueConstraint("trip_id", "kind"),
        Index("ix_anomaly_open", "resolved_at", "kind"),
    )
    __tenant_key__ = "enterprise_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip.id"), index=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("pass.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    # indexed: the statistics count the anomalies detected in a day without reading all
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(String(500))

    trip: Mapped[Trip] = relationship()
    resolved_by: Mapped[User | None] = relationship()


class ScannerDevice(Base):
    """What each scanning phone last reported: how old its kept lists are and what waits
    in its queue, so supervisors see scanners that are stale or have not synced."""

    __tablename__ = "scanner_device"

    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoint.id"))
    lists_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    queued: Mapped[int] = mapped_column(Integer, default=0)
    oldest_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    user: Mapped[User] = relationship()
    checkpoint: Mapped[Checkpoint | None] = relationship()


class Booking(Base):
    """An hour at a gate booked for a pass (checkpoints/bookings.py): booked until the
    truck enters there (arrived) or the enterprise cancels it; missed when its hour ended
    with neither."""

    __tablename__ = "booking"
    __table_args__ = (
        # A gate's hour: how full it is, and the day's list.
        Index("ix_booking_slot", "checkpoint_id", "slot_start", "status"),
        Index("ix_booking_pass", "pass_id", "status"),
    )
    __tenant_key__ = "enterprise_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("pass.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id"))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # on the hour
    status: Mapped[str] = mapped_column(String(16))  # booked | arrived | cancelled
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trip.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pass_: Mapped[Pass] = relationship()
    checkpoint: Mapped[Checkpoint] = relationship()
