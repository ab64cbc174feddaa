"""Who scans, and their phones: officers at their own gates, an enterprise at its own site
once approved; each scanning phone's last report (lists' age, queued scans)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import Role, scans
from accounts.models import Enterprise, User
from checkpoints.domain import Kind
from checkpoints.models import Checkpoint, ScannerDevice, officer_checkpoint
from core.errors import N_, Conflict, Forbidden, ValidationFailed


def may_scan(session: Session, user: User) -> bool:
    """accounts.domain.scans, for a user and their enterprise as stored."""
    if user.role != Role.ENTERPRISE:
        return True
    enterprise = session.get(Enterprise, user.enterprise_id)
    return scans(user.role, enterprise.status if enterprise is not None else None)


def require_scanner(session: Session, user: User) -> None:
    if not may_scan(session, user):
        raise Forbidden(N_("Your enterprise is not approved (or is suspended): it cannot scan."))


def scans_at(session: Session, user: User, checkpoint: Checkpoint) -> bool:
    """Whether the user scans at this checkpoint: an officer's own gates, an enterprise's
    own site."""
    if user.role == Role.ENTERPRISE:
        return checkpoint.kind == Kind.SITE and checkpoint.enterprise_id == user.enterprise_id
    return bool(
        session.scalar(
            select(officer_checkpoint.c.user_id).where(
                officer_checkpoint.c.user_id == user.id,
                officer_checkpoint.c.checkpoint_id == checkpoint.id,
            )
        )
    )


DEVICES_PER_USER = 3  # a user's phones kept in the scanners' report; the oldest goes


def report_device(
    session: Session,
    user: User,
    *,
    device_id: str,
    checkpoint_id: int | None,
    lists_at: datetime | None,
    queued: int,
    oldest_queued_at: datetime | None,
    now: datetime,
) -> None:
    """Keep a phone's last report; a device id is its first reporter's (no takeover). Only
    a caller who may scan reports, of a checkpoint they scan at, and a user's phones are
    at most DEVICES_PER_USER: one caller's reports cannot crowd out others' warnings."""
    require_scanner(session, user)
    if checkpoint_id is not None:
        checkpoint = session.get(Checkpoint, checkpoint_id)
        if checkpoint is None:
            raise ValidationFailed.one("checkpoint_id", N_("No such checkpoint."))
        if not scans_at(session, user, checkpoint):
            raise Forbidden(N_("You do not scan at this checkpoint."))
    device = session.get(ScannerDevice, device_id)
    if device is None:
        kept = session.scalars(
            select(ScannerDevice)
            .where(ScannerDevice.user_id == user.id)
            .order_by(ScannerDevice.reported_at.desc())
        ).all()
        for old in kept[DEVICES_PER_USER - 1 :]:
            session.delete(old)
        device = ScannerDevice(device_id=device_id, user_id=user.id, reported_at=now)
        session.add(device)
    elif device.user_id != user.id:
        raise Conflict(N_("This device id belongs to another scanner."))
    device.checkpoint_id = checkpoint_id
    device.lists_at, device.queued, device.oldest_queued_at = lists_at, queued, oldest_queued_at
    device.reported_at = now
    session.commit()
