"""Bookings at gates (预约制, 优先查验): an admin gives a gate a capacity per hour; the
enterprise that owns an approved pass books an hour there within the pass's validity, and
may move or cancel it until the hour starts; the officer sees the gate's day (booked,
arrived, missed); the scan that lets the truck in marks its booking arrived and says
whether it came in its hour (scan_store reads the booking with the pass, so the gate's
scan reads nothing more).

A booking is **booked** until the truck enters at that gate (**arrived**) or the enterprise
cancels it (**cancelled**); shown **missed** once its hour is over with neither. A pass has
at most one booking waiting at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from accounts.models import User
from accounts.scoping import get_scoped
from checkpoints.domain import Kind
from checkpoints.models import Booking, Checkpoint
from core import audit
from core.errors import N_, Conflict, NotFound, ValidationFailed
from passes.domain import Category, PassStatus
from passes.models import Pass

SLOT = timedelta(hours=1)
# An entry this much before its hour still keeps it (a truck a little early is let in
# ahead, not sent round again); any later than the hour's end is late.
EARLY = timedelta(minutes=15)
# How far from its hour an entry still finds the booking: a truck a morning late has kept
# nothing, but its booking says it came.
MATCH = timedelta(hours=12)
MAX_CAPACITY = 10_000


class SlotFull(Conflict):
    code = "slot_full"

    def __init__(self) -> None:
        super().__init__(N_("This hour at this gate is fully booked: choose another."))


class AlreadyBooked(Conflict):
    code = "already_booked"

    def __init__(self) -> None:
        super().__init__(N_("This pass already has a booking: change or cancel it."))


class Status(StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    CANCELLED = "cancelled"
    MISSED = "missed"  # shown only: booked, and its hour is over


class Timing(StrEnum):
    """How an entry met its booking, as the scan says it."""

    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"


class Lane(StrEnum):
    PRIORITY = "priority"  # 优先通行: the green channel's cargo, or a booked truck
    NORMAL = "normal"


def timing(slot_start: datetime, at: datetime) -> Timing:
    if at < slot_start - EARLY:
        return Timing.EARLY
    if at > slot_start + SLOT:
        return Timing.LATE
    return Timing.ON_TIME


def lane(category: str | None, booked: bool) -> Lane:
    return Lane.PRIORITY if booked or category == Category.EMERGENCY else Lane.NORMAL


def shown_status(booking: Booking, now: datetime) -> Status:
    if booking.status == Status.BOOKED and now >= booking.slot_start + SLOT:
        return Status.MISSED
    return Status(booking.status)


def set_capacity(
    session: Session, checkpoint_id: int, capacity: int | None, *, actor: User, now: datetime
) -> Checkpoint:
    """A gate's bookings per hour (None: it takes no bookings; those made stay)."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound()
    if checkpoint.kind != Kind.GATE:
        raise ValidationFailed.one("capacity_per_hour", N_("Only a gate takes bookings."))
    checkpoint.capacity_per_hour = capacity
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.CHECKPOINT_BOOKING,
        object_type="checkpoint",
        object_id=checkpoint.id,
        data={"capacity_per_hour": capacity},
        now=now,
    )
    session.commit()
    return checkpoint


@dataclass(frozen=True)
class Wanted:
    checkpoint_id: int
    slot_start: datetime


def _judge(
    session: Session, p: Pass, wanted: Wanted, now: datetime, moving: Booking | None
) -> Checkpoint:
    """The gate, locked, once `wanted` may be booked for `p` (`moving`: the booking it
    replaces, not counted); else the reason."""
    start = wanted.slot_start.astimezone(UTC)  # an hour on the clock, whatever offset sent
    if start.minute or start.second or start.microsecond:
        raise ValidationFailed.one("slot_start", N_("Book a whole hour, such as 08:00."))
    if p.status != PassStatus.APPROVED:
        raise Conflict(N_("Only an approved pass can be booked."))
    if start < now:
        raise ValidationFailed.one("slot_start", N_("This hour has already begun."))
    if start + SLOT <= p.valid_from or start >= p.valid_until:
        raise ValidationFailed.one("slot_start", N_("Book an hour within the pass's validity."))
    gate = session.get(Checkpoint, wanted.checkpoint_id)  # locked by _lock_gate
    if gate is None or gate.kind != Kind.GATE or not gate.active or not gate.capacity_per_hour:
        raise ValidationFailed.one("checkpoint_id", N_("This gate takes no bookings."))
    taken = session.scalar(
        select(func.count()).where(
            Booking.checkpoint_id == gate.id,
            Booking.slot_start == start,
            Booking.status.in_((Status.BOOKED, Status.ARRIVED)),
            Booking.id != (moving.id if moving else 0),
        )
    )
    if taken >= gate.capacity_per_hour:
        raise SlotFull()
    return gate


