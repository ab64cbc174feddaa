"""The public halves of the pass-signing keys and their lifetimes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, UTCDateTime


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
