"""Pass rules: status and its transitions, categories, validity windows, pass numbers
(their budget and its arithmetic: see SERIAL_MAX).

Pure standard library.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from core.errors import N_, Conflict, InvalidTransition


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


# The national format: 6 digits of serial per area code (see pass_number).
SERIAL_MAX = 999_999
SERIAL_WARN_AT = 800_000  # 80% used


class PassNumbersExhausted(Conflict):
    """Every serial of the area code is used: no application can be filed (409)."""

    def __init__(self, area_code: str):
        super().__init__(
            N_(
                "All %(total)d pass numbers of area code %(area_code)s are used, so no "
                "application can be filed. Tell the system administrator."
            ),
            total=SERIAL_MAX,
            area_code=area_code,
        )


def serials_left(last: int) -> int:
    """Serials still free once `last` is given."""
    return max(0, SERIAL_MAX - last)


def serial_warning(serial: int) -> bool:
    """Whether giving `serial` deserves a warning: at 80% used and every 1% after, every
    0.1% in the last 1%."""
    if serial < SERIAL_WARN_AT:
        return False
    step = 1_000 if serial >= SERIAL_MAX - 10_000 else 10_000
    return (serial - SERIAL_WARN_AT) % step == 0


def pass_number(area_code: str, serial: int) -> str:
    """Pass numbers: the national format, 12 digits = the jurisdiction's 6-digit area code and a
    6-digit serial, so SERIAL_MAX numbers per area code, given in order and never reused.

    Why never reused: passes are kept for good (retention erases people's names, ID numbers,
    phones and SMS texts, never a pass, its trips or its scans), and a printout, a scan record,
    an audit entry or a peer's copy names a pass by its number; a number given again would
    make them name another pass. So the serial space is a budget, and what makes it last is
    that filing is bounded (passes.filing.FilingLimits): per enterprise at most
    APPLICATIONS_PER_DAY (default 500) and APPLICATIONS_PER_HOUR (60) filings, of every kind
    (refused ones take no number: the allocation is rolled back with them), and at most
    PENDING_APPLICATIONS_PER_ENTERPRISE (200) waiting or automatically approved at once.

    The arithmetic, 999,999 numbers per area code:
    - demand: at the 2022 peak a county issued a few thousand passes a day. At 3,000 a day
      without a pause they last 333 days; at 1,000 a day, 1,000 days (2.7 years). The 2022
      schemes ran for months, with their peaks for weeks, not years.
    - abuse: one enterprise at its daily cap (500) needs 2,000 days (5.5 years) to use them
      all, and reaches the warning below after 1,600; k colluding approved enterprises need
      2,000/k days, and the warning shows the drain while a supervisor can still suspend them.
    - the warning: from SERIAL_WARN_AT used (80%: 199,999 left, 66 days at 3,000 a day) a log
      warning at every further 1% (every 0.1% in the last 1%), and the gauge
      trafficpass_pass_serials_left throughout, long before the end.
    - the end, should it come: filing (passes.filing.next_number) answers 409 with
      PassNumbersExhausted's message, no number is given twice and nothing fails with a
      500; the jurisdiction then needs a further area code from the national scheme."""
    if not 0 < serial <= SERIAL_MAX:  # filing checks first (PassNumbersExhausted)
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


# Provinces of the national administrative division codes (GB/T 2260): the first two digits.
PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63"}
    | {"64", "65", "71", "81", "82"}
)


def normalise_area_code(raw: str) -> str:
    """A county-level administrative division code, as the national pass records origin and
    destination: six digits, a province's first two, neither the prefecture's (middle two)
    nor the county's (last two) "00". ValueError, in words, otherwise."""
    code = raw.strip()
    if len(code) != 6 or not code.isdigit():
        raise ValueError(N_("An area code has 6 digits, e.g. 330482 for Pinghu."))
    if code[:2] not in PROVINCES or code[2:4] == "00" or code[4:] == "00":
        raise ValueError(
            N_("This is not a county-level area code: the county's own 6 digits, e.g. 330482.")
        )
    return code
