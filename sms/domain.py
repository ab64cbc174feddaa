"""SMS delivery rules (docs/architecture.md, "SMS"): statuses, provider reports, retries, errors.

Pure standard library.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from core.errors import N_


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
# Alibaba Cloud's (sms/aliyun.py), answered with HTTP 200: the number, the template, the
# signature or the content is refused (permanent), or the sending is held back for now:
# per-number frequency limits, an account to top up or in arrears, the provider's faults.
PERMANENT_SMS_ERRORS |= {
    "template_missing",  # no template registered for this message (ALIYUN_SMS_TEMPLATES)
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGN_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.INVALID_PARAMETERS",
    "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.SMS_CONTENT_ILLEGAL",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.DENY_IP_RANGE",
    "isp.RAM_PERMISSION_DENY",
}
TRANSIENT_SMS_ERRORS |= {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.DAY_LIMIT_CONTROL",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.OUT_OF_SERVICE",
    "isv.ACCOUNT_ABNORMAL",
    "isp.SYSTEM_ERROR",
    "Throttling.User",
    "SignatureNonceUsed",
}
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
    "isv.MOBILE_NUMBER_ILLEGAL": N_(
        "The driver's mobile number is not a valid number. Correct it and resend."
    ),
    "isv.BLACK_KEY_CONTROL_LIMIT": N_(
        "The carrier filtered the message. Please contact the administrator."
    ),
    "template_missing": N_(
        "This message has no registered SMS template yet. Please contact the administrator."
    ),
}


def sms_error_message(code: str | None) -> str:
    return SMS_ERROR_MESSAGES.get(
        code or "", N_("The message could not be delivered. Check the number and resend.")
    )


# --- length as carriers bill it ------------------------------------------------------------

# GSM 03.38: the default alphabet (one septet each) and its extension table (two: escape +
# character). A message entirely in these is GSM-7: 160 per single SMS, 153 per part of a
# long one. Anything else (Chinese) makes the whole message UCS-2: 70, or 67 per part.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def segments(text: str) -> tuple[str, int, int]:
    """(encoding, length in that encoding's units, billed segments) of one SMS."""
    if is_gsm7(text):
        units = sum(2 if ch in GSM_EXTENSION else 1 for ch in text)
        single, part = 160, 153
        encoding = "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: a character outside the BMP takes two.
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = "UCS-2"
    if units <= single:
        return encoding, units, 1
    return encoding, units, -(-units // part)
