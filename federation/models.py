"""Peers: the jurisdictions whose federation key an administrator pinned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class FederationPeer(Base):
    """A peer, by its area code: where it publishes, the pinned fingerprint of its
    federation key, and the last configuration that verified against it."""

    __tablename__ = "federation_peer"

    area_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    # How far its pass feed was read (its counter), so a sync asks only what changed.
    peer_ctr: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
