"""Imports every model module so Base.metadata is complete (Alembic, tests)."""

from accounts.models import ApiToken, Enterprise, LoginAttempt, User
from audit import AuditEntry, AuditHead
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip, officer_checkpoint
from passes.models import Driver, Pass, PassSerial, SigningKey, SmsMessage, Vehicle

__all__ = [
    "Anomaly",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Checkpoint",
    "Driver",
    "Enterprise",
    "LoginAttempt",
    "Pass",
    "PassSerial",
    "Scan",
    "SigningKey",
    "SmsMessage",
    "Trip",
    "User",
    "Vehicle",
    "officer_checkpoint",
]
