"""Reviewers hear of applications waiting too long. `flask alerts queue-waiting` (run with
the loop sweep, every five minutes) tells each active reviewer once per oldest application
waiting longer than REVIEW_WAIT_ALERT_MINUTES; a reviewer's earlier notice of the queue
reads itself then, as the queue it spoke of has moved on."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from accounts.domain import Role
from accounts.models import User
from passes.domain import PassStatus
from passes.models import Pass
from supervision.alerts import notify
from supervision.models import Notification

QUEUE_WAITING = "queue_waiting"


def tell_queue_waiting(session: Session, *, now: datetime, after: timedelta) -> int:
    """Notify the reviewers when applications wait longer than `after`; returns how many
    were told. In the caller's transaction."""
    waiting = (Pass.status == PassStatus.SUBMITTED, Pass.created_at <= now - after)
    count = session.scalar(select(func.count()).select_from(Pass).where(*waiting))
    if not count:
        return 0
    oldest_id, number, since = session.execute(
        select(Pass.id, Pass.number, Pass.created_at)
        .where(*waiting)
        .order_by(Pass.created_at, Pass.id)
        .limit(1)
    ).one()
    shown = {"count": count, "number": number, "minutes": int((now - since).total_seconds() // 60)}
    told = 0
    reviewers = session.scalars(
        select(User.id).where(User.role == Role.REVIEWER, User.active.is_(True))
    )
    for user_id in reviewers:
        key = f"{QUEUE_WAITING}:{oldest_id}:{user_id}"
        if session.scalar(select(Notification.id).where(Notification.key == key)):
            continue
        session.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.kind == QUEUE_WAITING,
                Notification.read_at.is_(None),
            )
            .values(read_at=now)
        )
        told += notify(session, key, user_id, kind=QUEUE_WAITING, data=shown, created_at=now)
    return told
