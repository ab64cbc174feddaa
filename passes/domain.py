"""Fleet and pass rules: plates, ID numbers, pass status, categories, validity windows.

Pure standard library; validators return a normalised value or raise ValueError with an
untranslated message (N_).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum

from errors import N_, InvalidTransition

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Issuing-office letters and serial letters never use I or O (they read as 1 and 0).
LETTER = "A-HJ-NP-Z"
ALNUM = f"{LETTER}0-9"
PLATE_PATTERNS = (
    # Ordinary plate: 浙F12345, 浙FA1B23.
    re.compile(f"[{PROVINCES}][{LETTER}][{ALNUM}]{{5}}"),
    # New-energy small car: 浙FD12345 (D electric, F hybrid, then a letter or digit, 4 digits).
    re.compile(f"[{PROVINCES}][{LETTER}][DF][{ALNUM}][0-9]{{4}}"),
    # New-energy large vehicle: 浙F12345D.
    re.compile(f"[{PROVINCES}][{LETTER}][0-9]{{5}}[DF]"),
    # Trailer: 浙F1234挂.
    re.compile(f"[{PROVINCES}][{LETTER}][{ALNUM}]{{4}}挂"),
)


def normalise_plate(raw: str) -> str:
    plate = re.sub(r"[\s·•.\-]", "", raw).upper()
    if "学" in plate:
        raise ValueError(N_("Learner plates (学) cannot apply for freight passes."))
    if "警" in plate:
        raise ValueError(N_("Police plates (警) do not need freight passes."))
    if not any(p.fullmatch(plate) for p in PLATE_PATTERNS):
        raise ValueError(N_("Enter a mainland plate such as 浙F12345, 浙FD12345 or 浙F1234挂."))
    return plate


class VehicleType(StrEnum):
    HEAVY_TRUCK = "heavy_truck"
    MEDIUM_TRUCK = "medium_truck"
    LIGHT_TRUCK = "light_truck"
    VAN = "van"
    TRACTOR = "tractor"
    TRAILER = "trailer"
    TANKER = "tanker"
    REFRIGERATED = "refrigerated"
    OTHER = "other"


# GB 11643-1999: 17 digits, then a check character over them with these weights, mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    number = re.sub(r"\s", "", raw).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise ValueError(N_("A resident ID number has 17 digits and a final digit or X."))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(N_("The birth date inside this ID number is not a real date.")) from None
    if born.year < 1900:
        raise ValueError(N_("The birth date inside this ID number is not a real date."))
    if id_check_char(number[:17]) != number[17]:
        raise ValueError(N_("The last character of this ID number is wrong; please re-check it."))
    return number


def mask_id_number(number: str) -> str:
    """330482199001011234 -> 330482********1234: region kept, birth date hidden."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "****"


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*: enough for an officer to compare, not to identify."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


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


# --- SMS delivery (DESIGN.md section 6) -------------------------------------------------


class SmsStatus(StrEnum):
    PENDING = "pending"  # in the outbox, due at next_attempt_at
    SENDING = "sending"  # claimed by a worker (leased)
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


# Delivery reports only move a message forward along this order.
SMS_PROGRESS = {
    SmsStatus.PENDING: 0,
    SmsStatus.SENDING: 1,
    SmsStatus.SENT: 2,
    SmsStatus.DELIVERED: 3,
    SmsStatus.UNDELIVERED: 3,
    SmsStatus.FAILED: 3,
}

# Twilio's report statuses mapped onto ours.
PROVIDER_STATUS = {
    "accepted": SmsStatus.SENT,
    "queued": SmsStatus.SENT,
    "sending": SmsStatus.SENT,
    "sent": SmsStatus.SENT,
    "delivered": SmsStatus.DELIVERED,
    "undelivered": SmsStatus.UNDELIVERED,
    "failed": SmsStatus.FAILED,
}

# Twilio error codes that no retry will fix: the number is wrong, unreachable for good,
# has opted out, or the carrier blocks the content.
PERMANENT_SMS_ERRORS = frozenset({"21211", "21610", "21614", "30005", "30006", "30007"})
TRANSIENT_SMS_ERRORS = frozenset({"30003", "20429"})
MAX_SMS_ATTEMPTS = 8


def advances(current: str, reported: str) -> bool:
    """Whether a delivery report moves the message forward (late or repeated ones do not)."""
    return SMS_PROGRESS[SmsStatus(reported)] > SMS_PROGRESS[SmsStatus(current)]


def sms_error_is_permanent(http_status: int | None, code: str | None) -> bool:
    if code in PERMANENT_SMS_ERRORS:
        return True
    if code in TRANSIENT_SMS_ERRORS or http_status is None:
        return False  # connection errors and timeouts have no status
    return not (http_status == 429 or http_status >= 500)


def retry_delay(attempt: int, jitter: float) -> timedelta:
    """Exponential backoff from 30 s, capped at an hour; `jitter` in [0, 1) spreads workers."""
    base = min(3600.0, 30.0 * 2 ** max(0, attempt - 1))
    return timedelta(seconds=base * (0.5 + jitter))


SMS_ERROR_MESSAGES = {
    "21211": N_("The driver's mobile number is not a valid number. Correct it and resend."),
    "21610": N_("The driver's phone has opted out of text messages (replied STOP)."),
    "21614": N_("The driver's number cannot receive text messages. Correct it and resend."),
    "30003": N_("The driver's phone is unreachable (switched off or out of coverage)."),
    "30005": N_("The driver's number does not exist or is no longer in service."),
    "30006": N_("The driver's number is a landline or cannot receive text messages."),
    "30007": N_("The carrier filtered the message. Please contact the administrator."),
}


def sms_error_message(code: str | None) -> str:
    return SMS_ERROR_MESSAGES.get(
        code or "", N_("The message could not be delivered. Check the number and resend.")
    )
