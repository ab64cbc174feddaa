"""When each background service last showed it was alive, for readiness and metrics.

Workers and timers on any node write their beat to the database, so any app node can
answer whether the SMS outbox has a worker and when the sweep last ran."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, insert_for


class Heartbeat(Base):
    __tablename__ = "heartbeat"

    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Which process: host and pid for workers, the timer's name for one-shot runs.
    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


SMS_WORKER = "sms_worker"
SWEEP = "sweep"
RETENTION = "retention"
STATISTICS = "statistics"
# data {"halted": why} while an audit sequencer refuses to sign (trust.auditlog)
AUDIT_SEQUENCER = "audit_sequencer"
FEDERATION_SYNC = "federation_sync"  # `flask federation sync`: peers' keys and passes


def beat(
    session: Session, service: str, owner: str, now: datetime, data: dict[str, Any] | None = None
) -> None:
    """Record that `owner` of `service` is alive at `now` (in the caller's transaction)."""
    values = {"service": service, "owner": owner[:128], "at": now, "data": data or {}}
    insert = insert_for(session)
    session.execute(
        insert(Heartbeat)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[Heartbeat.service, Heartbeat.owner],
            set_={"at": values["at"], "data": values["data"]},
        )
    )


def latest(session: Session, service: str) -> Heartbeat | None:
    """The most recent beat of `service` from any owner."""
    return session.scalars(
        select(Heartbeat).where(Heartbeat.service == service).order_by(Heartbeat.at.desc()).limit(1)
    ).first()
