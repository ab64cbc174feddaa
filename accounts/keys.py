"""Machine keys: an enterprise's TMS or ERP (or the jurisdiction's dashboard) calling the
API without a person's password.

A key is shown once (`tpk_` and 43 more characters) and stored as its SHA-256. It acts as
its own machine user (User.machine: the actor of what it writes, who never signs in),
with the role and enterprise of whoever made it, and only within its scopes
(accounts.domain.Scope: every read is `read`; a write names the scope it needs, and a
write that names none is a person's). Revoking it ends it at once in this process and
within API_TOKEN_CACHE_SECONDS on every other (accounts.events.tokens_revoked, as for
sign-in tokens); its last use is kept to the minute.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from accounts import events
from accounts.domain import KEY_SCOPES, Role
from accounts.models import ApiKey, User
from core import audit
from core.errors import N_, Forbidden, NotFound, ValidationFailed

PREFIX = "tpk_"
SHOWN = 8  # characters kept to tell a key by: the prefix and four of its own
USED_EVERY = timedelta(minutes=1)  # how often a key's last use is written
MOST_PER_OWNER = 50  # live keys an enterprise (or the jurisdiction) may hold


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def is_key(raw: str) -> bool:
    return raw.startswith(PREFIX)


def _owner_clause(actor: User) -> object:
    if actor.enterprise_id is None:
        return ApiKey.enterprise_id.is_(None)
    return ApiKey.enterprise_id == actor.enterprise_id


def create_key(
    session: Session, actor: User, name: str, scopes: list[str], *, now: datetime
) -> tuple[str, ApiKey]:
    """A new key of the actor's enterprise (an administrator's: the jurisdiction's); the
    raw key is returned once and never stored. Commits."""
    allowed = KEY_SCOPES.get(actor.role)
    if allowed is None or (actor.role == Role.ENTERPRISE and actor.enterprise_id is None):
        raise Forbidden(N_("Only enterprise users and administrators make keys."))
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not 1 <= len(name) <= 64:
        errors["name"] = [N_("Name the key in 1 to 64 characters, e.g. the system using it.")]
    wanted = sorted(set(scopes))
    if not wanted or not set(wanted) <= allowed:
        errors["scopes"] = [N_("Choose what the key may do from the list.")]
    if errors:
        raise ValidationFailed(errors)
    live = session.scalar(
        select(func.count()).where(_owner_clause(actor), ApiKey.revoked_at.is_(None))
    )
    if (live or 0) >= MOST_PER_OWNER:
        raise ValidationFailed.one(
            "name", N_("Revoke a key no longer used first: at most 50 are live at once.")
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    machine = User(
        username=f"key-{secrets.token_hex(8)}",
        password_hash=generate_password_hash(secrets.token_urlsafe(32), "pbkdf2:sha256:1000"),
        role=actor.role,
        enterprise_id=actor.enterprise_id,
        active=True,
        machine=True,
        created_at=now,
    )
    session.add(machine)
    session.flush()
    key = ApiKey(
        name=name,
        enterprise_id=actor.enterprise_id,
        user_id=machine.id,
        scopes=wanted,
        key_hash=digest(raw),
        prefix=raw[:SHOWN],
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.API_KEY_CREATE,
        object_type="api_key",
        object_id=key.id,
        data={"name": name, "scopes": wanted, "prefix": key.prefix},
        now=now,
    )
    session.commit()
    return raw, key


def keys_of(session: Session, actor: User) -> list[ApiKey]:
    """The keys of the actor's enterprise (an administrator's: the jurisdiction's), live
    ones first, newest first."""
    return list(
        session.scalars(
            select(ApiKey)
            .where(_owner_clause(actor))
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
        )
    )


def revoke_key(session: Session, actor: User, key_id: int, *, now: datetime) -> ApiKey:
    """End a key of the actor's own (404 for anyone else's); revoking twice changes nothing.
    Commits."""
    key = session.scalars(
        select(ApiKey).where(ApiKey.id == key_id, _owner_clause(actor))
    ).one_or_none()
    if key is None or actor.role not in KEY_SCOPES:
        raise NotFound()
    if key.revoked_at is None:
        key.revoked_at = now
        session.get(User, key.user_id).active = False  # type: ignore[union-attr]
        audit.record(
            session,
            actor_id=actor.id,
            action=audit.Action.API_KEY_REVOKE,
            object_type="api_key",
            object_id=key.id,
            data={"name": key.name, "prefix": key.prefix},
            now=now,
        )
        session.commit()
        events.tokens_revoked.send(key.user_id, token_hash=key.key_hash)
    return key


def used(session: Session, key_hash: str, *, now: datetime) -> None:
    """Note a key's use, at most once a minute (a cheap write, its own transaction)."""
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.key_hash == key_hash,
            (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - USED_EVERY),
        )
        .values(last_used_at=now)
    )
    session.commit()


def user_for_key(session: Session, raw: str) -> tuple[User, frozenset[str]] | None:
    """The machine user of a live key and its scopes; None for no such key."""
    found = session.execute(
        select(User, ApiKey.scopes)
        .join(ApiKey, ApiKey.user_id == User.id)
        .where(ApiKey.key_hash == digest(raw), ApiKey.revoked_at.is_(None), User.active)
    ).one_or_none()
    return (found[0], frozenset(found[1])) if found is not None else None
