"""Imports every model module so Base.metadata is complete (Alembic, tests)."""

from accounts.models import ApiKey, ApiToken, Enterprise, LoginAttempt, User
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip, officer_checkpoint
from core.audit import AuditCheckpoint, AuditEntry, AuditTree
from core.heartbeat import Heartbeat
from core.ratelimit import RateCount
from federation.models import FederationEvent, FederationPeer, FederationReport
from fleet.models import Driver, Vehicle
from passes.models import Pass, PassSerial
from sms.models import SmsMessage
from supervision.models import AlertSettings, DailyFigure, MonthlyFigure, Notification
from trust.models import SigningKey

__all__ = [
    "AlertSettings",
    "Anomaly",
    "ApiKey",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditTree",
    "Checkpoint",
    "DailyFigure",
    "MonthlyFigure",
    "Driver",
    "Enterprise",
    "FederationEvent",
    "FederationPeer",
    "FederationReport",
    "Heartbeat",
    "LoginAttempt",
    "Notification",
    "Pass",
    "PassSerial",
    "RateCount",
    "Scan",
    "SigningKey",
    "SmsMessage",
    "Trip",
    "User",
    "Vehicle",
    "officer_checkpoint",
]