def _lock_gate(session: Session, checkpoint_id: int) -> None:
    """Before anything is read: a write to the gate's row, which locks it (PostgreSQL) or
    takes the database's write lock (SQLite), so two bookings racing for its last place,
    or one pass booked twice at once, count each other."""
    same = Checkpoint.capacity_per_hour
    session.execute(
        update(Checkpoint).where(Checkpoint.id == checkpoint_id).values(capacity_per_hour=same)
    )


def waiting(session: Session, pass_id: int, now: datetime) -> Booking | None:
    """The pass's booking still ahead (booked, its hour not over), if any."""
    return session.scalars(
        select(Booking).where(
            Booking.pass_id == pass_id,
            Booking.status == Status.BOOKED,
            Booking.slot_start > now - SLOT,
        )
    ).first()


def book(session: Session, user: User, pass_id: int, wanted: Wanted, *, now: datetime) -> Booking:
    _lock_gate(session, wanted.checkpoint_id)
    # and the pass (PostgreSQL), so two bookings of it at two gates see each other
    session.execute(select(Pass.id).where(Pass.id == pass_id).with_for_update())
    p = get_scoped(session, Pass, pass_id, user)
    if p.enterprise_id != user.enterprise_id:
        raise NotFound()  # a consignee reads the pass; only its owner books
    if waiting(session, p.id, now) is not None:
        raise AlreadyBooked()
    gate = _judge(session, p, wanted, now, None)
    booking = Booking(
        pass_id=p.id,
        enterprise_id=p.enterprise_id,
        checkpoint_id=gate.id,
        slot_start=wanted.slot_start,
        status=Status.BOOKED,
        created_by_id=user.id,
        created_at=now,
    )
    session.add(booking)
    session.flush()
    _audit(session, user, booking, audit.Action.BOOKING_CREATE, now)
    session.commit()
    return booking


def _own(session: Session, user: User, booking_id: int, now: datetime) -> Booking:
    booking = get_scoped(session, Booking, booking_id, user)
    if booking.status != Status.BOOKED or now >= booking.slot_start:
        raise Conflict(N_("A booking can be changed or cancelled only until its hour starts."))
    return booking


def move(
    session: Session, user: User, booking_id: int, wanted: Wanted, *, now: datetime
) -> Booking:
    _lock_gate(session, wanted.checkpoint_id)
    booking = _own(session, user, booking_id, now)
    gate = _judge(session, booking.pass_, wanted, now, booking)
    booking.checkpoint_id, booking.slot_start, booking.changed_at = gate.id, wanted.slot_start, now
    _audit(session, user, booking, audit.Action.BOOKING_CHANGE, now)
    session.commit()
    return booking


def cancel(session: Session, user: User, booking_id: int, *, now: datetime) -> Booking:
    booking = _own(session, user, booking_id, now)
    booking.status, booking.changed_at = Status.CANCELLED, now
    _audit(session, user, booking, audit.Action.BOOKING_CANCEL, now)
    session.commit()
    return booking


def _audit(session: Session, user: User, booking: Booking, action: Any, now: datetime) -> None:
    audit.record(
        session,
        actor_id=user.id,
        action=action,
        object_type="booking",
        object_id=booking.id,
        data={
            "pass": booking.pass_id,
            "checkpoint": booking.checkpoint_id,
            "slot_start": booking.slot_start.isoformat(),
        },
        now=now,
    )


def day(session: Session, checkpoint_id: int, date_: date, tz: str) -> list[Booking]:
    """The gate's bookings whose hour is on this local day, by hour (cancelled left out)."""
    if not date(2000, 1, 1) <= date_ <= date(2099, 12, 31):  # its hours must be datetimes
        raise ValidationFailed.one("date", N_("Enter a date between 2000 and 2099."))
    zone = ZoneInfo(tz)
    lo = datetime.combine(date_, datetime.min.time(), zone)
    return list(
        session.scalars(
            select(Booking)
            .where(
                Booking.checkpoint_id == checkpoint_id,
                Booking.slot_start >= lo,
                Booking.slot_start < lo + timedelta(days=1),
                Booking.status != Status.CANCELLED,
            )
            .order_by(Booking.slot_start, Booking.id)
        )
    )
