"""The SMS outbox: messages are written in the deciding transaction and delivered by workers.

Workers claim due rows with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
single writer serialises claims). Before calling the provider a worker records the
attempt; a message whose lease ran out mid-send is reconciled with the provider before it
is sent again, so a killed worker neither loses nor duplicates a message.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from sms import events
from sms.backends import SmsBackend, SmsError
from sms.domain import (
    MAX_SMS_ATTEMPTS,
    PROVIDER_STATUS,
    SmsStatus,
    advances,
    retry_delay,
    sms_error_is_permanent,
)
from sms.models import SmsMessage

LEASE = timedelta(seconds=60)


@event.listens_for(Session, "before_flush")
def _note_queued(session: Session, _context: object, _instances: object) -> None:
    """Mark sessions that queued a message, so inline delivery runs only when needed."""
    if any(isinstance(obj, SmsMessage) for obj in session.new):
        session.info["sms_queued"] = True


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    to: str,
    body: str,
    now: datetime,
    pass_id: int | None = None,
    enterprise_id: int | None = None,
) -> SmsMessage | None:
    """Add a message to the caller's transaction; a repeated dedupe key adds nothing."""
    if session.scalar(select(SmsMessage.id).where(SmsMessage.dedupe_key == dedupe_key)):
        return None
    message = SmsMessage(
        dedupe_key=dedupe_key,
        to=to,
        body=str(body),
        **made_from(body),
        status=SmsStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        pass_id=pass_id,
        enterprise_id=enterprise_id,
    )
    session.add(message)
    return message


def made_from(body: str) -> dict[str, Any]:
    """The template and values of a body made by sms.text (none for other text)."""
    kind = getattr(body, "kind", None)
    return {"template": kind or None, "params": getattr(body, "params", None) if kind else None}


@dataclass(frozen=True)
class Outgoing:
    dedupe_key: str
    to: str
    body: str
    pass_id: int | None = None
    enterprise_id: int | None = None


def enqueue_many(session: Session, messages: list[Outgoing], *, now: datetime) -> int:
    """`enqueue` for many at once: one look-up for the dedupe keys. Returns how many
    were added."""
    keys = [m.dedupe_key for m in messages]
    taken = set(
        session.scalars(select(SmsMessage.dedupe_key).where(SmsMessage.dedupe_key.in_(keys)))
    )
    fresh = [
        m for m in dict((m.dedupe_key, m) for m in messages).values() if m.dedupe_key not in taken
    ]
    session.add_all(
        SmsMessage(
            dedupe_key=m.dedupe_key,
            to=m.to,
            body=str(m.body),
            **made_from(m.body),
            status=SmsStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            pass_id=m.pass_id,
            enterprise_id=m.enterprise_id,
        )
        for m in fresh
    )
    return len(fresh)


def _due(now: datetime):  # noqa: ANN202 - a SQL condition
    return or_(
        and_(SmsMessage.status == SmsStatus.PENDING, SmsMessage.next_attempt_at <= now),
        and_(SmsMessage.status == SmsStatus.SENDING, SmsMessage.lease_until < now),
    )


