"""Phones kept signed in for a shift: an officer at a gate at 3 a.m. must not type a
password after the browser restarted for the queued scans to sync. A sign-in with "keep
me signed in on this phone" issues a random cookie whose SHA-256 is stored with the browser
it was issued to (its user agent's hash); the cookie signs the user in again until it
expires (DEVICE_SESSION_HOURS), is revoked by an administrator, is ended by signing out
on that phone, or the user's sessions end (password reset, deactivation)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from accounts.domain import Role
from accounts.models import DeviceSession, User
from core import audit
from core.errors import NotFound

COOKIE = "device_session"
KEEPS = frozenset({Role.OFFICER, Role.ENTERPRISE})  # the roles that scan at a gate or site
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def open_session(
    session: Session, user: User, *, agent: str, now: datetime, hours: int
) -> str | None:
    """A device session for a scanning user; the cookie's value (None: not kept)."""
    if user.role not in KEEPS:
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        DeviceSession(
            user_id=user.id,
            token_hash=_hash(token),
            agent_hash=_hash(agent),
            label=agent[:120],
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.commit()
    return token


def resume(session: Session, token: str, *, agent: str, now: datetime) -> User | None:
    """The user a cookie signs in again, or None (unknown, revoked, expired, another
    browser, an inactive user)."""
    row = session.scalars(
        select(DeviceSession).where(DeviceSession.token_hash == _hash(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if not secrets.compare_digest(row.agent_hash, _hash(agent)):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.role not in KEEPS:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return user


def end(session: Session, token: str, *, now: datetime) -> None:
    """Signing out on this phone ends its device session."""
    session.execute(
        update(DeviceSession)
        .where(DeviceSession.token_hash == _hash(token), DeviceSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.commit()


def revoke_all(session: Session, user_id: int, *, now: datetime) -> int:
    """End every phone's device session of the user (in the caller's transaction)."""
    result = session.execute(
        update(DeviceSession)
        .where(DeviceSession.user_id == user_id, DeviceSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount


def revoke_for_admin(session: Session, user_id: int, *, actor: User, now: datetime) -> int:
    """An administrator signs a user out of every phone kept signed in; audited."""
    if session.get(User, user_id) is None:
        raise NotFound()
    count = revoke_all(session, user_id, now=now)
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.USER_REVOKE_DEVICES,
        object_type="user",
        object_id=user_id,
        data={"count": count},
        now=now,
    )
    session.commit()
    return count


def kept(session: Session, user_ids: Iterable[int], *, now: datetime) -> dict[int, int]:
    """How many phones each user is kept signed in on now."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(DeviceSession.user_id, func.count())
        .where(
            DeviceSession.user_id.in_(ids),
            DeviceSession.revoked_at.is_(None),
            DeviceSession.expires_at > now,
        )
        .group_by(DeviceSession.user_id)
    ).all()
    return {user_id: count for user_id, count in rows}
