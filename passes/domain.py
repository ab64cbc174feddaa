"""Pass rules: status and its transitions, categories, validity windows, pass numbers.

Pure standard library.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from core.errors import N_, InvalidTransition


class PassStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


PASS_TRANSITIONS: dict[PassStatus, frozenset[PassStatus]] = {
    PassStatus.SUBMITTED: frozenset(
        {PassStatus.APPROVED, PassStatus.REJECTED, PassStatus.CANCELLED}
    ),
    PassStatus.APPROVED: frozenset({PassStatus.REVOKED}),
    PassStatus.REJECTED: frozenset(),
    PassStatus.REVOKED: frozenset(),
    PassStatus.CANCELLED: frozenset(),
}


def next_pass_status(current: str, target: str) -> PassStatus:
    now, then = PassStatus(current), PassStatus(target)
    if then not in PASS_TRANSITIONS[now]:
        raise InvalidTransition("pass", now, then)
    return then


def shown_status(
    status: str, trips_used: int, max_trips: int, valid_until: datetime, now: datetime
) -> str:
    """What a pass's status means to a reader now: an approved pass whose trips are all
    used, or whose validity has ended, is shown as such ("used_up", "expired"), not as
    approved."""
    if status != PassStatus.APPROVED:
        return str(status)
    if valid_until <= now:
        return "expired"
    return "used_up" if trips_used >= max_trips else str(status)


class Category(StrEnum):
    EMERGENCY = "emergency"
    DAILY_NECESSITIES = "daily_necessities"
    RAW_MATERIALS = "raw_materials"
    PRODUCTS = "products"
    OTHER = "other"


def review_priority(category: str) -> int:
    """Lower sorts first: the green channel (emergency cargo) goes to the front."""
    return 0 if category == Category.EMERGENCY else 1


def check_validity(
    valid_from: datetime, valid_until: datetime, now: datetime, max_span: timedelta
) -> dict[str, list[str]]:
    """Field errors for a validity window (empty when it is acceptable)."""
    errors: dict[str, list[str]] = {}
    if valid_until <= valid_from:
        errors["valid_until"] = [N_("The end of validity must be after its start.")]
    elif valid_until - valid_from > max_span:
        errors["valid_until"] = [N_("A pass may be valid for at most %(days)d days.")]
    elif valid_until <= now:
        errors["valid_until"] = [N_("The end of validity is already in the past.")]
    if valid_from < now - timedelta(days=1):
        errors["valid_from"] = [N_("The start of validity may be at most one day in the past.")]
    return errors


def expired(valid_until: datetime, now: datetime) -> bool:
    return now >= valid_until


def pass_number(area_code: str, serial: int) -> str:
    if not 0 < serial < 1_000_000:
        raise ValueError("pass serial out of range for this area code")
    return f"{area_code}{serial:06d}"


# The driver's short link /d/{key}: ten characters from 31 that cannot be mistaken for one
# another (no 0/O, 1/I/L), 31**10 > 2**49 possibilities; read in any case.
DRIVER_KEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DRIVER_KEY_LENGTH = 10


def new_driver_key() -> str:
    return "".join(secrets.choice(DRIVER_KEY_ALPHABET) for _ in range(DRIVER_KEY_LENGTH))


def normalise_driver_key(raw: str) -> str | None:
    """The key as stored, or None when `raw` cannot be one (a 404 without a query)."""
    key = raw.strip().upper()
    if len(key) != DRIVER_KEY_LENGTH or any(ch not in DRIVER_KEY_ALPHABET for ch in key):
        return None
    return key
