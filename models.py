"""Imports every model module so Base.metadata is complete (Alembic, tests)."""

from accounts.models import ApiToken, Enterprise, LoginAttempt, User
from audit import AuditEntry, AuditHead
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip, officer_checkpoint
from passes.models import Driver, Pass, PassSerial, SigningKey, SmsMessage, Vehicle
from supervision.models import AlertSettings, Notification

__all__ = [
    "AlertSettings",
    "Anomaly",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Checkpoint",
    "Driver",
    "Enterprise",
    "LoginAttempt",
    "Notification",
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
