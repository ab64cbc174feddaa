"""Enterprises, users, API tokens, machine keys, phones kept signed in, and login attempts."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.domain import OVERSIGHT_ROLES, EnterpriseStatus, Role
from core.db import Base, UTCDateTime


class Enterprise(Base):
    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(16))
    # As printed on the business licence, for the administrator vetting the sign-up.
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    legal_representative: Mapped[str] = mapped_column(String(64), default="", server_default="")
    business_scope: Mapped[str] = mapped_column(String(500), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default=EnterpriseStatus.PENDING, index=True)
    # Why a sign-up was rejected, as the administrator wrote it to the enterprise.
    status_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    whitelisted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    users: Mapped[list[User]] = relationship(back_populates="enterprise")

    # Tenant scoping (accounts.scoping): the attribute naming the owning enterprise.
    __tenant_key__ = "id"


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Bumped on password reset or deactivation so every open session ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # A machine key's own user (accounts/keys.py): the actor its writes are recorded
    # under; it never signs in and is listed with the keys, not the people.
    machine: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_oversight(self) -> bool:
        return self.role in OVERSIGHT_ROLES

    def has_role(self, *roles: Role | str) -> bool:
        return self.role in roles


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class DeviceSession(Base):
    """A phone kept signed in across browser restarts for a shift: its cookie's SHA-256,
    the browser it was issued to, until when. Revoked on sign-out there, by an
    administrator, or when the user's sessions end (password reset, deactivation)."""

    __tablename__ = "device_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_hash: Mapped[str] = mapped_column(String(64))  # the browser it is bound to
    label: Mapped[str] = mapped_column(String(120))  # which phone, for the admin's list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class ApiKey(Base):
    """A machine key for an enterprise's system (or the jurisdiction's): named, scoped,
    revocable, long-lived; only its SHA-256 is stored, and the first characters to tell
    it by. It acts as its own machine user, within its scopes."""

    __tablename__ = "api_key"
    __tenant_key__ = "enterprise_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # "tpk_" and four more, shown in lists
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LoginAttempt(Base):
    """Failed and successful sign-ins, and sign-ups under the reserved name
    accounts.throttle.SIGN_UP: what the limits of accounts.throttle count (each row is one
    password hash checked or made). Kept until `retention purge`."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "attempted_at"),
        Index("ix_login_attempt_ip_at", "ip", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    success: Mapped[bool] = mapped_column(Boolean)
