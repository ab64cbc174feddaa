"""The public halves of the pass-signing keys and their lifetimes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class SigningKey(Base):
    """A public key that signs pass tokens; the private half lives in instance/keys/."""

    __tablename__ = "signing_key"

    kid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    public_x: Mapped[str] = mapped_column(String(64))  # base64url, as in a JWK
    public_y: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Published until every pass it signed has expired.
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RevocationHead(Base):
    """The revocation list's counter: one row, bumped under its lock by every change, so
    changes commit in counter order and a client asking `since=ctr` misses none."""

    __tablename__ = "revocation_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ctr: Mapped[int] = mapped_column(Integer)


class RevocationChange(Base):
    """A pass entering (listed) or leaving the revocation list; `until` is its validity's
    end, after which the entry no longer matters and drops out of every answer."""

    __tablename__ = "revocation_change"

    ctr: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pass_id: Mapped[int] = mapped_column(Integer, index=True)
    listed: Mapped[bool] = mapped_column(Boolean)
    until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
