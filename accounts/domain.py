"""Account rules: roles, enterprise status, and validators for codes and numbers.

Pure standard library: validators return a normalised value or raise ValueError with an
untranslated message (marked with N_ so the catalog picks it up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.errors import N_, InvalidTransition


class Role(StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    OFFICER = "officer"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the scan path needs it: a snapshot, bound to no session. A
    machine key's caller carries its scopes (None: a person, with the role's powers)."""

    id: int
    role: str
    enterprise_id: int | None
    scopes: frozenset[str] | None = None


class Scope(StrEnum):
    """What a machine key may do (accounts/keys.py); every read is `read`."""

    READ = "read"
    PASSES_WRITE = "passes:write"  # file and cancel passes, resend their SMS
    FLEET_WRITE = "fleet:write"  # register, change and archive vehicles and drivers
    BOOKINGS_WRITE = "bookings:write"  # book, move and cancel hours at gates


# An enterprise's system may do what its clerks do through these; the jurisdiction's
# (an administrator's key, for a province's dashboard) reads only.
KEY_SCOPES = {
    "enterprise": frozenset(Scope),
    "admin": frozenset({Scope.READ}),
}


# Roles that see every enterprise's data (docs/architecture.md, Roles).
OVERSIGHT_ROLES = frozenset({Role.ADMIN, Role.REVIEWER, Role.SUPERVISOR})


class EnterpriseStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REJECTED = "rejected"  # a sign-up not approved, with the administrator's reason
    # Stands for a federated peer's applicants on the passes of theirs kept here
    # (federation/mirror.py): no users, no filing, no transitions.
    PEER = "peer"


ENTERPRISE_TRANSITIONS: dict[EnterpriseStatus, frozenset[EnterpriseStatus]] = {
    EnterpriseStatus.PENDING: frozenset(
        {EnterpriseStatus.APPROVED, EnterpriseStatus.SUSPENDED, EnterpriseStatus.REJECTED}
    ),
    EnterpriseStatus.APPROVED: frozenset({EnterpriseStatus.SUSPENDED}),
    EnterpriseStatus.SUSPENDED: frozenset({EnterpriseStatus.APPROVED}),
    # Approved after all once the details are put right (the reason said what was wrong).
    EnterpriseStatus.REJECTED: frozenset({EnterpriseStatus.APPROVED}),
    EnterpriseStatus.PEER: frozenset(),
}


def next_enterprise_status(current: str, target: str) -> EnterpriseStatus:
    """The new status, or InvalidTransition when the table does not allow it."""
    now, then = EnterpriseStatus(current), EnterpriseStatus(target)
    if then not in ENTERPRISE_TRANSITIONS[now]:
        raise InvalidTransition("enterprise", now, then)
    return then


def scans(role: str, enterprise_status: str | None) -> bool:
    """Officers scan; an enterprise only once approved (and not while suspended)."""
    return role != Role.ENTERPRISE or enterprise_status == EnterpriseStatus.APPROVED


def filing_block_reason(status: str) -> str | None:
    """Why an enterprise may not file passes yet, or None when it may."""
    if status == EnterpriseStatus.APPROVED:
        return None
    if status == EnterpriseStatus.SUSPENDED:
        return N_("Your enterprise is suspended. Passes cannot be filed until it is reinstated.")
    if status == EnterpriseStatus.REJECTED:
        return N_(
            "Your enterprise's sign-up was not approved. Put right what the reason says and"
            " ask the administrator to approve it."
        )
    return N_("Your enterprise is waiting for approval. Passes can be filed once it is approved.")


# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the last is a
# check character over the first 17 with these weights, modulo 31.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    total = sum(
        CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(raw: str) -> str:
    code = re.sub(r"\s+", "", raw).upper()
    if len(code) != 18:
        raise ValueError(N_("A unified social credit code has 18 characters."))
    if any(c not in CREDIT_CODE_ALPHABET for c in code):
        raise ValueError(
            N_("A unified social credit code uses digits and capital letters except I, O, S, V, Z.")
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValueError(
            N_("The check character of this credit code is wrong; please re-check it.")
        )
    return code


MAINLAND_MOBILE = re.compile(r"\+861[3-9]\d{9}")


def normalise_mobile(raw: str) -> str:
    """E.164 mainland mobile; accepts `13812345678`, `+86 138-1234-5678`, `008613812345678`."""
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("0086"):
        digits = "+86" + digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = "+" + digits
    elif re.fullmatch(r"1\d{10}", digits):
        digits = "+86" + digits
    if not MAINLAND_MOBILE.fullmatch(digits):
        raise ValueError(N_("Enter a mainland mobile number, e.g. 13812345678."))
    return digits


USERNAME = re.compile(r"[A-Za-z0-9_.\-]{3,64}")


def normalise_username(raw: str) -> str:
    name = raw.strip().lower()
    if not USERNAME.fullmatch(name):
        raise ValueError(
            N_("Use 3-64 letters, digits, dots, dashes or underscores for the username.")
        )
    return name


def check_password(raw: str) -> str:
    if len(raw) < 8:
        raise ValueError(N_("The password needs at least 8 characters."))
    if len(raw) > 128:
        raise ValueError(N_("The password may have at most 128 characters."))
    if raw.isdigit() or raw.isalpha():
        raise ValueError(N_("The password needs both letters and digits or symbols."))
    return raw
