"""Account use cases: sign-up, enterprise review, users, sign-in and API tokens.

Each function takes a session and an explicit `now`, finishes its transaction, and raises
errors.* for anything the caller did wrong.

Over 300 lines on purpose: the account use cases (sign-up, users, sign-in throttling, API
tokens and their cache) share their checks and audit entries.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import devices, events, keys, throttle
from accounts.domain import Caller, EnterpriseStatus, Role, next_enterprise_status
from accounts.models import ApiToken, Enterprise, LoginAttempt, User
from accounts.schemas import EnterpriseSignup, UserCreate
from core import audit, metrics
from core.errors import N_, NotFound, Throttled, ValidationFailed
from sms import outbox
from sms.models import SmsMessage
from sms.text import enterprise_status_text


@functools.cache
def _dummy_hash(method: str) -> str:
    """Compared against when the username is unknown: made with the method real hashes
    use, so a miss costs as much as a wrong password and timing tells no names."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _username_taken(session: Session, username: str) -> bool:
    return session.scalar(select(func.count()).where(User.username == username)) > 0


def sign_up_enterprise(
    session: Session,
    data: EnterpriseSignup,
    *,
    now: datetime,
    password_method: str,
    ip: str | None = None,
    limits: throttle.SignUpLimits | None = None,
) -> Enterprise:
    """A pending enterprise and its first user. From the web or API (`ip` given): limited
    per address and overall (throttle.check_sign_up), refused before anything is written
    or hashed; each try let through counts, whether it then succeeds or not."""
    if ip is not None:
        try:
            throttle.check_sign_up(session, ip, now=now, limits=limits or throttle.SignUpLimits())
        except Throttled:
            session.rollback()
            raise
        throttle.count_sign_up(session, ip, now=now)
    errors: dict[str, list[str]] = {}
    if session.scalar(select(Enterprise.id).where(Enterprise.credit_code == data.credit_code)):
        errors["credit_code"] = [N_("An enterprise with this credit code is already registered.")]
    # Whether a username exists is said only when nothing else stands in the way, so the
    # form is no oracle for names beyond what choosing one strictly needs.
    elif _username_taken(session, data.admin_username):
        errors["admin_username"] = [N_("This username is taken.")]
    if errors:
        if ip is not None:
            session.commit()  # the try counts: the form is no free oracle for usernames
        raise ValidationFailed(errors)
    enterprise = Enterprise(
        name=data.name,
        credit_code=data.credit_code,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        address=data.address,
        legal_representative=data.legal_representative,
        business_scope=data.business_scope,
        status=EnterpriseStatus.PENDING,
        whitelisted=False,
        created_at=now,
    )
    session.add(enterprise)
    session.flush()
    user = User(
        username=data.admin_username,
        password_hash=generate_password_hash(data.admin_password, method=password_method),
        role=Role.ENTERPRISE,
        enterprise_id=enterprise.id,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action=audit.Action.ENTERPRISE_SIGN_UP,
        object_type="enterprise",
        object_id=enterprise.id,
        now=now,
    )
    events.enterprise_signed_up.send(enterprise, session=session, now=now)
    session.commit()
    return enterprise


