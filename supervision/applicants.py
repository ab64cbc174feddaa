"""The applicant is told of its pass's decisions on its own page, not only by the SMS to
its contact: a rejection or a revocation notifies the enterprise's users (`pass_rejected`,
`pass_revoked`), in the decision's transaction and once per pass and user. The notice
names the pass; the reason stays on the pass, where retention erases it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from accounts.domain import Role
from accounts.models import User
from passes import events
from passes.domain import PassStatus
from passes.models import Pass
from supervision.alerts import notify

KINDS = {PassStatus.REJECTED: "pass_rejected", PassStatus.REVOKED: "pass_revoked"}


def tell_decided(p: Pass, *, session: Any, now: datetime) -> None:
    kind = KINDS.get(PassStatus(p.status))
    if kind is None:
        return
    users = session.scalars(
        select(User.id).where(
            User.enterprise_id == p.enterprise_id,
            User.role == Role.ENTERPRISE,
            User.active.is_(True),
        )
    )
    shown = {"number": p.number, "plate": p.vehicle.plate, "pass_id": p.id}
    for user_id in users:
        notify(session, f"{kind}:{p.id}:{user_id}", user_id, kind=kind, data=shown, created_at=now)


def connect_receivers() -> None:
    """Connect this process's receiver (once: connecting again changes nothing)."""
    events.pass_decided.connect(tell_decided)
