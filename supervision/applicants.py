"""The applicant is told of its pass's decisions on its own page, not only by the SMS to
its contact: a rejection or a revocation notifies the enterprise's users (`pass_rejected`,
`pass_revoked`), in the decision's transaction and once per pass and user; so does a pass's
SMS that failed for good (`sms_failed`). Admins hear of a sign-up waiting for them
(`sign_up_waiting`). The notice
names the pass; the reason stays on the pass, where retention erases it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from accounts import events as account_events
from accounts.domain import EnterpriseStatus, Role
from accounts.models import User
from passes import events
from passes.domain import PassStatus
from passes.models import Pass
from sms import events as sms_events
from supervision.alerts import notify
from supervision.models import Notification

KINDS = {PassStatus.REJECTED: "pass_rejected", PassStatus.REVOKED: "pass_revoked"}
SMS_FAILED = "sms_failed"


def _tell(session: Any, p: Pass, kind: str, key: str, now: datetime) -> None:
    """Each active user of the pass's applicant, once per key."""
    users = session.scalars(
        select(User.id).where(
            User.enterprise_id == p.enterprise_id,
            User.role == Role.ENTERPRISE,
            User.active.is_(True),
        )
    )
    shown = {"number": p.number, "plate": p.vehicle.plate, "pass_id": p.id}
    for user_id in users:
        notify(session, f"{key}:{user_id}", user_id, kind=kind, data=shown, created_at=now)


def tell_decided(p: Pass, *, session: Any, now: datetime) -> None:
    kind = KINDS.get(PassStatus(p.status))
    if kind is not None:
        _tell(session, p, kind, f"{kind}:{p.id}", now)


def tell_sms_failed(message: Any, *, session: Any, now: datetime) -> None:
    """A pass's SMS (the driver's code, a decision) will not arrive: its clerks are told,
    so someone sends it again to a right number or calls the driver. No phone number in
    the notice."""
    p = session.get(Pass, message.pass_id) if message.pass_id else None
    if p is not None:
        _tell(session, p, SMS_FAILED, f"{SMS_FAILED}:{message.id}", now)


SIGN_UP = "sign_up_waiting"


def tell_signed_up(enterprise: Any, *, session: Any, now: datetime) -> None:
    """Each active admin hears of a sign-up waiting for their approval."""
    admins = session.scalars(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)))
    shown = {"name": enterprise.name, "enterprise_id": enterprise.id}
    for user_id in admins:
        key = f"{SIGN_UP}:{enterprise.id}:{user_id}"
        notify(session, key, user_id, kind=SIGN_UP, data=shown, created_at=now)


def settle_sign_up(enterprise: Any, *, session: Any, before: Any, after: Any, now: Any) -> None:
    """A sign-up decided (by any admin) is no news to the others: their notices read."""
    if before != EnterpriseStatus.PENDING or after == EnterpriseStatus.PENDING:
        return
    session.execute(
        update(Notification)
        .where(
            Notification.key.startswith(f"{SIGN_UP}:{enterprise.id}:"),
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    )


def connect_receivers() -> None:
    """Connect this process's receiver (once: connecting again changes nothing)."""
    events.pass_decided.connect(tell_decided)
    sms_events.sms_failed.connect(tell_sms_failed)
    account_events.enterprise_signed_up.connect(tell_signed_up)
    account_events.enterprise_status_changed.connect(settle_sign_up)
