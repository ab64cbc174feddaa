"""What the enterprise's booking page offers a pass (checkpoints/bookings.py has the
rules): the gates taking bookings, the week's whole hours within its validity and, for
each, the gates already full then; its bookings; whether the truck is inside now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoints.bookings import SLOT, Status, shown_status, waiting
from checkpoints.domain import OPEN_STATES, Kind
from checkpoints.models import Booking, Checkpoint, Trip
from passes.models import Pass

WEEK = 24 * 7  # the page offers a week of hours; the API takes any within the validity


@dataclass
class Hour:
    start: datetime
    full_at: list[str] = field(default_factory=list)  # the gates with no place left then
    full_everywhere: bool = False


@dataclass
class Offer:
    gates: list[Checkpoint]
    hours: list[Hour]
    bookings: list[tuple[Booking, Status]]
    waiting: Booking | None
    inside: bool  # an open trip: a booking now is for the truck's next entry


def bookable_hours(p: Pass, now: datetime, tz: str) -> list[datetime]:
    """The whole hours a pass may book on the page: from the next hour to the end of its
    validity, at most a week ahead."""
    start = max(now, p.valid_from).astimezone(ZoneInfo(tz))
    start = start.replace(minute=0, second=0, microsecond=0)
    if start < now:
        start += SLOT
    end = min(p.valid_until, now + WEEK * SLOT)
    hours = []
    while start < end and len(hours) < WEEK:
        hours.append(start)
        start += SLOT
    return hours


def offer(session: Session, p: Pass, now: datetime, tz: str) -> Offer:
    gates = list(
        session.scalars(
            select(Checkpoint)
            .where(
                Checkpoint.kind == Kind.GATE,
                Checkpoint.active,
                Checkpoint.capacity_per_hour.is_not(None),
            )
            .order_by(Checkpoint.code)
        )
    )
    starts = bookable_hours(p, now, tz)
    hours = [Hour(h) for h in starts]
    if starts and gates:
        taken = session.execute(
            select(Booking.checkpoint_id, Booking.slot_start, func.count())
            .where(
                Booking.checkpoint_id.in_([g.id for g in gates]),
                Booking.slot_start.between(starts[0], starts[-1]),
                Booking.status.in_((Status.BOOKED, Status.ARRIVED)),
                Booking.pass_id != p.id,  # its own place is its own to keep
            )
            .group_by(Booking.checkpoint_id, Booking.slot_start)
        ).all()
        by_gate = {g.id: g for g in gates}
        by_start = {h.start: h for h in hours}
        for gate_id, start, n in taken:
            gate, hour = by_gate[gate_id], by_start.get(start)
            if hour is not None and n >= (gate.capacity_per_hour or 0):
                hour.full_at.append(gate.name)
        for hour in hours:
            hour.full_everywhere = len(hour.full_at) == len(gates)
    mine = session.scalars(
        select(Booking).where(Booking.pass_id == p.id).order_by(Booking.slot_start.desc())
    ).all()
    inside = session.scalar(
        select(func.count()).where(Trip.pass_id == p.id, Trip.state.in_(OPEN_STATES))
    )
    return Offer(
        gates=gates,
        hours=hours,
        bookings=[(b, shown_status(b, now)) for b in mine],
        waiting=waiting(session, p.id, now),
        inside=bool(inside),
    )