def set_enterprise_status(
    session: Session,
    enterprise_id: int,
    target: str,
    *,
    actor: User,
    now: datetime,
    sms_locale: str = "zh_CN",
    reason: str = "",
) -> Enterprise:
    """Approve, suspend or reject (with a reason, which the enterprise reads) a sign-up."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound()
    reason = reason.strip()  # checked at the edge (SignUpRejection)
    if target == EnterpriseStatus.REJECTED and not reason:
        raise ValidationFailed({"reason": [N_("Say why, so the enterprise can put it right.")]})
    before = enterprise.status
    enterprise.status = next_enterprise_status(before, target)
    enterprise.status_reason = reason if target == EnterpriseStatus.REJECTED else ""
    enterprise.reviewed_at = now
    events.enterprise_status_changed.send(
        enterprise, session=session, before=before, after=enterprise.status, now=now
    )
    if before != target:
        changes = session.scalar(
            select(func.count()).where(SmsMessage.dedupe_key.like(f"enterprise:{enterprise.id}:%"))
        )
        outbox.enqueue(
            session,
            dedupe_key=f"enterprise:{enterprise.id}:{target}:{changes}",
            to=enterprise.contact_phone,
            body=enterprise_status_text(
                sms_locale, name=enterprise.name, status=target, reason=reason
            ),
            now=now,
            enterprise_id=enterprise.id,
        )
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action(f"enterprise.{target}"),
        object_type="enterprise",
        object_id=enterprise.id,
        data={"from": before, "to": target, **({"reason": reason} if reason else {})},
        now=now,
    )
    session.commit()
    return enterprise


def waiting_counts(session: Session, user: User) -> dict[str, int]:
    """What waits for the user, for the home page's tiles: sign-ups for an admin or a
    reviewer, and what the packages above add (the review queue)."""
    counts: dict[str, int] = {}
    if user.role in (Role.ADMIN, Role.REVIEWER):
        counts["enterprises"] = session.scalar(
            select(func.count()).where(Enterprise.status == EnterpriseStatus.PENDING)
        )
    for _receiver, more in events.waiting_work.send(session, user=user):
        counts.update(more or {})
    return counts


def set_whitelisted(
    session: Session, enterprise_id: int, whitelisted: bool, *, actor: User, now: datetime
) -> Enterprise:
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound()
    enterprise.whitelisted = whitelisted
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.ENTERPRISE_WHITELIST,
        object_type="enterprise",
        object_id=enterprise.id,
        data={"whitelisted": whitelisted},
        now=now,
    )
    session.commit()
    return enterprise


def create_user(
    session: Session, data: UserCreate, *, actor: User | None, now: datetime, password_method: str
) -> User:
    errors: dict[str, list[str]] = {}
    if _username_taken(session, data.username):
        errors["username"] = [N_("This username is taken.")]
    if data.role == Role.ENTERPRISE:
        if data.enterprise_id is None:
            errors["enterprise_id"] = [N_("An enterprise user needs an enterprise.")]
        elif session.get(Enterprise, data.enterprise_id) is None:
            errors["enterprise_id"] = [N_("No such enterprise.")]
    elif data.enterprise_id is not None:
        errors["enterprise_id"] = [N_("Only enterprise users belong to an enterprise.")]
    if data.checkpoint_ids and data.role != Role.OFFICER:
        errors["checkpoint_ids"] = [N_("Only officers are assigned checkpoints.")]
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=data.username,
        password_hash=generate_password_hash(data.password, method=password_method),
        role=data.role,
        enterprise_id=data.enterprise_id,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    if data.checkpoint_ids and not events.user_created.receivers:
        raise RuntimeError("checkpoint assignment is not wired: import checkpoints.services")
    events.user_created.send(user, session=session, data=data, actor=actor, now=now)
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action=audit.Action.USER_CREATE,
        object_type="user",
        object_id=user.id,
        data={"role": data.role},
        now=now,
    )
    session.commit()
    return user


def end_browser_sessions(session: Session, user_id: int) -> None:
    """Signing out: every session cookie issued to the user stops working, here and on
    any saved copy (cookies carry the version they were issued under). API tokens stay."""
    session.execute(
        update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
    )
    session.commit()


def _end_sessions_and_tokens(session: Session, user: User, now: datetime) -> None:
    user.session_version += 1
    devices.revoke_all(session, user.id, now=now)  # phones kept signed in too
    events.tokens_revoked.send(user.id, token_hash=None)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def set_user_active(
    session: Session, user_id: int, active: bool, *, actor: User, now: datetime
) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    if user.id == actor.id and not active:
        raise ValidationFailed.one("active", N_("You cannot deactivate your own account."))
    user.active = active
    if not active:
        _end_sessions_and_tokens(session, user, now)
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.USER_ACTIVATE if active else audit.Action.USER_DEACTIVATE,
        object_type="user",
        object_id=user.id,
        now=now,
    )
    session.commit()
    return user


def reset_password(
    session: Session, user_id: int, password: str, *, actor: User, now: datetime, method: str
) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    user.password_hash = generate_password_hash(password, method=method)
    _end_sessions_and_tokens(session, user, now)
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.USER_RESET_PASSWORD,
        object_type="user",
        object_id=user.id,
        now=now,
    )
    session.commit()
    return user


def revoke_user_tokens(session: Session, user_id: int, *, actor: User, now: datetime) -> int:
    if session.get(User, user_id) is None:
        raise NotFound()
    events.tokens_revoked.send(user_id, token_hash=None)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.USER_REVOKE_TOKENS,
        object_type="user",
        object_id=user_id,
        now=now,
    )
    session.commit()
    return result.rowcount


def authenticate(
    session: Session,
    username: str,
    password: str,
    ip: str,
    *,
    now: datetime,
    limits: throttle.SignInLimits,
    password_method: str,
) -> User:
    """The active user with these credentials. Throttled (throttle.check_sign_in) before
    any password hash when a limit is reached; a refused attempt writes nothing."""
    name = username.strip().lower()[:64]
    try:
        throttle.check_sign_in(session, name, ip, now=now, limits=limits)
    except Throttled:
        session.rollback()
        raise
    user = session.scalars(select(User).where(User.username == name)).one_or_none()
    ok = check_password_hash(user.password_hash if user else _dummy_hash(password_method), password)
    ok = ok and user is not None and user.active and not user.machine  # a key never signs in
    session.add(LoginAttempt(username=name, ip=ip, attempted_at=now, success=ok))
    session.commit()
    if not ok:
        metrics.LOGIN_FAILURES.inc()
        raise ValidationFailed.one("password", N_("Wrong username or password."))
    assert user is not None
    return user


def _digest(raw_token: str) -> str:
    return keys.digest(raw_token)  # tokens and machine keys are kept as the same hash


def issue_api_token(
    session: Session, user: User, *, now: datetime, lifetime: timedelta
) -> tuple[str, ApiToken]:
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, token_hash=_digest(raw), created_at=now, expires_at=now + lifetime
    )
    session.add(token)
    session.commit()
    return raw, token


def user_for_token(session: Session, raw_token: str, *, now: datetime) -> User | None:
    token = session.scalars(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == _digest(raw_token))
    ).one_or_none()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    return token.user if token.user.active else None


def revoke_token(session: Session, raw_token: str, *, now: datetime) -> None:
    digest = _digest(raw_token)
    user_id = session.scalar(
        update(ApiToken)
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiToken.user_id)
    )
    events.tokens_revoked.send(user_id, token_hash=digest)
    session.commit()


class TokenCache:
    """Bearer tokens checked in the last `ttl` seconds, per process, as Callers: the scan
    path authenticates without the database. A token signed out, or a user deactivated
    or whose tokens are revoked, in this process is forgotten at once (tokens_revoked);
    done in another process (another worker or node), the token keeps working here for
    at most `ttl` seconds. A role change takes effect within the same bound."""

    MAX_ENTRIES = 10_000

    def __init__(self, ttl: float):
        self.ttl = timedelta(seconds=ttl)
        self._entries: dict[str, tuple[Caller, datetime, datetime]] = {}
        events.tokens_revoked.connect(self.forget)

    def caller(self, session_factory: Any, raw_token: str, *, now: datetime) -> Caller | None:
        """The token's caller; on a miss, read with a session from `session_factory`."""
        digest = _digest(raw_token)
        entry = self._entries.get(digest)
        if entry is not None:
            caller, checked_at, expires_at = entry
            if checked_at <= now < checked_at + self.ttl and now < expires_at:
                return caller
            self._entries.pop(digest, None)
        if keys.is_key(raw_token):
            return self._key_caller(session_factory, raw_token, digest, now)
        with session_factory() as session:
            found = session.execute(
                select(User.id, User.role, User.enterprise_id, ApiToken.expires_at)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(
                    ApiToken.token_hash == digest,
                    ApiToken.revoked_at.is_(None),
                    ApiToken.expires_at > now,
                    User.active.is_(True),
                )
            ).one_or_none()
        if found is None:
            return None
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        caller = Caller(found.id, found.role, found.enterprise_id)
        if self.ttl:
            self._entries[digest] = (caller, now, found.expires_at)
        return caller

    def _key_caller(
        self, session_factory: Any, raw_key: str, digest: str, now: datetime
    ) -> Caller | None:
        with session_factory() as session:
            found = keys.user_for_key(session, raw_key)
        if found is None:
            return None
        user, scopes = found
        caller = Caller(user.id, user.role, user.enterprise_id, scopes)
        if self.ttl:
            self._entries[digest] = (caller, now, datetime.max.replace(tzinfo=now.tzinfo))
        return caller

    def forget(self, user_id: int | None, *, token_hash: str | None = None) -> None:
        for digest, (caller, _, _) in list(self._entries.items()):
            if digest == token_hash or (token_hash is None and caller.id == user_id):
                self._entries.pop(digest, None)


def remember_locale(session: Session, user_id: int, locale: str) -> None:
    session.execute(update(User).where(User.id == user_id).values(locale=locale))
    session.commit()
