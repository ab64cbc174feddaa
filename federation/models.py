"""Peers: the jurisdictions whose federation key an administrator pinned; the events our
checkpoints owe a peer about its passes (an outbox), and those peers reported about ours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
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
    # Its audit log as we witnessed it: the last checkpoint shown to extend the one before
    # (`witnessed`), and "forked" with why once one did not (kept until re-pinned).
    witnessed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    witness_state: Mapped[str | None] = mapped_column(String(16))
    witness_error: Mapped[str | None] = mapped_column(String(300))
    # Our audit log as it says it holds it (sent with its events): size and root.
    holds_ours: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FederationEvent(Base):
    """A scan of a peer's pass at our checkpoints, owed to its issuer: written in the scan's
    transaction, sent by `federation sync` in id order (so in order per pass), kept once
    sent. `status`: pending, sent, or refused (the issuer said why; not sent again)."""

    __tablename__ = "federation_event"
    __table_args__ = (Index("ix_federation_event_due", "peer_area_code", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    peer_area_code: Mapped[str] = mapped_column(String(6))
    pass_id: Mapped[int] = mapped_column(ForeignKey("pass.id"), index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))


class FederationReport(Base):
    """What a peer's checkpoint saw of a pass we issued, as the peer reported it."""

    __tablename__ = "federation_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    previous_event_id: Mapped[str | None] = mapped_column(String(32))
    area_code: Mapped[str] = mapped_column(String(6))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    pass_id: Mapped[int] = mapped_column(ForeignKey("pass.id"), index=True)
    checkpoint_code: Mapped[str] = mapped_column(String(32))
    checkpoint_name: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
