"""Limits on sign-in and sign-up, counted in the database so every node and process meets
the same ones (login_attempt rows; docs/api.md, Configuration).

Sign-in is refused, before any password hash is computed, after too many failures within
the window for the username from this address (the original limit), for this address
across usernames (spraying many accounts from one place), or for the username across
addresses (one account tried from many places), and when the whole installation has
checked too many passwords in the last minute (the CPU the hashes cost). The limits slide:
each lifts as its oldest counted attempt leaves the window, and a refused attempt writes
nothing, so it neither extends a limit nor fills the table. An address the user signed in
from recently is not held by the username's limit, so failures made elsewhere do not lock
a user out of the places they use.

Each sign-up (web form or API) that reaches the uniqueness checks is a login_attempt row
under the reserved name SIGN_UP (never a username: those are letters, digits, dots,
dashes and underscores), counted per address and overall within its window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from accounts.models import LoginAttempt
from core.errors import N_, Throttled

SIGN_UP = "+sign-up"  # the `username` of a sign-up's row; no username has a "+"
GLOBAL_WINDOW = timedelta(minutes=1)


class TooManyAttempts(Throttled):
    """Throttled with a detail that names how long to wait (filled in when translated)."""

    def __init__(self, retry_after_seconds: int, detail: str, **params: object):
        super().__init__(retry_after_seconds, detail)
        self.params = params


@dataclass(frozen=True)
class SignInLimits:
    """Failures allowed within `window` per username and address, per address, per
    username; password checks allowed per minute overall. 0 turns a limit off."""

    per_user_and_address: int = 10
    per_address: int = 20
    per_user: int = 20
    checks_per_minute: int = 300
    window: timedelta = timedelta(minutes=15)
    # Where the user signed in this recently is a known address (0: none is).
    known_address: timedelta = timedelta(days=30)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SignInLimits:
        return cls(
            per_user_and_address=config["LOGIN_MAX_FAILURES"],
            per_address=config["LOGIN_ADDRESS_MAX_FAILURES"],
            per_user=config["LOGIN_USER_MAX_FAILURES"],
            checks_per_minute=config["LOGIN_MAX_CHECKS_PER_MINUTE"],
            window=timedelta(minutes=config["LOGIN_WINDOW_MINUTES"]),
            known_address=timedelta(days=config["LOGIN_KNOWN_ADDRESS_DAYS"]),
        )


@dataclass(frozen=True)
class SignUpLimits:
    """Sign-ups allowed within `window` per address and overall. 0 turns a limit off."""

    per_address: int = 10
    overall: int = 60
    window: timedelta = timedelta(minutes=60)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SignUpLimits:
        return cls(
            per_address=config["SIGNUP_MAX_PER_ADDRESS"],
            overall=config["SIGNUP_MAX_TOTAL"],
            window=timedelta(minutes=config["SIGNUP_WINDOW_MINUTES"]),
        )


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _wait(
    session: Session,
    limit: int,
    window: timedelta,
    now: datetime,
    *where: ColumnElement[bool],
) -> int | None:
    """Seconds until fewer than `limit` rows matching `where` are within `window`, or None
    when fewer already are. Reads at most `limit` index entries: the limit-th newest."""
    if limit <= 0:
        return None
    at = session.scalar(
        select(LoginAttempt.attempted_at)
        .where(*where, LoginAttempt.attempted_at >= now - window)
        .order_by(LoginAttempt.attempted_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    return None if at is None else _seconds_until(at + window, now)


def _checks_wait(session: Session, limit: int, now: datetime) -> int | None:
    """Every row is one password hash computed (a sign-in checked, a sign-up's new hash):
    the limit-th newest by id, read backwards along the primary key, is within the last
    minute when the installation is at its ceiling."""
    if limit <= 0:
        return None
    at = session.scalar(
        select(LoginAttempt.attempted_at)
        .order_by(LoginAttempt.id.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if at is None or at < now - GLOBAL_WINDOW:
        return None
    return _seconds_until(at + GLOBAL_WINDOW, now)


def _known_address(session: Session, name: str, ip: str, now: datetime, since: timedelta) -> bool:
    if not since:
        return False
    return (
        session.scalar(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.username == name,
                LoginAttempt.ip == ip,
                LoginAttempt.success.is_(True),
                LoginAttempt.attempted_at >= now - since,
            )
            .limit(1)
        )
        is not None
    )


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


def check_sign_in(
    session: Session, name: str, ip: str, *, now: datetime, limits: SignInLimits
) -> None:
    """Raise TooManyAttempts when a sign-in as `name` from `ip` may not be checked now.
    Only reads; the caller rolls back."""
    failed, window = LoginAttempt.success.is_(False), limits.window
    here, named = LoginAttempt.ip == ip, LoginAttempt.username == name
    wait = _wait(session, limits.per_user_and_address, window, now, named, here, failed)
    if (
        wait is None
        and (wait := _wait(session, limits.per_address, window, now, here, failed)) is not None
    ):
        raise TooManyAttempts(
            wait,
            N_("Too many failed sign-ins from this network. Try again in %(minutes)d minutes."),
            minutes=_minutes(wait),
        )
    if wait is None:
        wait = _wait(session, limits.per_user, window, now, named, failed)
        if wait is not None and _known_address(session, name, ip, now, limits.known_address):
            wait = None
    if wait is not None:
        raise TooManyAttempts(
            wait,
            N_("Too many failed sign-ins. Try again in %(minutes)d minutes."),
            minutes=_minutes(wait),
        )
    if (wait := _checks_wait(session, limits.checks_per_minute, now)) is not None:
        raise TooManyAttempts(
            wait,
            N_("Sign-in is very busy right now. Try again in %(seconds)d seconds."),
            seconds=wait,
        )


def check_sign_up(session: Session, ip: str, *, now: datetime, limits: SignUpLimits) -> None:
    """Raise TooManyAttempts when another sign-up from `ip` may not be tried now."""
    # success: a failed sign-in under the reserved name is not a sign-up.
    sign_ups = (LoginAttempt.username == SIGN_UP, LoginAttempt.success.is_(True))
    here = LoginAttempt.ip == ip
    if (
        wait := _wait(session, limits.per_address, limits.window, now, *sign_ups, here)
    ) is not None:
        raise TooManyAttempts(
            wait,
            N_("Too many sign-ups from this network. Try again in %(minutes)d minutes."),
            minutes=_minutes(wait),
        )
    if (wait := _wait(session, limits.overall, limits.window, now, *sign_ups)) is not None:
        raise TooManyAttempts(
            wait,
            N_("Too many enterprises are signing up right now. Try again in %(minutes)d minutes."),
            minutes=_minutes(wait),
        )


def count_sign_up(session: Session, ip: str, *, now: datetime) -> None:
    """One sign-up tried from `ip`, for check_sign_up; the caller commits."""
    session.add(LoginAttempt(username=SIGN_UP, ip=ip, attempted_at=now, success=True))
