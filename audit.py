"""Append-only, hash-chained audit log of every decision and admin action.

Each entry's hash is sha256(prev_hash || canonical_json(entry)); a single head row, locked
for the length of the writing transaction, keeps concurrent appends from forking the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from db import Base, UTCDateTime

GENESIS_HASH = "0" * 64


class AuditHead(Base):
    """The chain's tip: one row (id 1), seeded by the migration."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def canonical_json(entry: AuditEntry) -> bytes:
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "data": entry.data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_json(entry)).hexdigest()


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: object = None,
    data: dict[str, Any] | None = None,
    now: datetime,
) -> AuditEntry:
    """Append an entry in the caller's transaction (it commits or rolls back with it)."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS_HASH)
        session.add(head)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=now.astimezone(UTC),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        data=data or {},
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(head.hash, entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_id: int | None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain in order; report the first entry whose link or content was altered."""
    prev, count, last_seq = GENESIS_HASH, 0, 0
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            count += 1
            expected_seq = last_seq + 1
            if (
                entry.seq != expected_seq
                or entry.prev_hash != prev
                or entry.hash != entry_hash(prev, entry)
            ):
                return Verification(False, count, entry.id)
            prev, last_seq = entry.hash, entry.seq
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq, head.hash) != (last_seq, prev):
        # Entries were removed from the end of the chain.
        return Verification(False, count, None)
    return Verification(True, count, None)
