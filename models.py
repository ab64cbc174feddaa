"""Imports every model module so Base.metadata is complete (Alembic, tests)."""

from accounts.models import ApiToken, Enterprise, LoginAttempt, User
from audit import AuditEntry, AuditHead

__all__ = ["ApiToken", "AuditEntry", "AuditHead", "Enterprise", "LoginAttempt", "User"]