def claim(
    session: Session, owner: str, *, now: datetime, limit: int = 20, lease: timedelta = LEASE
) -> list[int]:
    """Lease up to `limit` due messages to `owner`; returns their ids (committed)."""
    stmt = select(SmsMessage.id).where(_due(now)).order_by(SmsMessage.next_attempt_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(
            update(SmsMessage)
            .where(SmsMessage.id.in_(ids))
            .values(lease_owner=owner, lease_until=now + lease)
        )
    session.commit()
    return ids


def deliver(
    session: Session,
    message_id: int,
    backend: SmsBackend,
    owner: str,
    *,
    now: Callable[[], datetime],
    status_callback: str | None = None,
    jitter: Callable[[], float] = random.random,
) -> str:
    """Send one leased message; returns its new status."""
    message = session.get(
        SmsMessage, message_id, with_for_update=_locking(session), populate_existing=True
    )
    if message is None or message.lease_owner != owner:
        session.rollback()
        return "lost_lease"
    if message.status == SmsStatus.SENDING:
        # A previous attempt died mid-send: ask the provider before sending again.
        try:
            found = backend.lookup(
                message.to, message.body, message.updated_at or now(), reference=str(message.id)
            )
        except SmsError:
            # Cannot tell yet: keep the "maybe sent" mark and look again later.
            message.lease_owner = None
            message.lease_until = now() + retry_delay(message.attempts, jitter())
            session.commit()
            return message.status
        if found:
            _mark_sent(message, found, now())
            session.commit()
            return message.status
    message.status = SmsStatus.SENDING
    message.attempts += 1
    message.updated_at = now()
    session.commit()  # the attempt is on record before the provider sees it
    try:
        provider_id = backend.send(
            message.to,
            message.body,
            status_callback,
            template=message.template,
            params=message.params,
            reference=str(message.id),
        )
    except SmsError as exc:
        message.error_code, message.error_text = exc.code, exc.text[:500]
        message.lease_owner = message.lease_until = None
        if exc.http_status is None:
            # No answer (a timeout, a dropped connection): the provider may have taken it.
            # Stay "maybe sent" (updated_at stays the send time the lookup searches from), so
            # the next attempt asks the provider before sending again.
            message.lease_until = now() + retry_delay(message.attempts, jitter())
            session.commit()
            return message.status
        if sms_error_is_permanent(exc.http_status, exc.code) or (
            message.attempts >= MAX_SMS_ATTEMPTS
        ):
            message.status = SmsStatus.FAILED
            events.sms_failed.send(message, session=session, now=now())
        else:
            message.status = SmsStatus.PENDING
            message.next_attempt_at = now() + retry_delay(message.attempts, jitter())
        message.updated_at = now()
        session.commit()
        return message.status
    _mark_sent(message, provider_id, now())
    session.commit()
    return message.status


def _mark_sent(message: SmsMessage, provider_id: str, at: datetime) -> None:
    message.status = SmsStatus.SENT
    message.provider_id = provider_id
    message.sent_at = message.updated_at = at
    message.error_code = message.error_text = None
    message.lease_owner = message.lease_until = None


def _locking(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def apply_report(
    session: Session, provider_id: str, reported: str, error_code: str | None, *, now: datetime
) -> bool:
    """A delivery report from the provider; only moves a message forward. True if applied."""
    message = session.scalars(
        select(SmsMessage).where(SmsMessage.provider_id == provider_id)
    ).one_or_none()
    return _applied(session, message, reported, error_code, now)


def apply_report_to(
    session: Session,
    *,
    out_id: str,
    provider_id: str,
    reported: str,
    error_code: str | None,
    now: datetime,
) -> bool:
    """`apply_report` for a provider that names the message by the id we gave it (OutId),
    or else by its own."""
    message = None
    if out_id.isdigit():
        message = session.get(SmsMessage, int(out_id))
    if message is None and provider_id:
        message = session.scalars(
            select(SmsMessage).where(SmsMessage.provider_id == provider_id)
        ).one_or_none()
    return _applied(session, message, reported, error_code, now)


def _applied(
    session: Session,
    message: SmsMessage | None,
    reported: str,
    error_code: str | None,
    now: datetime,
) -> bool:
    status = PROVIDER_STATUS.get(reported)
    if status is None or message is None or not advances(message.status, status):
        session.rollback()
        return False
    message.status = status
    message.updated_at = now
    if error_code:
        message.error_code = error_code
    if status == SmsStatus.FAILED:
        events.sms_failed.send(message, session=session, now=now)
    session.commit()
    return True


def work_once(
    session: Session,
    backend: SmsBackend,
    owner: str,
    *,
    now: Callable[[], datetime],
    status_callback: str | None = None,
    limit: int = 20,
    lease: timedelta = LEASE,
) -> int:
    """Claim one batch and deliver it; returns how many messages were attempted."""
    ids = claim(session, owner, now=now(), limit=limit, lease=lease)
    for message_id in ids:
        deliver(session, message_id, backend, owner, now=now, status_callback=status_callback)
    return len(ids)
