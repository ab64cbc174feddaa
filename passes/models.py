"""Passes and pass-number serials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Enterprise, User
from core.db import Base, UTCDateTime
from fleet.models import Driver, Vehicle


class PassSerial(Base):
    """The last serial used per area code; its row lock serialises number allocation."""

    __tablename__ = "pass_serial"

    area_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class PassFeedHead(Base):
    """The counter of the pass feed peers read (federation): each change a peer must hear
    of (approval, revocation, suspension) stamps the pass with the next value, under this
    row's lock, so stamps commit in counter order and a peer asking `since` misses none."""

    __tablename__ = "pass_feed_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ctr: Mapped[int] = mapped_column(Integer, default=0)


class Pass(Base):
    __tablename__ = "pass"
    __table_args__ = (
        Index("ix_pass_enterprise_status", "enterprise_id", "status"),
        # Vehicles with approved passes in a range (statistics) come from the index alone.
        Index("ix_pass_status_created", "status", "created_at", "vehicle_id"),
        # Green-channel trips inside (dashboard): start from the few emergency passes.
        Index("ix_pass_category", "category"),
        # The consignee's board: the passes bound for one enterprise still valid or lately.
        Index("ix_pass_destination_valid", "destination_enterprise_id", "valid_until"),
    )
    __tenant_key__ = "enterprise_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("driver.id"), index=True)
    co_driver_id: Mapped[int | None] = mapped_column(ForeignKey("driver.id"))
    destination_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    origin: Mapped[str] = mapped_column(String(200))
    cargo: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    max_trips: Mapped[int] = mapped_column(Integer, default=1)
    trips_used: Mapped[int] = mapped_column(Integer, default=0)
    route_checkpoint_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The crew's designated stations (三点往返's third point); none named: any station.
    station_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(Text)
    # The driver's short link (/d/<key>), given at approval; see passes.domain.
    driver_key: Mapped[str | None] = mapped_column(String(10), unique=True)
    key_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    auto_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # indexed: the statistics timer recounts the days of passes decided since its last run
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The last change peers read in the pass feed (PassFeedHead); None before approval.
    feed_ctr: Mapped[int | None] = mapped_column(Integer, index=True)
    # A peer's pass kept here (federation/mirror.py): the issuing area code and
    # "<area code>/<its pass id>", which its code names; both None for our own passes.
    issuer_area_code: Mapped[str | None] = mapped_column(String(6))
    issuer_ref: Mapped[str | None] = mapped_column(String(24), unique=True)
    # The consignee as the pass names it (unified social credit code, name, county): set
    # for every pass filed since; for one bound elsewhere, the destination above is the
    # stand-in of that jurisdiction (no site here receives it).
    destination_credit_code: Mapped[str | None] = mapped_column(String(18))
    destination_name: Mapped[str | None] = mapped_column(String(200))
    destination_area_code: Mapped[str | None] = mapped_column(String(6))
    # The county the trip starts in (national format; the destination's is the one above).
    origin_area_code: Mapped[str | None] = mapped_column(String(6))

    @property
    def consignee(self) -> str:
        """The destination's name as the pass names it (one across the border has no row of
        its own here: its destination row is its jurisdiction's stand-in)."""
        return self.destination_name or self.destination.name

    enterprise: Mapped[Enterprise] = relationship(foreign_keys=[enterprise_id])
    destination: Mapped[Enterprise] = relationship(foreign_keys=[destination_enterprise_id])
    vehicle: Mapped[Vehicle] = relationship()
    driver: Mapped[Driver] = relationship(foreign_keys=[driver_id])
    co_driver: Mapped[Driver | None] = relationship(foreign_keys=[co_driver_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
