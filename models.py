"""Imports every model module so Base.metadata is complete (Alembic, tests)."""

from accounts.models import ApiToken, Enterprise, LoginAttempt, User
from audit import AuditEntry, AuditHead
from passes.models import Driver, Pass, PassSerial, SigningKey, SmsMessage, Vehicle

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Driver",
    "Enterprise",
    "LoginAttempt",
    "Pass",
    "PassSerial",
    "SigningKey",
    "SmsMessage",
    "User",
    "Vehicle",
]
