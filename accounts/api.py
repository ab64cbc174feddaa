"""JSON API for sign-in tokens, enterprises and users (docs/api.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g, request
from sqlalchemy import select

from accounts import keys, services, throttle
from accounts.domain import Caller, EnterpriseStatus, Role
from accounts.models import Enterprise, User
from accounts.schemas import (
    Created,
    EnterpriseCreated,
    EnterpriseOut,
    EnterpriseSignup,
    SignUpRejection,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
    WhitelistChange,
)
from accounts.scoping import get_scoped, scoped
from api.core import Page, endpoint, paginate, snapshot_loaders, token_loader
from core import ratelimit, web
from core.errors import N_, Throttled, ValidationFailed

ALL_ROLES = frozenset(Role)


def _login_policy() -> dict[str, Any]:
    cfg = current_app.config
    return {
        "limits": throttle.SignInLimits.from_config(cfg),
        "password_method": cfg["PASSWORD_HASH_METHOD"],
    }


@token_loader
def user_of_token(token: str) -> User | None:
    if not keys.is_key(token):
        return services.user_for_token(web.db(), token, now=web.now())
    # Checked on a read-only session, counted on its own: the request's session takes
    # SQLite's write lock when it begins, and would wait for the count's.
    with current_app.extensions["read_sessions"]() as session:
        found = keys.user_for_key(session, token)
    if found is None:
        return None
    _key_used(token, found[1])
    return web.db().get(User, found[0].id)


def _caller_of_token(token: str) -> Caller | None:
    cache = current_app.extensions["token_cache"]
    caller = cache.caller(current_app.extensions["read_sessions"], token, now=web.now())
    if caller is not None and caller.scopes is not None:
        _key_used(token, caller.scopes)
    return caller


def _key_used(token: str, scopes: frozenset[str]) -> None:
    """A machine key's call: its scopes for the endpoint to check (api.core), within its
    per-minute limit counted across every node, and its last use noted."""
    g.key_scopes = scopes
    digest, now = keys.digest(token), web.now()
    per_minute = current_app.config["API_KEY_PER_MINUTE"]
    local = current_app.extensions.setdefault("key_counts", ratelimit.LocalCount())
    label = f"key:{digest[:32]}"
    with current_app.extensions["sessions"]() as session:
        if local.over(label, per_minute, now) or not ratelimit.hit(session, label, per_minute, now):
            raise Throttled(60, N_("This key made the most calls a minute allows; slow down."))
        keys.used(session, digest, now=now)


snapshot_loaders(_caller_of_token, lambda user: Caller(user.id, user.role, user.enterprise_id))


@endpoint(
    "/auth/token",
    "POST",
    summary="Exchange a username and password for a bearer token",
    body=TokenRequest,
    response=TokenOut,
    tag="auth",
)
def issue_token(_user: None, body: TokenRequest) -> TokenOut:
    session = web.db()
    user = services.authenticate(
        session, body.username, body.password, web.client_ip(), now=web.now(), **_login_policy()
    )
    lifetime = timedelta(hours=current_app.config["API_TOKEN_HOURS"])
    raw, token = services.issue_api_token(session, user, now=web.now(), lifetime=lifetime)
    return TokenOut(token=raw, expires_at=token.expires_at, user=UserOut.model_validate(user))


@endpoint(
    "/auth/logout",
    "POST",
    summary="Revoke the bearer token used for this call",
    roles=ALL_ROLES,
    tag="auth",
)
def revoke_own_token(_user: User) -> dict[str, bool]:
    if "api_token" in g:
        services.revoke_token(web.db(), g.api_token, now=web.now())
    return {"revoked": "api_token" in g}


@endpoint(
    "/enterprises",
    "POST",
    summary="Sign up an enterprise (starts pending)",
    body=EnterpriseSignup,
    response=EnterpriseCreated,
    status=201,
    tag="enterprises",
)
def sign_up(_user: None, body: EnterpriseSignup) -> Enterprise:
    cfg = current_app.config
    return services.sign_up_enterprise(
        web.db(),
        body,
        now=web.now(),
        password_method=cfg["PASSWORD_HASH_METHOD"],
        ip=web.client_ip(),
        limits=throttle.SignUpLimits.from_config(cfg),
    )


@endpoint(
    "/enterprises",
    "GET",
    summary="List enterprises (an enterprise sees itself only, an officer none)",
    roles=ALL_ROLES,
    response=Page[EnterpriseOut],
    query={"status": "string", "page": "integer", "per_page": "integer"},
    tag="enterprises",
)
def list_enterprises(user: User) -> dict[str, Any]:
    stmt = scoped(select(Enterprise), Enterprise, user).order_by(Enterprise.id.desc())
    status = request.args.get("status")
    if status:
        if status not in set(EnterpriseStatus):
            raise ValidationFailed.one("status", "Choose one of the listed values.")
        stmt = stmt.where(Enterprise.status == status)
    else:  # a peer's stand-in is not an enterprise to vet
        stmt = stmt.where(Enterprise.status != EnterpriseStatus.PEER)
    return paginate(stmt, EnterpriseOut)


@endpoint(
    "/enterprises/<int:enterprise_id>",
    "GET",
    summary="One enterprise",
    roles=ALL_ROLES,
    response=EnterpriseOut,
    tag="enterprises",
)
def get_enterprise(user: User, enterprise_id: int) -> Enterprise:
    return get_scoped(web.db(), Enterprise, enterprise_id, user)


def _set_status(
    user: User, enterprise_id: int, target: EnterpriseStatus, reason: str = ""
) -> Enterprise:
    return services.set_enterprise_status(
        web.db(),
        enterprise_id,
        target,
        actor=user,
        now=web.now(),
        sms_locale=current_app.config["SMS_LOCALE"],
        reason=reason,
    )


@endpoint(
    "/enterprises/<int:enterprise_id>/approve",
    "POST",
    summary="Approve an enterprise",
    roles={Role.ADMIN},
    response=EnterpriseCreated,
    tag="enterprises",
)
def approve_enterprise(user: User, enterprise_id: int) -> Enterprise:
    return _set_status(user, enterprise_id, EnterpriseStatus.APPROVED)


@endpoint(
    "/enterprises/<int:enterprise_id>/suspend",
    "POST",
    summary="Suspend an enterprise",
    roles={Role.ADMIN},
    response=EnterpriseCreated,
    tag="enterprises",
)
def suspend_enterprise(user: User, enterprise_id: int) -> Enterprise:
    return _set_status(user, enterprise_id, EnterpriseStatus.SUSPENDED)


@endpoint(
    "/enterprises/<int:enterprise_id>/reject",
    "POST",
    summary="Reject a pending sign-up, saying why",
    roles={Role.ADMIN},
    body=SignUpRejection,
    response=EnterpriseCreated,
    tag="enterprises",
)
def reject_enterprise(user: User, body: SignUpRejection, enterprise_id: int) -> Enterprise:
    return _set_status(user, enterprise_id, EnterpriseStatus.REJECTED, body.reason)


@endpoint(
    "/enterprises/<int:enterprise_id>/whitelist",
    "POST",
    summary="Set or clear the whitelist flag (auto-approval)",
    roles={Role.ADMIN, Role.REVIEWER},
    body=WhitelistChange,
    response=EnterpriseOut,
    tag="enterprises",
)
def whitelist_enterprise(user: User, body: WhitelistChange, enterprise_id: int) -> Enterprise:
    return services.set_whitelisted(
        web.db(), enterprise_id, body.whitelisted, actor=user, now=web.now()
    )


@endpoint(
    "/users",
    "POST",
    summary="Create a user",
    roles={Role.ADMIN},
    body=UserCreate,
    response=Created,
    status=201,
    tag="users",
)
def create_user(user: User, body: UserCreate) -> User:
    return services.create_user(
        web.db(),
        body,
        actor=user,
        now=web.now(),
        password_method=current_app.config["PASSWORD_HASH_METHOD"],
    )


@endpoint(
    "/users",
    "GET",
    summary="List users",
    roles={Role.ADMIN},
    response=Page[UserOut],
    query={"role": "string", "page": "integer", "per_page": "integer"},
    tag="users",
)
def list_users(_user: User) -> dict[str, Any]:
    stmt = select(User).where(User.machine.is_(False)).order_by(User.id)  # keys: /api-keys
    role = request.args.get("role")
    if role:
        stmt = stmt.where(User.role == role)
    return paginate(stmt, UserOut)


@endpoint(
    "/users/<int:user_id>/deactivate",
    "POST",
    summary="Deactivate a user (ends sessions, revokes tokens)",
    roles={Role.ADMIN},
    response=UserOut,
    tag="users",
)
def deactivate_user(user: User, user_id: int) -> User:
    return services.set_user_active(web.db(), user_id, False, actor=user, now=web.now())


@endpoint(
    "/users/<int:user_id>/revoke-tokens",
    "POST",
    summary="Revoke all of a user's API tokens",
    roles={Role.ADMIN},
    tag="users",
)
def revoke_tokens(user: User, user_id: int) -> dict[str, int]:
    return {"revoked": services.revoke_user_tokens(web.db(), user_id, actor=user, now=web.now())}
