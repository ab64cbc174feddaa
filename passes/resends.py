"""Sending a pass's SMS again (a phone number typed wrong), within limits per pass and per
enterprise, so it is not a way to flood one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import User
from core import audit
from core.errors import (
    N_,
    Throttled,
    ValidationFailed,
)
from passes import domain
from passes.domain import PassStatus
from passes.models import Pass
from passes.services import Issuer, queue_pass_sms
from sms.models import SmsMessage


@dataclass(frozen=True)
class ResendLimits:
    """How often a pass's SMS may be sent again: per pass per hour, per enterprise per day."""

    per_pass_hour: int = 3
    per_enterprise_day: int = 200


@dataclass(frozen=True)
class ResendAllowance:
    pass_left: int  # this hour, for this pass
    enterprise_left: int  # today (the last 24 hours), for the enterprise
    retry_after: int  # seconds until one more is allowed (0: allowed now)


def _resends(session: Session, since: datetime, **where: int) -> list[datetime]:
    return list(
        session.scalars(
            select(SmsMessage.created_at)
            .filter_by(**where)
            .where(SmsMessage.dedupe_key.like("pass:%:resend:%"), SmsMessage.created_at >= since)
            .order_by(SmsMessage.created_at)
        )
    )


def resend_allowance(
    session: Session, p: Pass, *, now: datetime, limits: ResendLimits
) -> ResendAllowance:
    hour, day = timedelta(hours=1), timedelta(days=1)
    for_pass = _resends(session, now - hour, pass_id=p.id)
    for_enterprise = _resends(session, now - day, enterprise_id=p.enterprise_id)
    waits = [0]
    if len(for_pass) >= limits.per_pass_hour:
        waits.append(int((for_pass[-limits.per_pass_hour] + hour - now).total_seconds()) + 1)
    if len(for_enterprise) >= limits.per_enterprise_day:
        oldest = for_enterprise[-limits.per_enterprise_day]
        waits.append(int((oldest + day - now).total_seconds()) + 1)
    return ResendAllowance(
        pass_left=max(0, limits.per_pass_hour - len(for_pass)),
        enterprise_left=max(0, limits.per_enterprise_day - len(for_enterprise)),
        retry_after=max(waits),
    )


def resend_sms(
    session: Session,
    p: Pass,
    actor: User,
    *,
    now: datetime,
    issuer: Issuer,
    limits: ResendLimits | None = None,
) -> None:
    """Queue the approval SMS again, to the driver's number as it is now, within limits
    (a phone number typed wrong, not a way to flood one)."""
    if p.status != PassStatus.APPROVED or domain.expired(p.valid_until, now):
        raise ValidationFailed.one("pass", N_("Only a valid approved pass can be sent again."))
    allowance = resend_allowance(session, p, now=now, limits=limits or ResendLimits())
    if allowance.pass_left == 0:
        raise Throttled(
            allowance.retry_after,
            N_("This pass's SMS was already sent again the most times allowed in an hour."),
        )
    if allowance.enterprise_left == 0:
        raise Throttled(
            allowance.retry_after,
            N_("Your enterprise has sent the most SMS again allowed in a day."),
        )
    count = session.scalar(select(func.count()).where(SmsMessage.pass_id == p.id))
    queue_pass_sms(session, p, f"pass:{p.id}:resend:{count}", now=now, issuer=issuer)
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.PASS_RESEND_SMS,
        object_type="pass",
        object_id=p.id,
        now=now,
    )
    session.commit()
