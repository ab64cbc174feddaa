"""Vehicles and drivers, each owned by one enterprise."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Enterprise
from core.db import Base, UTCDateTime
from core.privacy import mask_id_number, mask_name


class Vehicle(Base):
    __tablename__ = "vehicle"
    __table_args__ = (UniqueConstraint("enterprise_id", "plate"),)
    __tenant_key__ = "enterprise_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    vehicle_type: Mapped[str] = mapped_column(String(32))
    capacity_kg: Mapped[int | None] = mapped_column(Integer)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise] = relationship()


class Driver(Base):
    __tablename__ = "driver"
    __table_args__ = (UniqueConstraint("enterprise_id", "id_number"),)
    __tenant_key__ = "enterprise_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    id_number: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(16), index=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when retention erased the name, ID number and phone (operations/retention.py).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The crew whitelist (司乘人员白名单, fleet/crews.py): checked by a reviewer until when,
    # and what was checked. None: not on the whitelist.
    whitelist_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    whitelist_note: Mapped[str | None] = mapped_column(String(200))
    whitelisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    whitelisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise] = relationship()

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)
