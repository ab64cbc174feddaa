"""Sending a pass's SMS again (a phone number typed wrong), within limits per pass and per
enterprise, so it is not a way to flood one; the SMS of automatic approvals (whitelisted
enterprises) count against the same limits, so filing is no way around them either."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
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
    per_enterprise_day: int = 200  # automatic approvals' SMS count here too


@dataclass(frozen=True)
class ResendAllowance:
    pass_left: int  # this hour, for this pass
    enterprise_left: int  # today (the last 24 hours), for the enterprise
    retry_after: int  # seconds until one more is allowed (0: allowed now)


RESENT = SmsMessage.dedupe_key.like("pass:%:resend:%")
# The approval SMS of a pass approved automatically: sent because someone filed, not
# because a person decided, so it counts like a resend.
AUTOMATIC = and_(
    SmsMessage.dedupe_key.like("pass:%:approved"),
    exists().where(Pass.id == SmsMessage.pass_id, Pass.auto_approved.is_(True)),
)


def _resends(
    session: Session, since: datetime, *, automatic: bool = False, **where: int
) -> list[datetime]:
    """When the resends matching `where` were queued since `since`, oldest first; with
    `automatic`, the SMS of automatic approvals too."""
    return list(
        session.scalars(
            select(SmsMessage.created_at)
            .filter_by(**where)
            .where(or_(RESENT, AUTOMATIC) if automatic else RESENT, SmsMessage.created_at >= since)
            .order_by(SmsMessage.created_at)
        )
    )


def resend_allowance(
    session: Session, p: Pass, *, now: datetime, limits: ResendLimits
) -> ResendAllowance:
    hour, day = timedelta(hours=1), timedelta(days=1)
    for_pass = _resends(session, now - hour, pass_id=p.id)
    for_enterprise = _resends(session, now - day, automatic=True, enterprise_id=p.enterprise_id)
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


def automatic_approval_allowed(
    session: Session, p: Pass, *, now: datetime, limits: ResendLimits
) -> bool:
    """Whether a whitelisted enterprise's new application `p` may be approved, and its SMS
    sent, without a person: the enterprise's SMS of the last 24 hours (resends and
    automatic approvals) leave room under `per_enterprise_day`, and its truck had fewer
    than `per_pass_hour` automatic approvals in the last hour. Otherwise it waits for a
    reviewer, like any other application."""
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    enterprise = _resends(session, day_ago, automatic=True, enterprise_id=p.enterprise_id)
    if len(enterprise) >= limits.per_enterprise_day:
        return False
    truck = session.scalar(
        select(func.count())
        .select_from(SmsMessage)
        .join(Pass, Pass.id == SmsMessage.pass_id)
        .where(
            Pass.vehicle_id == p.vehicle_id,
            Pass.auto_approved.is_(True),
            SmsMessage.dedupe_key.like("pass:%:approved"),
            SmsMessage.created_at >= hour_ago,
        )
    )
    return (truck or 0) < limits.per_pass_hour


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
