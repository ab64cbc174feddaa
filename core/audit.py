"""The audit log: every decision and admin action, appended as an ordinary row in the
writer's own transaction, with no lock shared between writers.

A sequencer (`trust.auditlog`) later gives each pending entry its place (`seq`) in an
RFC 6962 Merkle tree and signs checkpoints of the tree with a key kept outside the
database; this module only writes entries and defines what a leaf commits to.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Connection, ForeignKey, Index, Integer, String, bindparam
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import Base, UTCDateTime
from core.logs import REQUEST_ID
from core.prepared import Prepared


class Action(StrEnum):
    """Every action the log records, by what it acts on (the audit page's filter lists
    these; writing any other name is a programming error)."""

    ALERTS_UPDATE = "alerts.update"
    ANOMALY_RAISE = "anomaly.raise"
    ANOMALY_RESOLVE = "anomaly.resolve"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    BOOKING_CANCEL = "booking.cancel"
    BOOKING_CHANGE = "booking.change"
    BOOKING_CREATE = "booking.create"
    CHECKPOINT_ACTIVATE = "checkpoint.activate"
    CHECKPOINT_BOOKING = "checkpoint.booking"
    CHECKPOINT_CREATE = "checkpoint.create"
    CHECKPOINT_DEACTIVATE = "checkpoint.deactivate"
    CHECKPOINT_PLACE = "checkpoint.place"
    DRIVER_ADD = "driver.add"
    DRIVER_ARCHIVE = "driver.archive"
    DRIVER_EDIT = "driver.edit"
    DRIVER_RESTORE = "driver.restore"
    DRIVER_UNLIST = "driver.unlist"
    DRIVER_WHITELIST = "driver.whitelist"
    ENTERPRISE_APPROVED = "enterprise.approved"
    ENTERPRISE_SIGN_UP = "enterprise.sign_up"
    ENTERPRISE_REJECTED = "enterprise.rejected"
    ENTERPRISE_SUSPENDED = "enterprise.suspended"
    ENTERPRISE_WHITELIST = "enterprise.whitelist"
    EXPORT_ANOMALIES = "export.anomalies"
    EXPORT_AUDIT = "export.audit"
    EXPORT_PASSES = "export.passes"
    EXPORT_SCANS = "export.scans"
    EXPORT_STATISTICS = "export.statistics"
    EXPORT_TRIPS = "export.trips"
    FLEET_IMPORT = "fleet.import"
    KEY_CREATE = "key.create"
    KEY_ROTATE = "key.rotate"
    PASS_APPROVE = "pass.approve"
    PASS_CANCELLED = "pass.cancelled"
    PASS_REJECTED = "pass.rejected"
    PASS_RESEND_SMS = "pass.resend_sms"
    PASS_REVOKED = "pass.revoked"
    PASS_SUBMIT = "pass.submit"
    PEER_ADD = "peer.add"
    PEER_FORK = "peer.fork"
    PEER_REMOVE = "peer.remove"
    PEER_REPIN = "peer.repin"
    RETENTION_PURGE = "retention.purge"
    SCAN_ALLOW = "scan.allow"
    SCAN_ANNUL = "scan.annul"
    SCAN_DENY = "scan.deny"
    TRIP_ESCORT = "trip.escort"
    USER_ACTIVATE = "user.activate"
    USER_ASSIGN_CHECKPOINTS = "user.assign_checkpoints"
    USER_CREATE = "user.create"
    USER_DEACTIVATE = "user.deactivate"
    USER_RESET_PASSWORD = "user.reset_password"
    USER_REVOKE_TOKENS = "user.revoke_tokens"
    USER_REVOKE_DEVICES = "user.revoke_devices"
    VEHICLE_ADD = "vehicle.add"
    VEHICLE_ARCHIVE = "vehicle.archive"
    VEHICLE_EDIT = "vehicle.edit"
    VEHICLE_RESTORE = "vehicle.restore"


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The leaf's place in the tree, counted from 1; None while the entry is pending.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    leaf_hash: Mapped[str | None] = mapped_column(String(64))
    # The hash chain that came before the tree: set on the entries written before it only.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    # The request that wrote it, to find its log lines (not part of what the leaf commits to).
    request_id: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[Any] = relationship("User", viewonly=True, lazy="raise")


class AuditTree(Base):
    """The sequencer's state (one row, id 1): the tree's size and right edge. Only the
    sequencer locks it; verification recomputes the tree and never trusts this row."""

    __tablename__ = "audit_tree"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    root_hash: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[list[str]] = mapped_column(JSON, default=list)


class AuditNode(Base):
    """A stored inner node of the tree: the hash of the perfect subtree of 2**level leaves
    starting at leaf idx * 2**level. Only every NODE_STRIDE-th level is kept (about one
    row per 15 entries), so a proof reads O(log n) rows. Written by the sequencer with the
    leaves they cover; `verify` recomputes and checks them."""

    __tablename__ = "audit_node"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


NODE_STRIDE = 4


class AuditCheckpoint(Base):
    """A signed tree head. Also appended to a file outside the database."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kid: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))


def canonical_json(
    *,
    seq: int | None,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str | None,
    data: dict[str, Any],
) -> bytes:
    """What a leaf commits to: the entry with its place in the log."""
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: Action,
    object_type: str,
    object_id: object = None,
    data: dict[str, Any] | None = None,
    now: datetime,
) -> AuditEntry:
    """Append a pending entry in the caller's transaction (it commits or rolls back with it)."""
    entry = AuditEntry(**_values(actor_id, action, object_type, object_id, data, now))
    session.add(entry)
    return entry


def _values(
    actor_id: int | None,
    action: Action | str,
    object_type: str,
    object_id: object,
    data: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "at": now.astimezone(UTC),
        "actor_id": actor_id,
        "action": Action(action).value,  # ValueError for a name that is not an Action
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "data": data or {},
        "request_id": REQUEST_ID.get(),
    }


_INSERT = Prepared(
    AuditEntry.__table__.insert().values(
        {
            c: bindparam(c)
            for c in ("at", "actor_id", "action", "object_type", "object_id", "data", "request_id")
        }
    )
)


def append(
    connection: Connection,
    *,
    actor_id: int | None,
    action: Action,
    object_type: str,
    object_id: object = None,
    data: dict[str, Any] | None = None,
    now: datetime,
) -> None:
    """`record`, as one INSERT on the caller's connection (the scan path uses no ORM)."""
    _INSERT(connection, **_values(actor_id, action, object_type, object_id, data, now))
