"""Personal data kept no longer than its purpose needs (PIPL): RETENTION_DAYS after the
last pass that used a driver ended, the driver's name is masked for good and the ID
number and phone are erased; SMS texts and numbers, sign-in attempts, notifications,
expired API tokens and old heartbeats go at the same age.

Trips, scans, anomalies and statistics stay: they hold ids and plates, not people (the
answer a scan keeps gets the driver's name masked with the driver). What people typed
(a pass's reason for rejection or revocation, a scan's annulment note, an anomaly's
resolution note) may name someone, so it is erased at the same age. The audit log holds
ids and codes only (free text stays on its row, the entry says where), so a purge never
touches what its tree commits to; each purge is itself an audit entry with its counts,
never with the data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from accounts.models import ApiToken, LoginAttempt
from checkpoints.domain import AUTO_RESOLVED
from checkpoints.models import Anomaly, Scan
from core import audit, heartbeat, ratelimit
from core.heartbeat import Heartbeat
from core.privacy import mask_name
from fleet.models import Driver
from passes.models import Pass
from sms.domain import SmsStatus
from sms.models import SmsMessage
from supervision.models import Notification

QUEUED_SMS = (SmsStatus.PENDING, SmsStatus.SENDING)


@dataclass(frozen=True)
class Purge:
    drivers: int
    sms_messages: int
    login_attempts: int
    notifications: int
    api_tokens: int
    heartbeats: int
    notes: int = 0  # reasons and notes people typed


def purge(session: Session, now: datetime, days: int, *, dry_run: bool) -> Purge:
    """Erase what is older than `days`; with `dry_run`, only count it. Commits."""
    cutoff = now - timedelta(days=days)
    used_since = exists().where(
        or_(Pass.driver_id == Driver.id, Pass.co_driver_id == Driver.id),
        Pass.valid_until >= cutoff,
    )
    # Erased before, then restored and filled in again: erased again (phones are required).
    not_erased = or_(Driver.erased_at.is_(None), Driver.phone != "")
    drivers = select(Driver).where(not_erased, Driver.created_at < cutoff, ~used_since)
    # Any message that old, sent or not: one still waiting is long past its use.
    messages = (SmsMessage.created_at < cutoff, SmsMessage.body != "")
    typed = (
        (Pass, Pass.decision_reason, Pass.valid_until < cutoff),
        (Scan, Scan.note, Scan.recorded_at < cutoff),
        # (by when it was written; replay's own marker is a code, not words)
        (Anomaly, Anomaly.note, and_(Anomaly.resolved_at < cutoff, Anomaly.note != AUTO_RESOLVED)),
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
            "notes": sum(
                session.scalar(select(func.count()).where(column.is_not(None), old)) or 0
                for _, column, old in typed
            ),
        }
        session.rollback()
        return Purge(**counts)
    erased = []
    for driver in session.scalars(drivers.with_for_update()):
        erased.append(driver.id)
        driver.name = mask_name(driver.name)
        # Unique within the enterprise, and saying nothing about the person.
        driver.id_number = f"#{driver.id}"
        driver.phone = ""
        driver.archived = True
        driver.erased_at = now
    _mask_scan_answers(session, erased)
    counts = {
        "drivers": len(erased),
        "sms_messages": session.execute(
            update(SmsMessage)
            .where(*messages)
            .values(
                to="",
                body="",
                error_text=None,
                status=case(
                    (SmsMessage.status.in_(QUEUED_SMS), SmsStatus.FAILED), else_=SmsMessage.status
                ),
            )
        ).rowcount,
        **{
            name: session.execute(delete(model).where(old)).rowcount
            for name, (model, old) in stale.items()
        },
        "notes": sum(
            session.execute(
                update(model).where(column.is_not(None), old).values({column.key: None})
            ).rowcount
            for model, column, old in typed
        ),
    }
    ratelimit.prune(session, now)
    result = Purge(**counts)
    audit.record(
        session,
        actor_id=None,
        action=audit.Action.RETENTION_PURGE,
        object_type="retention",
        data={"days": days, **asdict(result)},
        now=now,
    )
    heartbeat.beat(session, heartbeat.RETENTION, "retention purge", now, asdict(result))
    session.commit()
    return result


def _mask_scan_answers(session: Session, driver_ids: list[int]) -> None:
    """A scan keeps the answer it gave (a retry gets it again), which named the driver:
    once the driver is erased, so is the name there (masked as everywhere else)."""
    for start in range(0, len(driver_ids), 500):
        passes = select(Pass.id).where(Pass.driver_id.in_(driver_ids[start : start + 500]))
        answers = select(Scan).where(Scan.pass_id.in_(passes)).execution_options(yield_per=500)
        for scan in session.scalars(answers):
            shown = (scan.response or {}).get("pass") or {}
            if shown.get("driver_name"):
                scan.response = {
                    **scan.response,
                    "pass": {**shown, "driver_name": mask_name(shown["driver_name"])},
                }


def _count(session: Session, subquery: object) -> int:
    return session.scalar(select(func.count()).select_from(subquery)) or 0  # type: ignore[arg-type]
