"""The SMS outbox table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class SmsMessage(Base):
    """Transactional outbox: written with the decision, delivered by `flask sms work`."""

    __tablename__ = "sms_message"
    __table_args__ = (Index("ix_sms_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    pass_id: Mapped[int | None] = mapped_column(ForeignKey("pass.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    to: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    # What the body was made from (sms.text.SmsText): the template's name and the values
    # filled in, which a provider of registered templates (Alibaba Cloud) sends instead.
    template: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(48))  # isv.MOBILE_NUMBER_ILLEGAL
    error_text: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
