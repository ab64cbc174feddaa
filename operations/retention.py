"""Personal data kept no longer than its purpose needs (PIPL): RETENTION_DAYS after the
last pass that used a driver ended, the driver's name is masked for good and the ID
number and phone are erased; SMS texts and numbers, sign-in attempts, notifications,
expired API tokens and old heartbeats go at the same age.

Trips, scans, anomalies and statistics stay: they hold ids and plates, not people. The
audit log holds ids and codes only, so a purge never touches what its tree commits to;
each purge is itself an audit entry with its counts, never with the data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

import audit
import heartbeat
import ratelimit
from accounts.models import ApiToken, LoginAttempt
from fleet.models import Driver
from heartbeat import Heartbeat
from passes.models import Pass
from privacy import mask_name
from sms.domain import SmsStatus
from sms.models import SmsMessage
from supervision.models import Notification

FINAL_SMS = (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNDELIVERED, SmsStatus.FAILED)


@dataclass(frozen=True)
class Purge:
    drivers: int
    sms_messages: int
    login_attempts: int
    notifications: int
    api_tokens: int
    heartbeats: int


def purge(session: Session, now: datetime, days: int, *, dry_run: bool) -> Purge:
    """Erase what is older than `days`; with `dry_run`, only count it. Commits."""
    cutoff = now - timedelta(days=days)
    used_since = exists().where(
        or_(Pass.driver_id == Driver.id, Pass.co_driver_id == Driver.id),
        Pass.valid_until >= cutoff,
    )
    drivers = select(Driver).where(
        Driver.erased_at.is_(None), Driver.created_at < cutoff, ~used_since
    )
    messages = (
        SmsMessage.created_at < cutoff,
        SmsMessage.status.in_(FINAL_SMS),
        SmsMessage.body != "",
    )
    stale = {
        "login_attempts": (LoginAttempt, LoginAttempt.attempted_at < cutoff),
        "notifications": (Notification, Notification.created_at < cutoff),
        "api_tokens": (ApiToken, ApiToken.expires_at < cutoff),
        "heartbeats": (Heartbeat, Heartbeat.at < cutoff),
    }
    if dry_run:
        counts = {
            "drivers": _count(session, drivers.subquery()),
            "sms_messages": session.scalar(select(func.count()).where(*messages)) or 0,
            **{
                name: session.scalar(select(func.count()).select_from(model).where(old)) or 0
                for name, (model, old) in stale.items()
            },
        }
        session.rollback()
        return Purge(**counts)
    erased = 0
    for driver in session.scalars(drivers.with_for_update()):
        driver.name = mask_name(driver.name)
        # Unique within the enterprise, and saying nothing about the person.
        driver.id_number = f"#{driver.id}"
        driver.phone = ""
        driver.archived = True
        driver.erased_at = now
        erased += 1
    counts = {
        "drivers": erased,
        "sms_messages": session.execute(
            update(SmsMessage).where(*messages).values(to="", body="", error_text=None)
        ).rowcount,
        **{
            name: session.execute(delete(model).where(old)).rowcount
            for name, (model, old) in stale.items()
        },
    }
    ratelimit.prune(session, now)
    result = Purge(**counts)
    audit.record(
        session,
        actor_id=None,
        action="retention.purge",
        object_type="retention",
        data={"days": days, **asdict(result)},
        now=now,
    )
    heartbeat.beat(session, heartbeat.RETENTION, "retention purge", now, asdict(result))
    session.commit()
    return result


def _count(session: Session, subquery: object) -> int:
    return session.scalar(select(func.count()).select_from(subquery)) or 0  # type: ignore[arg-type]
